// SPDX-License-Identifier: MIT
/* notify.c - refuse, and log, the socket() calls the filter sends us.
 *
 * The filter (seccomp.c) turns every refused socket() and socketpair() into
 * a user notification: the caller waits in the kernel while the supervisor
 * reads the call's number and arguments (registers, so nothing the caller
 * could change behind our back), names the process, logs it, and answers
 * with an error.  The answer is always an error, never "continue": the
 * decision was made by the filter, and this only reports it.  Its errno is
 * what the filter used to return itself: EAFNOSUPPORT for a family the
 * sandbox may not use at all, EPERM for a refused type or protocol.
 *
 * A notification whose caller died meanwhile is answered anyway (the kernel
 * says ENOENT); the log line is written with what was read.
 *
 * connect() comes here too, every call: the supervisor makes it on the
 * caller's behalf (onbehalf.c), after checking a unix address.
 */

#include <errno.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "audit.h"
#include "notify.h"
#include "onbehalf.h"

/* What the filter decided, as the errno the caller gets */
static int refusal_errno(const struct seccomp_data *d)
{
	int family = (int)d->args[0];

	if (d->nr == SYS_socketpair)
		return family == AF_UNIX ? EPERM : EAFNOSUPPORT;
	if (d->nr != SYS_socket)
		return EPERM;
	switch (family) {
	case AF_UNIX:
	case AF_INET:
	case AF_INET6:
	case AF_NETLINK:
		return (uint64_t)d->args[0] == (uint64_t)(unsigned)family ?
			       EPERM : EAFNOSUPPORT;
	default:
		return EAFNOSUPPORT;
	}
}

/**
 * ab_notify_handle() - Take one notification, log it, refuse the call
 * @fd:		The filter's listener
 * @audit:	Audit log, may be NULL
 * @ob:		Connects made on the caller's behalf
 * @events:	epoll events on @fd
 */
void ab_notify_handle(int fd, struct ab_audit *audit, struct ab_onbehalf *ob,
		      uint32_t events)
{
	static struct seccomp_notif_sizes sz;
	static struct seccomp_notif *req;
	static struct seccomp_notif_resp *resp;
	struct ab_actor who;

	if (!(events & EPOLLIN))
		return;
	if (!req) {
		if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz))
			return;
		req = calloc(1, sz.seccomp_notif > sizeof(*req) ?
				       sz.seccomp_notif : sizeof(*req));
		resp = calloc(1, sz.seccomp_notif_resp > sizeof(*resp) ?
					 sz.seccomp_notif_resp :
					 sizeof(*resp));
		if (!req || !resp) {
			free(req);
			free(resp);
			req = NULL;
			resp = NULL;
			return;
		}
	}
	memset(req, 0, sz.seccomp_notif);
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, req))
		return;	/* ENOENT: the caller is gone already */
	if (req->data.nr == SYS_connect) {
		ab_onbehalf_connect(ob, req);
		return;
	}

	ab_actor_fill(&who, (pid_t)req->pid);
	/* the pid may have been reused while we read /proc: check */
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id))
		memset(&who, 0, sizeof(who));

	memset(resp, 0, sz.seccomp_notif_resp);
	resp->id = req->id;
	resp->error = -refusal_errno(&req->data);
	(void)ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp);

	ab_audit_socket(audit, &who, (int)req->data.args[0],
			(int)req->data.args[1], (int)req->data.args[2],
			req->data.nr);
}
