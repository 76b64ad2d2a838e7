// SPDX-License-Identifier: MIT
/* sync.c - sending and receiving struct ab_msg over the sync socket. */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "sync.h"
#include "util.h"

/**
 * ab_sync_send() - Send a message without payload
 * @sock:	Sync socket
 * @type:	Message type
 * @fd:		Descriptor to pass along, or -1
 *
 * Return: 0 on success, -1 with errno set
 */
int ab_sync_send(int sock, enum ab_msg_type type, int fd)
{
	struct ab_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	return ab_send_fd(sock, &m, sizeof(m), fd);
}

/**
 * ab_sync_send_err() - Send an error to the supervisor
 * @sock:	Sync socket
 * @err:	The error
 *
 * Return: 0 on success, -1 with errno set
 */
int ab_sync_send_err(int sock, const struct ab_err *err)
{
	struct ab_msg m;

	memset(&m, 0, sizeof(m));
	m.type = AB_MSG_ERROR;
	m.err = *err;
	m.err.msg[sizeof(m.err.msg) - 1] = '\0';
	m.err.hint[sizeof(m.err.hint) - 1] = '\0';
	return ab_send_fd(sock, &m, sizeof(m), -1);
}

/**
 * ab_sync_expect() - Wait for a message of one type
 * @sock:	Sync socket
 * @want:	The type expected
 * @fd:		Result: descriptor attached, or -1 (may be NULL if none wanted)
 * @peer:	Name of the peer, for errors ("init", "supervisor")
 * @e:		Error; for AB_MSG_ERROR, the peer's error itself
 *
 * Return: 0 on success, -1 with @e filled
 */
int ab_sync_expect(int sock, enum ab_msg_type want, int *fd,
		   const char *peer, struct ab_err *e)
{
	struct ab_msg m;
	int got_fd = -1;
	ssize_t n;

	n = ab_recv_fd(sock, &m, sizeof(m), &got_fd);
	if (n < 0)
		return ab_fail(e, errno, "sync with %s: recvmsg", peer);
	if (n == 0)
		return ab_fail(e, 0, "sync with %s: %s exited during setup",
			       peer, peer);
	if ((size_t)n != sizeof(m)) {
		if (got_fd >= 0)
			close(got_fd);
		return ab_fail(e, EPROTO, "sync with %s: short message", peer);
	}
	if (m.type == AB_MSG_ERROR) {
		if (got_fd >= 0)
			close(got_fd);
		*e = m.err;
		e->msg[sizeof(e->msg) - 1] = '\0';
		e->hint[sizeof(e->hint) - 1] = '\0';
		return -1;
	}
	if (m.type != want) {
		if (got_fd >= 0)
			close(got_fd);
		return ab_fail(e, EPROTO, "sync with %s: message %u, expected "
			       "%u", peer, m.type, (unsigned)want);
	}
	if (fd)
		*fd = got_fd;
	else if (got_fd >= 0)
		close(got_fd);
	return 0;
}
