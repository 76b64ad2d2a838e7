// SPDX-License-Identifier: MIT
/* egress.c - the built-in proxy's policy: names, ports, addresses.
 *
 * Theory of operation
 *
 * Names: a "deny" pattern that matches refuses, then, if there is any
 * "allow" pattern, one must match.  A pattern is a host name, matched
 * exactly, "*.example.com", which matches every name below example.com
 * (not example.com itself), or "*", which matches every name.  Names are
 * compared in lower case, without a trailing dot.
 *
 * Ports: only those listed (default 80 and 443).
 *
 * IP literals ("http://10.1.2.3/") are refused unless allowed: a policy
 * written in names must not be walked around by numbers.
 *
 * Addresses: whatever a name resolved to is checked again, because names
 * are not trustworthy: a public name may resolve to 127.0.0.1 or to the
 * cloud metadata service (DNS rebinding).  Refused unless inside a network
 * the policy names (allow_net): loopback, link-local (169.254.0.0/16 with
 * the metadata address, fe80::/10), private and shared ranges (RFC 1918,
 * 100.64.0.0/10, fc00::/7), unspecified, multicast, reserved and
 * documentation ranges, and every address of the host itself.  IPv4 mapped
 * and NAT64 IPv6 addresses are checked as the IPv4 address they carry.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egress.h"
#include "util.h"

struct range {
	int family;
	const char *net;
	unsigned prefix;
	const char *what;
};

/* Checked in order: the first match names the reason */
static const struct range special[] = {
	{ AF_INET, "169.254.169.254", 32, "the cloud metadata service" },
	{ AF_INET, "0.0.0.0", 8, "\"this network\"" },
	{ AF_INET, "10.0.0.0", 8, "private (RFC 1918)" },
	{ AF_INET, "100.64.0.0", 10, "shared address space (RFC 6598)" },
	{ AF_INET, "127.0.0.0", 8, "loopback" },
	{ AF_INET, "169.254.0.0", 16, "link-local" },
	{ AF_INET, "172.16.0.0", 12, "private (RFC 1918)" },
	{ AF_INET, "192.0.0.0", 24, "IETF protocol assignments" },
	{ AF_INET, "192.0.2.0", 24, "documentation" },
	{ AF_INET, "192.168.0.0", 16, "private (RFC 1918)" },
	{ AF_INET, "198.18.0.0", 15, "benchmarking" },
	{ AF_INET, "198.51.100.0", 24, "documentation" },
	{ AF_INET, "203.0.113.0", 24, "documentation" },
	{ AF_INET, "224.0.0.0", 4, "multicast" },
	{ AF_INET, "240.0.0.0", 4, "reserved" },
	{ AF_INET6, "::", 128, "unspecified" },
	{ AF_INET6, "::1", 128, "loopback" },
	{ AF_INET6, "100::", 64, "discard" },
	{ AF_INET6, "2001:db8::", 32, "documentation" },
	{ AF_INET6, "fc00::", 7, "unique local (private)" },
	{ AF_INET6, "fe80::", 10, "link-local" },
	{ AF_INET6, "fec0::", 10, "site-local" },
	{ AF_INET6, "ff00::", 8, "multicast" },
};

/* special[i] parsed, once: it is asked for every address the proxy sees */
static const struct ab_net *special_net(size_t i)
{
	static struct ab_net nets[ARRAY_SIZE(special)];
	static bool parsed;

	if (!parsed) {
		for (size_t j = 0; j < ARRAY_SIZE(special); j++) {
			nets[j].family = special[j].family;
			nets[j].prefix = special[j].prefix;
			inet_pton(special[j].family, special[j].net,
				  nets[j].addr);
		}
		parsed = true;
	}
	return &nets[i];
}

static bool in_net(int family, const uint8_t *a, const struct ab_net *n)
{
	unsigned full = n->prefix / 8, rest = n->prefix % 8;

	if (family != n->family)
		return false;
	if (memcmp(a, n->addr, full))
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		if ((a[full] & mask) != (n->addr[full] & mask))
			return false;
	}
	return true;
}

/**
 * ab_parse_net() - Parse "ADDR" or "ADDR/PREFIX", IPv4 or IPv6
 * @s:		Text
 * @n:		Result (host bits cleared)
 *
 * Return: 0, or -1 if malformed
 */
int ab_parse_net(const char *s, struct ab_net *n)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max;

	if (!len || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, buf, n->addr) == 1) {
		n->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, n->addr) == 1) {
		n->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	n->prefix = max;
	if (slash) {
		char *end;
		unsigned long p;

		if (!isdigit((unsigned char)slash[1]))
			return -1;
		p = strtoul(slash + 1, &end, 10);
		if (*end || p > max)
			return -1;
		n->prefix = (unsigned)p;
	}
	for (unsigned i = n->prefix; i < max; i++)
		n->addr[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
	return 0;
}

/**
 * ab_host_pattern_ok() - Is this a host pattern we understand?
 * @p:		"name", "*.name" or "*"
 *
 * Return: 1 if so
 */
int ab_host_pattern_ok(const char *p)
{
	if (!strcmp(p, "*"))
		return 1;
	if (!strncmp(p, "*.", 2))
		p += 2;
	if (!*p || strlen(p) > 253 || *p == '.' || strstr(p, ".."))
		return 0;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' &&
		    *p != '_')
			return 0;
	return 1;
}

void ab_egress_defaults(struct ab_egress *g)
{
	memset(g, 0, sizeof(*g));
	g->ports[g->n_ports++] = 80;
	g->ports[g->n_ports++] = 443;
}

/**
 * ab_egress_add() - Add one setting
 * @g:		Policy
 * @key:	"allow", "deny", "ports", "allow_net" or "ip_literals"
 * @value:	As written
 * @at:		Where it was written, for refusals
 * @e:		Error
 *
 * A "ports" value replaces the defaults the first time one is given.
 *
 * Return: 0, or -1 with @e filled
 */
int ab_egress_add(struct ab_egress *g, const char *key, const char *value,
		  const char *at, struct ab_err *e)
{
	if (!strcmp(key, "allow") || !strcmp(key, "deny")) {
		bool allow = key[0] == 'a';
		struct ab_rule *r = allow ? g->allow : g->deny;
		unsigned *n = allow ? &g->n_allow : &g->n_deny;
		char pat[256];
		size_t len = strlen(value);

		if (len && value[len - 1] == '.')
			len--;
		if (len >= sizeof(pat))
			return ab_fail(e, 0, "%s '%s': too long", key, value);
		snprintf(pat, sizeof(pat), "%.*s", (int)len, value);
		for (char *q = pat; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		if (!ab_host_pattern_ok(pat))
			return ab_fail(e, 0, "%s '%s': expected a host name, "
				       "*.domain or *", key, value);
		if (*n == AB_EGRESS_MAX)
			return ab_fail(e, 0, "%s: more than %d patterns", key,
				       AB_EGRESS_MAX);
		snprintf(r[*n].pattern, sizeof(r[*n].pattern), "%s", pat);
		snprintf(r[*n].at, sizeof(r[*n].at), "%s", at);
		(*n)++;
		return 0;
	}
	if (!strcmp(key, "ports")) {
		char *end;
		unsigned long p = strtoul(value, &end, 10);

		if (!isdigit((unsigned char)*value) || *end || !p || p > 65535)
			return ab_fail(e, 0, "ports '%s': expected a port "
				       "number", value);
		if (!g->ports_given) {
			g->n_ports = 0;
			g->ports_given = true;
		}
		if (g->n_ports == AB_EGRESS_MAX)
			return ab_fail(e, 0, "ports: too many");
		g->ports[g->n_ports++] = (unsigned short)p;
		return 0;
	}
	if (!strcmp(key, "allow_net")) {
		if (g->n_nets == AB_EGRESS_MAX)
			return ab_fail(e, 0, "allow_net: too many");
		if (ab_parse_net(value, &g->nets[g->n_nets]))
			return ab_fail(e, 0, "allow_net '%s': expected an "
				       "address or ADDRESS/PREFIX", value);
		g->n_nets++;
		return 0;
	}
	if (!strcmp(key, "ip_literals")) {
		if (strcmp(value, "yes") && strcmp(value, "no"))
			return ab_fail(e, 0, "ip_literals '%s': expected yes "
				       "or no", value);
		g->ip_literals = value[0] == 'y';
		return 0;
	}
	return ab_fail(e, 0, "egress: unknown setting '%s'", key);
}

/**
 * ab_egress_own_addrs() - Note the host's own addresses (host netns)
 * @g:		Policy
 * @e:		Error
 *
 * Return: 0, or -1 with @e filled
 */
int ab_egress_own_addrs(struct ab_egress *g, struct ab_err *e)
{
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa))
		return ab_fail(e, errno, "getifaddrs");
	for (i = ifa; i && g->n_own < AB_EGRESS_MAX; i = i->ifa_next) {
		struct ab_net *n = &g->own[g->n_own];

		if (!i->ifa_addr)
			continue;
		memset(n, 0, sizeof(*n));
		if (i->ifa_addr->sa_family == AF_INET) {
			n->family = AF_INET;
			n->prefix = 32;
			memcpy(n->addr, &((struct sockaddr_in *)(void *)
					  i->ifa_addr)->sin_addr, 4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			n->family = AF_INET6;
			n->prefix = 128;
			memcpy(n->addr, &((struct sockaddr_in6 *)(void *)
					  i->ifa_addr)->sin6_addr, 16);
		} else {
			continue;
		}
		g->n_own++;
	}
	freeifaddrs(ifa);
	return 0;
}

static bool pattern_match(const char *pat, const char *host)
{
	size_t hl = strlen(host), pl;

	if (!strcmp(pat, "*"))
		return true;
	if (strncmp(pat, "*.", 2))
		return !strcmp(pat, host);
	pl = strlen(pat + 1);	/* ".example.com" */
	return hl > pl && !strcmp(host + hl - pl, pat + 1);
}

/**
 * ab_egress_name() - Check a request's host and port
 * @g:		Policy
 * @host:	As parsed from the request (lower case, no brackets)
 * @port:	Port
 * @why:	Result on refusal: the rule, one line
 * @size:	Size of @why
 *
 * Return: 0 if allowed, -1 if refused
 */
int ab_egress_name(const struct ab_egress *g, const char *host,
		   unsigned port, char *why, size_t size)
{
	bool ok = false;

	for (unsigned i = 0; i < g->n_ports; i++)
		ok |= g->ports[i] == port;
	if (!ok) {
		snprintf(why, size, "port %u is not an allowed port (ports)",
			 port);
		return -1;
	}
	return ab_egress_host(g, host, why, size);
}

/**
 * ab_egress_host() - Check a name alone, whatever the port (a lookup)
 * @g:		Policy
 * @host:	Name or IP literal
 * @why:	Result on refusal
 * @size:	Size of @why
 *
 * Return: 0 if allowed, -1 if refused
 */
int ab_egress_host(const struct ab_egress *g, const char *host, char *why,
		   size_t size)
{
	char name[256];
	size_t len = strlen(host);

	if (len && host[len - 1] == '.')
		len--;
	snprintf(name, sizeof(name), "%.*s", (int)len, host);

	if (ab_ip_literal(name)) {
		if (!g->ip_literals) {
			snprintf(why, size, "%s is an IP address, and IP "
				 "literals are not allowed (ip_literals)",
				 name);
			return -1;
		}
		return 0;	/* the address check follows */
	}
	for (unsigned i = 0; i < g->n_deny; i++) {
		if (pattern_match(g->deny[i].pattern, name)) {
			snprintf(why, size, "%s is denied by 'deny = %s' (%s)",
				 name, g->deny[i].pattern, g->deny[i].at);
			return -1;
		}
	}
	if (!g->n_allow)
		return 0;
	for (unsigned i = 0; i < g->n_allow; i++)
		if (pattern_match(g->allow[i].pattern, name))
			return 0;
	snprintf(why, size, "%s matches no 'allow' pattern", name);
	return -1;
}

/**
 * ab_egress_addr() - Check an address a request would connect to
 * @g:		Policy
 * @sa:		Address
 * @why:	Result on refusal
 * @size:	Size of @why
 *
 * Return: 0 if allowed, -1 if refused
 */
int ab_egress_addr(const struct ab_egress *g, const struct sockaddr *sa,
		   char *why, size_t size)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					    0xff, 0xff };
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b };
	char text[INET6_ADDRSTRLEN];
	const uint8_t *a;
	uint8_t v4[4];
	int family = sa->sa_family;

	if (family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)
				       (const void *)sa)->sin_addr;
	} else if (family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)(const void *)sa)
			    ->sin6_addr.s6_addr;
	} else {
		snprintf(why, size, "address family %d", family);
		return -1;
	}
	inet_ntop(family, a, text, sizeof(text));
	for (unsigned i = 0; i < g->n_nets; i++)
		if (in_net(family, a, &g->nets[i]))
			return 0;
	if (family == AF_INET6 && (!memcmp(a, mapped, 12) ||
				   !memcmp(a, nat64, 12))) {
		struct sockaddr_in s4 = { .sin_family = AF_INET };

		memcpy(v4, a + 12, 4);
		memcpy(&s4.sin_addr, v4, 4);
		return ab_egress_addr(g, (struct sockaddr *)&s4, why, size);
	}
	for (size_t i = 0; i < ARRAY_SIZE(special); i++) {
		if (in_net(family, a, special_net(i))) {
			snprintf(why, size, "%s is %s (allow_net)", text,
				 special[i].what);
			return -1;
		}
	}
	for (unsigned i = 0; i < g->n_own; i++) {
		if (in_net(family, a, &g->own[i])) {
			snprintf(why, size, "%s is an address of this host "
				 "(allow_net)", text);
			return -1;
		}
	}
	return 0;
}
