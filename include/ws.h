/* SPDX-License-Identifier: MIT */
/* ws.h - the WebSocket opening handshake (RFC 6455 section 4) of a ws://
 * or wss:// upstream: the upgrade request agentbox sends, and the check of
 * the answer.  Pure functions (ws.c); the framing is libwslay's (upws.c).
 */
#ifndef AB_WS_H
#define AB_WS_H

#include <stddef.h>

#include "http.h"

#define AB_WS_KEY_LEN		24	/* base64 of 16 random bytes */
#define AB_WS_ACCEPT_LEN	28	/* base64 of a SHA-1 */
#define AB_WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* The upgrade request's parts */
struct ab_ws_req {
	const char *host;	/* Host field: "name[:port]" */
	const char *path;	/* request target, "/..." */
	const char *key;	/* Sec-WebSocket-Key */
	const char *token;	/* bearer token, or NULL */
	const char *agent;	/* User-Agent */
};

long ab_ws_request(const struct ab_ws_req *q, char *buf, size_t size);
enum ab_head_status ab_ws_answer(const char *buf, size_t len,
				 const char *accept, struct ab_resp *r,
				 char *why, size_t size);
int ab_ws_path_ok(const char *path);
int ab_ws_token_ok(const char *token);

#endif /* AB_WS_H */
