// SPDX-License-Identifier: MIT
/* sandbox.c - the supervisor's side of the boot sequence, top to bottom.
 *
 *   sup_prepare()        not dumpable, signals to a signalfd, fd limit
 *   sup_resolve()        the upstream proxy's addresses (no connection: one
 *                        that carried no request would be a line of junk
 *                        in the proxy's log; a proxy that is down gets the
 *                        first request a 502 with the reason instead)
 *   sup_clone()          init in new user, mount, pid and network
 *                        namespaces (init.c takes over there)
 *   sup_map()            setgroups deny, uid and gid mapped to themselves
 *   sup_take_listener()  init built and hardened the sandbox and sends the
 *                        proxy listener it bound in the gateway netns
 *   sup_go()             init starts the command
 *   sup_relay()          relay.c until init exits; its status is ours
 *
 * Any failure up to sup_go() kills init (and with it anything it made),
 * prints one line and returns 125; the command has not run.
 */

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "audit.h"
#include "init.h"
#include "notify.h"
#include "onbehalf.h"
#include "policy.h"
#include "profile.h"
#include "relay.h"
#include "negotiate.h"
#include "uptls.h"
#include "upws.h"
#include "sandbox.h"
#include "sync.h"
#include "userns.h"
#include "util.h"

#define CLONE_FLAGS	(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | \
			 CLONE_NEWNET | CLONE_NEWIPC)

struct supervisor {
	const struct ab_config *c;
	const char *session;
	char extra[1024];		/* lines added to heads sent upstream */
	char up_name[300];		/* "HOST:PORT" */
	struct addrinfo *ai;		/* upstream addresses */
	struct ab_uptls *tls;		/* https://, wss:// upstream: its TLS */
	struct ab_upws *ws;		/* ws://, wss:// upstream: its upgrade */
	struct ab_negotiate *neg;	/* Kerberos to the upstream */
	int sigfd;
	int sync_fd;
	int listener;
	int icpt4, icpt6;		/* interception listeners, or -1 */
	int notify_fd;			/* seccomp user notifications */
	int diag_fd;			/* sock_diag in the sandbox netns */
	struct ab_onbehalf *ob;		/* connects made for the sandbox */
	int fold_fd;			/* timerfd: folded refusals */
	pid_t init;
	int exit_code;
};

static int sup_prepare(struct supervisor *s, struct ab_err *e)
{
	struct rlimit rl;
	sigset_t set;

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		return ab_fail(e, errno, "supervisor: PR_SET_DUMPABLE");
	signal(SIGPIPE, SIG_IGN);
	/* a file size limit makes the audit log's write fail (EFBIG), which
	 * ends the session; it must not kill the supervisor */
	signal(SIGXFSZ, SIG_IGN);
	ab_fill_sigset(&set);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return ab_fail(e, errno, "supervisor: sigprocmask");
	s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->sigfd < 0)
		return ab_fail(e, errno, "supervisor: signalfd");

	/* Six descriptors per relayed connection */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (unsigned i = 0; i < s->c->n_pass_fds; i++)
		if (fcntl(s->c->pass_fds[i], F_GETFD) < 0)
			return ab_fail(e, errno, "--pass-fd %d",
				       s->c->pass_fds[i]);
	s->session = s->c->session;
	return 0;
}

/**
 * sup_identity() - The lines the relay adds to every head it sends upstream
 * @s:		Supervisor
 *
 * The identity field names session, user and profile, so that the proxy's
 * log ties each request to a session; Proxy-Authorization carries the
 * credentials the sandbox never sees.
 */
static void sup_identity(struct supervisor *s)
{
	const struct ab_config *c = s->c;
	char prof[256];
	int n;

	/* a profile named by path is named by its file's name: the path
	 * would reach origins when the proxy does not remove the field */
	if (c->profile_name && *c->profile_name)
		ab_profile_label(c->profile_name, prof, sizeof(prof));
	else
		snprintf(prof, sizeof(prof), "none");
	for (char *p = prof; *p; p++)
		if ((unsigned char)*p < 0x21 || *p == 0x7f || *p == ';' ||
		    *p == ',')
			*p = '_';
	n = snprintf(s->extra, sizeof(s->extra), "%s: session=%s; run=%s; "
		     "user=%s; profile=%s\r\n", c->identity, s->session,
		     c->run, c->user, prof);
	if (n > 0 && (size_t)n < sizeof(s->extra) && c->proxy_auth[0])
		snprintf(s->extra + n, sizeof(s->extra) - (size_t)n,
			 "Proxy-Authorization: %s\r\n", c->proxy_auth);
}

static int sup_resolve(struct supervisor *s, struct ab_err *e)
{
	const struct ab_upstream *u = &s->c->upstream;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	char port[8];
	int rc;

	ab_upstream_name(u, s->up_name, sizeof(s->up_name));
	if (u->builtin)
		return 0;
	snprintf(port, sizeof(port), "%u", u->port);
	rc = getaddrinfo(u->host, port, &hints, &s->ai);
	if (rc)
		return ab_fail(e, rc == EAI_SYSTEM ? errno : 0,
			       "upstream proxy %s (from %s): resolve: %s",
			       s->up_name, u->source,
			       rc == EAI_SYSTEM ? "" : gai_strerror(rc));
	/* its CA is read now: one that cannot be is a setup failure */
	if (u->tls && !(s->tls = ab_uptls_new(u->host, s->c->upstream_ca[0] ?
					      s->c->upstream_ca : NULL, e)))
		return -1;
	if (u->ws && !(s->ws = ab_upws_new(u->host, u->port, u->path,
					   s->c->ws_token[0] ? s->c->ws_token :
					   NULL, e)))
		return -1;
	/* and the user's Kerberos credentials: none is kinit's to fix */
	if (s->c->negotiate && !(s->neg = ab_negotiate_new(u->host, e)))
		return -1;
	return 0;
}

static int sup_clone(struct supervisor *s, struct ab_err *e)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return ab_fail(e, errno, "sync socketpair");
	s->init = (pid_t)syscall(SYS_clone, CLONE_FLAGS | SIGCHLD, NULL, NULL,
				 NULL, NULL);
	if (s->init < 0) {
		int err = errno;

		close(sv[0]);
		close(sv[1]);
		ab_fail(e, err, "clone user, mount, pid, network and IPC "
			"namespaces");
		ab_userns_explain(e);
		return -1;
	}
	if (s->init == 0) {
		close(sv[0]);
		ab_init_main(s->c, sv[1], s->session);
	}
	close(sv[1]);
	s->sync_fd = sv[0];
	return 0;
}

static int sup_map(struct supervisor *s, struct ab_err *e)
{
	if (ab_sync_expect(s->sync_fd, AB_MSG_READY, NULL, "init", e))
		return -1;
	if (ab_userns_write_maps(s->init, getuid(), getgid(), e))
		return -1;
	if (ab_sync_send(s->sync_fd, AB_MSG_MAPPED, -1))
		return ab_fail(e, errno, "sync with init: send");
	return 0;
}

static int sup_take_listener(struct supervisor *s, struct ab_err *e)
{
	if (ab_sync_expect(s->sync_fd, AB_MSG_LISTENER, &s->listener, "init",
			   e)) {
		/* a hint about namespaces only where one failed: an EACCES
		 * on a path is the path's */
		if (e->kind == AB_ERR_NAMESPACE)
			ab_userns_explain(e);
		return -1;
	}
	if (s->listener < 0)
		return ab_fail(e, EPROTO, "sync with init: no listener");
	/* none when interception is off, or could not be set up */
	if (ab_sync_expect(s->sync_fd, AB_MSG_INTERCEPT4, &s->icpt4, "init",
			   e) ||
	    ab_sync_expect(s->sync_fd, AB_MSG_INTERCEPT6, &s->icpt6, "init",
			   e))
		return -1;
	if (ab_sync_expect(s->sync_fd, AB_MSG_NOTIFY, &s->notify_fd, "init",
			   e))
		return -1;
	if (s->notify_fd < 0)
		return ab_fail(e, EPROTO, "sync with init: no seccomp "
			       "listener");
	if (ab_sync_expect(s->sync_fd, AB_MSG_DIAG, &s->diag_fd, "init", e))
		return -1;
	return 0;
}

static int sup_go(struct supervisor *s, struct ab_err *e)
{
	if (ab_sync_send(s->sync_fd, AB_MSG_GO, -1))
		return ab_fail(e, errno, "sync with init: send");
	return 0;
}

/**
 * on_signal() - signalfd callback: reap init, pass signals on
 * @arg:	Supervisor
 * @events:	epoll events (unused)
 *
 * Return: 1 once init has exited, 0 otherwise
 */
static int on_signal(void *arg, uint32_t events)
{
	struct supervisor *s = arg;
	struct signalfd_siginfo si;
	int done = 0;

	(void)events;
	while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int status;

		if (si.ssi_signo != SIGCHLD) {
			/* Terminal signals reached the command already */
			if (si.ssi_code != SI_KERNEL)
				kill(s->init, (int)si.ssi_signo);
			continue;
		}
		if (waitpid(s->init, &status, WNOHANG) == s->init) {
			s->exit_code = ab_wait_status_to_exit(status);
			s->init = -1;
			done = 1;
		}
	}
	return done;
}

/* notify fd callback: a socket() the filter refused */
static int on_notify(void *arg, uint32_t events)
{
	struct supervisor *s = arg;

	if (s->notify_fd < 0)
		return 0;
	ab_notify_handle(s->notify_fd, s->c->audit, s->ob, events);
	if ((events & (EPOLLHUP | EPOLLIN)) == EPOLLHUP) {
		/* no task uses the filter any more: stop watching */
		close(s->notify_fd);
		s->notify_fd = -1;
	}
	return 0;
}

/**
 * sup_end_unaudited() - The audit log failed: end the sandbox
 * @s:		Supervisor, the relay stopped
 *
 * The relay accepts nothing more once the log fails; the command and
 * everything it started are killed, and agentbox exits with AB_EXIT_AUDIT
 * (the reason was said on stderr and syslog when the log failed).
 */
static void sup_end_unaudited(struct supervisor *s)
{
	int status;

	if (s->init > 0) {
		kill(s->init, SIGKILL);
		waitpid(s->init, &status, 0);
		s->init = -1;
	}
	s->exit_code = AB_EXIT_AUDIT;
}

/* timerfd: log the refusals counted in intervals that ended */
static int on_fold_timer(void *arg, uint32_t events)
{
	struct supervisor *s = arg;
	uint64_t ticks;

	(void)events;
	if (read(s->fold_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return 0;
	ab_notify_flush(s->c->audit, false);
	ab_audit_flush(s->c->audit, false);
	return 0;
}

/* the connects made for the sandbox that completed */
static int on_pending(void *arg, uint32_t events)
{
	struct supervisor *s = arg;

	(void)events;
	ab_onbehalf_pending(s->ob);
	return 0;
}

static int sup_relay(struct supervisor *s, struct ab_err *e)
{
	struct ab_relay_cfg rc = {
		.listener = s->listener,
		.icpt4 = s->icpt4,
		.icpt6 = s->icpt6,
		.builtin = s->c->upstream.builtin,
		.egress = s->c->egress,
		.up_name = s->up_name,
		.tls = s->tls,
		.ws = s->ws,
		.negotiate = s->neg,
		.identity = s->c->identity,
		.extra = s->extra,
		.audit = s->c->audit,
		.sandbox_pid = s->init,
		.diag_fd = s->diag_fd,
		.max_conns = s->c->max_conns,
		.verbose = s->c->verbose,
		.tunnel_check = s->c->tunnel_check,
	};
	struct ab_relay *r;
	int ret;

	/* every address the name has, tried in turn by the relay */
	for (const struct addrinfo *a = s->ai; a && rc.n_up < AB_RELAY_MAX_UP;
	     a = a->ai_next) {
		memcpy(&rc.up[rc.n_up], a->ai_addr, a->ai_addrlen);
		rc.up_len[rc.n_up++] = a->ai_addrlen;
	}
	s->ob = ab_onbehalf_new(s->notify_fd, fcntl(s->diag_fd,
						    F_DUPFD_CLOEXEC, 3),
				&s->c->policy->unix_allow, s->c->audit, e);
	if (!s->ob)
		return -1;
	r = ab_relay_new(&rc, e);
	if (!r)
		return -1;
	/* the relay's now */
	s->listener = s->icpt4 = s->icpt6 = s->diag_fd = -1;
	ret = ab_relay_watch(r, s->sigfd, on_signal, s, e);
	if (!ret)
		ret = ab_relay_watch(r, s->notify_fd, on_notify, s, e);
	if (!ret)
		ret = ab_relay_watch(r, ab_onbehalf_fd(s->ob), on_pending, s,
				     e);
	if (!ret && s->c->audit) {
		struct itimerspec its = { .it_interval = { .tv_sec = 1 },
					  .it_value = { .tv_sec = 1 } };

		s->fold_fd = timerfd_create(CLOCK_MONOTONIC,
					    TFD_NONBLOCK | TFD_CLOEXEC);
		if (s->fold_fd < 0 || timerfd_settime(s->fold_fd, 0, &its, NULL))
			ret = ab_fail(e, errno, "supervisor: timerfd");
		else
			ret = ab_relay_watch(r, s->fold_fd, on_fold_timer, s, e);
	}
	if (!ret)
		ret = ab_relay_run(r, e);
	/* a log that failed ends the sandbox first: nothing it does from
	 * now on could be audited */
	if (!ret && ab_audit_failed(s->c->audit))
		sup_end_unaudited(s);
	if (!ret)
		ab_relay_drain(r, 250);
	ab_relay_free(r);
	return ret;
}

/**
 * report_late_error() - Print an error init sent after GO, if any
 * @s:		Supervisor
 */
static void report_late_error(struct supervisor *s)
{
	struct pollfd p = { .fd = s->sync_fd, .events = POLLIN };
	struct ab_err e = { 0 };

	if (poll(&p, 1, 0) == 1 &&
	    ab_sync_expect(s->sync_fd, AB_MSG_ERROR, NULL, "init", &e) &&
	    e.msg[0] && !strstr(e.msg, "exited during setup"))
		ab_err_print(&e);
}

/**
 * ab_sandbox_run() - Run the command in a sandbox
 * @c:		Configuration
 *
 * Return: the exit status agentbox exits with
 */
int ab_sandbox_run(const struct ab_config *c)
{
	struct supervisor s = {
		.c = c, .sigfd = -1, .sync_fd = -1,
		.listener = -1, .icpt4 = -1, .icpt6 = -1, .notify_fd = -1, .diag_fd = -1, .init = -1,
		.fold_fd = -1,
		.exit_code = AB_EXIT_SETUP,
	};
	struct ab_err e = { 0 };
	uint64_t t0 = ab_now_us();
	char why[AB_ERR_MSG + AB_ERR_HINT + 16] = "";

	if (sup_prepare(&s, &e) || sup_resolve(&s, &e))
		goto fail;
	sup_identity(&s);
	if (sup_clone(&s, &e) || sup_map(&s, &e) ||
	    sup_take_listener(&s, &e))
		goto fail;
	/* a session whose start cannot be logged does not start */
	if (ab_audit_check(c->audit, &e))
		goto fail;
	ab_audit_session(c->audit, true, c->argv, c->policy ?
			 c->policy->cwd : NULL, 0, 0, NULL);
	if (ab_audit_failed(c->audit)) {
		ab_fail(&e, ab_audit_failed(c->audit), "audit log: the session's "
			"start could not be written");
		goto fail;
	}
	if (sup_go(&s, &e))
		goto fail;
	if (c->verbose > 1)
		ab_warn("session %s: upstream %s, command %s", s.session,
			s.up_name, c->argv[0]);
	if (sup_relay(&s, &e))
		goto fail;
	if (ab_audit_failed(c->audit))
		sup_end_unaudited(&s);
	if (s.exit_code == AB_EXIT_SETUP)
		report_late_error(&s);
	goto out;

fail:
	ab_err_print(&e);
	ab_err_format(&e, why, sizeof(why));
	if (s.init > 0) {
		int status;

		kill(s.init, SIGKILL);
		waitpid(s.init, &status, 0);
		s.init = -1;
	}
	s.exit_code = AB_EXIT_SETUP;
out:
	ab_notify_flush(c->audit, true);
	ab_audit_flush(c->audit, true);
	ab_audit_session(c->audit, false, c->argv, NULL, s.exit_code,
			 ab_now_us() - t0, why[0] ? why : NULL);
	if (s.ai)
		freeaddrinfo(s.ai);
	ab_uptls_free(s.tls);
	ab_upws_free(s.ws);
	ab_negotiate_free(s.neg);
	ab_closep(&s.listener);
	ab_closep(&s.icpt4);
	ab_closep(&s.icpt6);
	ab_closep(&s.sync_fd);
	ab_onbehalf_free(s.ob);
	ab_closep(&s.fold_fd);
	ab_closep(&s.notify_fd);
	ab_closep(&s.diag_fd);
	ab_closep(&s.sigfd);
	return s.exit_code;
}
