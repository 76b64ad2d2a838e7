/* SPDX-License-Identifier: MIT */
/* hook.h - agentbox hook claude-code: every Bash and Monitor command of
 * Claude Code runs in agentbox (hook mode; prefix mode is claudeshell.h).
 *
 * ab_hook_claude() is pure (no file, no environment) and unit tested: it
 * takes the hook's JSON input and either wraps the command, passes the
 * call through untouched, or refuses the input with a reason.
 */
#ifndef AB_HOOK_H
#define AB_HOOK_H

#include <stdbool.h>
#include <stddef.h>

#define AB_HOOK_MAX_INPUT	(16U << 20)
#define AB_HOOK_DEFAULT_PROFILE	"claude-code"

struct ab_hook_opts {
	const char *self;	/* absolute path of this agentbox binary */
	const char *profile;	/* --profile of the wrapped command */
	bool inside;		/* the hook itself runs inside agentbox */
};

/* The hook's output: a NUL-terminated JSON text, or the reason it failed */
struct ab_hook_out {
	char *text;
	size_t len, cap;
	char why[256];
};

enum ab_hook_result {
	AB_HOOK_ERROR = -1,	/* malformed input: out->why */
	AB_HOOK_PASS = 0,	/* not ours: no output, the call goes on */
	AB_HOOK_WRAPPED = 1,	/* out->text is the hook's answer */
};

enum ab_hook_result ab_hook_claude(const char *in, size_t len,
				   const struct ab_hook_opts *o,
				   struct ab_hook_out *out);
void ab_hook_out_free(struct ab_hook_out *out);
int ab_shell_quote(const char *word, char *buf, size_t size);
int ab_hook_main(int argc, char *argv[]);
int ab_connect_main(int argc, char *argv[]);	/* connect.c */
int ab_doctor_main(int argc, char *argv[]);	/* doctor.c */

#endif /* AB_HOOK_H */
