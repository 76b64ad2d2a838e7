/* SPDX-License-Identifier: MIT */
/* relay.h - the supervisor's relay from the gateway listener to upstream. */
#ifndef AB_RELAY_H
#define AB_RELAY_H

#include <stdint.h>
#include <sys/socket.h>

#include "err.h"

struct ab_relay;

struct ab_relay_cfg {
	int listener;			/* proxy listener in the gateway */
	struct sockaddr_storage up;	/* upstream proxy address */
	socklen_t up_len;
	const char *up_name;		/* "HOST:PORT", for messages */
	int warm_fd;			/* connected upstream socket, or -1 */
	unsigned max_conns;
	int verbose;
};

/* Called for events on an extra descriptor; return non-zero to stop */
typedef int (*ab_relay_cb)(void *arg, uint32_t events);

struct ab_relay *ab_relay_new(const struct ab_relay_cfg *cfg,
			      struct ab_err *e);
int ab_relay_watch(struct ab_relay *r, int fd, ab_relay_cb cb, void *arg,
		   struct ab_err *e);
int ab_relay_run(struct ab_relay *r, struct ab_err *e);
void ab_relay_free(struct ab_relay *r);

#endif /* AB_RELAY_H */
