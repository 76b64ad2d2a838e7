/* SPDX-License-Identifier: MIT */
/* relay.h - the supervisor's relay: the sandbox's only way out.
 *
 * Two modes.  Upstream: every connection goes on to the upstream proxy
 * (Squid), with each request head rewritten (the sandbox's proxy
 * credentials and identity fields removed, ours added).  Built-in: the
 * relay is the proxy, checks each request against the egress policy
 * (egress.c), resolves names (resolve.c) and connects out itself.
 */
#ifndef AB_RELAY_H
#define AB_RELAY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "err.h"

struct ab_relay;
struct ab_egress;
struct ab_audit;
struct ab_uptls;
struct ab_upws;
struct ab_negotiate;

#define AB_RELAY_MAX_UP	4	/* upstream addresses tried */

struct ab_relay_cfg {
	int listener;			/* proxy listener in the gateway */
	int icpt4, icpt6;		/* interception listeners there, or -1
					 * (intercept.c) */
	bool builtin;			/* the relay is the proxy */
	const struct ab_egress *egress;	/* built-in: the policy */
	struct sockaddr_storage up[AB_RELAY_MAX_UP];	/* upstream proxy's
							 * addresses */
	socklen_t up_len[AB_RELAY_MAX_UP];
	unsigned n_up;
	const char *up_name;		/* "HOST:PORT", for messages */
	const struct ab_uptls *tls;	/* TLS to the upstream, or NULL */
	const struct ab_upws *ws;	/* a WebSocket bridge to it, or NULL */
	struct ab_negotiate *negotiate;	/* Kerberos to it, or NULL */
	const char *identity;		/* field removed from sandbox heads */
	const char *extra;		/* upstream: lines added to each head */
	struct ab_audit *audit;		/* may be NULL */
	pid_t sandbox_pid;		/* init, to name connecting processes */
	int diag_fd;			/* sock_diag in the sandbox netns, or -1 */
	unsigned max_conns;
	int verbose;
	bool tunnel_check;		/* upstream: check a tunnel's first
					 * bytes too (tunnel.c) */
};

/* Called for events on an extra descriptor; return non-zero to stop */
typedef int (*ab_relay_cb)(void *arg, uint32_t events);

struct ab_relay *ab_relay_new(const struct ab_relay_cfg *cfg,
			      struct ab_err *e);
int ab_relay_watch(struct ab_relay *r, int fd, ab_relay_cb cb, void *arg,
		   struct ab_err *e);
int ab_relay_run(struct ab_relay *r, struct ab_err *e);
void ab_relay_drain(struct ab_relay *r, unsigned ms);
void ab_relay_free(struct ab_relay *r);

#endif /* AB_RELAY_H */
