// SPDX-License-Identifier: MIT
/* tunnel.c - CONNECT tunnels: the head (or our 200) sent, then bytes
 * spliced both ways (SEND, SPLICE).
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
#include "peer.h"
#include "relay.h"
#include "resolve.h"
#include "util.h"

#include "tls.h"

#include "conn.h"

/* ---- SPLICE: CONNECT tunnels ---------------------------------------- */

static void flow_init(struct flow *f, int src, int dst)
{
	memset(f, 0, sizeof(*f));
	f->src = src;
	f->dst = dst;
	f->pipe_r = f->pipe_w = -1;
	f->failed = -1;
}

/**
 * flow_pump() - Move bytes src -> pipe -> dst until one side would block
 * @r:		Relay
 * @f:		Flow
 *
 * Return: 0 on success, -1 if either side failed (the connection must be
 * reset)
 */
static int flow_pump(struct ab_relay *r, struct flow *f)
{
	for (int i = 0; i < PUMP_ROUNDS; i++) {
		bool moved = false;
		ssize_t n;

		if (!f->eof && f->queued < r->pipe_cap) {
			n = splice(f->src, NULL, f->pipe_w, NULL,
				   r->pipe_cap - f->queued,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				f->queued += (size_t)n;
				moved = true;
			} else if (n == 0) {
				f->eof = true;
			} else if (!rl_again(errno)) {
				f->failed = f->src;
				return -1;
			}
		}
		if (f->queued) {
			n = splice(f->pipe_r, NULL, f->dst, NULL, f->queued,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				f->queued -= (size_t)n;
				f->bytes += (uint64_t)n;
				moved = true;
			} else if (n < 0 && !rl_again(errno)) {
				f->failed = f->dst;
				return -1;
			}
		}
		if (!moved)
			break;
	}
	if (f->eof && !f->queued && !f->shut) {
		shutdown(f->dst, SHUT_WR);
		f->shut = true;
	}
	return 0;
}

static uint32_t flow_want_src(const struct flow *f)
{
	return (!f->eof && !f->queued) ? EPOLLIN : 0;
}

static uint32_t flow_want_dst(const struct flow *f)
{
	return f->queued ? EPOLLOUT : 0;
}

static void splice_update(struct ab_relay *r, struct conn *k)
{
	if (k->c2u.shut && k->u2c.shut) {
		rl_conn_close(r, k, NULL, false);
		return;
	}
	rl_set_interest(r, k->cfd, &k->ctag, &k->cev,
		     (k->gated ? EPOLLIN : flow_want_src(&k->c2u)) |
		     flow_want_dst(&k->u2c));
	rl_set_interest(r, k->ufd, &k->utag, &k->uev,
		     flow_want_src(&k->u2c) | flow_want_dst(&k->c2u));
}

/**
 * peek_status() - Note the status code of upstream's answer to CONNECT
 * @k:		Connection
 */
static void peek_status(struct conn *k)
{
	char buf[16];
	ssize_t n = recv(k->ufd, buf, sizeof(buf) - 1, MSG_PEEK | MSG_DONTWAIT);

	if (n >= 12 && !memcmp(buf, "HTTP/1.", 7)) {
		buf[12] = '\0';
		k->status = atoi(buf + 9);
	} else if (n >= 0) {
		k->status = -1;	/* not HTTP: stays as it is */
	}
}

/*
 * One behaviour for a refusal once the head is read: an answer with the
 * reason while the client has had none yet, a reset only when its answer
 * is already out (a response begun, or the built-in proxy's 200 of a
 * tunnel); logged as the failure it is either way
 */
void rl_fail_after_head(struct ab_relay *r, struct conn *k, int code,
			    const char *text, const char *result)
{
	if (k->resp_started || (k->req.kind == AB_REQ_CONNECT &&
				k->status == 200)) {
		rl_conn_close(r, k, result, true);
		return;
	}
	rl_conn_reply(r, k, code, text, k->reason, result);
}

/* No pipes for a tunnel (upstream mode: its 200 comes through the tunnel,
 * so the client has had no answer yet) */
static void no_pipe(struct ab_relay *r, struct conn *k)
{
	snprintf(k->reason, sizeof(k->reason), "the relay is out of "
		 "descriptors (pipe2: %s)", strerror(errno));
	rl_fail_after_head(r, k, 503, "Service Unavailable", "no-pipe");
}

/* Which side reset a tunnel: the result for the logs */
static const char *reset_side(const struct conn *k, const struct flow *f)
{
	return f->failed >= 0 && f->failed == k->ufd ? "upstream-reset" :
						       "client-reset";
}

/* ---- the first bytes of a tunnel ------------------------------------ */

/*
 * A tunnel to an allowed name must not carry a connection to another: the
 * client's first bytes, a TLS ClientHello's server name or an HTTP
 * request's target and Host, must name the CONNECT's host.  They are read
 * into cin while c2u is gated (u2c runs: a server may speak first); then
 * either written into c2u's pipe, ahead of what follows, or the tunnel is
 * reset and logged as refused (always with the built-in proxy; through an
 * upstream unless tunnel_check = no).  Other protocols (ssh, a database) name no
 * host and pass; so does a ClientHello without a server name.  A CONNECT
 * to an IP literal has no name to compare.  Only the first bytes are
 * checked: a later request in the same TLS session is not visible here.
 */

/* The policy refused the tunnel (k->reason says why): the client had our
 * 200, or Squid's, and now gets a reset */
static void gate_refuse(struct ab_relay *r, struct conn *k)
{
	k->status = 403;
	rl_conn_close(r, k, "tunnel-refused", true);
}

/**
 * gate_check() - Decide on the first bytes in cin
 * @r:		Relay
 * @k:		Connection, gated
 * @eof:	The client sent all it will: decide on what there is
 */
static void gate_check(struct ab_relay *r, struct conn *k, bool eof)
{
	const uint8_t *p = (const uint8_t *)k->cin;
	const char *why = NULL, *what = NULL;
	char name[256];
	bool more = false;
	ssize_t n;

	if (k->cin_len && p[0] == 22) {		/* a TLS handshake record */
		switch (ab_tls_client_hello(p, k->cin_len, name, sizeof(name),
					    &why)) {
		case AB_TLS_BAD:
			rl_reason(k, "the tunnel to %s began with a "
				  "malformed TLS ClientHello: %s",
				  k->req.host, why);
			gate_refuse(r, k);
			return;
		case AB_TLS_MORE:
			more = true;
			break;
		case AB_TLS_SNI:
			what = "TLS server name";
			break;
		case AB_TLS_NO_SNI:
			break;
		}
	} else {
		switch (ab_http_first_host(k->cin, k->cin_len, name,
					   sizeof(name))) {
		case AB_FIRST_BAD:
			rl_reason(k, "the tunnel to %s began with an HTTP "
				  "request whose Host fields or target "
				  "disagree, or are malformed", k->req.host);
			gate_refuse(r, k);
			return;
		case AB_FIRST_MORE:
			more = true;
			break;
		case AB_FIRST_HOST:
			what = "HTTP request";
			break;
		case AB_FIRST_NO_HOST:
		case AB_FIRST_NOT_HTTP:
			break;
		}
	}
	if (more && !eof) {
		if (k->cin_len < CIN_SIZE)
			return;		/* wait for the rest */
		rl_reason(k, "the tunnel to %s began with %s longer "
			  "than 16 KiB, which cannot be checked",
			  k->req.host, p[0] == 22 ? "a ClientHello" :
			  "a request head");
		gate_refuse(r, k);
		return;
	}
	if (what && !ab_ip_literal(k->req.host) && strcmp(name, k->req.host)) {
		rl_reason(k, "a tunnel to %s whose first bytes are "
			  "another host's (%s names %s)", k->req.host, what,
			  name);
		gate_refuse(r, k);
		return;
	}
	/* on their way, ahead of what follows (the pipe is empty and
	 * larger than cin) */
	n = k->cin_len ? write(k->c2u.pipe_w, k->cin, k->cin_len) : 0;
	if (n < 0 || (size_t)n != k->cin_len) {
		rl_conn_close(r, k, "no-pipe", true);
		return;
	}
	k->c2u.queued += (size_t)n;
	free(k->cin);
	k->cin = NULL;
	k->cin_len = 0;
	k->gated = false;
	if (flow_pump(r, &k->c2u))
		rl_conn_close(r, k, reset_side(k, &k->c2u), true);
}

/* The client sent something while gated: add it to cin, decide */
static void gate_read(struct ab_relay *r, struct conn *k)
{
	ssize_t n = recv(k->cfd, k->cin + k->cin_len, CIN_SIZE - k->cin_len,
			 MSG_DONTWAIT);

	if (n < 0 && rl_again(errno))
		return;
	if (n < 0) {
		rl_conn_close(r, k, "client-reset", true);
		return;
	}
	k->cin_len += (size_t)n;
	gate_check(r, k, n == 0);
}

static void start_splice(struct ab_relay *r, struct conn *k)
{
	int p1[2], p2[2];

	ab_closep(&k->u2c.pipe_r);	/* from a request before, empty */
	ab_closep(&k->u2c.pipe_w);
	if (pipe2(p1, O_NONBLOCK | O_CLOEXEC)) {
		no_pipe(r, k);
		return;
	}
	if (pipe2(p2, O_NONBLOCK | O_CLOEXEC)) {
		close(p1[0]);
		close(p1[1]);
		no_pipe(r, k);
		return;
	}
	flow_init(&k->c2u, k->cfd, k->ufd);
	flow_init(&k->u2c, k->ufd, k->cfd);
	k->c2u.pipe_r = p1[0];
	k->c2u.pipe_w = p1[1];
	k->u2c.pipe_r = p2[0];
	k->u2c.pipe_w = p2[1];
	if (k->gated) {		/* cin holds the first bytes */
		free(k->out);
		free(k->uin);
		k->out = k->uin = NULL;
	} else {
		rl_free_bufs(k);
	}
	k->state = ST_SPLICE;
	if (k->gated && k->cin_len) {
		gate_check(r, k, false);
		if (k->state == ST_DEAD)
			return;
	}
	splice_update(r, k);
}

void rl_splice_event(struct ab_relay *r, struct conn *k, bool upstream,
			 uint32_t ev)
{
	bool err = ev & (EPOLLERR | EPOLLHUP);

	if (upstream && k->await_answer && ((ev & EPOLLIN) || err)) {
		rl_icpt_answer(r, k);
		if (k->state == ST_DEAD)
			return;
		if (k->await_answer) {
			splice_update(r, k);
			return;
		}
	}
	if (upstream && !k->status && (ev & EPOLLIN))
		peek_status(k);
	if (!upstream && k->gated && ((ev & EPOLLIN) || err)) {
		gate_read(r, k);
		if (k->state == ST_DEAD)
			return;
		ev &= ~(uint32_t)EPOLLIN;
		err = false;
	}
	/* IN on a side feeds one flow, OUT drains the other */
	if ((ev & EPOLLIN) || err) {
		struct flow *f = upstream ? &k->u2c : &k->c2u;

		if (flow_pump(r, f)) {
			rl_conn_close(r, k, reset_side(k, f), true);
			return;
		}
	}
	if ((ev & EPOLLOUT) || err) {
		struct flow *f = upstream ? &k->c2u : &k->u2c;

		if (flow_pump(r, f)) {
			rl_conn_close(r, k, reset_side(k, f), true);
			return;
		}
	}
	splice_update(r, k);
}

/* ---- SEND: the start of a tunnel ------------------------------------ */

/**
 * rl_send_out() - Write k->out upstream, then start the tunnel
 * @r:		Relay
 * @k:		Connection in SEND state
 */
void rl_send_out(struct ab_relay *r, struct conn *k)
{
	while (k->out_sent < k->out_len) {
		ssize_t n = send(k->ufd, k->out + k->out_sent,
				 k->out_len - k->out_sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			rl_set_interest(r, k->ufd, &k->utag, &k->uev, EPOLLOUT);
			return;
		}
		if (n < 0) {
			snprintf(k->reason, sizeof(k->reason), "%s closed the "
				 "connection", r->dial->peer);
			rl_conn_reply(r, k, 502, "Bad Gateway", k->reason,
				   "upstream-closed");
			return;
		}
		k->out_sent += (size_t)n;
		k->up += (uint64_t)n;
	}
	start_splice(r, k);
}

