// SPDX-License-Identifier: MIT
/* init.c - pid 1 of the sandbox: builds it, starts the command, reaps.
 *
 * The boot sequence, in the order the functions run:
 *
 *   init_attach()     die with the supervisor; be dumpable until mapped;
 *                     tell the supervisor we are here; wait for the id maps
 *   init_close_fds()  nothing of the supervisor's stays open
 *   init_build()      mounts (mounts.c), the profile's protected paths and
 *                     covered host sockets (protect.c), network (netns.c)
 *   init_harden()     secure bits and capabilities (caps.c), no_new_privs,
 *                     the seccomp filter (seccomp.c), not dumpable
 *   init_handover()   the proxy listener goes to the supervisor; wait GO
 *   init_spawn()      fork the command: signals reset, descriptors closed,
 *                     environment set, exec
 *   init_reap()       reap every orphan, pass signals on, and exit with the
 *                     command's status when the command exits
 *
 * Every failure before the command starts goes to the supervisor as one
 * struct ab_err and init exits: the command never runs in a half-built
 * sandbox.  When init exits, the kernel kills every process left in the pid
 * namespace; when the supervisor dies, PR_SET_PDEATHSIG kills init.
 *
 * The filter and the dropped capabilities are init's own too, so the
 * command inherits them from the fork and nothing can run between the
 * hardening and the exec.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "env.h"
#include "init.h"
#include "mounts.h"
#include "netns.h"
#include "protect.h"
#include "seccomp.h"
#include "sync.h"
#include "util.h"

static const int forwarded[] = { AB_FORWARDED_SIGNALS };

/**
 * ab_fill_sigset() - The signals the supervisor and init handle themselves
 * @set:	Result: SIGCHLD and the forwarded signals
 */
void ab_fill_sigset(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(set, forwarded[i]);
}

/**
 * ab_wait_status_to_exit() - The exit code that reports a wait status
 * @status:	Status from waitpid()
 *
 * Return: the exit code, or 128+N for a process killed by signal N
 */
int ab_wait_status_to_exit(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return AB_EXIT_SETUP;
}

__attribute__((noreturn))
static void init_fail(int sync_fd, struct ab_err *e)
{
	ab_sync_send_err(sync_fd, e);
	_exit(AB_EXIT_SETUP);
}

static int init_attach(int sync_fd, struct ab_err *e)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0))
		return ab_fail(e, errno, "init: PR_SET_PDEATHSIG");
	/* The supervisor is not dumpable, and neither would we be; our
	 * /proc files would be root's and the maps could not be written. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))
		return ab_fail(e, errno, "init: PR_SET_DUMPABLE");
	if (ab_sync_send(sync_fd, AB_MSG_READY, -1))
		return ab_fail(e, errno, "init: sync READY");
	/* End of stream here means the supervisor is gone: just exit */
	return ab_sync_expect(sync_fd, AB_MSG_MAPPED, NULL, "supervisor", e);
}

static int init_close_fds(const struct ab_config *c, int sync_fd,
			  struct ab_err *e)
{
	int keep[AB_MAX_PASS_FDS + 1];

	memcpy(keep, c->pass_fds, c->n_pass_fds * sizeof(int));
	keep[c->n_pass_fds] = sync_fd;
	if (ab_close_fds_except(3, keep, c->n_pass_fds + 1))
		return ab_fail(e, errno, "init: close inherited descriptors");
	for (unsigned i = 0; i < c->n_pass_fds; i++)
		if (fcntl(c->pass_fds[i], F_GETFD) < 0)
			return ab_fail(e, errno, "--pass-fd %d", c->pass_fds[i]);
	return 0;
}

static int init_build(const struct ab_config *c, struct ab_gw_fds *gw,
		      int *diag, struct ab_err *e)
{
	if (ab_mounts_setup(e) || ab_protect_apply(c->policy, e) ||
	    ab_netns_setup(c, gw, e))
		return -1;
	/* For the supervisor, to name the process behind a connection: the
	 * filter refuses this family from now on */
	*diag = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
		       NETLINK_SOCK_DIAG);
	if (*diag < 0)
		return ab_fail(e, errno, "sandbox netns: NETLINK_SOCK_DIAG "
			       "socket");
	return 0;
}

static int init_harden(int *notify_fd, struct ab_err *e)
{
	if (ab_caps_drop_all(e))
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return ab_fail(e, errno, "PR_SET_NO_NEW_PRIVS");
	if (ab_seccomp_load(notify_fd, e))
		return -1;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		return ab_fail(e, errno, "init: PR_SET_DUMPABLE");
	return 0;
}

static int init_handover(int sync_fd, struct ab_gw_fds *gw, int notify_fd,
			 int diag, struct ab_err *e)
{
	int rc = ab_sync_send(sync_fd, AB_MSG_LISTENER, gw->proxy);

	if (!rc)
		rc = ab_sync_send(sync_fd, AB_MSG_INTERCEPT4, gw->icpt4);
	if (!rc)
		rc = ab_sync_send(sync_fd, AB_MSG_INTERCEPT6, gw->icpt6);
	if (!rc)
		rc = ab_sync_send(sync_fd, AB_MSG_NOTIFY, notify_fd);
	if (!rc)
		rc = ab_sync_send(sync_fd, AB_MSG_DIAG, diag);
	/* only the supervisor may hold them */
	close(gw->proxy);
	if (gw->icpt4 >= 0)
		close(gw->icpt4);
	if (gw->icpt6 >= 0)
		close(gw->icpt6);
	close(notify_fd);
	close(diag);
	if (rc)
		return ab_fail(e, errno, "init: send proxy listener");
	return ab_sync_expect(sync_fd, AB_MSG_GO, NULL, "supervisor", e);
}

/**
 * exec_command() - In the vforked child: become the command
 * @c:		Configuration
 * @env:	Environment
 */
__attribute__((noreturn))
static void exec_command(const struct ab_config *c, char **env)
{
	sigset_t none;
	int err;

	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	execvpe(c->argv[0], c->argv, env);
	err = errno;
	dprintf(STDERR_FILENO, "agentbox: exec %s: %s\n", c->argv[0],
		strerror(err));
	_exit(err == ENOENT || err == ENOTDIR ? AB_EXIT_NOENT :
					       AB_EXIT_NOEXEC);
}

static pid_t init_spawn(const struct ab_config *c, int sync_fd,
			const char *session, struct ab_err *e)
{
	char **env = ab_env_build(environ, c, session, e);
	pid_t pid;

	if (!env)
		return -1;
	/* vfork: init's page tables are not copied for a child that only
	 * resets its signals, closes a descriptor and execs (a third of the
	 * time of fork) */
	pid = vfork();
	if (pid < 0) {
		ab_env_free(env);
		return ab_fail(e, errno, "init: fork command");
	}
	if (pid == 0) {
		close(sync_fd);
		exec_command(c, env);
	}
	ab_env_free(env);
	return pid;
}

__attribute__((noreturn))
static void init_reap(pid_t cmd)
{
	sigset_t set;

	ab_fill_sigset(&set);
	for (;;) {
		siginfo_t si;
		int status, sig = sigwaitinfo(&set, &si);
		pid_t p;

		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			/* A signal from the terminal reached the command's
			 * process group already; pass on only the others. */
			if (si.si_code != SI_KERNEL)
				kill(cmd, sig);
			continue;
		}
		while ((p = waitpid(-1, &status, WNOHANG)) > 0)
			if (p == cmd)
				_exit(ab_wait_status_to_exit(status));
	}
}

/**
 * ab_init_main() - pid 1 of the sandbox, from clone() to the end
 * @c:		Configuration
 * @sync_fd:	init's end of the sync socket
 * @session:	Session id
 *
 * The signals of ab_fill_sigset() are blocked on entry (inherited from the
 * supervisor) and stay blocked: init takes them with sigwaitinfo().
 */
void ab_init_main(const struct ab_config *c, int sync_fd, const char *session)
{
	struct ab_err e = { 0 };
	struct ab_gw_fds gw = { -1, -1, -1 };
	int notify_fd = -1, diag = -1;
	pid_t cmd;

	if (init_attach(sync_fd, &e))
		_exit(AB_EXIT_SETUP);
	if (init_close_fds(c, sync_fd, &e) ||
	    init_build(c, &gw, &diag, &e) ||
	    init_harden(&notify_fd, &e) ||
	    init_handover(sync_fd, &gw, notify_fd, diag, &e))
		init_fail(sync_fd, &e);
	cmd = init_spawn(c, sync_fd, session, &e);
	if (cmd < 0)
		init_fail(sync_fd, &e);
	close(sync_fd);
	init_reap(cmd);
}
