// SPDX-License-Identifier: MIT
/* connect.c - "agentbox connect HOST PORT": a byte stream to HOST:PORT
 * through the proxy's CONNECT, on standard input and output.
 *
 * Inside the sandbox the only way out is the proxy, so a tool that speaks
 * its own protocol over TCP (ssh, for git over ssh) needs a tunnel.  This is
 * ssh's ProxyCommand (agentbox sets GIT_SSH_COMMAND to use it): it asks the
 * proxy named by https_proxy/HTTPS_PROXY/http_proxy/HTTP_PROXY for a
 * CONNECT tunnel, and relays until both directions have ended.  The proxy
 * decides: the built-in one allows the ports of [egress] ports, Squid its
 * own ACLs; a refusal is one line with the proxy's status and reason.
 */

#include <errno.h>
#include <stdarg.h>
#include <strings.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netdb.h>

#include "hook.h"
#include "http.h"
#include "options.h"
#include "util.h"

#define CONNECT_FAIL	1

static int conn_fail(const char *target, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int conn_fail(const char *target, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "agentbox connect %s: ", target);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CONNECT_FAIL;
}

static int proxy_connect(const struct ab_upstream *u)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char port[8];
	int fd = -1;

	snprintf(port, sizeof(port), "%u", u->port);
	if (getaddrinfo(u->host, port, &hints, &res))
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && !connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The value of a field in a response head, or "" */
static void field(const char *head, const char *name, char *out, size_t size)
{
	size_t n = strlen(name);

	out[0] = '\0';
	for (const char *l = strstr(head, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
		if (!strncasecmp(l + 2, name, n) && l[2 + n] == ':') {
			const char *v = l + 3 + n, *end;

			while (*v == ' ')
				v++;
			end = strstr(v, "\r\n");
			snprintf(out, size, "%.*s", (int)(end ? end - v : 0),
				 v);
			for (char *q = out; *q; q++)
				if ((unsigned char)*q < 0x20 || *q == 0x7f)
					*q = '?';
			return;
		}
	}
}

/* stdin -> @fd and @fd -> stdout until both have ended */
static int relay(int fd, const char *rest, size_t rest_len)
{
	struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
			       { .fd = fd, .events = POLLIN } };
	char buf[65536];

	if (rest_len && write_all(STDOUT_FILENO, rest, rest_len))
		return -1;
	while (p[0].fd >= 0 || p[1].fd >= 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (p[i].fd < 0 || !p[i].revents)
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && i == 1 && errno == ECONNRESET)
				return -1;
			if (n <= 0) {
				if (i == 0)
					shutdown(fd, SHUT_WR);
				else
					return 0; /* the far end is done */
				p[i].fd = -1;
				continue;
			}
			if (write_all(i ? STDOUT_FILENO : fd, buf, (size_t)n))
				return -1;
		}
	}
	return 0;
}

/**
 * ab_connect_main() - agentbox connect HOST PORT
 * @argc:	Argument count
 * @argv:	Arguments, argv[0] is "connect"
 *
 * Return: exit status: 0 when the tunnel ended, 1 on any failure
 */
int ab_connect_main(int argc, char *argv[])
{
	static const char *const vars[] = {
		"https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY",
	};
	char target[300], req[700], head[16384], reason[256];
	struct ab_upstream u = { 0 };
	struct ab_err e = { 0 };
	const char *proxy = NULL;
	unsigned long port;
	size_t got = 0;
	char *end, *eoh;
	int fd, status;

	if (argc != 3) {
		fprintf(stderr, "Usage: agentbox connect HOST PORT\n");
		return CONNECT_FAIL;
	}
	port = strtoul(argv[2], &end, 10);
	if (!*argv[1] || strlen(argv[1]) > 253 || *end || !port ||
	    port > 65535 || argv[1][strcspn(argv[1], " \t\r\n/@")])
		return conn_fail(argv[1], "expected HOST PORT");
	ab_http_authority(target, sizeof(target), argv[1],
			  (unsigned short)port);
	for (size_t i = 0; i < ARRAY_SIZE(vars) && !proxy; i++)
		proxy = getenv(vars[i]);
	if (!proxy || !*proxy)
		return conn_fail(target, "no proxy: https_proxy and "
				 "http_proxy are not set");
	if (ab_parse_upstream(&u, proxy, "https_proxy", &e) || u.builtin)
		return conn_fail(target, "proxy '%s': %s", proxy, e.msg);
	fd = proxy_connect(&u);
	if (fd < 0)
		return conn_fail(target, "cannot reach the proxy %s:%u", u.host,
				 u.port);
	snprintf(req, sizeof(req), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n",
		 target, target);
	if (write_all(fd, req, strlen(req)))
		return conn_fail(target, "send CONNECT: %s", strerror(errno));
	for (;;) {
		ssize_t n = read(fd, head + got, sizeof(head) - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return conn_fail(target, "the proxy closed the "
					 "connection before answering");
		got += (size_t)n;
		head[got] = '\0';
		if ((eoh = strstr(head, "\r\n\r\n")))
			break;
		if (got == sizeof(head) - 1)
			return conn_fail(target, "the proxy's answer is too "
					 "long");
	}
	if (sscanf(head, "HTTP/1.%*1[01] %3d", &status) != 1)
		return conn_fail(target, "not an HTTP answer from the proxy");
	if (status / 100 != 2) {
		field(head, "X-Agentbox-Reason", reason, sizeof(reason));
		return conn_fail(target, "the proxy refused the tunnel: %d%s%s",
				 status, *reason ? ": " : "", reason);
	}
	eoh += 4;
	if (relay(fd, eoh, got - (size_t)(eoh - head)))
		return conn_fail(target, "tunnel: %s", strerror(errno));
	close(fd);
	return 0;
}
