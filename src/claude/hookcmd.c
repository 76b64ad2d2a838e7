// SPDX-License-Identifier: MIT
/* hookcmd.c - the "agentbox hook" command: arguments, stdin, answer.
 *
 * The answer itself is made by hook.c (pure).  Here: which agentbox binary
 * the wrapped command names (this one, by absolute path: a PATH that the
 * agent can change must not decide what runs), whether the hook itself
 * runs inside agentbox, and the settings fragment for Claude Code.
 *
 * Exit status follows Claude Code's hook protocol: 0 with an answer or
 * with nothing (the call goes on as it is), 2 with one line on stderr (the
 * call is blocked; the line is shown to the model).  Never anything else:
 * any other status would let the call run unsandboxed.
 */

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "hook.h"
#include "profile.h"
#include "util.h"

#define HOOK_BLOCK	2

static int hook_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int hook_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("agentbox hook claude-code: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return HOOK_BLOCK;
}

/* Read all of stdin, at most AB_HOOK_MAX_INPUT bytes */
static char *read_input(size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap), *t;
	ssize_t r;

	while (buf) {
		if (n == cap) {
			if (cap > AB_HOOK_MAX_INPUT)
				break;
			cap *= 2;
			if (!(t = realloc(buf, cap)))
				break;
			buf = t;
		}
		r = read(STDIN_FILENO, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		if (r == 0) {
			*len = n;
			return buf;
		}
		n += (size_t)r;
	}
	free(buf);
	*len = n;
	return NULL;
}

/* The settings.json fragment that installs this hook */
static int print_settings(const char *self, const char *profile)
{
	char qself[PATH_MAX * 4 + 8], qprof[PATH_MAX * 4 + 8], cmd[PATH_MAX * 9];
	struct ab_sysconf sc;
	struct ab_profile p = { 0 };
	struct ab_err e = { 0 };
	json_t *o;
	char *s;

	/* the hook would block every call if its profile did not load */
	if (ab_sysconf_load(&sc, &e) ||
	    ab_profile_load(&p, &sc, profile, &e)) {
		ab_profile_free(&p);
		ab_err_print(&e);
		return HOOK_BLOCK;
	}
	ab_profile_free(&p);
	if (ab_shell_quote(self, qself, sizeof(qself)) ||
	    ab_shell_quote(profile, qprof, sizeof(qprof)))
		return hook_fail("path or profile name too long");
	snprintf(cmd, sizeof(cmd), "%s hook claude-code --profile %s", qself,
		 qprof);
	o = json_pack("{s:{s:[{s:s, s:[{s:s, s:s, s:i, s:s}]}]}}",
		      "hooks", "PreToolUse", "matcher", "Bash|Monitor", "hooks",
		      "type", "command", "command", cmd, "timeout", 30,
		      "onFailure", "block");
	s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!s)
		return hook_fail("out of memory");
	puts(s);
	free(s);
	return 0;
}

static void hook_usage(FILE *f)
{
	fputs("Usage: agentbox hook claude-code [--profile NAME] "
	      "[--print-settings]\n"
	      "A Claude Code PreToolUse hook: reads the hook's JSON on stdin "
	      "and runs\nevery Bash and Monitor command in agentbox with the "
	      "profile NAME\n(default " AB_HOOK_DEFAULT_PROFILE ").  Claude Code "
	      "2.1.332 and later: prefer\nprefix mode (agentbox claude-code "
	      "--print-managed-settings).\n"
	      "  --print-settings  print the settings.json fragment that "
	      "installs it\nSee agentbox(1), CLAUDE CODE.\n", f);
}

/**
 * ab_hook_main() - agentbox hook claude-code [--profile NAME]
 *		    [--print-settings]
 * @argc:	Argument count
 * @argv:	Arguments, argv[0] is "hook"
 *
 * Return: exit status: 0, or 2 (Claude Code blocks the call)
 */
int ab_hook_main(int argc, char *argv[])
{
	struct ab_hook_opts o = { .profile = AB_HOOK_DEFAULT_PROFILE };
	bool settings = false;
	struct ab_hook_out out;
	char self[PATH_MAX];
	enum ab_hook_result r;
	ssize_t n;
	size_t len;
	char *in;

	if (argc < 2 || strcmp(argv[1], "claude-code")) {
		if (argc >= 2 && (!strcmp(argv[1], "--help") ||
				  !strcmp(argv[1], "-h"))) {
			hook_usage(stdout);
			return 0;
		}
		hook_usage(stderr);
		return HOOK_BLOCK;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--print-settings")) {
			settings = true;
		} else if (!strcmp(argv[i], "--profile") && i + 1 < argc) {
			o.profile = argv[++i];
		} else if (!strncmp(argv[i], "--profile=", 10)) {
			o.profile = argv[i] + 10;
		} else if (!strcmp(argv[i], "--help") ||
			   !strcmp(argv[i], "-h")) {
			hook_usage(stdout);
			return 0;
		} else {
			return hook_fail("unknown argument '%.64s' (see "
					 "agentbox hook --help)", argv[i]);
		}
	}
	if (!*o.profile)
		return hook_fail("--profile: empty name");

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || (size_t)n >= sizeof(self) - 1)
		return hook_fail("readlink /proc/self/exe: %s",
				 n < 0 ? strerror(errno) : "path too long");
	self[n] = '\0';
	if (n > 10 && !strcmp(self + n - 10, " (deleted)"))
		return hook_fail("%s was replaced since this hook started",
				 self);
	o.self = self;
	if (settings)
		return print_settings(self, o.profile);

	o.inside = ab_inside_agentbox();
	if (!(in = read_input(&len)))
		return hook_fail(len > AB_HOOK_MAX_INPUT ?
				 "input larger than 16 MiB" :
				 "cannot read the input");
	r = ab_hook_claude(in, len, &o, &out);
	free(in);
	if (r == AB_HOOK_ERROR)
		return hook_fail("%s", out.why);
	if (r == AB_HOOK_WRAPPED) {
		size_t off = 0;

		while (off < out.len) {
			n = write(STDOUT_FILENO, out.text + off,
				  out.len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				ab_hook_out_free(&out);
				return hook_fail("write: %s", strerror(errno));
			}
			off += (size_t)n;
		}
		ab_hook_out_free(&out);
	}
	return 0;
}
