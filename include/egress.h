/* SPDX-License-Identifier: MIT */
/* egress.h - what the built-in proxy lets the sandbox reach.
 *
 * A request is checked twice: its name and port before the name is
 * resolved (ab_egress_name()), then every address it resolved to
 * (ab_egress_addr()).  A refusal comes with the rule that refused it, in
 * words the agent can show its user.
 */
#ifndef AB_EGRESS_H
#define AB_EGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "err.h"

#define AB_EGRESS_MAX	128	/* entries per list */

struct ab_net {
	int family;			/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;
};

struct ab_rule {
	char pattern[256];		/* "example.com" or "*.example.com" */
	char at[160];			/* "FILE:LINE" or "--allow" */
};

struct ab_egress {
	struct ab_rule allow[AB_EGRESS_MAX], deny[AB_EGRESS_MAX];
	unsigned n_allow, n_deny;
	unsigned short ports[AB_EGRESS_MAX];
	unsigned n_ports;
	bool ports_given;		/* the defaults were replaced */
	struct ab_net nets[AB_EGRESS_MAX];	/* reachable although private */
	unsigned n_nets;
	bool ip_literals;
	struct ab_net own[AB_EGRESS_MAX];	/* the host's own addresses */
	unsigned n_own;
};

void ab_egress_defaults(struct ab_egress *g);
int ab_egress_add(struct ab_egress *g, const char *key, const char *value,
		  const char *at, struct ab_err *e);
int ab_egress_own_addrs(struct ab_egress *g, struct ab_err *e);
int ab_egress_name(const struct ab_egress *g, const char *host,
		   unsigned port, char *why, size_t size);
int ab_egress_host(const struct ab_egress *g, const char *host, char *why,
		   size_t size);
int ab_egress_addr(const struct ab_egress *g, const struct sockaddr *sa,
		   char *why, size_t size);
int ab_parse_net(const char *s, struct ab_net *n);
int ab_host_pattern_ok(const char *p);

#endif /* AB_EGRESS_H */
