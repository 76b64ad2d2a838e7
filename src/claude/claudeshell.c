// SPDX-License-Identifier: MIT
/* claudeshell.c - prefix mode: agentbox run as "agentbox-claude-shell".
 *
 * Claude Code runs every shell command of its own (Bash, Monitor, a
 * background Bash, a subagent's Bash, the timeout path) as
 *
 *   $CLAUDE_CODE_SHELL_PREFIX '<whole script>'
 *
 * where the script sources Claude's shell snapshot (the user's functions
 * and aliases), evals the command and writes the final cwd to a file in
 * Claude's temporary directory.  The prefix must be one path (Claude
 * splits the value at its last " -"), hence a name of its own: this binary
 * under that name takes exactly one argument and runs
 *
 *   agentbox --profile P [--session $CLAUDE_CODE_SESSION_ID] --
 *       SHELL -c -- SCRIPT
 *
 * with SHELL the shell Claude made the snapshot for (bash or zsh), and P
 * the system configuration's claude_profile, or "claude-code".  Set in
 * Claude Code's managed settings, the prefix is applied after Claude's
 * permission rules, which therefore see the command as the model wrote
 * it.  Already inside agentbox (a subagent's shell inside a whole-agent
 * sandbox), the script runs directly: the sandbox is already the only
 * way out.
 *
 * As root, the cwd file is in a directory that root may only reach with
 * CAP_DAC_OVERRIDE when TMPDIR is another user's (sudo -E): the sandbox
 * has no capabilities, so its shell writes the cwd to a file of ours in
 * /tmp instead, and this process, outside, copies it to Claude's file
 * once the sandbox has ended.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "claudeshell.h"
#include "err.h"
#include "options.h"
#include "profile.h"
#include "util.h"

#define CWD_TAIL	" && pwd -P >| "

static char *detour_script;	/* the script with its cwd file changed */

/**
 * ab_claude_shell_named() - Whether this binary was started as the prefix
 * @argv0:	argv[0]
 *
 * Return: true if its last path component is agentbox-claude-shell
 */
bool ab_claude_shell_named(const char *argv0)
{
	const char *b;

	if (!argv0)
		return false;
	b = strrchr(argv0, '/');
	return !strcmp(b ? b + 1 : argv0, AB_CLAUDE_SHELL);
}

static bool shell_ok(const char *s)
{
	const char *b;

	if (!s || s[0] != '/')
		return false;
	b = strrchr(s, '/') + 1;
	return (!strcmp(b, "bash") || !strcmp(b, "zsh")) &&
	       !access(s, X_OK);
}

/* The shell Claude Code made its snapshot for: its own choice, $SHELL if
 * that is bash or zsh, else bash */
static char *choose_shell(void)
{
	static char b1[] = "/bin/bash", b2[] = "/usr/bin/bash",
		    b3[] = "/usr/local/bin/bash";
	static char *const bash[] = { b1, b2, b3 };
	char *s;

	if (shell_ok(s = getenv("CLAUDE_CODE_SHELL")))
		return s;
	if (shell_ok(s = getenv("SHELL")))
		return s;
	for (size_t i = 0; i < sizeof(bash) / sizeof(bash[0]); i++)
		if (!access(bash[i], X_OK))
			return bash[i];
	return NULL;
}

/* Whether uid 0 without capabilities may search @st and create in it */
static bool root_may_write(const struct stat *st)
{
	if (st->st_uid == 0)
		return (st->st_mode & (S_IWUSR | S_IXUSR)) ==
		       (S_IWUSR | S_IXUSR);
	if (st->st_gid == 0)
		return (st->st_mode & (S_IWGRP | S_IXGRP)) ==
		       (S_IWGRP | S_IXGRP);
	return (st->st_mode & (S_IWOTH | S_IXOTH)) == (S_IWOTH | S_IXOTH);
}

/**
 * cwd_detour() - As root, where the sandbox's root cannot write Claude's
 *		  cwd file, a file of ours instead
 * @script:	The script; its tail " && pwd -P >| FILE" is rewritten
 * @cmd:	Result: @cmd->script (the new script), @cmd->cwd_file (FILE)
 *		and @cmd->detour (ours, in /tmp)
 *
 * Only a script that ends with that tail, FILE named claude-HEX-cwd in
 * Claude's temporary directory (${CLAUDE_CODE_TMPDIR:-${TMPDIR:-/tmp}}).
 * Anything else is left alone: the script then fails inside as it would,
 * with the shell's message.
 *
 * Return: true if the script was rewritten
 */
static bool cwd_detour(const char *script, struct ab_claude_cmd *cmd)
{
	const char *t = NULL, *p, *tmp, *base;
	char dir[PATH_MAX], want[PATH_MAX], real[PATH_MAX];
	struct stat st;
	size_t len;
	int fd;

	if (geteuid() != 0)
		return false;
	for (p = script; (p = strstr(p, CWD_TAIL)); p++)
		t = p + strlen(CWD_TAIL);
	if (!t || (len = strlen(t)) == 0 || len >= sizeof(dir) ||
	    t[0] != '/' || strpbrk(t, " '\"\\$`\n;&|<>"))
		return false;
	base = strrchr(t, '/') + 1;
	len = strlen(base);
	if (len < 12 || strncmp(base, "claude-", 7) ||
	    strcmp(base + len - 4, "-cwd") ||
	    strspn(base + 7, "0123456789abcdef") != len - 11)
		return false;
	snprintf(dir, sizeof(dir), "%.*s", (int)(base - t), t);
	if (!(tmp = getenv("CLAUDE_CODE_TMPDIR")) || !*tmp)
		if (!(tmp = getenv("TMPDIR")) || !*tmp)
			tmp = "/tmp";
	if (!realpath(tmp, want) || !realpath(dir, real) ||
	    strcmp(want, real) || stat(real, &st) || root_may_write(&st))
		return false;
	snprintf(cmd->detour, sizeof(cmd->detour),
		 "/tmp/agentbox-claude-cwd.XXXXXX");
	fd = mkstemp(cmd->detour);
	if (fd < 0)
		return false;
	close(fd);
	/* kept until the process ends (agentbox runs it, then exits) */
	if (asprintf(&detour_script, "%.*s%s", (int)(t - script), script,
		     cmd->detour) < 0) {
		unlink(cmd->detour);
		detour_script = NULL;
		return false;
	}
	cmd->script = detour_script;
	snprintf(cmd->cwd_file, sizeof(cmd->cwd_file), "%s", t);
	return true;
}

/* After the sandbox: the detour's content into Claude's cwd file */
static int cwd_return(const struct ab_claude_cmd *cmd, int status)
{
	char buf[PATH_MAX + 2] = "";	/* (cppcheck cannot see that n > 0
					 * means read filled it) */
	ssize_t n = -1;
	int in, out;

	in = open(cmd->detour, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in >= 0) {
		n = read(in, buf, sizeof(buf));
		close(in);
	}
	unlink(cmd->detour);
	/* the command failed (no cwd written), or what is there is not a
	 * directory's path: Claude then keeps its cwd */
	if (n <= 0 || n > PATH_MAX || buf[0] != '/' ||
	    memchr(buf, '\0', (size_t)n))
		return status;
	out = open(cmd->cwd_file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		   O_CLOEXEC, 0600);
	if (out < 0 || write(out, buf, (size_t)n) != n) {
		fprintf(stderr, "agentbox: " AB_CLAUDE_SHELL ": %s: %s\n",
			cmd->cwd_file, strerror(errno));
		status = AB_EXIT_SETUP;
	}
	if (out >= 0)
		close(out);
	return status;
}

/**
 * ab_claude_shell() - Prefix mode: the command line agentbox runs
 * @argc:	Argument count
 * @argv:	Arguments: argv[1] is Claude Code's script
 * @cmd:	Result: the agentbox command line (argv form), NULL-terminated
 * @exit_now:	Result: -1, or the status to exit with (the sandbox ran in
 *		a child, see cwd_detour())
 * @e:		Error
 *
 * Inside agentbox already, the script is executed here and this returns
 * only if that fails.
 *
 * Return: 0 with @cmd filled, or -1 with @e filled (exit 125)
 */
int ab_claude_shell(int argc, char *argv[], struct ab_claude_cmd *cmd,
		    int *exit_now, struct ab_err *e)
{
	static char o_profile[] = "--profile", o_session[] = "--session",
		    o_end[] = "--", o_c[] = "-c";
	char *sid = getenv("CLAUDE_CODE_SESSION_ID"), *shell;
	struct ab_sysconf sc;
	int n = 0;

	if (argc != 2)
		return ab_fail(e, 0, AB_CLAUDE_SHELL ": expected exactly one "
			       "argument, the script Claude Code runs, and got "
			       "%d", argc - 1);
	cmd->script = NULL;
	*exit_now = -1;
	if (!(shell = choose_shell()))
		return ab_fail(e, 0, AB_CLAUDE_SHELL ": no bash (/bin/bash, "
			       "/usr/bin/bash) to run the script with");
	if (ab_inside_agentbox()) {
		execl(shell, shell, "-c", "--", argv[1], (char *)NULL);
		return ab_fail(e, errno, AB_CLAUDE_SHELL ": exec %s", shell);
	}
	if (sid && *sid && !ab_session_label_ok(sid, strlen(sid)))
		return ab_fail(e, 0, AB_CLAUDE_SHELL ": CLAUDE_CODE_SESSION_ID: "
			       "expected at most 64 letters, digits, '.', '_', "
			       "':' or '-'");
	if (ab_sysconf_load(&sc, e))
		return -1;
	snprintf(cmd->profile, sizeof(cmd->profile), "%s",
		 sc.claude_profile[0] ? sc.claude_profile :
		 AB_CLAUDE_DEFAULT_PROFILE);
	if (cwd_detour(argv[1], cmd)) {
		pid_t pid = fork();
		int st;

		if (pid < 0) {
			unlink(cmd->detour);
			return ab_fail(e, errno, AB_CLAUDE_SHELL ": fork");
		}
		if (pid > 0) {
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			*exit_now = cwd_return(cmd, WIFEXITED(st) ?
					       WEXITSTATUS(st) : 128 +
					       WTERMSIG(st));
			return 0;
		}
	}

	cmd->argv[n++] = argv[0];
	cmd->argv[n++] = o_profile;
	cmd->argv[n++] = cmd->profile;
	if (sid && *sid) {
		cmd->argv[n++] = o_session;
		cmd->argv[n++] = sid;
	}
	cmd->argv[n++] = o_end;
	cmd->argv[n++] = shell;
	cmd->argv[n++] = o_c;
	cmd->argv[n++] = o_end;
	cmd->argv[n++] = cmd->script ? cmd->script : argv[1];
	cmd->argv[n] = NULL;
	cmd->argc = n;
	return 0;
}

/**
 * ab_is_self() - Whether @path is this agentbox binary (a link to it too)
 * @path:	Path
 *
 * Return: true if it is the same file as /proc/self/exe
 */
bool ab_is_self(const char *path)
{
	struct stat a, b;

	return !stat(path, &a) && !stat("/proc/self/exe", &b) &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/**
 * prefix_path() - The agentbox-claude-shell that runs this binary
 * @buf:	Result: its absolute path, next to this binary
 * @size:	Size of @buf
 * @e:		Error
 *
 * Return: 0, or -1 with @e filled
 */
static int prefix_path(char *buf, size_t size, struct ab_err *e)
{
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || (size_t)n >= sizeof(self) - 1)
		return ab_fail(e, n < 0 ? errno : ENAMETOOLONG,
			       "readlink /proc/self/exe");
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (snprintf(buf, size, "%.*s/" AB_CLAUDE_SHELL, (int)(slash - self),
		     self) >= (int)size)
		return ab_fail(e, ENAMETOOLONG, "%s", self);
	if (!ab_is_self(buf)) {
		ab_fail(e, 0, "claude-code: %s is not this agentbox (%s)", buf,
			self);
		ab_hint(e, "make install puts it there; or ln -s agentbox %s",
			buf);
		return -1;
	}
	return 0;
}

static void claude_usage(FILE *f)
{
	fputs("Usage: agentbox claude-code --print-managed-settings\n"
	      "Print the fragment of /etc/claude-code/managed-settings.json "
	      "that makes\nClaude Code run every shell command through "
	      AB_CLAUDE_SHELL " (prefix mode).\nSee agentbox(1), CLAUDE "
	      "CODE.\n", f);
}

/**
 * ab_claude_main() - agentbox claude-code --print-managed-settings
 * @argc:	Argument count
 * @argv:	Arguments, argv[0] is "claude-code"
 *
 * Return: exit status: 0, or 125
 */
int ab_claude_main(int argc, char *argv[])
{
	struct ab_err e = { 0 };
	char path[PATH_MAX], *t;
	struct stat st;
	json_t *o;

	if (argc == 2 && (!strcmp(argv[1], "--help") ||
			  !strcmp(argv[1], "-h"))) {
		claude_usage(stdout);
		return 0;
	}
	if (argc != 2 || strcmp(argv[1], "--print-managed-settings")) {
		claude_usage(stderr);
		return AB_EXIT_SETUP;
	}
	if (prefix_path(path, sizeof(path), &e)) {
		ab_err_print(&e);
		return AB_EXIT_SETUP;
	}
	/* the prefix runs with the user's rights outside: only root may
	 * change what it is */
	if (!lstat(path, &st) && st.st_uid != 0)
		ab_warn("%s is owned by uid %u, not root: anyone who can change "
			"it decides what Claude Code's shells run",
			path, (unsigned)st.st_uid);
	o = json_pack("{s:{s:s}}", "env", "CLAUDE_CODE_SHELL_PREFIX", path);
	t = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
	json_decref(o);
	if (!t) {
		fputs("agentbox: claude-code: out of memory\n", stderr);
		return AB_EXIT_SETUP;
	}
	puts(t);
	free(t);
	return 0;
}
