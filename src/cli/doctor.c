// SPDX-License-Identifier: MIT
/* doctor.c - "agentbox doctor": can agentbox run here, and if not, why.
 *
 * Each check prints one line, "ok", "warn" or "FAIL", what it looked at,
 * and for a problem what to do.  The last check builds a real sandbox
 * (this binary, the same profile and upstream, running /bin/true), so that
 * whatever the single checks miss still shows as agentbox's own one-line
 * error.  Exit status: 0 if nothing failed, 1 otherwise.
 */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/landlock.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <jansson.h>

#include "audit.h"
#include "claudeshell.h"
#include "egress.h"
#include "hook.h"
#include "nft.h"
#include "options.h"
#include "profile.h"
#include "secrets.h"
#include "uptls.h"
#include "upws.h"
#include "userns.h"
#include "util.h"
#include "ws.h"

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

/* nftables' nat redirect, in a network namespace of a fresh user
 * namespace, as init installs it in the gateway: 0 or an errno */
static int try_nftables(void)
{
	int p[2], err = EIO, st;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return errno;
	pid = fork();
	if (pid < 0) {
		err = errno;
		close(p[0]);
		close(p[1]);
		return err;
	}
	if (!pid) {
		struct in_addr gw = { htonl(0x0a000001) };
		struct ab_err e = { 0 };

		close(p[0]);
		err = 0;
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET))
			err = errno;
		else if (ab_nft_intercept(gw, 3128, 3129, &e))
			err = e.code ? e.code : EIO;
		(void)!write(p[1], &err, sizeof(err));
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &err, sizeof(err)) != sizeof(err))
		err = EIO;
	close(p[0]);
	waitpid(pid, &st, 0);
	return err;
}

static void check_intercept(struct doc *d, const struct ab_config *c)
{
	int err;

	if (!c->intercept) {
		say(d, "ok", NULL, "interception: off ([network] intercept = "
		    "no): tools that ignore the proxy variables fail closed");
		return;
	}
	err = try_nftables();
	if (!err)
		say(d, "ok", NULL, "interception: nftables nat redirect works "
		    "in a user namespace's network namespace");
	else
		say(d, "warn", err == EPERM || err == EACCES ?
		    "unprivileged nf_tables is refused here (an LSM, or a "
		    "container's seccomp policy): allow it, or run agentbox on "
		    "the host" :
		    "load the modules once as root: modprobe -a nf_tables "
		    "nft_redir nf_nat nf_conntrack (and list them in "
		    "/etc/modules-load.d/ to keep them)",
		    "interception: nftables nat redirect in a user namespace: "
		    "%s; sandboxes run with interception off (closed: tools "
		    "that ignore the proxy variables fail)", strerror(err));
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

/* ws://: the upgrade request on a plain connection, and its answer */
static int plain_exchange(int fd, const char *req, char *ans, size_t size,
			  char *why, size_t why_size)
{
	uint64_t end = ab_now_us() + 5000 * 1000ULL;
	size_t off = 0, len = 0;

	while (off < strlen(req) || !strstr(ans, "\r\n\r\n")) {
		struct pollfd p = { .fd = fd, .events = off < strlen(req) ?
						   POLLOUT : POLLIN };
		uint64_t now = ab_now_us();
		ssize_t n;

		if (now >= end || len == size - 1) {
			snprintf(why, why_size, now >= end ? "no answer in time"
				 : "its answer's head is too long");
			return -1;
		}
		if (poll(&p, 1, (int)((end - now) / 1000 + 1)) != 1)
			continue;
		if (off < strlen(req))
			n = send(fd, req + off, strlen(req) - off, MSG_NOSIGNAL);
		else
			n = recv(fd, ans + len, size - 1 - len, 0);
		if (n <= 0) {
			snprintf(why, why_size, "%s", n ? strerror(errno) :
				 "the bridge closed the connection");
			return -1;
		}
		if (off < strlen(req)) {
			off += (size_t)n;
		} else {
			len += (size_t)n;
			ans[len] = '\0';
		}
	}
	return 0;
}

/*
 * A WebSocket upstream: the upgrade, with the token, as the relay makes it.
 * Return: 0 (101 with the right accept), -1 with @why and @fix filled
 */
static int check_upgrade(struct ab_config *c, const struct ab_uptls *tls,
			 int fd, char *why, size_t size, const char **fix)
{
	char req[8192], ans[AB_HEAD_MAX], accept[AB_WS_ACCEPT_LEN + 1];
	struct ab_err e = { 0 };
	struct ab_upws *w;
	struct ab_resp r;
	int rc;

	*fix = "check the bridge and the ingress's route for the URL's path";
	ans[0] = '\0';
	if (c->upstream_token[0] && ab_read_token(c, &e)) {
		snprintf(why, size, "%.250s", e.msg);
		*fix = "fix [network] upstream_token";
		return -1;
	}
	w = ab_upws_new(c->upstream.host, c->upstream.port, c->upstream.path,
			c->ws_token[0] ? c->ws_token : NULL, &e);
	if (!w) {
		snprintf(why, size, "%.250s", e.msg);
		*fix = "install libwslay1 and libssl3";
		return -1;
	}
	rc = -1;
	if (ab_upws_request(w, req, sizeof(req), accept) < 0)
		snprintf(why, size, "no randomness for the key");
	else if (tls)
		rc = ab_uptls_check(tls, fd, 5000, req, ans, sizeof(ans), why,
				    size);
	else
		rc = plain_exchange(fd, req, ans, sizeof(ans), why, size);
	explicit_bzero(req, sizeof(req));
	ab_upws_free(w);
	if (rc)
		return -1;
	if (ab_ws_answer(ans, strlen(ans), accept, &r, why, size) ==
	    AB_HEAD_OK)
		return 0;
	if (r.status == 401 || r.status == 403)
		*fix = c->ws_token[0] ? "give the token the ingress expects in "
				      "the [network] upstream_token file" :
				      "the ingress wants a bearer token: name "
				      "its file as [network] upstream_token";
	return -1;
}

static void check_upstream(struct doc *d, struct ab_config *c)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char port[8], name[300], why[300] = "";
	const char *fix = NULL;
	struct ab_uptls *tls = NULL;
	int err = 0, fd;

	ab_upstream_name(&c->upstream, name, sizeof(name));
	if (c->upstream.builtin) {
		say(d, "ok", NULL, "upstream: agentbox's built-in proxy "
		    "(%s)", c->upstream.source);
		return;
	}
	if (c->upstream.tls) {
		struct ab_err e = { 0 };

		tls = ab_uptls_new(c->upstream.host, c->upstream_ca[0] ?
				   c->upstream_ca : NULL, &e);
		if (!tls) {
			say(d, "FAIL", "give a readable PEM file as [network] "
			    "upstream_ca", "upstream %s: %s", name, e.msg);
			return;
		}
	}
	snprintf(port, sizeof(port), "%u", c->upstream.port);
	if (getaddrinfo(c->upstream.host, port, &hints, &res)) {
		ab_uptls_free(tls);
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
		if (!err && c->upstream.ws) {
			if (check_upgrade(c, tls, fd, why, sizeof(why), &fix)) {
				close(fd);
				err = EBADMSG;
				break;
			}
		} else if (!err && tls && ab_uptls_check(tls, fd, 5000, NULL,
							 NULL, 0, why,
							 sizeof(why))) {
			close(fd);
			err = EPROTO;
			break;
		}
		close(fd);
		if (!err)
			break;
	}
	freeaddrinfo(res);
	ab_uptls_free(tls);
	if (err == EBADMSG && strstr(why, "certificate verify failed"))
		err = EPROTO;
	if (err == EPROTO)
		say(d, "FAIL", "give the CA that signed the proxy's certificate "
		    "as [network] upstream_ca, or fix the proxy's certificate",
		    "upstream %s (from %s): TLS: %s", name, c->upstream.source,
		    why);
	else if (err == EBADMSG)
		say(d, "FAIL", fix, "upstream %s (from %s): WebSocket upgrade "
		    "to %s: %s", name, c->upstream.source, c->upstream.path,
		    why);
	else if (err)
		say(d, "FAIL", "start the proxy, or point --upstream or the "
		    "profile's upstream at it", "upstream %s (from %s): "
		    "connect: %s", name, c->upstream.source, strerror(err));
	else if (c->upstream.ws)
		say(d, "ok", NULL, "upstream %s (from %s) answers%s, and its "
		    "WebSocket bridge at %s accepts the upgrade%s", name,
		    c->upstream.source, tls ? " over TLS with a certificate "
		    "that verifies" : "", c->upstream.path,
		    c->ws_token[0] ? " with the token" : "");
	else
		say(d, "ok", NULL, "upstream %s (from %s) answers%s", name,
		    c->upstream.source, tls ? ", over TLS with a certificate "
		    "that verifies" : "");
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
/* The version of the Claude Code that @exe is, from its package.json
 * (npm) or its directory's name (the native installer's versions/X.Y.Z);
 * never by running it: it contacts its vendor when it starts */
static int claude_version(const char *exe, char *ver, size_t size)
{
	char dir[PATH_MAX], f[PATH_MAX + 16], *slash, *base;
	json_t *j, *name, *v;

	if (!realpath(exe, dir) || !(slash = strrchr(dir, '/')))
		return -1;
	base = slash + 1;
	if (strspn(base, "0123456789.") == strlen(base) && strchr(base, '.') &&
	    strlen(base) < size) {
		memcpy(ver, base, strlen(base) + 1);
		return 0;
	}
	for (int up = 0; up < 4 && (slash = strrchr(dir, '/')) &&
	     slash != dir; up++) {
		*slash = '\0';
		snprintf(f, sizeof(f), "%s/package.json", dir);
		if (!(j = json_load_file(f, 0, NULL)))
			continue;
		name = json_object_get(j, "name");
		v = json_object_get(j, "version");
		if (json_is_string(name) && json_is_string(v) &&
		    !strcmp(json_string_value(name),
			    "@anthropic-ai/claude-code")) {
			snprintf(ver, size, "%s", json_string_value(v));
			json_decref(j);
			return 0;
		}
		json_decref(j);
	}
	return -1;
}

/* -1, 0 or 1 as version @a is below, at or above @b (dotted numbers) */
static int version_cmp(const char *a, const char *b)
{
	while (*a || *b) {
		char *ea, *eb;
		unsigned long x = strtoul(a, &ea, 10);
		unsigned long y = strtoul(b, &eb, 10);

		a = ea;
		b = eb;
		if (x != y)
			return x < y ? -1 : 1;
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
		if ((*a && !isdigit((unsigned char)*a)) ||
		    (*b && !isdigit((unsigned char)*b)))
			break;
	}
	return 0;
}

static bool find_in_path(const char *name, char *out, size_t size)
{
	const char *path = getenv("PATH"), *p, *end;

	for (p = path; p && *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		if (end == p || *p != '/')
			continue;
		snprintf(out, size, "%.*s/%s", (int)(end - p), p, name);
		if (!access(out, X_OK))
			return true;
	}
	return false;
}

/* The CLAUDE_CODE_SHELL_PREFIX a managed settings file sets: 1 and @val
 * (maybe empty), 0 if it sets none, -1 if the file is missing */
static int prefix_in(const char *path, char *val, size_t size)
{
	json_t *j = json_load_file(path, 0, NULL), *v;
	int rc = 0;

	if (!j)
		return access(path, F_OK) ? -1 : 0;
	v = json_object_get(json_object_get(j, "env"),
			    "CLAUDE_CODE_SHELL_PREFIX");
	if (json_is_string(v)) {
		snprintf(val, size, "%s", json_string_value(v));
		rc = 1;
	}
	json_decref(j);
	return rc;
}

static int json_name(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return n > 5 && e->d_name[0] != '.' &&
	       !strcmp(e->d_name + n - 5, ".json");
}

/**
 * managed_prefix() - The prefix Claude Code's managed settings set
 * @val:	Result: its value, "" if none
 * @vsize:	Size of @val
 * @from:	Result: the file that set it last, "" if none
 * @fsize:	Size of @from
 *
 * managed-settings.json, then the files of managed-settings.d in name
 * order: the last one that sets it decides.
 *
 * Return: whether any managed settings file is there
 */
static bool managed_prefix(char *val, size_t vsize, char *from, size_t fsize)
{
	static const char dir[] = "/etc/claude-code/managed-settings.d";
	struct dirent **names = NULL;
	char path[PATH_MAX];
	bool any;
	int n;

	val[0] = from[0] = '\0';
	snprintf(path, sizeof(path), "/etc/claude-code/managed-settings.json");
	n = prefix_in(path, val, vsize);
	any = n >= 0;
	if (n == 1)
		snprintf(from, fsize, "%s", path);
	n = scandir(dir, &names, json_name, alphasort);
	for (int i = 0; i < n; i++) {
		int r;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		r = prefix_in(path, val, vsize);
		any = true;
		if (r == 1)
			snprintf(from, fsize, "%s", path);
		free(names[i]);
	}
	free(names);
	return any;
}

/**
 * check_claude() - Claude Code: is it new enough for prefix mode, and do
 *		    its managed settings set the prefix to this agentbox
 * @d:		Doctor
 */
static void check_claude(struct doc *d)
{
	static const char managed[] = "/etc/claude-code/managed-settings.json";
	char exe[PATH_MAX], ver[64], self[PATH_MAX], prefix[PATH_MAX];
	char from[PATH_MAX];
	struct stat l;
	bool have = find_in_path("claude", exe, sizeof(exe)), any;

	if (have && !claude_version(exe, ver, sizeof(ver))) {
		if (version_cmp(ver, AB_CLAUDE_MIN_VERSION) < 0)
			say(d, "warn", "upgrade Claude Code, or use hook mode "
			    "(agentbox hook claude-code --print-settings)",
			    "Claude Code %s (%s) is older than "
			    AB_CLAUDE_MIN_VERSION ", the version prefix mode "
			    "was checked with (Bash, Monitor, background "
			    "Bash, subagents)", ver, exe);
		else
			say(d, "ok", NULL, "Claude Code %s (%s)", ver, exe);
	} else if (have) {
		say(d, "warn", "prefix mode was checked with Claude Code "
		    AB_CLAUDE_MIN_VERSION, "Claude Code at %s: version not "
		    "found (no package.json, no versions/X.Y.Z)", exe);
	}

	any = managed_prefix(prefix, sizeof(prefix), from, sizeof(from));
	if (!prefix[0]) {
		if (have || any)
			say(d, "warn", from[0] ? "take CLAUDE_CODE_SHELL_PREFIX "
			    "out of it: of the managed settings files, the "
			    "last in name order that sets it decides" :
			    "put the output of 'agentbox claude-code "
			    "--print-managed-settings' in "
			    "/etc/claude-code/managed-settings.json",
			    "%s%s: Claude Code's shell commands run outside "
			    "agentbox", from[0] ? from : managed,
			    from[0] ? " sets CLAUDE_CODE_SHELL_PREFIX empty" :
			    any ? " does not set CLAUDE_CODE_SHELL_PREFIX" :
			    " is missing, so it does not set "
			    "CLAUDE_CODE_SHELL_PREFIX");
		return;
	}
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	self[n > 0 ? n : 0] = '\0';
	if (!ab_is_self(prefix))
		say(d, "FAIL", "agentbox claude-code --print-managed-settings "
		    "prints the right value", "%s: CLAUDE_CODE_SHELL_PREFIX %s "
		    "is not this agentbox (%s): every shell command of Claude "
		    "Code fails or runs unsandboxed", from, prefix, self);
	else if (lstat(prefix, &l) || l.st_uid != 0)
		say(d, "warn", "install it with make install (root-owned)",
		    "CLAUDE_CODE_SHELL_PREFIX %s is not owned by root: its "
		    "owner decides what Claude Code's shells run", prefix);
	else
		say(d, "ok", NULL, "%s: Claude Code's shells run through %s",
		    from, prefix);
}

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
	check_claude(&d);

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
		check_intercept(&d, &c);
		check_audit(&d, &c);
		check_sandbox(&d, targv);
	}
	ab_profile_free(&prof);
	free(eg);
	printf("%d failed, %d warnings\n", d.failed, d.warned);
	return d.failed ? 1 : 0;
}
