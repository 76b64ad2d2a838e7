// SPDX-License-Identifier: MIT
/* x11.c - the display a sandbox may use: Wayland, or X11 as untrusted.
 *
 * Theory of operation: a client of an X server can read every other
 * client's windows and the keyboard, and inject input into them (XTEST),
 * unless the server counts it as untrusted (the SECURITY extension).  When
 * the profile lets the sandbox reach the X socket of $DISPLAY ("[unix]
 * allow") and "[unix] x11" is not "trusted", the supervisor, before the
 * clone, settles the display:
 *
 *   - Wayland first: if the session has one (a $WAYLAND_DISPLAY socket the
 *     profile allows), the X socket is covered as any host socket is and
 *     DISPLAY unset; Wayland gives each client only its own surfaces.
 *   - Else an untrusted cookie: "xauth generate $DISPLAY . untrusted" asks
 *     the server (with the user's own, trusted cookie) for one, and init
 *     mounts a file holding only it, read-only, over the Xauthority file,
 *     so the sandbox neither sees nor can use the trusted one.  An untrusted
 *     client sees two extensions (BIG-REQUESTS, XC-MISC): no XTEST, no
 *     RECORD, no XInput, no MIT-SHM, and no access to trusted clients'
 *     windows, selections or properties.  Chromium and Electron still draw
 *     their own windows (the tests load a page in one); copy and paste with
 *     programs outside, GPU drawing and shared-memory images do not work.
 *   - The server must not admit the user without a cookie (xhost
 *     SI:localuser, LOCAL:, or access control off): the sandbox would then
 *     connect without one and be trusted.  That is an error with the fix,
 *     never a silent trusted display.
 *
 * A nested X server (Xephyr) would isolate as well and keep more
 * extensions, but puts the whole IDE in one window of its own without a
 * window manager; the untrusted cookie keeps the IDE's windows on the
 * user's desktop.
 */

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "x11.h"

#define HELPER_TIMEOUT_MS	5000	/* xauth or xhost against the server */
#define COOKIE_TIMEOUT		"86400"	/* s after its last client leaves */

extern char **environ;

/**
 * run_helper() - Run xauth or xhost, collect its output, bounded in time
 * @argv:	Command (found on PATH)
 * @out:	Result: standard output, NUL-terminated (may be NULL)
 * @size:	Its size
 * @e:		Error
 *
 * Return: its exit status, or -1 with @e filled
 */
static int run_helper(char *const argv[], char *out, size_t size,
		      struct ab_err *e)
{
	posix_spawn_file_actions_t fa;
	int p[2], status = 0, waited = 0;
	size_t got = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return ab_fail(e, errno, "X11: pipe");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null",
					 O_WRONLY, 0);
	errno = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (errno) {
		int err = errno;

		close(p[0]);
		ab_fail(e, err, "X11: run %s", argv[0]);
		if (err == ENOENT)
			ab_hint(e, "install xauth (Debian: apt install xauth "
				"x11-xserver-utils), or set [unix] x11 = "
				"trusted in the profile");
		return -1;
	}
	for (;;) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		ssize_t n;

		if (poll(&pf, 1, HELPER_TIMEOUT_MS) <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		n = read(p[0], out ? out + got : (char[256]){ 0 },
		     out ? size - 1 - got : 256);
		if (n <= 0)
			break;
		if (out)
			got += (size_t)n;
		if (out && got == size - 1)
			break;
	}
	close(p[0]);
	if (out)
		out[got] = '\0';
	while ((waited = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (waited < 0)
		return ab_fail(e, errno, "X11: wait for %s", argv[0]);
	if (WIFSIGNALED(status))
		return ab_fail(e, ETIMEDOUT, "X11: %s did not answer", argv[0]);
	return WEXITSTATUS(status);
}

/* The display's number for a local $DISPLAY (":N" or ":N.S"), else -1 */
static int display_number(const char *d)
{
	char *end;
	long n;

	if (!d || d[0] != ':')
		return -1;
	n = strtol(d + 1, &end, 10);
	if (end == d + 1 || (*end && *end != '.') || n < 0 || n > 65535)
		return -1;
	return (int)n;
}

static bool allowed(const struct ab_strv *allow, const char *path)
{
	for (unsigned i = 0; i < allow->n; i++)
		if (!fnmatch(allow->v[i], path, FNM_PATHNAME))
			return true;
	return false;
}

/* The session's Wayland socket, if the profile allows it and it is there */
static bool wayland_allowed(const struct ab_strv *allow)
{
	const char *w = getenv("WAYLAND_DISPLAY"), *rt = getenv("XDG_RUNTIME_DIR");
	char path[PATH_MAX];
	struct stat st;

	if (!w || !*w)
		return false;
	if (w[0] == '/')
		snprintf(path, sizeof(path), "%s", w);
	else if (rt && rt[0] == '/')
		snprintf(path, sizeof(path), "%s/%s", rt, w);
	else
		return false;
	return allowed(allow, path) && !stat(path, &st) && S_ISSOCK(st.st_mode);
}

/**
 * host_access_open() - Whether the server admits the user without a cookie
 * @display:	$DISPLAY
 * @who:	Result: the entry that does, for the message
 * @size:	Its size
 * @e:		Error
 *
 * Return: 1 if it does, 0 if not, -1 with @e filled
 */
static int host_access_open(const char *display, char *who, size_t size,
			    struct ab_err *e)
{
	char prog[] = "xhost";
	char *const argv[] = { prog, NULL };
	struct passwd *pw = getpwuid(getuid());
	char out[8192], *line, *save = NULL, mine[300];
	int rc;

	(void)display;
	rc = run_helper(argv, out, sizeof(out), e);
	if (rc < 0)
		return -1;
	if (rc)
		return ab_fail(e, 0, "X11: xhost failed on %s (exit %d)",
			       display, rc);
	snprintf(mine, sizeof(mine), "SI:localuser:%s", pw ? pw->pw_name : "");
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, "access control disabled") ||
		    !strncmp(line, "LOCAL:", 6) || !strcasecmp(line, mine) ||
		    !strncasecmp(line, "SI:localuid:", 12)) {
			snprintf(who, size, "%s", line);
			return 1;
		}
	}
	return 0;
}

/* The Xauthority file the sandbox would read */
static int xauth_target(char *out, size_t size)
{
	const char *x = getenv("XAUTHORITY"), *home = getenv("HOME");
	char real[PATH_MAX];
	struct stat st;

	if (x && *x)
		snprintf(out, size, "%s", x);
	else if (home && home[0] == '/')
		snprintf(out, size, "%s/.Xauthority", home);
	else
		return -1;
	if (!realpath(out, real) || stat(real, &st) || !S_ISREG(st.st_mode))
		return -1;
	snprintf(out, size, "%s", real);
	return 0;
}

/**
 * untrusted_cookie() - Ask the X server for an untrusted cookie
 * @display:	$DISPLAY
 * @f:		Result: the Xauthority content holding only that cookie
 * @e:		Error
 *
 * Return: 0, or -1 with @e filled
 */
static int untrusted_cookie(const char *display, struct ab_file_over *f,
			    struct ab_err *e)
{
	char dir[] = "/tmp/agentbox-xauth.XXXXXX", file[64];
	char a0[] = "xauth", a1[] = "-q", a2[] = "-f", a4[] = "generate",
	     a5[256], a6[] = ".", a7[] = "untrusted", a8[] = "timeout",
	     a9[] = COOKIE_TIMEOUT;
	char *const argv[] = { a0, a1, a2, file, a4, a5, a6, a7, a8, a9,
			       NULL };
	char buf[4096];
	ssize_t n;
	int rc;

	snprintf(a5, sizeof(a5), "%s", display);
	if (!mkdtemp(dir))
		return ab_fail(e, errno, "X11: temporary directory");
	snprintf(file, sizeof(file), "%s/xauth", dir);
	rc = run_helper(argv, NULL, 0, e);
	n = rc ? -1 : ab_read_small_file(file, buf, sizeof(buf));
	unlink(file);
	rmdir(dir);
	if (rc < 0)
		return -1;
	if (rc || n <= 0) {
		ab_fail(e, 0, "X11: the X server of %s gave no untrusted cookie "
			"(xauth generate: exit %d)", display, rc);
		ab_hint(e, "the server needs the SECURITY extension; without "
			"it, set [unix] x11 = trusted (every window and the "
			"keyboard are then the sandbox's too)");
		return -1;
	}
	if (!(f->data = malloc((size_t)n)))
		return ab_fail(e, ENOMEM, "X11: cookie");
	memcpy(f->data, buf, (size_t)n);
	f->len = (size_t)n;
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

/**
 * ab_x11_settle() - Settle the display the sandbox gets
 * @mode:	"[unix] x11": "untrusted" (NULL: the default) or "trusted"
 * @allow:	"[unix] allow", expanded
 * @sockets:	The host sockets to cover (the X socket may be added)
 * @unset:	Variables to unset (DISPLAY may be added)
 * @xauth:	Result: the cookie file to mount over the Xauthority file
 * @e:		Error
 *
 * Return: 0, or -1 with @e filled
 */
int ab_x11_settle(const char *mode, const struct ab_strv *allow,
		  struct ab_strv *sockets, struct ab_strv *unset,
		  struct ab_file_over *xauth, struct ab_err *e)
{
	const char *display = getenv("DISPLAY");
	int n = display_number(display);
	char sock[64], who[256];
	struct stat st;

	if (n < 0 || (mode && !strcmp(mode, "trusted")))
		return 0;
	snprintf(sock, sizeof(sock), "/tmp/.X11-unix/X%d", n);
	if (!allowed(allow, sock) || stat(sock, &st) || !S_ISSOCK(st.st_mode))
		return 0;	/* the X socket is covered anyway */
	if (wayland_allowed(allow)) {
		if (ab_strv_add(sockets, sock) || ab_strv_add(unset, "DISPLAY"))
			return ab_fail(e, ENOMEM, "X11");
		return 0;
	}
	switch (host_access_open(display, who, sizeof(who), e)) {
	case -1:
		return -1;
	case 1:
		ab_fail(e, 0, "X11: the X server of %s admits every process "
			"of yours without a cookie (xhost: %s), so the sandbox "
			"would be a trusted client", display, who);
		ab_hint(e, "remove that entry (xhost -%s), or set [unix] x11 = "
			"trusted in the profile", who);
		return -1;
	}
	if (xauth_target(xauth->target, sizeof(xauth->target))) {
		ab_fail(e, ENOENT, "X11: no Xauthority file for %s (XAUTHORITY "
			"or ~/.Xauthority)", display);
		return -1;
	}
	return untrusted_cookie(display, xauth, e);
}
