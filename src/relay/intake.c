// SPDX-License-Identifier: MIT
/* intake.c - the intake: a request head read and parsed (HEAD), then
 * the request forwarded once its upstream is connected.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "audit.h"
#include "egress.h"
#include "http.h"
#include "negotiate.h"
#include "peer.h"
#include "relay.h"
#include "resolve.h"
#include "util.h"

#include "conn.h"

/**
 * rl_conn_head() - Parse what the client sent as a request head
 * @r:		Relay
 * @k:		Connection in HEAD state
 */
void rl_conn_head(struct ab_relay *r, struct conn *k)
{
	struct ab_req *q = &k->req;
	enum ab_head_status st;

	/* intercepted: made into the head an explicit client would send */
	if (k->icpt && rl_icpt_head(r, k, RL_FIRST_DATA))
		return;
	st = ab_http_parse_head(k->cin, k->cin_len, q);
	if (st == AB_HEAD_INCOMPLETE)
		return;
	if (st != AB_HEAD_OK) {		/* logged without the last target */
		k->t_req = ab_now_us();
		k->up0 = k->up;
		k->down0 = k->down;
		k->target[0] = k->addr_text[0] = '\0';
		k->resp_started = false;
	}
	switch (st) {
	case AB_HEAD_INCOMPLETE:
		return;
	case AB_HEAD_TOO_LARGE:
		rl_conn_reply(r, k, 431, "Request Header Fields Too Large",
			   q->reason, "bad-request");
		return;
	case AB_HEAD_BAD:
		rl_conn_reply(r, k, 400, "Bad Request", q->reason,
			   "bad-request");
		return;
	case AB_HEAD_OK:
		break;
	}
	if (q->kind == AB_REQ_CONNECT) {
		memcpy(k->target, "CONNECT ", 8);
		ab_http_authority(k->target + 8, sizeof(k->target) - 8,
				  q->host, q->port);
	} else
		snprintf(k->target, sizeof(k->target), "%s %.*s", q->method,
			 (int)(q->target_len < 280 ? q->target_len : 280),
			 k->cin + q->target_off);
	k->t_req = ab_now_us();
	k->up0 = k->up;
	k->down0 = k->down;
	k->status = 0;
	k->result = NULL;
	k->reason[0] = '\0';
	k->resp_started = false;
	k->req_open = true;
	rl_timer_remove(r, k);
	rl_route(r, k);
}

void rl_read_head(struct ab_relay *r, struct conn *k)
{
	ssize_t n;

	if (k->icpt == IC_DNS) {
		rl_dns_read(r, k);
		return;
	}
	n = recv(k->cfd, k->cin + k->cin_len, CIN_SIZE - k->cin_len,
			 MSG_DONTWAIT);

	if (n < 0 && rl_again(errno))
		return;
	if (n == 0 && k->icpt == IC_FIRST && k->cin_len) {
		/* all it sends before it waits: decide on that (the
		 * tunnel sees the end again) */
		if (!rl_icpt_head(r, k, RL_FIRST_EOF))
			rl_conn_head(r, k);
		return;
	}
	if (n <= 0 && !k->n_reqs) {
		/* gone before its first request was whole (given up in the
		 * backlog, or a preconnect never used): still one line */
		k->req_open = true;
		rl_conn_who(r, k);
		rl_conn_close(r, k, "client-gone", n < 0);
		return;
	}
	if (n <= 0) {
		if (!n && !k->cin_len)	/* between requests: its upstream
					 * may serve another client */
			rl_pool_put(r, k);
		rl_conn_close(r, k, "client-closed", n < 0);
		return;
	}
	k->cin_len += (size_t)n;
	rl_conn_head(r, k);
}


/* ---- starting a request --------------------------------------------- */

/**
 * rl_begin() - Upstream is connected: forward the request
 * @r:		Relay
 * @k:		Connection
 */
void rl_begin(struct ab_relay *r, struct conn *k)
{
	struct ab_fwd f = {
		.origin_form = r->dial->origin_form,
		.strip = r->cfg.identity,
		.strip_forwarding = !r->dial->origin_form,
		.extra = r->dial->origin_form ? NULL : r->cfg.extra,
		.keep_alive = !r->dial->origin_form,
	};
	size_t rest = k->cin_len - k->req.head_len;
	char extra[4096];
	long n;

	rl_timer_remove(r, k);
	/* Negotiate: a fresh token with each head (negotiate.c) */
	if (r->cfg.negotiate && !r->dial->origin_form) {
		size_t el = strlen(r->cfg.extra);

		if (el >= sizeof(extra) ||
		    ab_negotiate_field(r->cfg.negotiate, extra + el,
				       sizeof(extra) - el, k->reason,
				       sizeof(k->reason)) < 0) {
			if (el >= sizeof(extra))
				rl_reason(k, "the identity field is too long");
			rl_fail_after_head(r, k, 502, "Bad Gateway",
					   "negotiate");
			return;
		}
		memcpy(extra, r->cfg.extra, el);
		f.extra = extra;
	}
	if (k->req.kind == AB_REQ_CONNECT && r->dial->origin_form &&
	    k->icpt) {
		/* intercepted: the client asked for no tunnel, and gets
		 * no answer to it */
		k->status = 200;
		n = 0;
	} else if (k->req.kind == AB_REQ_CONNECT && r->dial->origin_form) {
		static const char ok[] = "HTTP/1.1 200 Connection established"
					 "\r\n\r\n";

		if (send(k->cfd, ok, sizeof(ok) - 1,
			 MSG_NOSIGNAL | MSG_DONTWAIT) != sizeof(ok) - 1) {
			rl_conn_close(r, k, "client-reset", true);
			return;
		}
		k->status = 200;
		n = 0;
	} else {
		n = ab_http_forward_head(k->cin, &k->req, &f, k->out,
					 OUT_SIZE);
		if (n < 0) {
			rl_conn_reply(r, k, 431, "Request Header Fields Too "
				      "Large", "request head too large",
				      "bad-request");
			return;
		}
	}
	k->out_len = (size_t)n;
	k->out_sent = 0;
	if (k->req.kind == AB_REQ_CONNECT) {
		/* a client may send its first bytes (TLS hello) early */
		if (rest > OUT_SIZE - k->out_len) {
			snprintf(k->reason, sizeof(k->reason), "more than %zu "
				 "bytes sent before the tunnel was up",
				 OUT_SIZE - k->out_len);
			rl_fail_after_head(r, k, 400, "Bad Request",
					   "overflow");
			return;
		}
		/* the first bytes are checked before any goes on (tunnel.c;
		 * always with the built-in proxy, by default upstream too):
		 * they wait in cin */
		k->gated = r->dial->origin_form || r->cfg.tunnel_check ||
			   k->icpt == IC_TLS;
		/* intercepted: the upstream's answer is ours */
		k->await_answer = k->icpt && !r->dial->origin_form;
		if (k->gated) {
			memmove(k->cin, k->cin + k->req.head_len, rest);
			k->cin_len = rest;
		} else {
			memcpy(k->out + k->out_len, k->cin + k->req.head_len,
			       rest);
			k->out_len += rest;
		}
		k->state = ST_SEND;
		rl_set_interest(r, k->cfd, &k->ctag, &k->cev, 0);
		rl_send_out(r, k);
		if (k->state != ST_DEAD)
			rl_conn_who(r, k);
		return;
	}
	memmove(k->cin, k->cin + k->req.head_len, rest);
	k->cin_len = rest;
	k->cin_body = 0;
	k->req_left = k->req.chunked ? -1 :
		      k->req.content_length > 0 ? k->req.content_length : 0;
	memset(&k->req_ch, 0, sizeof(k->req_ch));
	k->req_framed = !k->req.chunked && k->req_left == 0;
	k->rphase = RP_HEAD;
	k->resp_left = 0;
	k->resp_close = false;
	k->resp_started = false;
	k->uin_len = k->uin_ready = 0;
	if (!k->uin && !(k->uin = malloc(UIN_SIZE))) {
		snprintf(k->reason, sizeof(k->reason), "the relay is out of "
			 "memory");
		rl_fail_after_head(r, k, 503, "Service Unavailable",
				"no-memory");
		return;
	}
	k->state = ST_MSG;
	rl_msg_pump(r, k);
	if (k->state != ST_DEAD)
		rl_conn_who(r, k);
}

