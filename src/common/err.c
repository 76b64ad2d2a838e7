// SPDX-License-Identifier: MIT
/* err.c - filling and printing struct ab_err (see include/err.h). */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

__attribute__((format(printf, 4, 0)))
static void fill(struct ab_err *e, int code, enum ab_err_kind kind,
		 const char *fmt, va_list ap);

/**
 * ab_fail() - Record an error: its cause and the operation it happened in
 * @e:		Error to fill
 * @code:	errno of the cause, 0 if the message says it all
 * @fmt:	printf format naming the operation and the object
 *
 * Return: -1, so that callers can write "return ab_fail(...)"
 */
static void fill(struct ab_err *e, int code, enum ab_err_kind kind,
		 const char *fmt, va_list ap)
{
	e->code = code;
	e->kind = kind;
	e->hint[0] = '\0';
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

int ab_fail(struct ab_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fill(e, code, AB_ERR_PLAIN, fmt, ap);
	va_end(ap);
	return -1;
}

/**
 * ab_fail_ns() - Record an error of a step that makes or uses a namespace
 * @e:		Error to fill
 * @code:	errno of the cause
 * @fmt:	printf format naming the operation and the object
 *
 * Only such errors get a hint about the machine's namespace settings
 * (ab_userns_explain()).
 *
 * Return: -1
 */
int ab_fail_ns(struct ab_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fill(e, code, AB_ERR_NAMESPACE, fmt, ap);
	va_end(ap);
	return -1;
}

/**
 * ab_hint() - Attach a hint (what the user can do) to a recorded error
 * @e:		Error filled by ab_fail()
 * @fmt:	printf format of the hint
 */
void ab_hint(struct ab_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->hint, sizeof(e->hint), fmt, ap);
	va_end(ap);
}

/**
 * ab_err_format() - Format an error as the one line the user sees
 * @e:		Error
 * @buf:	Output buffer
 * @len:	Size of @buf
 */
void ab_err_format(const struct ab_err *e, char *buf, size_t len)
{
	int n;

	if (e->code)
		n = snprintf(buf, len, "agentbox: %s: %s", e->msg,
			     strerror(e->code));
	else
		n = snprintf(buf, len, "agentbox: %s", e->msg);
	if (n >= 0 && (size_t)n < len && e->hint[0])
		snprintf(buf + n, len - (size_t)n, "; hint: %s", e->hint);
}

/**
 * ab_err_print() - Print an error on stderr as one line
 * @e:		Error
 */
void ab_err_print(const struct ab_err *e)
{
	char line[AB_ERR_MSG + AB_ERR_HINT + 128];

	ab_err_format(e, line, sizeof(line));
	dprintf(STDERR_FILENO, "%s\n", line);
}

/**
 * ab_warn() - Print a one-line diagnostic that is not fatal
 * @fmt:	printf format
 */
void ab_warn(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	dprintf(STDERR_FILENO, "agentbox: %s\n", line);
}
