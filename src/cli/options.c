// SPDX-License-Identifier: MIT
/* options.c - command line parsing into struct ab_config (pure code).
 *
 * The grammar is "agentbox [OPTION...] [--] COMMAND [ARG...]".  Options stop
 * at "--" or at the first word that is not an option, so the command's own
 * options are never taken for ours.  Every mistake is reported with the
 * option and the reason, and nothing is started.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "options.h"
#include "ws.h"

/**
 * parse_uint() - Parse a whole decimal number within bounds
 * @s:		Text
 * @min:	Smallest value accepted
 * @max:	Largest value accepted
 * @out:	Result
 *
 * Return: 0 on success, -1 if @s is not a number in [@min, @max]
 */
static int parse_uint(const char *s, unsigned long min, unsigned long max,
		      unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/**
 * ab_upstream_name() - The upstream as messages and logs name it
 * @u:		Upstream
 * @buf:	Result: "HOST:PORT" ("[V6]:PORT") or "builtin"
 * @size:	Its size
 *
 * Return: as snprintf()
 */
int ab_upstream_name(const struct ab_upstream *u, char *buf, size_t size)
{
	if (u->builtin)
		return snprintf(buf, size, "builtin");
	return ab_http_authority(buf, size, u->host, u->port);
}

/**
 * ab_parse_upstream() - Parse an upstream proxy URL "http://HOST:PORT",
 *			  "https://HOST:PORT" for TLS to the proxy, or
 *			  "wss://HOST[:PORT]/PATH" ("ws://...") for a
 *			  WebSocket bridge in front of it
 * @u:		Result
 * @url:	The URL
 * @source:	Where it came from ("--upstream", "HTTPS_PROXY"), for errors
 * @e:		Error
 *
 * HOST is a name, an IPv4 address or a bracketed IPv6 address.  A proxy URL
 * has no path; a WebSocket URL may have one (the bridge's, default "/") and
 * may leave out the port (443 for wss://, 80 for ws://).  Credentials
 * in the URL are refused: they would have to be handed to the relay in a way
 * the sandbox cannot see, which a command line or environment is not.
 *
 * Return: 0 on success, -1 with @e filled
 */
int ab_parse_upstream(struct ab_upstream *u, const char *url,
		      const char *source, struct ab_err *e)
{
	const char *p = url, *host, *host_end, *port;
	unsigned long v;
	size_t n;

	memset(u, 0, sizeof(*u));
	snprintf(u->source, sizeof(u->source), "%s", source);
	if (!strcmp(url, "builtin")) {
		u->builtin = true;
		snprintf(u->host, sizeof(u->host), "builtin");
		return 0;
	}

	if (!strncasecmp(p, "http://", 7)) {
		p += 7;
	} else if (!strncasecmp(p, "https://", 8)) {
		p += 8;
		u->tls = true;		/* TLS to the proxy itself */
	} else if (!strncasecmp(p, "wss://", 6)) {
		p += 6;
		u->tls = u->ws = true;	/* a WebSocket over TLS to a bridge */
	} else if (!strncasecmp(p, "ws://", 5)) {
		p += 5;
		u->ws = true;
	} else if (strstr(p, "://")) {
		return ab_fail(e, 0, "%s '%s': only http://, https://, ws:// "
			       "and wss:// proxies are supported", source, url);
	}
	/* else: "HOST:PORT" without a scheme, as curl accepts it */

	if (strpbrk(p, "@"))
		return ab_fail(e, 0, "%s '%s': credentials in the proxy URL "
			       "are not accepted (they would be visible to "
			       "every process of the user)", source, url);

	if (*p == '[') {
		host = p + 1;
		host_end = strchr(host, ']');
		if (!host_end)
			return ab_fail(e, 0, "%s '%s': missing ']' after IPv6 "
				       "address", source, url);
		port = host_end + 1;
	} else {
		host = p;
		host_end = p + strcspn(p, ":/");
		port = host_end;
	}
	n = (size_t)(host_end - host);
	if (!n)
		return ab_fail(e, 0, "%s '%s': missing host", source, url);
	if (n >= sizeof(u->host))
		return ab_fail(e, 0, "%s '%s': host name too long", source,
			       url);
	memcpy(u->host, host, n);
	u->host[n] = '\0';
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)u->host[i];

		if (!isalnum(ch) && !strchr(".-_:", ch))
			return ab_fail(e, 0, "%s '%s': bad character in host",
				       source, url);
	}

	if (*port != ':' && u->ws && (!*port || *port == '/')) {
		u->port = u->tls ? 443 : 80;	/* the scheme's own */
	} else if (*port != ':') {
		return ab_fail(e, 0, "%s '%s': missing port (write "
			       "http://HOST:PORT)", source, url);
	} else {
		char digits[8];
		size_t plen = strcspn(++port, "/");

		if (plen == 0 || plen >= sizeof(digits))
			return ab_fail(e, 0, "%s '%s': bad port", source, url);
		memcpy(digits, port, plen);
		digits[plen] = '\0';
		if (parse_uint(digits, 1, 65535, &v))
			return ab_fail(e, 0, "%s '%s': bad port '%s'", source,
				       url, digits);
		u->port = (unsigned short)v;
		port += plen;
	}
	if (u->ws) {
		snprintf(u->path, sizeof(u->path), "%s", *port ? port : "/");
		if (strlen(port) >= sizeof(u->path))
			return ab_fail(e, 0, "%s '%s': path too long", source,
				       url);
		if (!ab_ws_path_ok(u->path))
			return ab_fail(e, 0, "%s '%s': the path may hold only "
				       "visible ASCII characters", source, url);
		return 0;
	}
	if (*port && strcmp(port, "/"))
		return ab_fail(e, 0, "%s '%s': a proxy URL has no path",
			       source, url);
	return 0;
}

/**
 * ab_upstream_from_env() - Take the upstream proxy from the caller's env
 * @u:		Result
 * @envp:	Environment to look in
 * @e:		Error
 *
 * The variables are tried in the order https_proxy, HTTPS_PROXY,
 * http_proxy, HTTP_PROXY: the relay forwards CONNECT, so the HTTPS proxy is
 * the one that must be able to take it.
 *
 * Return: 1 if found and valid, 0 if none is set, -1 with @e filled
 */
int ab_upstream_from_env(struct ab_upstream *u, char *const envp[],
			 struct ab_err *e)
{
	static const char *const names[] = {
		"https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t len = strlen(names[i]);

		for (char *const *v = envp; v && *v; v++) {
			if (strncmp(*v, names[i], len) || (*v)[len] != '=')
				continue;
			if (!(*v)[len + 1])
				break;
			if (ab_parse_upstream(u, *v + len + 1, names[i], e))
				return -1;
			return 1;
		}
	}
	return 0;
}

/**
 * ab_parse_subnet() - Parse the veth subnet and derive both ends' addresses
 * @cidr:	"A.B.C.D/N", N from 8 to 30, host bits zero
 * @sandbox:	Result: the sandbox end, network + 2
 * @gateway:	Result: the gateway end (the proxy listener), network + 1
 * @prefix_len:	Result: N
 * @e:		Error
 *
 * Return: 0 on success, -1 with @e filled
 */
int ab_parse_subnet(const char *cidr, struct in_addr *sandbox,
		    struct in_addr *gateway, unsigned *prefix_len,
		    struct ab_err *e)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash = strchr(cidr, '/');
	struct in_addr net;
	unsigned long len;
	uint32_t h, mask;

	if (!slash || (size_t)(slash - cidr) >= sizeof(addr))
		return ab_fail(e, 0, "--subnet '%s': expected A.B.C.D/N",
			       cidr);
	memcpy(addr, cidr, (size_t)(slash - cidr));
	addr[slash - cidr] = '\0';
	if (inet_pton(AF_INET, addr, &net) != 1)
		return ab_fail(e, 0, "--subnet '%s': '%s' is not an IPv4 "
			       "address", cidr, addr);
	if (parse_uint(slash + 1, 8, 30, &len))
		return ab_fail(e, 0, "--subnet '%s': prefix length must be "
			       "8 to 30", cidr);

	h = ntohl(net.s_addr);
	mask = len ? ~0U << (32 - len) : 0;
	if (h & ~mask) {
		struct in_addr fixed = { .s_addr = htonl(h & mask) };

		inet_ntop(AF_INET, &fixed, addr, sizeof(addr));
		return ab_fail(e, 0, "--subnet '%s': host bits are set (did "
			       "you mean %s/%lu?)", cidr, addr, len);
	}
	if ((h >> 24) == 127 || (h >> 24) == 0 || (h >> 28) >= 14)
		return ab_fail(e, 0, "--subnet '%s': loopback, \"this\" "
			       "network, multicast and reserved ranges cannot "
			       "be used on a veth", cidr);

	gateway->s_addr = htonl(h + 1);
	sandbox->s_addr = htonl(h + 2);
	*prefix_len = (unsigned)len;
	return 0;
}

/**
 * take_value() - The value of an option: "--opt=VALUE" or "--opt VALUE"
 * @argc:	Argument count
 * @argv:	Arguments
 * @i:		Index of the option, advanced past a separate value
 * @inline_val:	Text after '=', or NULL
 * @name:	Option name, for the error
 * @e:		Error
 *
 * Return: the value, or NULL with @e filled
 */
static const char *take_value(int argc, char *const argv[], int *i,
			      const char *inline_val, const char *name,
			      struct ab_err *e)
{
	if (inline_val)
		return inline_val;
	if (*i + 1 >= argc) {
		ab_fail(e, 0, "option %s needs a value", name);
		return NULL;
	}
	return argv[++*i];
}

/**
 * ab_options_parse() - Parse the command line
 * @c:		Result, fully initialised here
 * @argc:	Argument count
 * @argv:	Arguments, argv[0] is the program
 * @e:		Error
 *
 * Return: 0 on success, -1 with @e filled
 */
int ab_options_parse(struct ab_config *c, int argc, char *const argv[],
		     struct ab_err *e)
{
	int i;

	memset(c, 0, sizeof(*c));
	c->proxy_port = AB_DEFAULT_PROXY_PORT;
	c->max_conns = AB_DEFAULT_MAX_CONNS;
	c->tunnel_check = true;
	c->intercept = true;
	c->audit_min_free = AB_DEFAULT_MIN_FREE;
	c->audit_sinks = AB_AUDIT_FILE;
	snprintf(c->identity, sizeof(c->identity), "%s", AB_DEFAULT_IDENTITY);
	if (ab_parse_subnet(AB_DEFAULT_SUBNET, &c->sandbox_addr,
			    &c->gateway_addr, &c->prefix_len, e))
		return -1;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val, *eq;
		char name[32];
		unsigned long v;

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-' || !a[1])
			break;

		if (a[1] != '-') {
			/* short options: -v, -vv, -h, -u URL, -uURL */
			for (const char *s = a + 1; *s; s++) {
				if (*s == 'v') {
					c->verbose++;
					c->cli_set |= AB_SET_VERBOSE;
				} else if (*s == 'h') {
					c->help = true;
				} else if (*s == 'u') {
					val = s[1] ? s + 1 :
					      take_value(argc, argv, &i, NULL,
							 "-u", e);
					if (!val)
						return -1;
					if (ab_parse_upstream(&c->upstream, val,
							      "--upstream", e))
						return -1;
					c->have_upstream = true;
					c->cli_set |= AB_SET_UPSTREAM;
					break;
				} else {
					return ab_fail(e, 0, "unknown option "
						       "'-%c' (see agentbox "
						       "--help)", *s);
				}
			}
			continue;
		}

		eq = strchr(a, '=');
		if (eq && (size_t)(eq - a) < sizeof(name)) {
			memcpy(name, a, (size_t)(eq - a));
			name[eq - a] = '\0';
			eq++;
		} else if (eq) {
			return ab_fail(e, 0, "unknown option '%s'", a);
		} else {
			snprintf(name, sizeof(name), "%s", a);
		}

		if (!strcmp(name, "--help") && !eq) {
			c->help = true;
		} else if (!strcmp(name, "--version") && !eq) {
			c->version = true;
		} else if (!strcmp(name, "--verbose") && !eq) {
			c->verbose++;
			c->cli_set |= AB_SET_VERBOSE;
		} else if (!strcmp(name, "--profile")) {
			if (!(val = take_value(argc, argv, &i, eq, name, e)))
				return -1;
			if (!*val)
				return ab_fail(e, 0, "--profile: empty name");
			c->profile_name = val;
		} else if (!strcmp(name, "--upstream")) {
			if (!(val = take_value(argc, argv, &i, eq, name, e)))
				return -1;
			if (ab_parse_upstream(&c->upstream, val, "--upstream",
					      e))
				return -1;
			c->have_upstream = true;
			c->cli_set |= AB_SET_UPSTREAM;
		} else if (!strcmp(name, "--subnet")) {
			if (!(val = take_value(argc, argv, &i, eq, name, e)))
				return -1;
			if (ab_parse_subnet(val, &c->sandbox_addr,
					    &c->gateway_addr, &c->prefix_len,
					    e))
				return -1;
			c->cli_set |= AB_SET_SUBNET;
		} else if (!strcmp(name, "--proxy-port")) {
			if (!(val = take_value(argc, argv, &i, eq, name, e)))
				return -1;
			if (parse_uint(val, 1, 65535, &v))
				return ab_fail(e, 0, "--proxy-port '%s': "
					       "expected 1 to 65535", val);
			c->proxy_port = (unsigned short)v;
			c->cli_set |= AB_SET_PROXY_PORT;
		} else if (!strcmp(name, "--max-conns")) {
			if (!(val = take_value(argc, argv, &i, eq, name, e)))
				return -1;
			if (parse_uint(val, 1, 65536, &v))
				return ab_fail(e, 0, "--max-conns '%s': "
					       "expected 1 to 65536", val);
			c->max_conns = (unsigned)v;
			c->cli_set |= AB_SET_MAX_CONNS;
		} else if (!strcmp(name, "--session")) {
			if (!(val = take_value(argc, argv, &i, eq, name, e)))
				return -1;
			if (!ab_session_label_ok(val, strlen(val)))
				return ab_fail(e, 0, "--session '%.64s': expected "
					       "1 to 64 letters, digits, '.', "
					       "'_', ':' or '-'", val);
			snprintf(c->session, sizeof(c->session), "%s", val);
		} else if (!strcmp(name, "--pass-fd")) {
			if (!(val = take_value(argc, argv, &i, eq, name, e)))
				return -1;
			if (parse_uint(val, 3, INT_MAX, &v))
				return ab_fail(e, 0, "--pass-fd '%s': expected "
					       "a descriptor number >= 3",
					       val);
			if (c->n_pass_fds == AB_MAX_PASS_FDS)
				return ab_fail(e, 0, "--pass-fd: at most %d "
					       "descriptors", AB_MAX_PASS_FDS);
			c->pass_fds[c->n_pass_fds++] = (int)v;
		} else {
			return ab_fail(e, 0, "unknown option '%s' (see "
				       "agentbox --help)", name);
		}
	}

	if (c->help || c->version)
		return 0;
	if (i >= argc)
		return ab_fail(e, 0, "no command given (usage: agentbox "
			       "[OPTION...] -- COMMAND [ARG...])");
	c->argv = argv + i;
	return 0;
}

/**
 * ab_session_label_ok() - Whether a session label may go into the logs
 * @s:		Label (need not be NUL-terminated)
 * @len:	Its length
 *
 * It is copied into the audit log, the identity header field and the
 * environment, so it is kept to a charset that means the same everywhere.
 *
 * Return: true for 1 to 64 letters, digits, '.', '_', ':' or '-'
 */
bool ab_session_label_ok(const char *s, size_t len)
{
	if (!len || len > 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    (!s[i] || !strchr("._:-", s[i])))
			return false;
	return true;
}

/**
 * ab_usage() - Print the usage text
 * @fd:		Where to
 */
void ab_usage(int fd)
{
	dprintf(fd,
"Usage: agentbox [OPTION...] [--] COMMAND [ARG...]\n"
"       agentbox profile list | show [NAME] | lint PATH...\n"
"       agentbox log [-f] [-s SESSION] [-n N] [--json] [FILE]\n"
"       agentbox claude-code --print-managed-settings\n"
"       agentbox-claude-shell SCRIPT (Claude Code's CLAUDE_CODE_SHELL_PREFIX)\n"
"       agentbox hook claude-code [--profile NAME] [--print-settings]\n"
"       agentbox connect HOST PORT   (inside: a tunnel through the proxy)\n"
"       agentbox doctor [--profile NAME] [--upstream URL]\n"
"Run COMMAND in a sandbox whose only network path is a relay to a proxy.\n"
"\n"
"  -u, --upstream URL    upstream proxy, http://HOST:PORT or https://HOST:PORT,\n"
"                        or a WebSocket bridge to it, wss://HOST[:PORT]/PATH\n"
"                        (TLS to the proxy), or 'builtin' for\n"
"                        agentbox's own policy proxy (default: taken from\n"
"                        https_proxy, HTTPS_PROXY, http_proxy, HTTP_PROXY,\n"
"                        else builtin)\n"
"  -v, --verbose         one line per relayed connection on stderr\n"
"      --profile NAME|PATH  apply a profile (see agentbox.profile(5));\n"
"                        default: the system configuration's, else\n"
"                        'default' (read-only but the project, temp and\n"
"                        caches); 'none' for no profile\n"
"      --subnet CIDR     veth subnet (default " AB_DEFAULT_SUBNET "); the gateway\n"
"                        takes the first address, the sandbox the second\n"
"      --proxy-port N    port of the proxy listener in the gateway (3128)\n"
"      --max-conns N     relayed connections open at once (default %d)\n"
"      --pass-fd N       keep descriptor N open in COMMAND (repeatable)\n"
"      --session ID      label the run with an outer session's id (an\n"
"                        agent's): the audit log and the proxy see it\n"
"  -h, --help            this text\n"
"      --version         print the version\n"
"\n"
"Exit status: COMMAND's own; 128+N if it was killed by signal N; 125 if\n"
"agentbox failed (nothing ran); 126 not executable; 127 not found.\n"
"See agentbox(1).\n", AB_DEFAULT_MAX_CONNS);
}
