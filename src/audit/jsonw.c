// SPDX-License-Identifier: MIT
/* jsonw.c - a JSON writer into a fixed buffer (see include/jsonw.h).
 *
 * Theory of operation: members are appended in order; the writer keeps
 * only whether a comma is due at each depth.  Strings are written as
 * jansson does with JSON_ENSURE_ASCII: printable ASCII as it is, '"' and
 * '\' escaped, everything else as \uXXXX (UTF-16 surrogate pairs above
 * U+FFFF), so that a name from the sandbox cannot smuggle bytes that a
 * terminal or a log shipper would interpret.  A byte that does not start
 * a valid UTF-8 sequence (overlong, a surrogate, above U+10FFFF, cut
 * short) is written as U+FFFD: the line stays valid JSON and the field is
 * kept (jansson refuses such a string, and the field would be lost).  A
 * text that does not fit sets w->full, and the caller writes the event
 * another way.
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jsonw.h"

/**
 * ab_jw_init() - Start a text: one top-level object
 * @w:		Writer
 * @buf:	Its buffer
 * @cap:	Its size
 */
void ab_jw_init(struct ab_jw *w, char *buf, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap;
	ab_jw_open(w, NULL);
}

static void put(struct ab_jw *w, const char *s, size_t n)
{
	if (w->full || w->len + n >= w->cap) {
		w->full = true;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void put_u(struct ab_jw *w, unsigned cp)
{
	char e[8];

	snprintf(e, sizeof(e), "\\u%04x", cp & 0xffff);
	put(w, e, 6);
}

/* The code point of the UTF-8 sequence at @s, or -1; *n its length */
static long utf8_next(const unsigned char *s, size_t *n)
{
	unsigned c = s[0], len, cp;

	if (c < 0xc2 || c > 0xf4)
		return -1;
	len = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	cp = c & (0x3f >> (len - 1));
	for (unsigned i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;	/* also the NUL that ends the string */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return -1;
	*n = len;
	return (long)cp;
}

static void put_string(struct ab_jw *w, const char *v)
{
	const unsigned char *s = (const unsigned char *)v;

	put(w, "\"", 1);
	while (*s && !w->full) {
		size_t n = 1;
		long cp;

		if (*s == '"' || *s == '\\') {
			char e[2] = { '\\', (char)*s };

			put(w, e, 2);
		} else if (*s >= 0x20 && *s < 0x7f) {
			put(w, (const char *)s, 1);
		} else if (*s < 0x80) {
			put_u(w, *s);
		} else if ((cp = utf8_next(s, &n)) < 0) {
			put_u(w, 0xfffd);
			n = 1;
		} else if (cp > 0xffff) {
			cp -= 0x10000;
			put_u(w, 0xd800 | (unsigned)(cp >> 10));
			put_u(w, 0xdc00 | (unsigned)(cp & 0x3ff));
		} else {
			put_u(w, (unsigned)cp);
		}
		s += n;
	}
	put(w, "\"", 1);
}

static void member(struct ab_jw *w, const char *key)
{
	if (!w->first[w->depth])
		put(w, ",", 1);
	w->first[w->depth] = false;
	if (key) {
		put_string(w, key);
		put(w, ":", 1);
	}
}

/**
 * ab_jw_open() - Open an object
 * @w:		Writer
 * @key:	Its key in the enclosing object (NULL at the top)
 */
void ab_jw_open(struct ab_jw *w, const char *key)
{
	if (w->depth + 1 >= AB_JW_DEPTH) {
		w->full = true;
		return;
	}
	if (w->len)
		member(w, key);
	put(w, "{", 1);
	w->first[++w->depth] = true;
}

/**
 * ab_jw_close() - Close the innermost object
 * @w:		Writer
 */
void ab_jw_close(struct ab_jw *w)
{
	if (w->depth <= 0) {
		w->full = true;
		return;
	}
	put(w, "}", 1);
	w->depth--;
}

/**
 * ab_jw_str() - A string member
 * @w:		Writer
 * @key:	Key
 * @v:		Value
 */
void ab_jw_str(struct ab_jw *w, const char *key, const char *v)
{
	member(w, key);
	put_string(w, v);
}

/**
 * ab_jw_int() - An integer member
 * @w:		Writer
 * @key:	Key
 * @v:		Value
 */
void ab_jw_int(struct ab_jw *w, const char *key, long long v)
{
	char n[24];
	int len = snprintf(n, sizeof(n), "%lld", v);

	member(w, key);
	put(w, n, (size_t)len);
}

/**
 * ab_jw_list1() - A member that is a list of one string
 * @w:		Writer
 * @key:	Key
 * @v:		The string
 */
void ab_jw_list1(struct ab_jw *w, const char *key, const char *v)
{
	member(w, key);
	put(w, "[", 1);
	put_string(w, v);
	put(w, "]", 1);
}

/**
 * ab_jw_strv() - A member that is a list of strings
 * @w:		Writer
 * @key:	Key
 * @v:		The strings, each NUL-terminated, one after another
 * @len:	Their length, the NULs counted
 */
void ab_jw_strv(struct ab_jw *w, const char *key, const char *v, size_t len)
{
	member(w, key);
	put(w, "[", 1);
	for (size_t off = 0; off < len; off += strlen(v + off) + 1) {
		if (off)
			put(w, ",", 1);
		put_string(w, v + off);
	}
	put(w, "]", 1);
}

/**
 * ab_jw_done() - Close the top-level object
 * @w:		Writer
 *
 * Return: true if the whole text fits (w->buf, w->len, NUL-terminated)
 */
bool ab_jw_done(struct ab_jw *w)
{
	while (w->depth > 0 && !w->full)
		ab_jw_close(w);
	if (w->full || w->len + 1 >= w->cap)
		return false;
	w->buf[w->len] = '\0';
	return true;
}
