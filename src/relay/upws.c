// SPDX-License-Identifier: MIT
/* upws.c - a WebSocket-tunnelled upstream (upstream = wss://HOST[:PORT]/PATH
 * or ws://...), for containers behind an L7 ingress that refuses CONNECT.
 *
 * Theory of operation: each relayed connection to the upstream is one
 * WebSocket (RFC 6455) to a standard WebSocket-to-TCP bridge in front of the
 * proxy (websockify), and carries the ordinary proxy conversation: the same
 * CONNECT or absolute-form request, with identity and credentials, that
 * agentbox sends to Squid directly.  It rides on pump.c's pump, which makes
 * the connection (and TLS for wss://); this file adds the layer on top:
 *
 *   conn ufd <== socketpair ==> plain --binary messages--> net -> bridge
 *                                     <--data frames------
 *
 * First the upgrade (ws.c writes the request, with the bearer token the
 * ingress checks, and checks the 101 answer), then the framing, which is
 * libwslay's: what the connection sends becomes binary messages, masked as
 * a client's must be; the payload of the bridge's data frames is what the
 * connection reads; pings are answered.  Backpressure as in the TLS pump: a
 * side is read only while the other can take it (wslay's queue empty; room
 * in ibuf for all wslay may hold).  The connection's end of stream becomes
 * a close frame (1000); the bridge's close frame becomes the end of the
 * connection's stream.  A refused upgrade (401 for a bad token), a
 * WebSocket that drops without a close frame, a close frame with an error
 * status and a protocol error fail only this connection: a 502 with the
 * cause while it waits for the proxy, else a reset.
 *
 * libwslay (Debian's libwslay1) is loaded at run time, like OpenSSL, and
 * only for a WebSocket upstream; OpenSSL gives the handshake's SHA-1.
 */

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <wslay/wslay.h>

#include "ossl.h"
#include "relay.h"
#include "upws.h"
#include "util.h"
#include "ws.h"

#include "conn.h"
#include "pump.h"

#define AB_LIBWSLAY	"libwslay.so.1"
#define WS_ROOM		8192	/* ibuf room wslay's 4 KiB may need */
#define WS_CLOSE_WAIT_US (5 * 1000000ULL)	/* for the bridge's close */

#define AB_WSLAY_FUNCS(X) \
	X(wslay_event_context_client_init) X(wslay_event_context_free) \
	X(wslay_event_config_set_no_buffering) X(wslay_event_recv) \
	X(wslay_event_send) X(wslay_event_queue_msg) \
	X(wslay_event_queue_close) X(wslay_event_set_error) \
	X(wslay_event_want_read) X(wslay_event_want_write) \
	X(wslay_event_get_close_received) \
	X(wslay_event_get_read_enabled)

static struct {
/* NOLINTNEXTLINE(bugprone-macro-parentheses): f names a declaration */
#define AB_WSLAY_MEMBER(f) __typeof__(f) *f;
	AB_WSLAY_FUNCS(AB_WSLAY_MEMBER)
#undef AB_WSLAY_MEMBER
} wsl;

struct ab_upws {
	char host[300];			/* the Host field */
	char path[1024];
	char token[4096];		/* bearer token, "" for none */
};

struct rl_ws {
	wslay_event_context_ptr ctx;
	char accept[AB_WS_ACCEPT_LEN + 1];	/* the key's */
	char in[AB_HEAD_MAX];		/* the answer, then frames as read */
	size_t ilen, ioff;		/* received; not yet wslay's from ioff */
	bool data_frame;		/* the frame being read carries data */
	bool eof;			/* the bridge closed the connection */
	bool failed;			/* net failed (p->cause says how) */
	unsigned close_code;		/* of the bridge's close frame */
	char close_reason[124];
	unsigned char masks[256];	/* random bytes for masking keys */
	size_t mask_off;
};

/* Open libwslay and take its functions, once */
static int wslay_load(struct ab_err *e)
{
	static void *lib;
	void *sym;

	if (lib)
		return 0;
	lib = dlopen(AB_LIBWSLAY, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		ab_fail(e, 0, "WebSocket to the upstream proxy: %s", dlerror());
		ab_hint(e, "install the libwslay1 package");
		return -1;
	}
#define AB_WSLAY_TAKE(f) \
	if (!(sym = dlsym(lib, #f))) \
		goto missing; \
	*(void **)&wsl.f = sym;
	AB_WSLAY_FUNCS(AB_WSLAY_TAKE)
#undef AB_WSLAY_TAKE
	return 0;
missing:
	ab_fail(e, ENOSYS, "WebSocket to the upstream proxy: %s lacks a "
		"function agentbox needs (%s)", AB_LIBWSLAY, dlerror());
	dlclose(lib);
	lib = NULL;
	return -1;
}

/**
 * ab_upws_new() - A WebSocket upstream's upgrade, made before the sandbox
 * @host:	The bridge's host as written
 * @port:	Its port
 * @path:	Its path (checked by the URL parser)
 * @token:	Bearer token for the upgrade, or NULL
 * @e:		Error
 *
 * Return: the context, or NULL with @e filled (libwslay or OpenSSL
 * missing)
 */
struct ab_upws *ab_upws_new(const char *host, unsigned port, const char *path,
			    const char *token, struct ab_err *e)
{
	struct ab_upws *w;

	if (wslay_load(e) || ab_ossl_load(e))
		return NULL;
	w = calloc(1, sizeof(*w));
	if (!w) {
		ab_fail(e, ENOMEM, "WebSocket to the upstream proxy");
		return NULL;
	}
	ab_http_authority(w->host, sizeof(w->host), host, port);
	snprintf(w->path, sizeof(w->path), "%s", path);
	snprintf(w->token, sizeof(w->token), "%s", token ? token : "");
	return w;
}

void ab_upws_free(struct ab_upws *w)
{
	if (!w)
		return;
	explicit_bzero(w->token, sizeof(w->token));
	free(w);
}

/**
 * ab_upws_request() - A fresh upgrade request and the answer's accept value
 * @w:		Context
 * @buf:	The request
 * @size:	Its size
 * @accept:	Result, AB_WS_ACCEPT_LEN + 1 bytes
 *
 * Return: the request's length, or -1
 */
long ab_upws_request(const struct ab_upws *w, char *buf, size_t size,
		     char *accept)
{
	char key[AB_WS_KEY_LEN + 1], in[AB_WS_KEY_LEN + sizeof(AB_WS_GUID)];
	unsigned char nonce[16], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct ab_ws_req q = {
		.host = w->host, .path = w->path, .key = key,
		.token = w->token[0] ? w->token : NULL,
		.agent = "agentbox/" AB_VERSION,
	};

	if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce))
		return -1;
	ab_base64(nonce, sizeof(nonce), key);
	snprintf(in, sizeof(in), "%s%s", key, AB_WS_GUID);
	if (!EVP_Digest(in, strlen(in), md, &mdlen, EVP_sha1(), NULL) ||
	    mdlen != 20)
		return -1;
	ab_base64(md, mdlen, accept);
	return ab_ws_request(&q, buf, size);
}

/* ---- wslay's callbacks ---------------------------------------------- */

/* Room in ibuf, its bytes moved to the front */
static size_t room(struct rl_pump *p)
{
	if (p->ioff) {
		memmove(p->ibuf, p->ibuf + p->ioff, p->ilen - p->ioff);
		p->ilen -= p->ioff;
		p->ioff = 0;
	}
	return sizeof(p->ibuf) - p->ilen;
}

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
		       int flags, void *user)
{
	struct rl_pump *p = user;
	struct rl_ws *w = p->ws;
	ssize_t n;

	(void)flags;
	if (room(p) < WS_ROOM) {
		wsl.wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	/* wslay asks for 4 KiB at a time: it gets them from w->in, which
	 * one read fills (a TLS record, or what the socket holds) */
	if (w->ioff == w->ilen) {
		n = rl_pump_recv(p, w->in, sizeof(w->in));
		if (n <= 0) {
			if (n < 0 && rl_again(errno)) {
				wsl.wslay_event_set_error(ctx,
							  WSLAY_ERR_WOULDBLOCK);
				return -1;
			}
			if (n == 0)
				w->eof = true;
			else
				w->failed = true;
			wsl.wslay_event_set_error(ctx,
						  WSLAY_ERR_CALLBACK_FAILURE);
			return -1;
		}
		w->ioff = 0;
		w->ilen = (size_t)n;
	}
	n = (ssize_t)(len < w->ilen - w->ioff ? len : w->ilen - w->ioff);
	memcpy(buf, w->in + w->ioff, (size_t)n);
	w->ioff += (size_t)n;
	return n;
}

static ssize_t ws_send(wslay_event_context_ptr ctx, const uint8_t *data,
		       size_t len, int flags, void *user)
{
	struct rl_pump *p = user;
	ssize_t n = rl_pump_send(p, data, len);

	(void)flags;
	if (n >= 0)
		return n;
	if (rl_again(errno)) {
		wsl.wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
	} else {
		p->ws->failed = true;
		wsl.wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
	}
	return -1;
}

/* Masking keys (RFC 6455 section 5.3: unpredictable), 64 at a time */
static int ws_mask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
		   void *user)
{
	struct rl_ws *w = ((struct rl_pump *)user)->ws;

	(void)ctx;
	if (len > sizeof(w->masks))
		return -1;
	if (w->mask_off + len > sizeof(w->masks)) {
		if (getrandom(w->masks, sizeof(w->masks), 0) !=
		    (ssize_t)sizeof(w->masks))
			return -1;
		w->mask_off = 0;
	}
	memcpy(buf, w->masks + w->mask_off, len);
	w->mask_off += len;
	return 0;
}

static void ws_frame_start(wslay_event_context_ptr ctx,
			   const struct wslay_event_on_frame_recv_start_arg *a,
			   void *user)
{
	(void)ctx;
	((struct rl_pump *)user)->ws->data_frame = !wslay_is_ctrl_frame(a->opcode);
}

/* A data frame's payload: the proxy's bytes, for the connection */
static void ws_chunk(wslay_event_context_ptr ctx,
		     const struct wslay_event_on_frame_recv_chunk_arg *a,
		     void *user)
{
	struct rl_pump *p = user;

	(void)ctx;
	if (!p->ws->data_frame)
		return;
	if (a->data_length > room(p)) {	/* cannot be: ws_recv kept room */
		p->ws->failed = true;
		snprintf(p->cause, sizeof(p->cause), "frame overran the buffer");
		return;
	}
	memcpy(p->ibuf + p->ilen, a->data, a->data_length);
	p->ilen += a->data_length;
}

/* Control messages: a close frame's status and reason are kept */
static void ws_msg(wslay_event_context_ptr ctx,
		   const struct wslay_event_on_msg_recv_arg *a, void *user)
{
	struct rl_ws *w = ((struct rl_pump *)user)->ws;
	size_t n;

	(void)ctx;
	if (a->opcode != WSLAY_CONNECTION_CLOSE)
		return;
	w->close_code = a->status_code;
	n = a->msg_length > 2 ? a->msg_length - 2 : 0;
	if (n >= sizeof(w->close_reason))
		n = sizeof(w->close_reason) - 1;
	for (size_t i = 0; i < n; i++)		/* for a log line */
		w->close_reason[i] = a->msg[2 + i] >= 0x20 &&
				     a->msg[2 + i] < 0x7f ? (char)a->msg[2 + i] :
							    '?';
	w->close_reason[n] = '\0';
}

static const struct wslay_event_callbacks ws_callbacks = {
	.recv_callback = ws_recv,
	.send_callback = ws_send,
	.genmask_callback = ws_mask,
	.on_frame_recv_start_callback = ws_frame_start,
	.on_frame_recv_chunk_callback = ws_chunk,
	.on_msg_recv_callback = ws_msg,
};

/* ---- the layer on the pump ------------------------------------------ */

/**
 * rl_ws_start() - The WebSocket of a pump whose connection is made
 * @p:		Pump; its request goes into p->obuf
 *
 * Return: 0, or -1 (out of memory or randomness)
 */
int rl_ws_start(struct rl_pump *p)
{
	struct rl_ws *w = calloc(1, sizeof(*w));
	long n;

	if (!w)
		return -1;
	w->mask_off = sizeof(w->masks);
	n = ab_upws_request(p->relay->cfg.ws, p->obuf, sizeof(p->obuf),
			    w->accept);
	if (n < 0 ||
	    wsl.wslay_event_context_client_init(&w->ctx, &ws_callbacks, p)) {
		free(w);
		return -1;
	}
	/* data frames are streamed to ibuf, not gathered into messages */
	wsl.wslay_event_config_set_no_buffering(w->ctx, 1);
	p->ws = w;
	p->olen = (size_t)n;
	p->ooff = 0;
	return 0;
}

void rl_ws_free(struct rl_pump *p)
{
	if (!p->ws)
		return;
	if (p->ws->ctx)
		wsl.wslay_event_context_free(p->ws->ctx);
	free(p->ws);
	p->ws = NULL;
}

static void ws_fail(struct rl_pump *p, const char *why)
{
	rl_pump_fail(p, "WebSocket to upstream proxy %s: %s",
		     p->relay->cfg.up_name, why);
}

/**
 * rl_ws_upgrade() - Send the upgrade request, read and check the answer
 * @p:		Pump in TP_UPGRADE
 */
void rl_ws_upgrade(struct rl_pump *p)
{
	struct rl_ws *w = p->ws;
	struct ab_resp r;
	char why[300];
	ssize_t n;

	while (p->ooff < p->olen) {
		n = rl_pump_send(p, p->obuf + p->ooff, p->olen - p->ooff);
		if (n < 0) {
			if (!rl_again(errno))
				ws_fail(p, p->cause);
			return;
		}
		p->ooff += (size_t)n;
	}
	explicit_bzero(p->obuf, p->olen);	/* it held the token */
	p->olen = p->ooff = 0;
	for (;;) {
		n = rl_pump_recv(p, w->in + w->ilen, sizeof(w->in) - w->ilen);
		if (n < 0) {
			if (!rl_again(errno))
				ws_fail(p, p->cause);
			return;
		}
		if (n == 0) {
			ws_fail(p, "the bridge closed the connection before "
				"answering the upgrade");
			return;
		}
		w->ilen += (size_t)n;
		switch (ab_ws_answer(w->in, w->ilen, w->accept, &r, why,
				     sizeof(why))) {
		case AB_HEAD_INCOMPLETE:
			if (w->ilen == sizeof(w->in)) {
				ws_fail(p, "its answer's head is too long");
				return;
			}
			continue;
		case AB_HEAD_OK:
			w->ioff = r.head_len;
			p->state = TP_OPEN;
			rl_ws_move(p);
			return;
		default:
			if (r.status == 401 || r.status == 403)
				snprintf(why + strlen(why),
					 sizeof(why) - strlen(why), " (%s)",
					 p->relay->cfg.ws->token[0] ?
					 "the upstream_token was not accepted" :
					 "no upstream_token was sent");
			ws_fail(p, why);
			return;
		}
	}
}

/* The connection ended its side: a close frame, answered within a time */
static void ws_plain_eof(struct rl_pump *p)
{
	p->plain_eof = true;
	wsl.wslay_event_queue_close(p->ws->ctx, WSLAY_CODE_NORMAL_CLOSURE,
				    NULL, 0);
	p->deadline = ab_now_us() + WS_CLOSE_WAIT_US;
}

/* wslay gave up: the bridge's close (w->eof), net's failure (w->failed),
 * or its own (no memory) */
static void ws_framing_failed(struct rl_pump *p)
{
	if (p->ws->eof || p->ws->failed)
		return;
	p->ws->failed = true;
	snprintf(p->cause, sizeof(p->cause), "the framing failed (out of "
		 "memory)");
}

/**
 * rl_ws_move() - Move what can be moved each way, through the framing
 * @p:		Pump in TP_OPEN
 */
void rl_ws_move(struct rl_pump *p)
{
	struct rl_ws *w = p->ws;
	wslay_event_context_ptr ctx = w->ctx;
	char why[300];

	for (int round = 0; round < PUMP_ROUNDS; round++) {
		bool moved = false;
		size_t before;
		ssize_t n;

		/* ibuf -> plain */
		switch (rl_pump_deliver(p)) {
		case -1:
			return;		/* the connection is gone */
		case 1:
			moved = true;
		}
		/* plain -> a binary message, when the queue is empty */
		if (!p->plain_eof && !p->plain_dry &&
		    !wsl.wslay_event_want_write(ctx)) {
			n = recv(p->plain, p->obuf, sizeof(p->obuf),
				 MSG_DONTWAIT);
			if (n < 0 && rl_again(errno)) {
				p->plain_dry = true;
			} else if (n > 0) {
				struct wslay_event_msg m = {
					.opcode = WSLAY_BINARY_FRAME,
					.msg = (const uint8_t *)p->obuf,
					.msg_length = (size_t)n,
				};

				if (wsl.wslay_event_queue_msg(ctx, &m)) {
					ws_fail(p, "out of memory");
					return;
				}
				moved = true;
			} else {		/* the end, or an error */
				ws_plain_eof(p);
				moved = true;
			}
		}
		/* the queue -> the bridge */
		if (wsl.wslay_event_want_write(ctx) &&
		    wsl.wslay_event_send(ctx)) {
			ws_framing_failed(p);
			break;
		}
		/* the bridge -> ibuf */
		before = p->ilen - p->ioff;
		if (wsl.wslay_event_want_read(ctx) && room(p) >= WS_ROOM &&
		    wsl.wslay_event_recv(ctx)) {
			ws_framing_failed(p);
			break;
		}
		if (p->ilen - p->ioff != before)
			moved = true;
		if (w->failed || !moved)
			break;
	}
	if (w->failed) {
		ws_fail(p, p->cause);
		return;
	}
	if (!w->eof && !wsl.wslay_event_get_read_enabled(ctx) &&
	    !wsl.wslay_event_get_close_received(ctx)) {
		ws_fail(p, "protocol error in the bridge's frames");
		return;
	}
	if (wsl.wslay_event_get_close_received(ctx)) {
		if (w->close_code != WSLAY_CODE_NORMAL_CLOSURE &&
		    w->close_code != WSLAY_CODE_NO_STATUS_RCVD &&
		    w->close_code != WSLAY_CODE_GOING_AWAY) {
			snprintf(why, sizeof(why), "the bridge closed the "
				 "WebSocket with status %u%s%s", w->close_code,
				 w->close_reason[0] ? ": " : "",
				 w->close_reason);
			ws_fail(p, why);
			return;
		}
		p->net_eof = true;
	} else if (w->eof) {
		ws_fail(p, "the WebSocket dropped (the bridge closed the "
			"connection without a close frame)");
		return;
	}
	if (p->net_eof && p->ilen == p->ioff)
		shutdown(p->plain, SHUT_WR);
	/* done when the connection has all, and our close (the answer to
	 * the bridge's) went or the bridge is gone */
	if (p->net_eof && p->ilen == p->ioff &&
	    (w->eof || !wsl.wslay_event_want_write(ctx)))
		rl_pump_close(p);
}

/**
 * rl_ws_interest() - What a WebSocket pump waits for
 * @p:		Pump in TP_UPGRADE or TP_OPEN
 * @net:	Result, for its connection to the bridge
 * @plain:	Result, for its socketpair end
 */
void rl_ws_interest(const struct rl_pump *p, uint32_t *net, uint32_t *plain)
{
	const struct rl_ws *w = p->ws;
	size_t free_room = sizeof(p->ibuf) - (p->ilen - p->ioff);

	*net = *plain = 0;
	if (p->state == TP_UPGRADE) {
		*net = p->ooff < p->olen ? EPOLLOUT : EPOLLIN;
	} else {
		if (wsl.wslay_event_want_write(w->ctx))
			*net |= EPOLLOUT;
		if (wsl.wslay_event_want_read(w->ctx) && free_room >= WS_ROOM)
			*net |= EPOLLIN;
		if (!p->plain_eof && !wsl.wslay_event_want_write(w->ctx))
			*plain |= EPOLLIN;
		/* bytes for the connection; or frames already received
		 * (with the answer, or held by OpenSSL): the plain side is
		 * writable, which brings the next round */
		if (p->ilen > p->ioff ||
		    (wsl.wslay_event_want_read(w->ctx) &&
		     free_room >= WS_ROOM &&
		     (w->ioff < w->ilen ||
		      (p->ssl && SSL_pending(p->ssl) > 0))))
			*plain |= EPOLLOUT;
	}
	/* what OpenSSL waits for, whatever the layer above wants */
	if (p->want_read)
		*net |= EPOLLIN;
	if (p->want_write)
		*net |= EPOLLOUT;
}
