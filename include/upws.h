/* SPDX-License-Identifier: MIT */
/* upws.h - a WebSocket-tunnelled upstream (upstream = wss://HOST[:PORT]/PATH
 * or ws://...): the context the supervisor makes for the relay (upws.c).
 */
#ifndef AB_UPWS_H
#define AB_UPWS_H

#include "err.h"

struct ab_upws;

struct ab_upws *ab_upws_new(const char *host, unsigned port, const char *path,
			    const char *token, struct ab_err *e);
void ab_upws_free(struct ab_upws *w);
long ab_upws_request(const struct ab_upws *w, char *buf, size_t size,
		     char *accept);

#endif /* AB_UPWS_H */
