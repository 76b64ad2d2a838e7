// SPDX-License-Identifier: MIT
/* onbehalf.c - connect(2) of the sandbox, made by the supervisor.
 *
 * Theory of operation: a unix socket a host daemon binds after the sandbox
 * started (an ssh-agent, gpg-agent or docker started during a long
 * session) appears in the sandbox's view of the filesystem at once, and a
 * file mounted over it at start cannot cover what was not there yet.  So
 * the filter (seccomp.c) sends every connect() to the supervisor as a user
 * notification, and the supervisor makes the call itself:
 *
 *   1. the caller's socket is duplicated into the supervisor
 *      (pidfd_getfd(2)) and its address copied out of the caller's memory
 *      once (process_vm_readv(2)); what is checked is what is used, so
 *      another thread of the caller that rewrites the address or replaces
 *      the descriptor afterwards changes nothing;
 *   2. a path-bound unix address is resolved as the caller sees it: from
 *      its root (/proc/PID/root, with RESOLVE_IN_ROOT so that absolute
 *      symlinks stay in its view), relative paths from its working
 *      directory.  The socket file found must be bound by a socket of the
 *      sandbox's own network namespace (a unix_diag dump there lists the
 *      device and inode of each bound file), or be a host socket that
 *      "[unix] allow" names (matched on its real path).  Anything else is
 *      refused with ECONNREFUSED, as a covered socket is, and audited;
 *   3. the duplicate is connected to exactly that file, through
 *      /proc/self/fd/N of an O_PATH descriptor of it, so nothing can be
 *      swapped in between the check and the connect.  Other families
 *      (TCP, abstract unix, netlink) are connected to the copied address:
 *      the socket belongs to the sandbox's network namespace, whose only
 *      way out is the relay;
 *   4. the result is the caller's.  The call is made non-blocking for the
 *      moment of the connect (the supervisor never waits); a TCP connect
 *      still in progress for a blocking caller is watched on an epoll set
 *      of its own, and answered when it completes.  A blocking connect to a
 *      unix listener whose backlog is full fails with EAGAIN instead of
 *      waiting.
 *
 * Datagrams need no check here: the filter refuses unix datagram sockets
 * (sendmsg(2) names its address in memory the filter cannot read).
 */

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <linux/netlink.h>
#include <linux/openat2.h>
#include <linux/rtnetlink.h>
#include <linux/seccomp.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit.h"
#include "onbehalf.h"
#include "peer.h"
#include "util.h"

#define MAX_PENDING	1024	/* TCP connects in progress at once */

struct pending {
	uint64_t id;			/* the notification */
	int fd;				/* our duplicate, -1 if free */
	int flags;			/* the file's flags, to restore */
};

struct ab_onbehalf {
	int notify_fd;
	int epfd;			/* pending connects */
	int diag_fd;			/* sock_diag in the sandbox netns */
	const struct ab_strv *allow;	/* [unix] allow, expanded */
	struct ab_audit *audit;
	struct pending pend[MAX_PENDING];
	unsigned n_pend;
};

/**
 * ab_onbehalf_new() - State for connects made on the sandbox's behalf
 * @notify_fd:	The filter's listener
 * @diag_fd:	NETLINK_SOCK_DIAG socket in the sandbox netns (taken)
 * @allow:	Host sockets "[unix] allow" names, as patterns (kept)
 * @audit:	Audit log, may be NULL
 * @e:		Error
 *
 * Return: the state, or NULL with @e filled
 */
struct ab_onbehalf *ab_onbehalf_new(int notify_fd, int diag_fd,
				    const struct ab_strv *allow,
				    struct ab_audit *audit, struct ab_err *e)
{
	struct ab_onbehalf *ob = calloc(1, sizeof(*ob));

	if (!ob) {
		if (diag_fd >= 0)
			close(diag_fd);
		ab_fail(e, ENOMEM, "connect on behalf");
		return NULL;
	}
	ob->notify_fd = notify_fd;
	ob->diag_fd = diag_fd;
	ob->allow = allow;
	ob->audit = audit;
	for (unsigned i = 0; i < MAX_PENDING; i++)
		ob->pend[i].fd = -1;
	ob->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ob->epfd < 0) {
		ab_fail(e, errno, "connect on behalf: epoll_create1");
		if (diag_fd >= 0)
			close(diag_fd);
		free(ob);
		return NULL;
	}
	return ob;
}

/**
 * ab_onbehalf_fd() - The descriptor to watch for completed connects
 * @ob:		State
 *
 * Return: an epoll descriptor, readable when a pending connect is done
 */
int ab_onbehalf_fd(const struct ab_onbehalf *ob)
{
	return ob->epfd;
}

static void reply(int notify_fd, uint64_t id, int err)
{
	struct seccomp_notif_resp resp = { .id = id, .error = err ? -err : 0 };

	(void)ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

/**
 * bound_in_sandbox() - Whether a socket of the sandbox netns is bound to
 *			the file @st
 * @diag_fd:	NETLINK_SOCK_DIAG socket in the sandbox netns (taken)
 * @st:		The socket file
 *
 * Return: 1 if so, 0 if not, -1 if the dump failed (treated as not)
 */
static int bound_in_sandbox(int diag_fd, const struct stat *st)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req req;
	} q = {
		.nlh = { .nlmsg_len = sizeof(q),
			 .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.req = { .sdiag_family = AF_UNIX, .udiag_states = ~0U,
			 .udiag_show = UDIAG_SHOW_VFS },
	};
	char buf[32768];
	int found = 0;

	if (diag_fd < 0 || send(diag_fd, &q, sizeof(q), 0) != sizeof(q))
		return -1;
	for (;;) {
		ssize_t n = recv(diag_fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n <= 0)
			return -1;
		for (; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			struct unix_diag_msg *m = NLMSG_DATA(h);
			struct rtattr *a = (struct rtattr *)(m + 1);
			int len;

			if (h->nlmsg_type == NLMSG_DONE)
				return found;
			if (h->nlmsg_type == NLMSG_ERROR)
				return -1;
			len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
			for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
				struct unix_diag_vfs v;

				if (a->rta_type != UNIX_DIAG_VFS ||
				    RTA_PAYLOAD(a) < sizeof(v))
					continue;
				memcpy(&v, RTA_DATA(a), sizeof(v));
				/* the kernel's dev_t: major << 20 | minor */
				if (v.udiag_vfs_ino == st->st_ino &&
				    v.udiag_vfs_dev >> 20 == major(st->st_dev) &&
				    (v.udiag_vfs_dev & 0xfffff) ==
				    minor(st->st_dev))
					found = 1;
			}
		}
	}
}

/**
 * open_as_caller() - The file a unix path names, as the caller sees it
 * @pid:	The caller
 * @path:	The path it gave
 *
 * Return: an O_PATH descriptor, or -1 with errno set
 */
static int open_as_caller(pid_t pid, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char proc[64], cwd[PATH_MAX], full[PATH_MAX * 2];
	cleanup_fd int root = -1;
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/%d/root", (int)pid);
	root = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return -1;
	if (path[0] != '/') {
		snprintf(proc, sizeof(proc), "/proc/%d/cwd", (int)pid);
		n = readlink(proc, cwd, sizeof(cwd) - 1);
		if (n <= 0 || cwd[0] != '/') {
			errno = ENOENT;
			return -1;
		}
		cwd[n] = '\0';
		snprintf(full, sizeof(full), "%s/%s", cwd, path);
		path = full;
	}
	return (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
}

/* Whether "[unix] allow" names the host socket behind @fd */
static bool allowed_host(const struct ab_onbehalf *ob, int fd, char *real,
			 size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, real, size - 1);
	if (n <= 0)
		return false;
	real[n] = '\0';
	for (unsigned i = 0; ob->allow && i < ob->allow->n; i++)
		if (!fnmatch(ob->allow->v[i], real, FNM_PATHNAME))
			return true;
	return false;
}

/**
 * unix_target() - Check a path-bound unix address, and where to connect
 * @ob:		State
 * @pid:	The caller
 * @sun:	Its address (copied)
 * @len:	Its length
 * @to:		Result: "/proc/self/fd/N" of the checked file
 * @file:	Result: the O_PATH descriptor (close it after the connect)
 * @why:	Result: the path, for the audit line when refused
 * @whysize:	Its size
 *
 * Return: 0 to connect, else the errno the caller gets
 */
static int unix_target(const struct ab_onbehalf *ob, pid_t pid,
		       const struct sockaddr_un *sun, socklen_t len,
		       struct sockaddr_un *to, int *file, char *why,
		       size_t whysize)
{
	char path[sizeof(sun->sun_path) + 1], real[PATH_MAX];
	size_t plen = len - offsetof(struct sockaddr_un, sun_path);
	struct stat st;
	int fd;

	memcpy(path, sun->sun_path, plen);
	path[plen] = '\0';
	snprintf(why, whysize, "%s", path);
	fd = open_as_caller(pid, path);
	if (fd < 0)
		return errno == ELOOP || errno == EXDEV ? ECONNREFUSED : errno;
	if (fstat(fd, &st) || !S_ISSOCK(st.st_mode)) {
		close(fd);
		return ECONNREFUSED;	/* what connect() says of a file */
	}
	if (bound_in_sandbox(ob->diag_fd, &st) != 1 &&
	    !allowed_host(ob, fd, real, sizeof(real))) {
		close(fd);
		return -ECONNREFUSED;	/* refused: audit it */
	}
	*file = fd;
	to->sun_family = AF_UNIX;
	snprintf(to->sun_path, sizeof(to->sun_path), "/proc/self/fd/%d", fd);
	return 0;
}

/* The process of a thread (the notification names the thread) */
static pid_t tgid_of(pid_t tid)
{
	char path[64], buf[1024], *t;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	if (ab_read_small_file(path, buf, sizeof(buf)) <= 0 ||
	    !(t = strstr(buf, "\nTgid:")))
		return tid;
	return (pid_t)strtol(t + 6, NULL, 10);
}

/*
 * A pidfd for the caller, which may be any thread of its process (the
 * notification names the thread): the thread's own with PIDFD_THREAD
 * (Linux 6.9), else its process's
 */
static int caller_pidfd(pid_t tid, pid_t *tgid)
{
	int fd = (int)syscall(SYS_pidfd_open, tid, 0);

	*tgid = tid;	/* a thread-group leader, when that worked */
	if (fd >= 0 || (errno != ENOENT && errno != EINVAL))
		return fd;
	*tgid = tgid_of(tid);
	fd = (int)syscall(SYS_pidfd_open, tid, O_EXCL /* PIDFD_THREAD */);
	if (fd >= 0)
		return fd;
	return (int)syscall(SYS_pidfd_open, *tgid, 0);
}

/* The relay names this socket's process by its address (audit log), and
 * counts its connections (the share of --max-conns); after connect(),
 * which gave it its port */
static void note_caller(int s, pid_t tgid, bool name)
{
	struct ab_actor who = { .pid = tgid };
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);

	if (getsockname(s, (struct sockaddr *)&local, &len))
		return;
	if (name)
		ab_actor_fill(&who, tgid);
	ab_peer_note(&local, &who);
}

static int add_pending(struct ab_onbehalf *ob, uint64_t id, int fd,
		       int flags)
{
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLONESHOT };

	for (unsigned i = 0; i < MAX_PENDING; i++) {
		if (ob->pend[i].fd >= 0)
			continue;
		ob->pend[i] = (struct pending){ id, fd, flags };
		ev.data.u32 = i;
		if (epoll_ctl(ob->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			ob->pend[i].fd = -1;
			return -1;
		}
		ob->n_pend++;
		return 0;
	}
	errno = ENOBUFS;
	return -1;
}

/**
 * ab_onbehalf_connect() - Make a connect() the filter sent us
 * @ob:		State
 * @req:	The notification (received, still pending)
 */
void ab_onbehalf_connect(struct ab_onbehalf *ob,
			 const struct seccomp_notif *req)
{
	struct ab_actor who;
	const struct seccomp_data *d = &req->data;
	struct sockaddr_storage addr;
	struct sockaddr_un to;
	socklen_t len = (socklen_t)d->args[2];
	cleanup_fd int pidfd = -1, file = -1;
	int s = -1, err = 0, flags, domain = 0;
	pid_t tgid;
	socklen_t dl = sizeof(domain);
	const struct sockaddr *dst = (const struct sockaddr *)&addr;
	struct iovec local = { &addr, 0 }, remote;
	char why[sizeof(to.sun_path) + 1] = "";

	if ((int)d->args[2] < 0 || len > sizeof(addr)) {
		reply(ob->notify_fd, req->id, EINVAL);
		return;
	}
	pidfd = caller_pidfd((pid_t)req->pid, &tgid);
	if (pidfd < 0 || ioctl(ob->notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID,
			       &req->id)) {
		reply(ob->notify_fd, req->id, ESRCH);
		return;
	}
	s = (int)syscall(SYS_pidfd_getfd, pidfd, (int)d->args[0], 0);
	if (s < 0) {
		reply(ob->notify_fd, req->id, EBADF);
		return;
	}
	local.iov_len = len;
	remote = (struct iovec){ (void *)(uintptr_t)d->args[1], len };
	if (len && process_vm_readv(req->pid, &local, 1, &remote, 1, 0) !=
	    (ssize_t)len) {
		err = EFAULT;
		goto out;
	}
	if (getsockopt(s, SOL_SOCKET, SO_DOMAIN, &domain, &dl)) {
		err = ENOTSOCK;
		goto out;
	}
	/* the kernel's own limit for a unix address (EINVAL beyond) */
	if (domain == AF_UNIX && len > sizeof(struct sockaddr_un)) {
		err = EINVAL;
		goto out;
	}
	if (domain == AF_UNIX && len > offsetof(struct sockaddr_un, sun_path) &&
	    addr.ss_family == AF_UNIX &&
	    ((struct sockaddr_un *)&addr)->sun_path[0] != '\0') {
		err = unix_target(ob, req->pid, (struct sockaddr_un *)&addr,
				  len, &to, &file, why, sizeof(why));
		if (err < 0) {
			err = -err;
			ab_actor_fill(&who, (pid_t)req->pid);
			if (ioctl(ob->notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID,
				  &req->id))
				memset(&who, 0, sizeof(who));
			ab_audit_unix(ob->audit, &who, why);
			goto out;
		}
		if (err)
			goto out;
		dst = (const struct sockaddr *)&to;
		len = sizeof(to);
	}
	flags = fcntl(s, F_GETFL);
	if (flags < 0 || fcntl(s, F_SETFL, flags | O_NONBLOCK)) {
		err = errno;
		goto out;
	}
	err = connect(s, dst, len) ? errno : 0;
	if ((!err || err == EINPROGRESS) &&
	    (domain == AF_INET || domain == AF_INET6))
		note_caller(s, tgid, ob->audit != NULL);
	if (err == EINPROGRESS && !(flags & O_NONBLOCK)) {
		/* answered when it completes; the file stays non-blocking
		 * until then, as nothing else of the caller's waits on it */
		if (!add_pending(ob, req->id, s, flags))
			return;
		err = errno;
	}
	fcntl(s, F_SETFL, flags);
out:
	close(s);
	reply(ob->notify_fd, req->id, err);
}

/**
 * ab_onbehalf_pending() - Answer the TCP connects that completed
 * @ob:		State
 */
void ab_onbehalf_pending(struct ab_onbehalf *ob)
{
	struct epoll_event evs[64];
	int n = epoll_wait(ob->epfd, evs, ARRAY_SIZE(evs), 0);

	for (int i = 0; i < n; i++) {
		struct pending *p = &ob->pend[evs[i].data.u32];
		int err = 0;
		socklen_t el = sizeof(err);

		if (p->fd < 0)
			continue;
		if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &el))
			err = errno;
		fcntl(p->fd, F_SETFL, p->flags);
		close(p->fd);	/* also leaves the epoll set */
		p->fd = -1;
		ob->n_pend--;
		reply(ob->notify_fd, p->id, err);
	}
}

/**
 * ab_onbehalf_free() - Free the state; pending connects are answered
 *			with EINTR (the sandbox is going)
 * @ob:		State, may be NULL
 */
void ab_onbehalf_free(struct ab_onbehalf *ob)
{
	if (!ob)
		return;
	for (unsigned i = 0; i < MAX_PENDING; i++)
		if (ob->pend[i].fd >= 0) {
			fcntl(ob->pend[i].fd, F_SETFL, ob->pend[i].flags);
			close(ob->pend[i].fd);
			reply(ob->notify_fd, ob->pend[i].id, EINTR);
		}
	close(ob->epfd);
	if (ob->diag_fd >= 0)
		close(ob->diag_fd);
	free(ob);
}
