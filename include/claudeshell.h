/* SPDX-License-Identifier: MIT */
/* claudeshell.h - prefix mode: agentbox as Claude Code's shell prefix
 * (CLAUDE_CODE_SHELL_PREFIX=/usr/bin/agentbox-claude-shell).
 */
#ifndef AB_CLAUDESHELL_H
#define AB_CLAUDESHELL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define AB_CLAUDE_SHELL			"agentbox-claude-shell"
#define AB_CLAUDE_DEFAULT_PROFILE	"claude-code"
/* the Claude Code prefix mode was checked with */
#define AB_CLAUDE_MIN_VERSION		"2.1.332"

/* The agentbox command line prefix mode runs */
struct ab_claude_cmd {
	char *argv[16];
	int argc;
	char profile[256];
	char *script;			/* rewritten script, or NULL */
	char cwd_file[PATH_MAX];	/* Claude's cwd file, for a detour */
	char detour[64];		/* ours, in /tmp */
};

bool ab_claude_shell_named(const char *argv0);
bool ab_is_self(const char *path);
int ab_claude_shell(int argc, char *argv[], struct ab_claude_cmd *cmd,
		    int *exit_now, struct ab_err *e);
int ab_claude_main(int argc, char *argv[]);

#endif /* AB_CLAUDESHELL_H */
