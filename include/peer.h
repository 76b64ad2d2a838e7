/* SPDX-License-Identifier: MIT */
/* peer.h - which process inside the sandbox opened a relayed connection. */
#ifndef AB_PEER_H
#define AB_PEER_H

#include <sys/types.h>

#include "audit.h"

int ab_peer_owner(pid_t sandbox_pid, unsigned short client_port,
		  unsigned short proxy_port, struct ab_actor *w);

#endif /* AB_PEER_H */
