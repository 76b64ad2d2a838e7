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
 *
 * Refusals are folded, so that a sandbox cannot fill the disk, or slow the
 * session, by refused calls: the first refusal of a kind (process, call,
 * arguments) is logged at once; the same refusals after it, until
 * FOLD_MS have passed, are only counted, and logged as one line with
 * agentbox.count and event.start/event.end when the interval ends
 * (ab_notify_flush(), from a timer, and at the end of the session).  No
 * attempt goes unrecorded: the counts of a kind's lines add up to its
 * calls.  The process is named once per kind, not per call.
 */

#include <errno.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "audit.h"
#include "notify.h"
#include "util.h"
#include "onbehalf.h"

#define FOLD_MS		1000	/* refusals of a kind counted into one line */
#define FOLD_KINDS	64	/* kinds folded at once */

struct fold {
	pid_t pid;			/* 0: free */
	int nr, family, type, protocol;
	struct ab_actor who;
	uint64_t until;			/* the interval ends */
	unsigned long count;		/* counted since the last line */
	uint64_t first, last;		/* of those, in us since the epoch */
};

static struct fold folds[FOLD_KINDS];

static void fold_emit(struct ab_audit *audit, struct fold *f)
{
	if (f->count)
		ab_audit_socket(audit, &f->who, f->family, f->type,
				f->protocol, f->nr, f->count, f->first,
				f->last);
	f->count = 0;
}

/**
 * ab_notify_flush() - Log the refusals counted in intervals that ended
 * @audit:	Audit log, may be NULL
 * @all:	Every one, ended or not (the session ends)
 */
void ab_notify_flush(struct ab_audit *audit, bool all)
{
	uint64_t now = ab_now_us();

	for (unsigned i = 0; i < FOLD_KINDS; i++) {
		struct fold *f = &folds[i];

		if (!f->pid || (!all && now < f->until))
			continue;
		fold_emit(audit, f);
		f->pid = 0;
	}
}

/* Log a refusal, or count it into its kind's interval */
static void fold_refusal(struct ab_audit *audit, int fd,
			 const struct seccomp_notif *req)
{
	const struct seccomp_data *d = &req->data;
	int family = (int)d->args[0], type = (int)d->args[1];
	int protocol = (int)d->args[2], nr = d->nr;
	struct fold *f = NULL, *free_f = NULL, *oldest = &folds[0];
	uint64_t now = ab_now_us(), wall = ab_wall_us();

	for (unsigned i = 0; i < FOLD_KINDS && !f; i++) {
		struct fold *c = &folds[i];

		if (c->pid == (pid_t)req->pid && c->nr == nr &&
		    c->family == family && c->type == type &&
		    c->protocol == protocol)
			f = c;
		else if (!c->pid && !free_f)
			free_f = c;
		else if (c->until < oldest->until)
			oldest = c;
	}
	if (f && now < f->until) {
		if (!f->count++)
			f->first = wall;
		f->last = wall;
		return;
	}
	if (f)
		fold_emit(audit, f);	/* its interval is over */
	else if (!(f = free_f)) {
		fold_emit(audit, oldest);	/* room for a new kind */
		f = oldest;
	}
	*f = (struct fold){ .pid = (pid_t)req->pid, .nr = nr, .family = family,
			    .type = type, .protocol = protocol,
			    .until = now + FOLD_MS * 1000 };
	ab_actor_fill(&f->who, (pid_t)req->pid);
	/* the pid may have been reused while we read /proc: check */
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id))
		memset(&f->who, 0, sizeof(f->who));
	ab_audit_socket(audit, &f->who, family, type, protocol, nr, 1, wall,
			wall);
}

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

	memset(resp, 0, sz.seccomp_notif_resp);
	resp->id = req->id;
	resp->error = -refusal_errno(&req->data);
	/* logged (or counted) first: the caller goes on once answered, and
	 * may be gone before its name is read */
	if (audit)
		fold_refusal(audit, fd, req);
	(void)ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp);
}
