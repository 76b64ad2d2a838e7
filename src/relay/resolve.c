// SPDX-License-Identifier: MIT
/* resolve.c - c-ares behind one epoll descriptor.
 *
 * c-ares tells us which of its sockets it wants read or written (the
 * socket-state callback); we mirror that into a private epoll set.  The
 * relay watches that set's descriptor; when it is readable, or when c-ares'
 * next timeout is due, ab_resolver_process() hands every ready socket to
 * ares_process_fd(), which runs the callbacks of finished lookups.
 *
 * Names are looked up as the host's resolver would (c-ares reads
 * /etc/hosts, /etc/nsswitch.conf and /etc/resolv.conf), from the host's
 * network namespace.  The sandbox never resolves anything itself: it has no
 * route to a DNS server and no UDP.
 */

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <unistd.h>

#include <ares.h>

#include "resolve.h"

struct ab_resolver {
	ares_channel ch;
	int epfd;
};

struct lookup {
	ab_resolved_fn fn;
	void *arg;
};

static void sock_state(void *data, ares_socket_t fd, int readable,
		       int writable)
{
	struct ab_resolver *r = data;
	struct epoll_event ev = {
		.events = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0),
		.data.fd = fd,
	};

	if (!readable && !writable) {
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, fd, NULL);
		return;
	}
	if (epoll_ctl(r->epfd, EPOLL_CTL_MOD, fd, &ev) && errno == ENOENT)
		epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/**
 * ab_resolver_new() - Make a resolver
 * @e:		Error
 *
 * Return: the resolver, or NULL with @e filled
 */
struct ab_resolver *ab_resolver_new(struct ab_err *e)
{
	struct ab_resolver *r = calloc(1, sizeof(*r));
	struct ares_options o = { 0 };
	int rc;

	if (!r) {
		ab_fail(e, ENOMEM, "resolver");
		return NULL;
	}
	rc = ares_library_init(ARES_LIB_INIT_ALL);
	if (rc != ARES_SUCCESS) {
		ab_fail(e, 0, "resolver: c-ares: %s", ares_strerror(rc));
		free(r);
		return NULL;
	}
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0) {
		ab_fail(e, errno, "resolver: epoll_create1");
		free(r);
		return NULL;
	}
	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = r;
	o.timeout = 2000;
	o.tries = 2;
	rc = ares_init_options(&r->ch, &o, ARES_OPT_SOCK_STATE_CB |
			       ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (rc != ARES_SUCCESS) {
		ab_fail(e, 0, "resolver: c-ares: %s", ares_strerror(rc));
		close(r->epfd);
		free(r);
		return NULL;
	}
	return r;
}

int ab_resolver_fd(const struct ab_resolver *r)
{
	return r->epfd;
}

static void on_addrinfo(void *arg, int status, int timeouts,
			struct ares_addrinfo *res)
{
	struct lookup *l = arg;
	struct ab_addrs out;

	(void)timeouts;
	if (status != ARES_SUCCESS || !res) {
		l->fn(l->arg, NULL, status == ARES_ENOTFOUND ?
			      "no such host" : ares_strerror(status));
		free(l);
		if (res)
			ares_freeaddrinfo(res);
		return;
	}
	out.n = 0;
	for (struct ares_addrinfo_node *n = res->nodes;
	     n && out.n < AB_RESOLVE_MAX; n = n->ai_next) {
		if ((n->ai_family != AF_INET && n->ai_family != AF_INET6) ||
		    (size_t)n->ai_addrlen > sizeof(out.a[0]))
			continue;
		memcpy(&out.a[out.n], n->ai_addr, (size_t)n->ai_addrlen);
		out.len[out.n++] = (socklen_t)n->ai_addrlen;
	}
	ares_freeaddrinfo(res);
	if (out.n)
		l->fn(l->arg, &out, NULL);
	else
		l->fn(l->arg, NULL, "no address");
	free(l);
}

/**
 * ab_resolver_lookup() - Start a lookup; @fn is called exactly once
 * @r:		Resolver
 * @name:	Host name
 * @port:	Port, put into the addresses
 * @fn:		Callback (may run before this returns, from /etc/hosts)
 * @arg:	Its argument
 */
void ab_resolver_lookup(struct ab_resolver *r, const char *name,
			unsigned port, ab_resolved_fn fn, void *arg)
{
	struct ares_addrinfo_hints h = { .ai_family = AF_UNSPEC,
					 .ai_socktype = SOCK_STREAM,
					 .ai_flags = ARES_AI_NUMERICSERV };
	struct lookup *l = malloc(sizeof(*l));
	char service[8];

	if (!l) {
		fn(arg, NULL, "out of memory");
		return;
	}
#ifdef AB_TEST_PATHS
	/* tests: CARES_HOSTS names the hosts file (sanitizer build only) */
	h.ai_flags |= ARES_AI_ENVHOSTS;
#endif
	l->fn = fn;
	l->arg = arg;
	snprintf(service, sizeof(service), "%u", port);
	ares_getaddrinfo(r->ch, name, service, &h, on_addrinfo, l);
}

/**
 * ab_resolver_process() - Run c-ares on whatever is ready or due
 * @r:		Resolver
 */
void ab_resolver_process(struct ab_resolver *r)
{
	struct epoll_event evs[16];
	int n = epoll_wait(r->epfd, evs, 16, 0);

	for (int i = 0; i < n; i++)
		ares_process_fd(r->ch,
				evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP) ?
					evs[i].data.fd : ARES_SOCKET_BAD,
				evs[i].events & EPOLLOUT ? evs[i].data.fd :
							   ARES_SOCKET_BAD);
	/* timeouts */
	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

/**
 * ab_resolver_timeout_ms() - When c-ares next wants to run
 * @r:		Resolver
 *
 * Return: milliseconds, -1 if nothing is pending
 */
int ab_resolver_timeout_ms(struct ab_resolver *r)
{
	struct timeval tv, *t = ares_timeout(r->ch, NULL, &tv);

	if (!t)
		return -1;
	return (int)(t->tv_sec * 1000 + t->tv_usec / 1000) + 1;
}

/**
 * ab_resolver_free() - Cancel what is pending (callbacks run) and free
 * @r:		Resolver, may be NULL
 */
void ab_resolver_free(struct ab_resolver *r)
{
	if (!r)
		return;
	ares_destroy(r->ch);
	close(r->epfd);
	ares_library_cleanup();
	free(r);
}
