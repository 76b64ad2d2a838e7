/* SPDX-License-Identifier: MIT */
/* err.h - the one error convention of agentbox.
 *
 * A function that can fail returns a negative value (or NULL) and fills a
 * struct ab_err with the errno of the cause and a message that names the
 * operation and the object ("veth ab0: RTM_NEWLINK").  The error may cross
 * the fork (init writes it into the sync socket, the supervisor re-raises
 * it), and is printed exactly once, as one line:
 *
 *	agentbox: veth ab0: RTM_NEWLINK: Operation not permitted; hint: ...
 *
 * Setup errors exit with AB_EXIT_SETUP (125).  Nothing is ever retried
 * silently and no stage is ever skipped: a sandbox that cannot be built is
 * never run.
 */
#ifndef AB_ERR_H
#define AB_ERR_H

#include <stddef.h>

#define AB_EXIT_AUDIT	122	/* the audit log failed: session ended */
#define AB_EXIT_SETUP	125	/* agentbox itself failed */
#define AB_EXIT_NOEXEC	126	/* command found but not executable */
#define AB_EXIT_NOENT	127	/* command not found */

#define AB_ERR_MSG	384
#define AB_ERR_HINT	256

/* What kind of step failed: decides hints, never the message text */
enum ab_err_kind {
	AB_ERR_PLAIN = 0,		/* a path, a file, a value, ... */
	AB_ERR_NAMESPACE,		/* making or using a namespace: the
					 * machine's namespace settings may
					 * be the cause */
};

struct ab_err {
	int code;			/* errno of the cause, 0 if none */
	enum ab_err_kind kind;
	char msg[AB_ERR_MSG];		/* operation and object */
	char hint[AB_ERR_HINT];		/* what to do, "" if nothing known */
};

int ab_fail(struct ab_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int ab_fail_ns(struct ab_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ab_hint(struct ab_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ab_err_format(const struct ab_err *e, char *buf, size_t len);
void ab_err_print(const struct ab_err *e);
void ab_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* AB_ERR_H */
