// SPDX-License-Identifier: MIT
/* doctor.c - "agentbox doctor": can agentbox run here, and if not, why.
 *
 * Each check prints one line, "ok", "warn" or "FAIL", what it looked at,
 * and for a problem what to do.  The last check builds a real sandbox
 * (this binary, the same profile and upstream, running /bin/true), so that
 * whatever the single checks miss still shows as agentbox's own one-line
 * error.  Exit status: 0 if nothing failed, 1 otherwise.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/landlock.h>
#include <netdb.h>

#include "audit.h"
#include "egress.h"
#include "hook.h"
#include "options.h"
#include "profile.h"
#include "userns.h"
#include "util.h"

struct doc {
	int failed, warned;
	const char *proc_sys;	/* "/proc/sys" (tests: a fake tree) */
};

static void say(struct doc *d, const char *level, const char *fix,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void say(struct doc *d, const char *level, const char *fix,
		const char *fmt, ...)
{
	va_list ap;

	if (!strcmp(level, "FAIL"))
		d->failed++;
	else if (!strcmp(level, "warn"))
		d->warned++;
	printf("  %-5s ", level);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (fix)
		printf("        fix: %s\n", fix);
}

static long sysctl(const struct doc *d, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", d->proc_sys, name);
	return ab_read_sysctl(path);
}

/* In the new pid namespace: / made a slave, a fresh proc on /proc, as
 * init does; 0 or the errno */
static int try_proc(void)
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return errno;
	if (!pid) {
		if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) ||
		    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV |
			  MS_NOEXEC, NULL))
			_exit(errno & 0xff);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return EIO;
	return WEXITSTATUS(st);
}

/* A user namespace with network and mount namespaces in it, made the way
 * agentbox makes them (the maps written from outside): @what gets the step
 * that failed */
static int try_namespaces(const char **what)
{
	int to_child[2], to_parent[2], err = 0, st;
	char step = 0;
	pid_t pid;

	if (pipe2(to_child, O_CLOEXEC))
		return -errno;
	if (pipe2(to_parent, O_CLOEXEC)) {
		err = errno;
		close(to_child[0]);
		close(to_child[1]);
		return -err;
	}
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		char go = 0;

		if (unshare(CLONE_NEWUSER))
			step = 'u';
		err = errno;
		(void)!write(to_parent[1], &step, 1);
		if (!step && (read(to_child[0], &go, 1) != 1 || go != 'g'))
			_exit(0);
		if (!step && unshare(CLONE_NEWNET | CLONE_NEWNS |
				     CLONE_NEWPID)) {
			step = 'n';
			err = errno;
		}
		if (!step)
			err = try_proc();
		if (!step && err)
			step = 'p';
		(void)!write(to_parent[1], &step, 1);
		(void)!write(to_parent[1], &err, sizeof(err));
		_exit(0);
	}
	close(to_child[0]);
	close(to_parent[1]);
	if (read(to_parent[0], &step, 1) == 1 && !step) {
		struct ab_err me = { 0 };

		if (ab_userns_write_maps(pid, getuid(), getgid(), &me)) {
			step = 'm';
			err = me.code;
		}
		(void)!write(to_child[1], step ? "x" : "g", 1);
	}
	if (step != 'm' && (read(to_parent[0], &step, 1) != 1 ||
			    read(to_parent[0], &err, sizeof(err)) !=
			    sizeof(err)))
		step = '?';
	close(to_child[1]);
	close(to_parent[0]);
	waitpid(pid, &st, 0);
	*what = step == 'u' ? "unshare(CLONE_NEWUSER)" :
		step == 'm' ? "write the id maps" :
		step == 'n' ? "unshare(CLONE_NEWNET|CLONE_NEWNS|CLONE_NEWPID) "
			      "in it" :
		step == 'p' ? "mount a fresh proc on /proc in it" :
		step ? "probe" : "";
	return step ? -(err ? err : EIO) : 0;
}

static void check_userns(struct doc *d)
{
	long max = sysctl(d, "user/max_user_namespaces");
	long clone = sysctl(d, "kernel/unprivileged_userns_clone");
	long aa = sysctl(d, "kernel/apparmor_restrict_unprivileged_userns");
	const char *what = "";
	char aaprof[4096] = "";
	bool profile_loaded;
	int r;

	if (max == 0)
		say(d, "FAIL", "sudo sysctl -w user.max_user_namespaces=15000 "
		    "(and in /etc/sysctl.d/ to keep it)",
		    "user namespaces disabled (user.max_user_namespaces = 0)");
	else
		say(d, "ok", NULL, "user namespaces (user.max_user_namespaces "
		    "= %ld)", max);
	if (clone == 0 && getuid() != 0)
		say(d, "FAIL", "sudo sysctl -w kernel.unprivileged_userns_clone=1",
		    "unprivileged user namespaces disabled "
		    "(kernel.unprivileged_userns_clone = 0)");

	profile_loaded = ab_read_small_file("/sys/kernel/security/apparmor/"
					    "profiles", aaprof,
					    sizeof(aaprof)) > 0 &&
			 (strstr(aaprof, "\nagentbox ") ||
			  !strncmp(aaprof, "agentbox ", 9));
	if (aa == 1 && !profile_loaded)
		say(d, "FAIL", "sudo make install (installs /etc/apparmor.d/"
		    "agentbox and loads it), or: sudo sysctl -w kernel."
		    "apparmor_restrict_unprivileged_userns=0",
		    "AppArmor restricts unprivileged user namespaces (kernel."
		    "apparmor_restrict_unprivileged_userns = 1) and no "
		    "agentbox profile is loaded");
	else if (aa == 1)
		say(d, "ok", NULL, "AppArmor restricts user namespaces; the "
		    "agentbox profile is loaded");
	else
		say(d, "ok", NULL, "no AppArmor restriction on user namespaces");

	r = try_namespaces(&what);
	if (r && !strncmp(what, "mount a fresh proc", 18))
		say(d, "FAIL", "/proc is partly masked here (a container): run "
		    "agentbox on the host, or give the container an unmasked "
		    "/proc (docker: --security-opt systempaths=unconfined)",
		    "namespaces: %s: %s", what, strerror(-r));
	else if (r)
		say(d, "FAIL", aa == 1 ? "see the AppArmor line above" :
		    "run agentbox on the host, or allow user namespaces in the "
		    "container (docker: --security-opt seccomp=unconfined "
		    "--security-opt apparmor=unconfined)",
		    "namespaces: %s: %s", what, strerror(-r));
	else
		say(d, "ok", NULL, "user, network, mount and pid namespaces "
		    "and a fresh /proc can be made");
}

static void check_kernel(struct doc *d)
{
	char acts[256] = "";
	struct utsname u;
	long abi;

	uname(&u);
	say(d, "ok", NULL, "kernel %s %s", u.release, u.machine);
	if (ab_read_small_file("/proc/sys/kernel/seccomp/actions_avail", acts,
			       sizeof(acts)) <= 0)
		say(d, "FAIL", "a kernel built with CONFIG_SECCOMP_FILTER",
		    "seccomp filters not available");
	else if (!strstr(acts, "user_notif"))
		say(d, "FAIL", "Linux 5.0 or later", "seccomp user "
		    "notifications not available (actions: %.100s)", acts);
	else
		say(d, "ok", NULL, "seccomp filters with user notification");
	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
		      LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0)
		say(d, "ok", NULL, "Landlock not available (%s); agentbox does "
		    "not need it", strerror(errno));
	else
		say(d, "ok", NULL, "Landlock ABI %ld (agentbox does not use "
		    "it)", abi);
}

static void check_upstream(struct doc *d, const struct ab_config *c)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char port[8], name[300];
	int err = 0, fd;

	ab_upstream_name(&c->upstream, name, sizeof(name));
	if (c->upstream.builtin) {
		say(d, "ok", NULL, "upstream: agentbox's built-in proxy "
		    "(%s)", c->upstream.source);
		return;
	}
	snprintf(port, sizeof(port), "%u", c->upstream.port);
	if (getaddrinfo(c->upstream.host, port, &hints, &res)) {
		say(d, "FAIL", "check the name, or give the proxy's address",
		    "upstream %s (from %s): cannot resolve", name,
		    c->upstream.source);
		return;
	}
	for (ai = res, err = ENOENT; ai; ai = ai->ai_next) {
		struct pollfd p;

		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
			    SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		p = (struct pollfd){ .fd = fd, .events = POLLOUT };
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) &&
		    errno != EINPROGRESS) {
			err = errno;
		} else if (poll(&p, 1, 3000) != 1) {
			err = ETIMEDOUT;
		} else {
			socklen_t l = sizeof(err);

			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
		}
		close(fd);
		if (!err)
			break;
	}
	freeaddrinfo(res);
	if (err)
		say(d, "FAIL", "start the proxy, or point --upstream or the "
		    "profile's upstream at it", "upstream %s (from %s): "
		    "connect: %s", name, c->upstream.source, strerror(err));
	else
		say(d, "ok", NULL, "upstream %s (from %s) answers", name,
		    c->upstream.source);
}

/* The real thing: this binary runs /bin/true in a sandbox */
static void check_sandbox(struct doc *d, char *const argv[])
{
	char out[1024] = "";
	int pfd[2], st = 0;
	ssize_t n = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC)) {
		say(d, "FAIL", NULL, "pipe: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], STDERR_FILENO);
		dup2(pfd[1], STDOUT_FILENO);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(pfd[1]);
	while (pid > 0 && n < (ssize_t)sizeof(out) - 1) {
		ssize_t r = read(pfd[0], out + n, sizeof(out) - 1 - (size_t)n);

		if (r <= 0)
			break;
		n += r;
	}
	close(pfd[0]);
	if (pid > 0)
		waitpid(pid, &st, 0);
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	if (pid > 0 && WIFEXITED(st) && !WEXITSTATUS(st))
		say(d, "ok", NULL, "a sandbox (namespaces, veth, seccomp, "
		    "relay) runs /bin/true");
	else
		say(d, "FAIL", "see the error; agentbox(1) DIAGNOSTICS",
		    "a sandbox: %s", *out ? out : "failed");
}

/* The audit log a run would write: can it be opened? */
static void check_audit(struct doc *d, struct ab_config *c)
{
	int fd;

	if (!(c->audit_sinks & AB_AUDIT_FILE)) {
		say(d, "ok", NULL, "audit log: %s", c->audit_sinks ?
		    "syslog only" : "off ([audit] log = none)");
		return;
	}
	if (!c->audit_path[0] &&
	    ab_audit_default_path(c->audit_path, sizeof(c->audit_path))) {
		say(d, "FAIL", "set XDG_STATE_HOME or the profile's [audit] file",
		    "audit log: no $HOME or $XDG_STATE_HOME to put it in");
		return;
	}
	fd = open(c->audit_path, O_WRONLY | O_APPEND | O_CLOEXEC |
		  O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		say(d, "ok", NULL, "audit log %s (made at the first run)",
		    c->audit_path);
		return;
	}
	if (fd < 0) {
		say(d, "FAIL", "make it writable, or set [audit] file",
		    "audit log %s: %s", c->audit_path, strerror(errno));
		return;
	}
	close(fd);
	say(d, "ok", NULL, "audit log %s", c->audit_path);
}

/**
 * ab_doctor_main() - agentbox doctor [--profile NAME] [--upstream URL]
 * @argc:	Argument count
 * @argv:	Arguments, argv[0] is "doctor"
 *
 * Return: 0 if no check failed, 1 otherwise, 2 on a usage error
 */
int ab_doctor_main(int argc, char *argv[])
{
	extern char **environ;
	static char a0[] = "agentbox", dashes[] = "--", cmd[] = "/bin/true";
	struct doc d = { .proc_sys = "/proc/sys" };
	struct ab_profile prof = { 0 };
	struct ab_egress *eg = NULL;
	struct ab_config c;
	struct ab_err e = { 0 };
	char *targv[8];
	int targc = 0, rc;

#ifdef AB_TEST_PATHS
	if (getenv("AGENTBOX_TEST_PROC_SYS"))
		d.proc_sys = getenv("AGENTBOX_TEST_PROC_SYS");
#endif
	/* the run this checks: agentbox [--profile P] [--upstream U] -- true */
	targv[targc++] = a0;
	for (int i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "--profile") ||
		     !strcmp(argv[i], "--upstream")) && i + 1 < argc &&
		    targc < 5) {
			targv[targc++] = argv[i];
			targv[targc++] = argv[++i];
		} else {
			fprintf(stderr, "Usage: agentbox doctor [--profile NAME]"
				" [--upstream URL]\n");
			return 2;
		}
	}
	targv[targc++] = dashes;
	targv[targc++] = cmd;
	targv[targc] = NULL;

	printf("agentbox doctor: can agentbox run here?\n");
	check_kernel(&d);
	check_userns(&d);

	/* the configuration such a run would have */
	rc = ab_options_parse(&c, targc, targv, &e);
	if (!rc && !(eg = malloc(sizeof(*eg))))
		rc = ab_fail(&e, ENOMEM, "egress policy");
	if (!rc) {
		ab_egress_defaults(eg);
		c.egress = eg;
		rc = ab_config_resolve(&c, &prof, environ, &e);
	}
	if (rc) {
		char msg[AB_ERR_MSG + AB_ERR_HINT + 32];

		ab_err_format(&e, msg, sizeof(msg));
		say(&d, "FAIL", "agentbox profile lint FILE lists every error",
		    "configuration: %s", msg);
	} else {
		say(&d, "ok", NULL, "profile %s loads",
		    c.profile_name ? c.profile_name :
		    "(none given: the system default, if any)");
		check_upstream(&d, &c);
		check_audit(&d, &c);
		check_sandbox(&d, targv);
	}
	ab_profile_free(&prof);
	free(eg);
	printf("%d failed, %d warnings\n", d.failed, d.warned);
	return d.failed ? 1 : 0;
}
