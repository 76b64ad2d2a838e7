/* SPDX-License-Identifier: MIT */
/* http.h - parsing the request head a sandboxed client sends to its proxy.
 *
 * Pure code over a byte buffer: no I/O, no allocation.  The relay calls it
 * as bytes arrive; it answers "incomplete", "complete" (with the target) or
 * "bad" (with a reason the relay sends back in a 400).
 */
#ifndef AB_HTTP_H
#define AB_HTTP_H

#include <stddef.h>

#define AB_HEAD_MAX	16384	/* longest request head accepted */
#define AB_BODY_NONE	0LL	/* ab_http_resp_body(): no body */
#define AB_BODY_CHUNKED	(-1LL)	/* chunked */
#define AB_BODY_TO_EOF	(-2LL)	/* until the server closes */

enum ab_head_status {
	AB_HEAD_INCOMPLETE = 0,	/* need more bytes */
	AB_HEAD_OK,		/* complete, struct ab_req filled */
	AB_HEAD_BAD,		/* malformed: reason in struct ab_req */
	AB_HEAD_TOO_LARGE,	/* no end of head within AB_HEAD_MAX */
};

enum ab_req_kind {
	AB_REQ_CONNECT,		/* CONNECT host:port */
	AB_REQ_ABSOLUTE,	/* GET http://host[:port]/path */
};

struct ab_req {
	enum ab_req_kind kind;
	char method[24];
	char host[256];		/* without brackets for IPv6 literals */
	unsigned short port;
	char scheme[8];		/* "http" for absolute-form, "" for CONNECT */
	size_t head_len;	/* bytes up to and including the empty line */
	const char *reason;	/* why the head is bad */
	int minor;		/* HTTP/1.<minor> */
	size_t target_off, target_len;	/* request target in the head */
	size_t path_off, path_len;	/* origin-form part of it, 0 if none */
	long long content_length;	/* -1 if none */
	int chunked;		/* Transfer-Encoding: chunked */
	int close;		/* the client will not send another request */
	int upgrade;		/* an Upgrade header field */
};

/* A response head from an origin server or the upstream proxy */
struct ab_resp {
	int status;
	int minor;
	size_t head_len;
	long long content_length;	/* -1 if none */
	int chunked;
	int close;		/* the server closes after this response */
	const char *reason;
};

/* Decoder state for a chunked message body (RFC 9112 section 7.1) */
struct ab_chunked {
	int state;
	unsigned long long left;	/* data bytes left in this chunk */
	unsigned digits;
	unsigned line;			/* length of the current line */
	int done;
};

/* What ab_http_forward_head() changes in a request head */
struct ab_fwd {
	int origin_form;	/* rewrite the target to origin-form + Host */
	const char *strip;	/* one more field to remove (identity), or NULL */
	int strip_forwarding;	/* also Forwarded, X-Forwarded-*, X-Real-IP,
				   Via: what a proxy could take for the
				   client's identity */
	const char *extra;	/* "Name: value\r\n" lines to add, or NULL */
	int keep_alive;		/* no "Connection: close" for a client that
				   closes: the relay keeps the upstream
				   connection for another (dial.c's pool) */
};

enum ab_head_status ab_http_parse_head(const char *buf, size_t len,
				       struct ab_req *r);
enum ab_head_status ab_http_parse_resp(const char *buf, size_t len,
				       struct ab_resp *r);
long long ab_http_resp_body(const struct ab_req *q, const struct ab_resp *r);
size_t ab_chunked_feed(struct ab_chunked *c, const char *buf, size_t len,
		       const char **reason);
long ab_http_forward_head(const char *head, const struct ab_req *r,
			  const struct ab_fwd *f, char *out, size_t size);
int ab_http_list_has(const char *v, size_t len, const char *tok);
int ab_http_authority(char *buf, size_t size, const char *host,
		      unsigned port);
int ab_http_parse_authority(const char *s, size_t len, char *host,
			    size_t host_size, unsigned short *port,
			    unsigned short default_port);

enum ab_first_host {
	AB_FIRST_BAD = -2,
	AB_FIRST_NOT_HTTP = -1,
	AB_FIRST_MORE = 0,
	AB_FIRST_HOST = 1,
	AB_FIRST_NO_HOST = 2,
};

enum ab_first_host ab_http_first_host(const char *p, size_t len, char *host,
				      size_t size);

#endif /* AB_HTTP_H */
