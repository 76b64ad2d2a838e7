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
};

enum ab_head_status ab_http_parse_head(const char *buf, size_t len,
				       struct ab_req *r);
int ab_http_parse_authority(const char *s, size_t len, char *host,
			    size_t host_size, unsigned short *port,
			    unsigned short default_port);

#endif /* AB_HTTP_H */
