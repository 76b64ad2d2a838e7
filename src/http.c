// SPDX-License-Identifier: MIT
/* http.c - the proxy request head: request line, target, end of head.
 *
 * Theory of operation: a proxy client sends either "CONNECT host:port
 * HTTP/1.1" or an absolute-form request "GET http://host[:port]/p HTTP/1.1",
 * then header lines, then an empty line.  We find the end of the head first
 * (a head that does not end within AB_HEAD_MAX is refused), then check the
 * request line strictly (RFC 9112 section 3) and the header lines for the
 * bytes that make request smuggling possible: NUL, bare CR, obsolete line
 * folding, and a field name that is not a token.  What we accept is what
 * every common proxy also parses the same way.
 */

#include <ctype.h>
#include <string.h>

#include "http.h"

/* RFC 9110 tchar */
static int is_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/**
 * find_head_end() - Find the empty line that ends a head
 * @buf:	Bytes received
 * @len:	How many
 *
 * Return: length of the head including the empty line, 0 if not there yet
 */
static size_t find_head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/**
 * ab_http_parse_authority() - Parse "host:port", "[v6]:port" or "host"
 * @s:		Text (not NUL-terminated)
 * @len:	Its length
 * @host:	Result: the host, brackets removed, lower case
 * @host_size:	Size of @host
 * @port:	Result: the port
 * @default_port: Port when none is given, 0 if a port is required
 *
 * Return: 0 on success, -1 if malformed
 */
int ab_http_parse_authority(const char *s, size_t len, char *host,
			    size_t host_size, unsigned short *port,
			    unsigned short default_port)
{
	const char *h = s, *end = s + len, *colon = NULL;
	size_t hlen;
	int v6 = 0;

	if (!len)
		return -1;
	if (*s == '[') {
		const char *rb = memchr(s, ']', len);

		if (!rb)
			return -1;
		h = s + 1;
		hlen = (size_t)(rb - h);
		if (rb + 1 < end) {
			if (rb[1] != ':')
				return -1;
			colon = rb + 1;
		}
		v6 = 1;
	} else {
		colon = memchr(s, ':', len);
		hlen = colon ? (size_t)(colon - s) : len;
	}
	if (!hlen || hlen >= host_size)
		return -1;
	for (size_t i = 0; i < hlen; i++) {
		unsigned char c = (unsigned char)h[i];

		if (v6 ? !(isxdigit(c) || c == ':' || c == '.') :
			 !(isalnum(c) || c == '-' || c == '.' || c == '_'))
			return -1;
		host[i] = (char)tolower(c);
	}
	host[hlen] = '\0';

	if (!colon) {
		if (!default_port)
			return -1;
		*port = default_port;
		return 0;
	}
	{
		const char *p = colon + 1;
		unsigned long v = 0;

		if (p == end || end - p > 5)
			return -1;
		for (; p < end; p++) {
			if (!isdigit((unsigned char)*p))
				return -1;
			v = v * 10 + (unsigned long)(*p - '0');
		}
		if (!v || v > 65535)
			return -1;
		*port = (unsigned short)v;
	}
	return 0;
}

/**
 * parse_target() - Parse the request target for the method
 * @r:		Request, kind and method set; host, port, scheme filled here
 * @t:		Target text
 * @len:	Its length
 *
 * Return: 0 on success, -1 with r->reason set
 */
static int parse_target(struct ab_req *r, const char *t, size_t len)
{
	static const struct { const char *name; unsigned short port; }
	schemes[] = { { "http", 80 }, { "ws", 80 }, { "ftp", 21 } };
	const char *auth, *auth_end;

	if (r->kind == AB_REQ_CONNECT) {
		if (ab_http_parse_authority(t, len, r->host, sizeof(r->host),
					    &r->port, 0)) {
			r->reason = "CONNECT target must be host:port";
			return -1;
		}
		return 0;
	}

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i].name);

		if (len > n + 3 && !strncasecmp(t, schemes[i].name, n) &&
		    !memcmp(t + n, "://", 3)) {
			strcpy(r->scheme, schemes[i].name);
			auth = t + n + 3;
			auth_end = auth;
			while (auth_end < t + len && *auth_end != '/' &&
			       *auth_end != '?' && *auth_end != '#')
				auth_end++;
			if (memchr(auth, '@', (size_t)(auth_end - auth))) {
				r->reason = "credentials in the request URL "
					    "are not relayed";
				return -1;
			}
			if (ab_http_parse_authority(auth,
						    (size_t)(auth_end - auth),
						    r->host, sizeof(r->host),
						    &r->port,
						    schemes[i].port)) {
				r->reason = "bad host in request URL";
				return -1;
			}
			return 0;
		}
	}
	if (len && t[0] == '/')
		r->reason = "a request to a proxy needs an absolute URL "
			    "(http://host/path) or CONNECT";
	else
		r->reason = "unsupported URL scheme in request target";
	return -1;
}

/**
 * check_header_lines() - Refuse header bytes that allow request smuggling
 * @p:		First header line
 * @end:	End of the head (after the empty line)
 * @r:		Request, reason set on failure
 *
 * Return: 0 if every line is "token: value", -1 otherwise
 */
static int check_header_lines(const char *p, const char *end,
			      struct ab_req *r)
{
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *line_end, *q;

		if (!eol)
			break;
		line_end = (eol > p && eol[-1] == '\r') ? eol - 1 : eol;
		if (line_end == p)	/* the empty line */
			return 0;
		if (*p == ' ' || *p == '\t') {
			r->reason = "obsolete header line folding";
			return -1;
		}
		for (q = p; q < line_end && is_tchar((unsigned char)*q); q++)
			;
		if (q == p || q == line_end || *q != ':') {
			r->reason = "malformed header line";
			return -1;
		}
		for (; q < line_end; q++) {
			if (*q == '\0' || *q == '\r' || *q == 0x7f ||
			    ((unsigned char)*q < 0x20 && *q != '\t')) {
				r->reason = "control character in header";
				return -1;
			}
		}
		p = eol + 1;
	}
	return 0;
}

/**
 * ab_http_parse_head() - Parse a proxy request head
 * @buf:	Bytes received so far on the connection
 * @len:	How many
 * @r:		Result
 *
 * Return: AB_HEAD_INCOMPLETE, AB_HEAD_OK, AB_HEAD_BAD or AB_HEAD_TOO_LARGE
 */
enum ab_head_status ab_http_parse_head(const char *buf, size_t len,
				       struct ab_req *r)
{
	const char *p, *sp1, *sp2, *eol, *end;
	size_t head_len, mlen;

	memset(r, 0, sizeof(*r));
	head_len = find_head_end(buf, len > AB_HEAD_MAX ? AB_HEAD_MAX : len);
	if (!head_len) {
		if (len >= AB_HEAD_MAX) {
			r->reason = "request head too large";
			return AB_HEAD_TOO_LARGE;
		}
		/* Reject garbage early rather than wait for a whole head */
		for (size_t i = 0; i < len && buf[i] != ' '; i++) {
			if (!is_tchar((unsigned char)buf[i]) &&
			    buf[i] != '\r' && buf[i] != '\n') {
				r->reason = "malformed request line";
				return AB_HEAD_BAD;
			}
		}
		return AB_HEAD_INCOMPLETE;
	}
	r->head_len = head_len;
	end = buf + head_len;

	if (memchr(buf, '\0', head_len)) {
		r->reason = "NUL byte in request head";
		return AB_HEAD_BAD;
	}

	p = buf;
	eol = memchr(p, '\n', head_len);
	if (eol == p || (eol == p + 1 && *p == '\r')) {
		r->reason = "empty request line";
		return AB_HEAD_BAD;
	}
	sp1 = memchr(p, ' ', (size_t)(eol - p));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (!sp1 || !sp2 || sp2 == sp1 + 1) {
		r->reason = "malformed request line";
		return AB_HEAD_BAD;
	}
	mlen = (size_t)(sp1 - p);
	if (mlen >= sizeof(r->method)) {
		r->reason = "method too long";
		return AB_HEAD_BAD;
	}
	for (size_t i = 0; i < mlen; i++) {
		if (!is_tchar((unsigned char)p[i])) {
			r->reason = "malformed method";
			return AB_HEAD_BAD;
		}
	}
	memcpy(r->method, p, mlen);
	r->method[mlen] = '\0';
	{
		const char *v = sp2 + 1;
		const char *v_end = (eol > v && eol[-1] == '\r') ? eol - 1 :
								  eol;

		if (v_end - v != 8 || (memcmp(v, "HTTP/1.1", 8) &&
				       memcmp(v, "HTTP/1.0", 8))) {
			r->reason = "unsupported HTTP version";
			return AB_HEAD_BAD;
		}
	}
	for (const char *q = sp1 + 1; q < sp2; q++) {
		if ((unsigned char)*q <= 0x20 || *q == 0x7f) {
			r->reason = "malformed request target";
			return AB_HEAD_BAD;
		}
	}

	r->kind = strcmp(r->method, "CONNECT") ? AB_REQ_ABSOLUTE :
						 AB_REQ_CONNECT;
	if (parse_target(r, sp1 + 1, (size_t)(sp2 - sp1 - 1)))
		return AB_HEAD_BAD;
	if (check_header_lines(eol + 1, end, r))
		return AB_HEAD_BAD;
	return AB_HEAD_OK;
}
