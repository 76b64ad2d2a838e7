// SPDX-License-Identifier: MIT
/* hook.c - agentbox hook claude-code: a Claude Code PreToolUse hook that
 * runs every Bash and Monitor command inside agentbox.
 *
 * Claude Code writes one JSON object on the hook's stdin:
 *
 *   {"session_id": "...", "hook_event_name": "PreToolUse", "cwd": "...",
 *    "tool_name": "Bash", "tool_input": {"command": "...", "timeout": ...}}
 *
 * For Bash, the hook answers
 *
 *   {"hookSpecificOutput": {"hookEventName": "PreToolUse",
 *    "updatedInput": <tool_input, command replaced>}}
 *
 * where the command becomes
 *
 *   /usr/bin/agentbox --profile NAME --session ID -- /bin/bash -c '<original>'
 *
 * Theory of operation: the answer is made from the input's own text, not
 * from a parsed and re-serialised copy.  A small strict scanner validates
 * the whole document (RFC 8259) and records where tool_input and its
 * command are; the answer copies tool_input byte for byte except the
 * command's value, which it rewrites token by token: each escape or byte of
 * the original is copied as it was, and only a quote character (written
 * ' or \u0027) becomes '\'' for the single-quoted bash word.  So every field
 * (timeout, description, run_in_background, ones we do not know, numbers
 * JSON cannot represent exactly) and every byte of the command (escapes,
 * lone surrogates, bytes that are not UTF-8) come back as they went in.
 * Keys are compared after unescaping, as Claude Code's own parser would;
 * a key we act on that appears twice is refused, because another parser
 * could pick the other one.
 *
 * Monitor's command is a shell command too, wrapped the same way; a
 * Monitor that watches a WebSocket (no command) is opened by Claude Code's
 * own process, like its WebFetch, and passes.
 *
 * Other tools pass through (no output, exit 0).  A command that is already
 * exactly this wrapper (same binary and profile) is not wrapped again; any
 * other command is, even one that starts with "agentbox" ("agentbox -- true;
 * curl ..." would otherwise run curl outside).  Inside agentbox (the
 * AGENTBOX marker and a user namespace that maps fewer ids than the initial
 * one: an environment variable alone is not believed) every call passes.
 * Malformed input is refused with exit 2 and one line on stderr, which
 * makes Claude Code block the call instead of running it unsandboxed.
 */

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hook.h"
#include "options.h"
#include "util.h"

#define HOOK_MAX_DEPTH	64
#define NOWHERE		((size_t)-1)

struct span {
	const char *p;
	size_t len;
};

struct scan {
	const char *s, *p, *end;
	int depth;
	const char *why;
	size_t at;
};

static int scan_fail(struct scan *s, const char *why)
{
	if (!s->why) {
		s->why = why;
		s->at = (size_t)(s->p - s->s);
	}
	return -1;
}

static void scan_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
				 *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The code unit of a \uXXXX escape at @p (which has 6 bytes), or -1 */
static long hex4(const char *p)
{
	long v = 0;

	for (int i = 2; i < 6; i++) {
		int h = hexval(p[i]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* A string, at its opening quote; @raw gets it with its quotes */
static int scan_string(struct scan *s, struct span *raw)
{
	const char *start = s->p;

	s->p++;
	while (s->p < s->end) {
		unsigned char c = (unsigned char)*s->p;

		if (c == '"') {
			s->p++;
			raw->p = start;
			raw->len = (size_t)(s->p - start);
			return 0;
		}
		if (c < 0x20)
			return scan_fail(s, "control character in a string");
		if (c != '\\') {
			s->p++;
			continue;
		}
		if (s->end - s->p < 2)
			break;
		if (s->p[1] == 'u') {
			if (s->end - s->p < 6 || hex4(s->p) < 0)
				return scan_fail(s, "bad \\u escape");
			s->p += 6;
		} else if (s->p[1] && strchr("\"\\/bfnrt", s->p[1])) {
			s->p += 2;
		} else {
			return scan_fail(s, "bad escape in a string");
		}
	}
	return scan_fail(s, "unterminated string");
}

static int scan_digits(struct scan *s)
{
	const char *from = s->p;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > from ? 0 : scan_fail(s, "bad number");
}

static int scan_number(struct scan *s)
{
	if (*s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (scan_digits(s))
		return -1;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (scan_digits(s))
			return -1;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (scan_digits(s))
			return -1;
	}
	return 0;
}

typedef int member_fn(void *ctx, struct scan *s, struct span key,
		      struct span val);

static int scan_value(struct scan *s, struct span *val);

/* After a member or element: 1 if another follows (past its ','), 0 at
 * the container's end (past @close), -1 on anything else */
static int scan_next(struct scan *s, char close)
{
	scan_ws(s);
	if (s->p < s->end && *s->p == ',') {
		s->p++;
		scan_ws(s);
		return 1;
	}
	if (s->p < s->end && *s->p == close) {
		s->p++;
		return 0;
	}
	return scan_fail(s, close == '}' ? "expected ',' or '}'" :
			 "expected ',' or ']'");
}

/* An object, at '{': @fn (if any) sees each member's raw key and value */
static int scan_object(struct scan *s, member_fn *fn, void *ctx)
{
	s->p++;
	scan_ws(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		return 0;
	}
	for (;;) {
		struct span key, val;
		int rc;

		if (s->p >= s->end || *s->p != '"')
			return scan_fail(s, "expected a member name");
		if (scan_string(s, &key))
			return -1;
		scan_ws(s);
		if (s->p >= s->end || *s->p != ':')
			return scan_fail(s, "expected ':'");
		s->p++;
		scan_ws(s);
		if (scan_value(s, &val) || (fn && fn(ctx, s, key, val)))
			return -1;
		rc = scan_next(s, '}');
		if (rc <= 0)
			return rc;
	}
}

static int scan_array(struct scan *s)
{
	struct span val;

	s->p++;
	scan_ws(s);
	if (s->p < s->end && *s->p == ']') {
		s->p++;
		return 0;
	}
	for (;;) {
		int rc;

		if (scan_value(s, &val))
			return -1;
		rc = scan_next(s, ']');
		if (rc <= 0)
			return rc;
	}
}

static int scan_literal(struct scan *s, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n))
		return scan_fail(s, "unexpected character");
	s->p += n;
	return 0;
}

/* Any value (nested containers only validated); @val gets its text */
static int scan_value(struct scan *s, struct span *val)
{
	const char *start = s->p;
	int rc;

	if (s->p >= s->end)
		return scan_fail(s, "unexpected end of input");
	if (++s->depth > HOOK_MAX_DEPTH)
		return scan_fail(s, "nested too deeply");
	switch (*s->p) {
	case '{':
		rc = scan_object(s, NULL, NULL);
		break;
	case '[':
		rc = scan_array(s);
		break;
	case '"':
		rc = scan_string(s, val);
		break;
	case 't':
		rc = scan_literal(s, "true");
		break;
	case 'f':
		rc = scan_literal(s, "false");
		break;
	case 'n':
		rc = scan_literal(s, "null");
		break;
	default:
		if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
			rc = scan_number(s);
		else
			rc = scan_fail(s, "unexpected character");
	}
	s->depth--;
	val->p = start;
	val->len = (size_t)(s->p - start);
	return rc;
}

/**
 * unescape() - The bytes a JSON string stands for
 * @raw:	The string with its quotes, already validated
 * @out:	Result (NUL-terminated), at least @raw.len bytes
 * @len:	Result: its length (it may hold NUL bytes)
 *
 * Surrogate pairs become UTF-8; a lone surrogate becomes its three-byte
 * (WTF-8) form, so that no two different strings compare equal.
 */
static void unescape(struct span raw, char *out, size_t *len)
{
	const char *p = raw.p + 1, *end = raw.p + raw.len - 1;
	size_t o = 0;

	while (p < end) {
		long u;

		if (*p != '\\') {
			out[o++] = *p++;
			continue;
		}
		switch (p[1]) {
		case 'b': out[o++] = '\b'; p += 2; continue;
		case 'f': out[o++] = '\f'; p += 2; continue;
		case 'n': out[o++] = '\n'; p += 2; continue;
		case 'r': out[o++] = '\r'; p += 2; continue;
		case 't': out[o++] = '\t'; p += 2; continue;
		case 'u': break;
		default: out[o++] = p[1]; p += 2; continue;
		}
		u = hex4(p);
		p += 6;
		if (u >= 0xd800 && u <= 0xdbff && end - p >= 6 &&
		    p[0] == '\\' && p[1] == 'u') {
			long lo = hex4(p);

			if (lo >= 0xdc00 && lo <= 0xdfff) {
				u = 0x10000 + ((u - 0xd800) << 10) +
				    (lo - 0xdc00);
				p += 6;
			}
		}
		if (u < 0x80) {
			out[o++] = (char)u;
		} else if (u < 0x800) {
			out[o++] = (char)(0xc0 | (u >> 6));
			out[o++] = (char)(0x80 | (u & 0x3f));
		} else if (u < 0x10000) {
			out[o++] = (char)(0xe0 | (u >> 12));
			out[o++] = (char)(0x80 | ((u >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (u & 0x3f));
		} else {
			out[o++] = (char)(0xf0 | (u >> 18));
			out[o++] = (char)(0x80 | ((u >> 12) & 0x3f));
			out[o++] = (char)(0x80 | ((u >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (u & 0x3f));
		}
	}
	out[o] = '\0';
	*len = o;
}

/* Whether the raw string @raw is the name @name once unescaped */
static bool key_is(struct span raw, const char *name)
{
	char buf[64];
	size_t len;

	if (raw.len > sizeof(buf))	/* unescaping never grows it */
		return false;
	unescape(raw, buf, &len);
	return len == strlen(name) && !memcmp(buf, name, len);
}

/* The members of the input the hook acts on */
struct fields {
	struct span event, tool, input, session, command;
	bool have_event, have_tool, have_input, have_session, have_command;
};

static int take(struct scan *s, bool *have, struct span *dst,
		struct span val, const char *dup)
{
	if (*have)
		return scan_fail(s, dup);
	*have = true;
	*dst = val;
	return 0;
}

static int top_member(void *ctx, struct scan *s, struct span key,
		      struct span val)
{
	struct fields *f = ctx;

	if (key_is(key, "hook_event_name"))
		return take(s, &f->have_event, &f->event, val,
			    "hook_event_name given twice");
	if (key_is(key, "tool_name"))
		return take(s, &f->have_tool, &f->tool, val,
			    "tool_name given twice");
	if (key_is(key, "tool_input"))
		return take(s, &f->have_input, &f->input, val,
			    "tool_input given twice");
	if (key_is(key, "session_id"))
		return take(s, &f->have_session, &f->session, val,
			    "session_id given twice");
	return 0;
}

static int input_member(void *ctx, struct scan *s, struct span key,
			struct span val)
{
	struct fields *f = ctx;

	if (key_is(key, "command"))
		return take(s, &f->have_command, &f->command, val,
			    "tool_input.command given twice");
	return 0;
}

/* Output buffer */
static int put(struct ab_hook_out *o, const char *p, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		char *t;

		while (cap < o->len + n + 1)
			cap *= 2;
		if (!(t = realloc(o->text, cap)))
			return -1;
		o->text = t;
		o->cap = cap;
	}
	memcpy(o->text + o->len, p, n);
	o->len += n;
	o->text[o->len] = '\0';
	return 0;
}

static int puts_(struct ab_hook_out *o, const char *s)
{
	return put(o, s, strlen(s));
}

/* @s (bytes of a bash word list) as the inside of a JSON string */
static int put_json_text(struct ab_hook_out *o, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			if (put(o, esc, 2))
				return -1;
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			if (puts_(o, esc))
				return -1;
		} else if (put(o, s, 1)) {
			return -1;
		}
	}
	return 0;
}

static bool shell_safe(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("_./:@%+=,-", c));
}

/**
 * ab_shell_quote() - One word as bash reads it back, unchanged
 * @word:	The word
 * @buf:	Result: @word if it needs no quotes, else '...' with each '
 *		written '\''
 * @size:	Size of @buf
 *
 * Return: 0, or -1 if @buf is too small
 */
int ab_shell_quote(const char *word, char *buf, size_t size)
{
	size_t o = 0;
	bool plain = *word != '\0';

	for (const char *p = word; *p; p++)
		plain = plain && shell_safe(*p);
	if (plain) {
		if (strlen(word) >= size)
			return -1;
		memcpy(buf, word, strlen(word) + 1);
		return 0;
	}
	if (size < 3)
		return -1;
	buf[o++] = '\'';
	for (const char *p = word; *p; p++) {
		if (o + 6 >= size)
			return -1;
		if (*p == '\'') {
			memcpy(buf + o, "'\\''", 4);
			o += 4;
		} else {
			buf[o++] = *p;
		}
	}
	buf[o++] = '\'';
	buf[o] = '\0';
	return 0;
}

/* "SELF --profile NAME" */
static int wrapper_head(const struct ab_hook_opts *o, char *buf, size_t size)
{
	char self[PATH_MAX * 4 + 8], prof[PATH_MAX * 4 + 8];

	if (ab_shell_quote(o->self, self, sizeof(self)) ||
	    ab_shell_quote(o->profile, prof, sizeof(prof)))
		return -1;
	return snprintf(buf, size, "%s --profile %s", self, prof) <
	       (int)size ? 0 : -1;
}

#define WRAP_TAIL	" -- /bin/bash -c '"

/**
 * already_wrapped() - Whether @cmd is exactly the wrapper this hook makes
 * @cmd:	The command, unescaped
 * @len:	Its length
 * @head:	"SELF --profile NAME"
 *
 * That is: @head, optionally " --session ID", WRAP_TAIL, then one
 * single-quoted word (its quotes written '\'') that ends the command.
 * Anything else is wrapped: a prefix match would let "...'; curl x" out.
 */
static bool already_wrapped(const char *cmd, size_t len, const char *head)
{
	const char *p = cmd, *end = cmd + len;
	size_t n = strlen(head);

	if (len < n || memcmp(p, head, n))
		return false;
	p += n;
	if ((size_t)(end - p) > 11 && !memcmp(p, " --session ", 11)) {
		const char *w = p + 11;

		for (p = w; p < end && shell_safe(*p); p++)
			;
		if (p == w || !ab_session_label_ok(w, (size_t)(p - w)))
			return false;
	}
	n = strlen(WRAP_TAIL);
	if ((size_t)(end - p) < n || memcmp(p, WRAP_TAIL, n))
		return false;
	p += n;
	for (;;) {
		const char *q = memchr(p, '\'', (size_t)(end - p));

		if (!q)
			return false;
		if (q + 1 == end)
			return !memchr(cmd, '\0', len);
		if (end - q < 4 || memcmp(q, "'\\''", 4))
			return false;
		p = q + 4;
	}
}

/**
 * put_quoted_command() - The command's JSON text, each quote made '\''
 * @o:		Output
 * @raw:	The command's JSON string, with its quotes
 *
 * Return: 0, -1 out of memory, -2 the command holds a NUL character
 */
static int put_quoted_command(struct ab_hook_out *o, struct span raw)
{
	const char *p = raw.p + 1, *end = raw.p + raw.len - 1;

	while (p < end) {
		size_t n = 1;
		long u = -1;

		if (*p == '\\')
			n = p[1] == 'u' ? 6 : 2;
		if (n == 6)
			u = hex4(p);
		if (u == 0)
			return -2;
		if ((n == 1 && *p == '\'') || u == '\'') {
			if (puts_(o, "'\\\\''"))
				return -1;
		} else if (put(o, p, n)) {
			return -1;
		}
		p += n;
	}
	return 0;
}

static enum ab_hook_result refuse(struct ab_hook_out *out, size_t at,
				  const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum ab_hook_result refuse(struct ab_hook_out *out, size_t at,
				  const char *fmt, ...)
{
	char what[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (at != NOWHERE)
		snprintf(out->why, sizeof(out->why), "%s (at byte %zu)", what,
			 at);
	else
		snprintf(out->why, sizeof(out->why), "%s", what);
	return AB_HOOK_ERROR;
}

/* Short printable ASCII, safe to show on a terminal */
static bool printable(struct span v)
{
	if (v.len > 64)
		return false;
	for (size_t i = 0; i < v.len; i++)
		if (v.p[i] < 0x20 || v.p[i] > 0x7e)
			return false;
	return true;
}

static bool is_string(struct span v)
{
	return v.len >= 2 && v.p[0] == '"';
}

/**
 * ab_hook_claude() - Answer one Claude Code PreToolUse hook call
 * @in:		The hook's input (need not be NUL-terminated)
 * @len:	Its length
 * @o:		This binary, the profile, whether we run inside agentbox
 * @out:	Result: the answer, or the reason the input is refused
 *
 * Return: AB_HOOK_WRAPPED (@out->text is the answer), AB_HOOK_PASS (no
 * answer: the call goes on as it is), AB_HOOK_ERROR (@out->why)
 */
enum ab_hook_result ab_hook_claude(const char *in, size_t len,
				   const struct ab_hook_opts *o,
				   struct ab_hook_out *out)
{
	static const char bad_session[] = "session_id: expected a string of "
		"at most 64 letters, digits, '.', '_', ':' or '-'";
	struct scan s = { .s = in, .p = in, .end = in + len };
	struct fields f = { 0 };
	char head[PATH_MAX * 8 + 64], session[128] = "";
	bool wrapped, monitor;
	size_t n = 0;
	char *cmd;
	int rc;

	memset(out, 0, sizeof(*out));
	scan_ws(&s);
	if (s.p >= s.end)
		return refuse(out, NOWHERE, "empty input: expected the hook's "
			      "JSON object");
	if (*s.p != '{')
		return refuse(out, (size_t)(s.p - in), "expected a JSON object");
	if (scan_object(&s, top_member, &f))
		return refuse(out, s.at, "%s", s.why);
	scan_ws(&s);
	if (s.p != s.end)
		return refuse(out, (size_t)(s.p - in),
			      "text after the JSON object");

	if (!f.have_event || !is_string(f.event))
		return refuse(out, NOWHERE, "hook_event_name missing or not "
			      "a string");
	if (!f.have_tool || !is_string(f.tool))
		return refuse(out, NOWHERE, "tool_name missing or not a string");
	if (!key_is(f.event, "PreToolUse"))
		return refuse(out, NOWHERE, "this is a PreToolUse hook, called "
			      "for %.*s", printable(f.event) ? (int)f.event.len
			      : 15, printable(f.event) ? f.event.p :
			      "another event");
	if (f.have_session) {
		if (!is_string(f.session) || f.session.len > sizeof(session))
			return refuse(out, NOWHERE, "%s", bad_session);
		unescape(f.session, session, &n);
		if (!ab_session_label_ok(session, n))
			return refuse(out, NOWHERE, "%s", bad_session);
	}
	monitor = key_is(f.tool, "Monitor");
	if (!key_is(f.tool, "Bash") && !monitor)
		return AB_HOOK_PASS;
	if (!f.have_input || f.input.p[0] != '{')
		return refuse(out, NOWHERE, "tool_input missing or not an "
			      "object");
	s.p = f.input.p;
	if (scan_object(&s, input_member, &f))
		return refuse(out, s.at, "%s", s.why);
	if (monitor && !f.have_command)
		return AB_HOOK_PASS;	/* a WebSocket watch: Claude's own */
	if (!f.have_command || !is_string(f.command))
		return refuse(out, NOWHERE, "tool_input.command missing or not "
			      "a string");
	if (o->inside)
		return AB_HOOK_PASS;

	if (wrapper_head(o, head, sizeof(head)))
		return refuse(out, NOWHERE, "agentbox's path or the profile "
			      "name is too long");
	if (!(cmd = malloc(f.command.len)))
		return refuse(out, NOWHERE, "out of memory");
	unescape(f.command, cmd, &n);
	wrapped = already_wrapped(cmd, n, head);
	free(cmd);
	if (wrapped)
		return AB_HOOK_PASS;

	/* tool_input up to the command's value, the new value, the rest */
	if (puts_(out, "{\"hookSpecificOutput\":{\"hookEventName\":"
		  "\"PreToolUse\",\"updatedInput\":") ||
	    put(out, f.input.p, (size_t)(f.command.p - f.input.p)) ||
	    puts_(out, "\"") || put_json_text(out, head) ||
	    (session[0] && (puts_(out, " --session ") ||
			    puts_(out, session))) ||
	    put_json_text(out, WRAP_TAIL))
		goto oom;
	rc = put_quoted_command(out, f.command);
	if (rc == -2) {
		ab_hook_out_free(out);
		return refuse(out, NOWHERE, "tool_input.command contains a NUL "
			      "character, which bash cannot run");
	}
	if (rc || puts_(out, "'\"") ||
	    put(out, f.command.p + f.command.len,
		(size_t)(f.input.p + f.input.len -
			 (f.command.p + f.command.len))) ||
	    puts_(out, "}}\n"))
		goto oom;
	return AB_HOOK_WRAPPED;
oom:
	ab_hook_out_free(out);
	return refuse(out, NOWHERE, "out of memory");
}

/**
 * ab_hook_out_free() - Free an answer, keeping its reason
 * @out:	Answer
 */
void ab_hook_out_free(struct ab_hook_out *out)
{
	free(out->text);
	out->text = NULL;
	out->len = out->cap = 0;
}
