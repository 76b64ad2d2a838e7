/* SPDX-License-Identifier: MIT */
/* resolve.h - name resolution for the built-in proxy, without blocking.
 *
 * c-ares behind one descriptor: the resolver keeps its sockets in an epoll
 * set of its own, whose descriptor the relay watches like any other.
 */
#ifndef AB_RESOLVE_H
#define AB_RESOLVE_H

#include <sys/socket.h>

#include "err.h"

#define AB_RESOLVE_MAX	8	/* addresses kept per name */

struct ab_resolver;

struct ab_addrs {
	struct sockaddr_storage a[AB_RESOLVE_MAX];
	socklen_t len[AB_RESOLVE_MAX];
	unsigned n;
};

/* status 0 and @addrs, or a message (@addrs NULL) */
typedef void (*ab_resolved_fn)(void *arg, const struct ab_addrs *addrs,
			       const char *error);

struct ab_resolver *ab_resolver_new(struct ab_err *e);
int ab_resolver_fd(const struct ab_resolver *r);
void ab_resolver_lookup(struct ab_resolver *r, const char *name,
			unsigned port, ab_resolved_fn fn, void *arg);
void ab_resolver_process(struct ab_resolver *r);
int ab_resolver_timeout_ms(struct ab_resolver *r);
void ab_resolver_free(struct ab_resolver *r);

#endif /* AB_RESOLVE_H */
