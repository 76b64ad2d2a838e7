/* SPDX-License-Identifier: MIT */
/* sync.h - the messages between the supervisor and init.
 *
 * One SOCK_SEQPACKET socketpair; each message is one struct ab_msg, so a
 * message is never split or merged.  The boot sequence is:
 *
 *   init -> READY      init is dumpable again and waits for its id maps
 *   sup  -> MAPPED     setgroups, uid_map and gid_map are written
 *   init -> LISTENER   sandbox built and hardened; the proxy listener (in
 *                      the gateway netns) travels with it as SCM_RIGHTS
 *   init -> NOTIFY     the seccomp filter's notification listener, which
 *                      init then closes: only the supervisor holds it
 *   init -> DIAG       a NETLINK_SOCK_DIAG socket in the sandbox netns, to
 *                      name the process behind each relayed connection
 *   sup  -> GO         the upstream answered: start the command
 *
 * At any point init may send ERROR instead (errno, message, hint) and exit;
 * the supervisor prints it as the one line the user sees and exits 125.
 * End of stream in either direction means the peer is gone: init exits,
 * the supervisor reports that init died.
 */
#ifndef AB_SYNC_H
#define AB_SYNC_H

#include <stdint.h>

#include "err.h"

enum ab_msg_type {
	AB_MSG_READY = 1,
	AB_MSG_MAPPED,
	AB_MSG_LISTENER,
	AB_MSG_INTERCEPT4,
	AB_MSG_INTERCEPT6,
	AB_MSG_NOTIFY,
	AB_MSG_DIAG,
	AB_MSG_GO,
	AB_MSG_ERROR,
};

struct ab_msg {
	uint32_t type;
	struct ab_err err;	/* for AB_MSG_ERROR */
};

int ab_sync_send(int sock, enum ab_msg_type type, int fd);
int ab_sync_send_err(int sock, const struct ab_err *err);
int ab_sync_expect(int sock, enum ab_msg_type want, int *fd,
		   const char *peer, struct ab_err *e);

#endif /* AB_SYNC_H */
