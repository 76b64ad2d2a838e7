// SPDX-License-Identifier: MIT
/* ws.c - the WebSocket opening handshake of a ws:// or wss:// upstream.
 *
 * Theory of operation: each relayed connection to such an upstream is one
 * WebSocket (RFC 6455) to a WebSocket-to-TCP bridge in front of the proxy
 * (websockify, behind an L7 ingress that refuses CONNECT).  It opens with
 * an HTTP/1.1 GET that asks to upgrade, with the bridge's path, a fresh
 * key, the "binary" subprotocol (websockify's), and the bearer token the
 * ingress checks; the answer must be 101 with Upgrade: websocket,
 * Connection: upgrade and the key's Sec-WebSocket-Accept (section 4.1:
 * anything else fails the connection).  Any other status is the ingress
 * or the bridge refusing, and is reported with its status line (a 401 for a
 * bad token).  What follows the answer's head is the first frames.
 */

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ws.h"

/**
 * ab_ws_request() - The upgrade request
 * @q:		Its parts (host, path and token checked by the caller)
 * @buf:	Result
 * @size:	Its size
 *
 * Return: its length, or -1 if it does not fit
 */
long ab_ws_request(const struct ab_ws_req *q, char *buf, size_t size)
{
	int n = snprintf(buf, size,
			 "GET %s HTTP/1.1\r\n"
			 "Host: %s\r\n"
			 "Upgrade: websocket\r\n"
			 "Connection: Upgrade\r\n"
			 "Sec-WebSocket-Key: %s\r\n"
			 "Sec-WebSocket-Version: 13\r\n"
			 "Sec-WebSocket-Protocol: binary\r\n"
			 "%s%s%s"
			 "User-Agent: %s\r\n"
			 "\r\n",
			 q->path, q->host, q->key,
			 q->token ? "Authorization: Bearer " : "",
			 q->token ? q->token : "", q->token ? "\r\n" : "",
			 q->agent);

	return n < 0 || (size_t)n >= size ? -1 : n;
}

/*
 * The value of the header field @name in the head @h (up to @end), its
 * length in *@vlen; NULL if absent.  The head was checked by
 * ab_http_parse_resp(): lines end in LF (CRLF), no folding, no NUL.
 */
static const char *field(const char *h, const char *end, const char *name,
			 size_t *vlen)
{
	size_t nl = strlen(name);
	const char *p = memchr(h, '\n', (size_t)(end - h));

	while (p && ++p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *v, *ve;

		if (!eol)
			break;
		if ((size_t)(eol - p) > nl && p[nl] == ':' &&
		    !strncasecmp(p, name, nl)) {
			v = p + nl + 1;
			ve = eol;
			if (ve > v && ve[-1] == '\r')
				ve--;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			*vlen = (size_t)(ve - v);
			return v;
		}
		p = eol;
	}
	return NULL;
}

/**
 * ab_ws_answer() - Check the answer to the upgrade request
 * @buf:	Bytes received from the bridge so far
 * @len:	How many
 * @accept:	The Sec-WebSocket-Accept the key calls for
 * @r:		The answer's head as parsed: r->status (a refusal's too; 0 if
 *		none was read), r->head_len (on AB_HEAD_OK: frames follow)
 * @why:	On AB_HEAD_BAD or AB_HEAD_TOO_LARGE, the cause
 * @size:	Its size
 *
 * Return: AB_HEAD_INCOMPLETE, AB_HEAD_OK (the WebSocket is open),
 * AB_HEAD_BAD (refused, or not a valid answer) or AB_HEAD_TOO_LARGE
 */
enum ab_head_status ab_ws_answer(const char *buf, size_t len,
				 const char *accept, struct ab_resp *r,
				 char *why, size_t size)
{
	enum ab_head_status st = ab_http_parse_resp(buf, len, r);
	const char *end, *v;
	size_t vl;

	if (st != AB_HEAD_OK)
		r->status = 0;
	if (st == AB_HEAD_INCOMPLETE)
		return st;
	if (st == AB_HEAD_TOO_LARGE) {
		snprintf(why, size, "its answer's head is too long");
		return st;
	}
	if (st != AB_HEAD_OK) {
		snprintf(why, size, "its answer is not HTTP (%s)",
			 r->reason ? r->reason : "malformed");
		return AB_HEAD_BAD;
	}
	end = buf + r->head_len;
	if (r->status != 101) {
		const char *eol = memchr(buf, '\n', r->head_len);
		const char *sp = memchr(buf, ' ', (size_t)(eol - buf));
		size_t n = (size_t)(eol - sp - 1);

		if (n && sp[n] == '\r')
			n--;
		snprintf(why, size, "the upgrade was refused: %.*s",
			 (int)(n > 120 ? 120 : n), sp + 1);
		return AB_HEAD_BAD;
	}
	v = field(buf, end, "Upgrade", &vl);
	if (!v || !ab_http_list_has(v, vl, "websocket")) {
		snprintf(why, size, "its 101 answer lacks Upgrade: websocket");
		return AB_HEAD_BAD;
	}
	v = field(buf, end, "Connection", &vl);
	if (!v || !ab_http_list_has(v, vl, "upgrade")) {
		snprintf(why, size, "its 101 answer lacks Connection: upgrade");
		return AB_HEAD_BAD;
	}
	v = field(buf, end, "Sec-WebSocket-Accept", &vl);
	if (!v || vl != strlen(accept) || memcmp(v, accept, vl)) {
		snprintf(why, size, "its 101 answer has %s Sec-WebSocket-"
			 "Accept", v ? "a wrong" : "no");
		return AB_HEAD_BAD;
	}
	v = field(buf, end, "Sec-WebSocket-Extensions", &vl);
	if (v && vl) {		/* none was offered (section 4.1, item 5) */
		snprintf(why, size, "its 101 answer names an extension that "
			 "was not offered");
		return AB_HEAD_BAD;
	}
	v = field(buf, end, "Sec-WebSocket-Protocol", &vl);
	if (v && !(vl == 6 && !strncasecmp(v, "binary", 6))) {
		snprintf(why, size, "its 101 answer names a subprotocol "
			 "other than binary");
		return AB_HEAD_BAD;
	}
	return AB_HEAD_OK;
}

/**
 * ab_ws_path_ok() - Is @path a request target to put in the upgrade?
 * @path:	"/..." as written in the upstream URL
 *
 * Return: 1 if it starts with '/' and holds only visible ASCII
 */
int ab_ws_path_ok(const char *path)
{
	if (path[0] != '/')
		return 0;
	for (const char *p = path; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return 0;
	return 1;
}

/**
 * ab_ws_token_ok() - Is @token a bearer token (RFC 6750 b64token)?
 * @token:	The token
 *
 * Return: 1 if it is 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" /
 * "/" ) *"="
 */
int ab_ws_token_ok(const char *token)
{
	const char *p = token;

	while (*p && (isalnum((unsigned char)*p) || strchr("-._~+/", *p)))
		p++;
	if (p == token)
		return 0;
	while (*p == '=')
		p++;
	return *p == '\0';
}
