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
#include <stdio.h>
#include <string.h>
#include <strings.h>

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
 * ab_http_authority() - Write "host:port", with brackets for an IPv6 host
 * @buf:	Result
 * @size:	Its size
 * @host:	Host, without brackets
 * @port:	Port, or 0 to leave it out
 *
 * Return: as snprintf()
 */
int ab_http_authority(char *buf, size_t size, const char *host,
		      unsigned port)
{
	int v6 = strchr(host, ':') != NULL;

	if (!port)
		return snprintf(buf, size, "%s%s%s", v6 ? "[" : "", host,
				v6 ? "]" : "");
	return snprintf(buf, size, "%s%s%s:%u", v6 ? "[" : "", host,
			v6 ? "]" : "", port);
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
			if (memchr(t, '#', len)) {
				r->reason = "fragment in request URL";
				return -1;
			}
			r->path_off = r->target_off +
				      (size_t)(auth_end - t);
			r->path_len = len - (size_t)(auth_end - t);
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

struct field {
	const char *name, *val;
	size_t nlen, vlen;
};

/**
 * field_next() - Step to the next header field of a checked head
 * @p:		In: start of a line; out: start of the next one
 * @end:	End of the head
 * @f:		Result: name and value (value without surrounding blanks)
 *
 * Return: 1 for a field, 0 at the empty line
 */
static int field_next(const char **p, const char *end, struct field *f)
{
	const char *eol = memchr(*p, '\n', (size_t)(end - *p));
	const char *le, *colon;

	if (!eol)
		return 0;
	le = (eol > *p && eol[-1] == '\r') ? eol - 1 : eol;
	if (le == *p)
		return 0;
	colon = memchr(*p, ':', (size_t)(le - *p));
	if (!colon)		/* not after check_header_lines() */
		return 0;
	f->name = *p;
	f->nlen = (size_t)(colon - *p);
	f->val = colon + 1;
	while (f->val < le && (*f->val == ' ' || *f->val == '\t'))
		f->val++;
	while (le > f->val && (le[-1] == ' ' || le[-1] == '\t'))
		le--;
	f->vlen = (size_t)(le - f->val);
	*p = eol + 1;
	return 1;
}

static int name_is(const struct field *f, const char *name)
{
	return f->nlen == strlen(name) && !strncasecmp(f->name, name, f->nlen);
}

/**
 * ab_http_list_has() - Does a comma-separated field value hold a token?
 * @v:		The value
 * @len:	Its length
 * @tok:	The token (compared in any case)
 *
 * Return: 1 or 0
 */
int ab_http_list_has(const char *v, size_t len, const char *tok)
{
	size_t tl = strlen(tok);

	while (len) {
		size_t n = 0;

		while (len && (*v == ' ' || *v == '\t' || *v == ',')) {
			v++;
			len--;
		}
		while (n < len && v[n] != ',' && v[n] != ' ' && v[n] != '\t')
			n++;
		if (n == tl && !strncasecmp(v, tok, tl))
			return 1;
		v += n;
		len -= n;
	}
	return 0;
}

/* What the fields say about how a message is framed */
struct framing {
	long long cl;		/* -1 if none */
	int n_te, chunked, te_other, close, keep_alive, upgrade;
	const char *reason;
};

/**
 * scan_framing() - Read Content-Length, Transfer-Encoding and Connection
 * @p:		First header line (of a head check_header_lines() passed)
 * @end:	End of the head
 * @m:		Result; m->reason set when a field is malformed
 *
 * Return: 0, or -1 with m->reason set
 */
static int scan_framing(const char *p, const char *end, struct framing *m)
{
	struct field f;

	memset(m, 0, sizeof(*m));
	m->cl = -1;
	while (field_next(&p, end, &f)) {
		if (name_is(&f, "content-length")) {
			long long v = 0;

			if (!f.vlen || f.vlen > 18) {
				m->reason = "bad Content-Length";
				return -1;
			}
			for (size_t i = 0; i < f.vlen; i++) {
				if (f.val[i] < '0' || f.val[i] > '9') {
					m->reason = "bad Content-Length";
					return -1;
				}
				v = v * 10 + (f.val[i] - '0');
			}
			if (m->cl >= 0 && m->cl != v) {
				m->reason = "conflicting Content-Length fields";
				return -1;
			}
			m->cl = v;
		} else if (name_is(&f, "transfer-encoding")) {
			m->n_te++;
			if (f.vlen == 7 && !strncasecmp(f.val, "chunked", 7))
				m->chunked = 1;
			else
				m->te_other = 1;
		} else if (name_is(&f, "connection") ||
			   name_is(&f, "proxy-connection")) {
			if (ab_http_list_has(f.val, f.vlen, "close"))
				m->close = 1;
			if (ab_http_list_has(f.val, f.vlen, "keep-alive"))
				m->keep_alive = 1;
		} else if (name_is(&f, "upgrade")) {
			m->upgrade = 1;
		}
	}
	return 0;
}

/**
 * req_framing() - Where a request's body ends, refusing ambiguous framing
 * @r:		Request
 * @p:		First header line
 * @end:	End of the head
 *
 * A request whose body length two parsers could read differently is how
 * requests are smuggled past a proxy, so each such head is refused: both
 * Content-Length and Transfer-Encoding, differing Content-Lengths, a
 * transfer coding other than a single "chunked", chunked in HTTP/1.0.
 *
 * Return: 0, or -1 with r->reason set
 */
static int req_framing(struct ab_req *r, const char *p, const char *end)
{
	struct framing m;

	if (scan_framing(p, end, &m)) {
		r->reason = m.reason;
		return -1;
	}
	if (m.n_te && m.cl >= 0) {
		r->reason = "both Content-Length and Transfer-Encoding";
		return -1;
	}
	if (m.n_te > 1 || m.te_other) {
		r->reason = "unsupported Transfer-Encoding (only a single "
			    "chunked is accepted)";
		return -1;
	}
	if (m.n_te && r->minor == 0) {
		r->reason = "Transfer-Encoding in an HTTP/1.0 request";
		return -1;
	}
	if (r->kind == AB_REQ_CONNECT && (m.n_te || m.cl > 0)) {
		r->reason = "CONNECT with a body";
		return -1;
	}
	r->content_length = m.cl;
	r->chunked = m.chunked;
	r->close = m.close || (r->minor == 0 && !m.keep_alive);
	r->upgrade = m.upgrade;
	return 0;
}

/**
 * ab_http_parse_resp() - Parse a response head from upstream
 * @buf:	Bytes received
 * @len:	How many
 * @r:		Result
 *
 * Return: AB_HEAD_INCOMPLETE, AB_HEAD_OK, AB_HEAD_BAD or AB_HEAD_TOO_LARGE
 */
enum ab_head_status ab_http_parse_resp(const char *buf, size_t len,
				       struct ab_resp *r)
{
	const char *eol, *end;
	struct framing m;
	size_t head_len;

	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	head_len = find_head_end(buf, len > AB_HEAD_MAX ? AB_HEAD_MAX : len);
	if (!head_len) {
		if (len >= AB_HEAD_MAX) {
			r->reason = "response head too large";
			return AB_HEAD_TOO_LARGE;
		}
		if (len >= 5 && memcmp(buf, "HTTP/", 5)) {
			r->reason = "not an HTTP response";
			return AB_HEAD_BAD;
		}
		return AB_HEAD_INCOMPLETE;
	}
	r->head_len = head_len;
	end = buf + head_len;
	eol = memchr(buf, '\n', head_len);
	if (memchr(buf, '\0', head_len) || eol - buf < 12 ||
	    memcmp(buf, "HTTP/1.", 7) || (buf[7] != '0' && buf[7] != '1') ||
	    buf[8] != ' ' || buf[9] < '1' || buf[9] > '5' ||
	    buf[10] < '0' || buf[10] > '9' || buf[11] < '0' || buf[11] > '9' ||
	    (buf[12] != ' ' && buf[12] != '\r' && buf[12] != '\n')) {
		r->reason = "malformed status line";
		return AB_HEAD_BAD;
	}
	r->minor = buf[7] - '0';
	r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 +
		    (buf[11] - '0');
	{
		struct ab_req tmp = { 0 };

		if (check_header_lines(eol + 1, end, &tmp)) {
			r->reason = tmp.reason;
			return AB_HEAD_BAD;
		}
	}
	if (scan_framing(eol + 1, end, &m)) {
		r->reason = m.reason;
		return AB_HEAD_BAD;
	}
	/* RFC 9112 6.3: Transfer-Encoding overrides Content-Length, and a
	 * response framed that way is not followed by another */
	if (m.n_te) {
		r->chunked = m.chunked && !m.te_other && m.n_te == 1;
		r->close = 1;
		if (m.cl < 0 && r->chunked)
			r->close = m.close || (r->minor == 0 && !m.keep_alive);
	} else {
		r->content_length = m.cl;
		r->close = m.close || (r->minor == 0 && !m.keep_alive);
	}
	return AB_HEAD_OK;
}

/**
 * ab_http_resp_body() - How the body of a response to a request ends
 * @q:		The request
 * @r:		The response head
 *
 * Return: its length, AB_BODY_NONE, AB_BODY_CHUNKED or AB_BODY_TO_EOF
 */
long long ab_http_resp_body(const struct ab_req *q, const struct ab_resp *r)
{
	if (!strcmp(q->method, "HEAD") || r->status < 200 ||
	    r->status == 204 || r->status == 304)
		return AB_BODY_NONE;
	if (q->kind == AB_REQ_CONNECT && r->status / 100 == 2)
		return AB_BODY_TO_EOF;
	if (r->chunked)
		return AB_BODY_CHUNKED;
	if (r->content_length >= 0)
		return r->content_length;
	return AB_BODY_TO_EOF;
}

enum {
	CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF,
	CH_TRAILER, CH_TRAILER_LINE, CH_TRAILER_LF, CH_END_LF,
};

#define CHUNK_LINE_MAX	4096	/* a chunk-size line or a trailer line */

/**
 * ab_chunked_feed() - Walk a chunked body, to find where it ends
 * @c:		Decoder, zeroed before the first call
 * @buf:	Next bytes of the body
 * @len:	How many
 * @reason:	Set when the body is malformed
 *
 * The bytes are not changed: the caller forwards what was consumed.
 *
 * Return: bytes that belong to the body (all of @len unless it ended, which
 * sets c->done); on error *@reason is set and the value is meaningless
 */
size_t ab_chunked_feed(struct ab_chunked *c, const char *buf, size_t len,
		       const char **reason)
{
	size_t i = 0;

	*reason = NULL;
	while (i < len && !c->done) {
		unsigned char ch = (unsigned char)buf[i];

		switch (c->state) {
		case CH_SIZE:
			if (isxdigit(ch)) {
				if (++c->digits > 15)
					goto bad;
				c->left = c->left * 16 +
					  (unsigned)(isdigit(ch) ? ch - '0' :
						     (tolower(ch) - 'a' + 10));
				break;
			}
			if (!c->digits)
				goto bad;
			if (ch == ';' || ch == ' ' || ch == '\t') {
				c->state = CH_EXT;
				c->line = c->digits;
			} else if (ch == '\r') {
				c->state = CH_SIZE_LF;
			} else {
				goto bad;
			}
			break;
		case CH_EXT:
			if (ch == '\r')
				c->state = CH_SIZE_LF;
			else if ((ch < 0x20 && ch != '\t') || ch == 0x7f ||
				 ++c->line > CHUNK_LINE_MAX)
				goto bad;
			break;
		case CH_SIZE_LF:
			if (ch != '\n')
				goto bad;
			c->digits = 0;
			c->state = c->left ? CH_DATA : CH_TRAILER;
			break;
		case CH_DATA: {
			size_t n = len - i;

			if (n > c->left)
				n = (size_t)c->left;
			c->left -= n;
			i += n;
			if (!c->left)
				c->state = CH_DATA_CR;
			continue;
		}
		case CH_DATA_CR:
			if (ch != '\r')
				goto bad;
			c->state = CH_DATA_LF;
			break;
		case CH_DATA_LF:
			if (ch != '\n')
				goto bad;
			c->state = CH_SIZE;
			break;
		case CH_TRAILER:
			c->line = 0;
			c->state = ch == '\r' ? CH_END_LF : CH_TRAILER_LINE;
			if (ch != '\r' && (ch < 0x21 || ch == 0x7f))
				goto bad;
			break;
		case CH_TRAILER_LINE:
			if (ch == '\r')
				c->state = CH_TRAILER_LF;
			else if ((ch < 0x20 && ch != '\t') || ch == 0x7f ||
				 ++c->line > CHUNK_LINE_MAX)
				goto bad;
			break;
		case CH_TRAILER_LF:
			if (ch != '\n')
				goto bad;
			c->state = CH_TRAILER;
			break;
		case CH_END_LF:
			if (ch != '\n')
				goto bad;
			c->done = 1;
			break;
		}
		i++;
	}
	return i;
bad:
	*reason = "malformed chunked body";
	return i;
}

/* Hop-by-hop fields and the sandbox's own proxy credentials: never sent on */
static int is_dropped(const struct field *f, const struct ab_fwd *fw,
		      const char *conn_list, size_t conn_len)
{
	static const char *const hop[] = {
		"connection", "proxy-connection", "keep-alive",
		"proxy-authorization", "te", "trailer", "upgrade",
	};
	char name[64];

	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (name_is(f, hop[i]))
			return 1;
	if (fw->strip && name_is(f, fw->strip))
		return 1;
	if (fw->strip_forwarding &&
	    (name_is(f, "forwarded") || name_is(f, "x-real-ip") ||
	     name_is(f, "via") ||
	     (f->nlen > 12 && !strncasecmp(f->name, "x-forwarded-", 12))))
		return 1;
	if (fw->origin_form && name_is(f, "host"))
		return 1;
	if (f->nlen < sizeof(name) && conn_len) {
		memcpy(name, f->name, f->nlen);
		name[f->nlen] = '\0';
		if (ab_http_list_has(conn_list, conn_len, name))
			return 1;
	}
	return 0;
}

struct out {
	char *p;
	size_t len, size;
	int over;
};

static void out_put(struct out *o, const char *s, size_t n)
{
	if (o->over || n > o->size - o->len) {
		o->over = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void out_str(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

/**
 * ab_http_forward_head() - The request head as it is sent on
 * @head:	The head as the client sent it (ab_http_parse_head() passed)
 * @r:		What it parsed to
 * @f:		What to change
 * @out:	Result
 * @size:	Size of @out
 *
 * Hop-by-hop fields (Connection and what it names, Proxy-Connection,
 * Keep-Alive, TE, Trailer, Upgrade) and Proxy-Authorization are removed,
 * as is f->strip (and, with f->strip_forwarding, the fields that claim a
 * client identity); in origin-form the target becomes the path and Host the
 * URL's authority.  "Connection: close" is added if the client closes
 * (unless f->keep_alive), then f->extra.  Lines end in CRLF.
 *
 * Return: length of the result, -1 if it does not fit
 */
long ab_http_forward_head(const char *head, const struct ab_req *r,
			  const struct ab_fwd *f, char *out, size_t size)
{
	const char *end = head + r->head_len, *p, *conn = NULL;
	struct out o = { out, 0, size, 0 };
	char ver[16], hostl[300];
	size_t conn_len = 0;
	struct field fl;

	/* Fields named in Connection are hop-by-hop too (one list is
	 * enough: a second Connection field is merged by nobody we know) */
	p = (const char *)memchr(head, '\n', r->head_len) + 1;
	while (field_next(&p, end, &fl))
		if (name_is(&fl, "connection")) {
			conn = fl.val;
			conn_len = fl.vlen;
			break;
		}

	out_str(&o, r->method);
	out_str(&o, " ");
	if (f->origin_form && r->kind == AB_REQ_ABSOLUTE) {
		if (!r->path_len || head[r->path_off] == '?')
			out_str(&o, "/");
		out_put(&o, head + r->path_off, r->path_len);
	} else {
		out_put(&o, head + r->target_off, r->target_len);
	}
	snprintf(ver, sizeof(ver), " HTTP/1.%d\r\n", r->minor);
	out_str(&o, ver);
	if (f->origin_form && r->kind == AB_REQ_ABSOLUTE) {
		ab_http_authority(hostl, sizeof(hostl), r->host,
				  r->port == 80 ? 0 : r->port);
		out_str(&o, "Host: ");
		out_str(&o, hostl);
		out_str(&o, "\r\n");
	}
	p = (const char *)memchr(head, '\n', r->head_len) + 1;
	for (;;) {
		const char *line = p, *eol;
		size_t ll;

		if (!field_next(&p, end, &fl))
			break;
		if (is_dropped(&fl, f, conn, conn_len))
			continue;
		eol = p - 1;
		ll = (size_t)(eol - line);
		if (ll && line[ll - 1] == '\r')
			ll--;
		out_put(&o, line, ll);
		out_str(&o, "\r\n");
	}
	if (r->close && !f->keep_alive)
		out_str(&o, "Connection: close\r\n");
	if (f->extra)
		out_str(&o, f->extra);
	out_str(&o, "\r\n");
	return o.over ? -1 : (long)o.len;
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
	r->content_length = -1;
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
	r->minor = sp2[8] - '0';
	r->target_off = (size_t)(sp1 + 1 - buf);
	r->target_len = (size_t)(sp2 - sp1 - 1);
	if (parse_target(r, sp1 + 1, (size_t)(sp2 - sp1 - 1)))
		return AB_HEAD_BAD;
	if (check_header_lines(eol + 1, end, r))
		return AB_HEAD_BAD;
	if (req_framing(r, eol + 1, end))
		return AB_HEAD_BAD;
	return AB_HEAD_OK;
}

/* The authority of an absolute-form target ("http://HOST[:PORT]/..."), or
 * 0 if the target is not in absolute form; -1 if malformed */
static int target_host(const char *t, size_t len, char *host, size_t size)
{
	size_t skip, end;
	unsigned short port;

	if (len >= 7 && !strncasecmp(t, "http://", 7))
		skip = 7;
	else if (len >= 8 && !strncasecmp(t, "https://", 8))
		skip = 8;
	else
		return 0;
	for (end = skip; end < len && t[end] != '/' && t[end] != '?' &&
	     t[end] != '#'; end++)
		;
	if (memchr(t + skip, '@', end - skip))
		return -1;	/* userinfo: not in a request */
	return ab_http_parse_authority(t + skip, end - skip, host, size, &port,
				       80) ? -1 : 1;
}

/**
 * ab_http_first_host() - The host an HTTP request head names, for the
 *			  check of a tunnel's first bytes
 * @p:		The first bytes
 * @len:	How many
 * @host:	Result: the host (target authority, else Host), lower case
 * @size:	Size of @host
 *
 * Return: AB_FIRST_NOT_HTTP (not a request line), AB_FIRST_MORE (a head
 * begun, not whole), AB_FIRST_HOST (@host set), AB_FIRST_NO_HOST (a head
 * that names none: HTTP/1.0), AB_FIRST_BAD (two Host fields, a Host and a
 * target that disagree, or a malformed one)
 */
enum ab_first_host ab_http_first_host(const char *p, size_t len, char *host,
				      size_t size)
{
	const char *end, *sp1, *sp2, *line, *eol;
	char other[256];
	unsigned short port;
	int hosts = 0, t;
	size_t i;

	for (i = 0; i < len && i < 20 && p[i] >= 'A' && p[i] <= 'Z'; i++)
		;
	if (i == len)
		return i < 20 ? AB_FIRST_MORE : AB_FIRST_NOT_HTTP;
	if (!i || p[i] != ' ')
		return AB_FIRST_NOT_HTTP;
	end = memmem(p, len, "\r\n\r\n", 4);
	if (!end)
		return AB_FIRST_MORE;
	sp1 = p + i;
	eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (!sp2 || (size_t)(eol - sp2) < 9 || memcmp(sp2 + 1, "HTTP/1.", 7))
		return AB_FIRST_NOT_HTTP;
	t = target_host(sp1 + 1, (size_t)(sp2 - sp1 - 1), host, size);
	if (t < 0)
		return AB_FIRST_BAD;
	for (line = eol + 2; line < end + 2; line = eol + 2) {
		const char *v;

		eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
		if (eol - line < 5 || strncasecmp(line, "host:", 5))
			continue;
		for (v = line + 5; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		while (eol > v && (eol[-1] == ' ' || eol[-1] == '\t'))
			eol--;
		if (++hosts > 1 ||
		    ab_http_parse_authority(v, (size_t)(eol - v), other,
					    sizeof(other), &port, 80))
			return AB_FIRST_BAD;
		if (t == 1 && strcmp(other, host))
			return AB_FIRST_BAD;
		if (t == 0)
			snprintf(host, size, "%s", other);
		eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
	}
	return t == 1 || hosts ? AB_FIRST_HOST : AB_FIRST_NO_HOST;
}
