/* SPDX-License-Identifier: MIT */
/* peer.h - which process inside the sandbox opened a relayed connection. */
#ifndef AB_PEER_H
#define AB_PEER_H

#include <sys/types.h>

#include "audit.h"

struct sockaddr_storage;

void ab_peer_note(const struct sockaddr_storage *local,
		  const struct ab_actor *who);
pid_t ab_peer_pid(const struct sockaddr_storage *client);
int ab_peer_owner(int diag, pid_t sandbox_pid,
		  const struct sockaddr_storage *client,
		  const struct sockaddr_storage *server, struct ab_actor *w);

#endif /* AB_PEER_H */
