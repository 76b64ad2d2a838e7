// SPDX-License-Identifier: MIT
/* pump.c - the pump between a connection and a transformed upstream
 * connection (TLS to the proxy itself: upstream = https://HOST:PORT; a
 * WebSocket to a bridge in front of it: wss://, ws://).
 *
 * Theory of operation: the relay's paths (splice(2) tunnels, framed
 * messages, the peeks at an answer's status) work on a plain stream
 * socket.  So a connection to a TLS proxy, or to a WebSocket bridge in
 * front of one, is a socketpair: the connection's ufd is one end, and this
 * file's pump moves bytes between the other end and the TCP connection,
 * through OpenSSL (uptls.c holds the context and its checks) and, for a
 * WebSocket, the framing upws.c adds on top:
 *
 *   conn ufd <== socketpair ==> plain --SSL_write--> net (TCP, TLS) -> proxy
 *                                     <--SSL_read---
 *
 * The rest of the relay sees an upstream that accepted at once and then
 * speaks as a plain proxy would; the sandbox's CONNECT and absolute-form
 * requests, with identity and credentials, travel inside the TLS session.
 * The pump connects to the proxy's addresses in turn, handshakes (the
 * proxy's certificate is verified against the system's roots or the
 * profile's upstream_ca, and its name or address checked), upgrades for a
 * WebSocket, and then copies each way (64 KiB from the proxy, 16 KiB to
 * it) with backpressure: a side is read only while its buffer has room.
 * An end of stream on the plain side becomes a close_notify; the proxy's
 * close_notify or a close becomes the end of the plain side.  A failure
 * (connect, handshake, verification, a reset) is reported to the
 * connection while it waits for the proxy (a 502 with the cause:
 * "certificate verify failed: ..."), then both ends close.  Connect,
 * handshake and upgrade together must finish within CONNECT_TIMEOUT_US.
 */

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ossl.h"
#include "relay.h"
#include "util.h"

#include "conn.h"
#include "pump.h"

static void pump_update(struct rl_pump *p)
{
	uint32_t n = 0, pl = 0;

	if (p->state == TP_DEAD)
		return;
	if (p->state == TP_CONNECTING) {
		n = EPOLLOUT;
	} else if (p->ws) {	/* upgrading or open: upws.c */
		rl_ws_interest(p, &n, &pl);
	} else if (p->state == TP_HANDSHAKE) {
		n = (p->want_write ? EPOLLOUT : 0) |
		    (p->want_read || !p->want_write ? EPOLLIN : 0);
	} else {
		if (!p->net_eof && p->ilen == p->ioff)
			n |= EPOLLIN;
		if (p->olen > p->ooff && p->want_write)
			n |= EPOLLOUT;
		if (p->olen > p->ooff && p->want_read)
			n |= EPOLLIN;
		if (!p->plain_eof && p->olen == p->ooff)
			pl |= EPOLLIN;
		/* decrypted bytes OpenSSL holds: the plain side is
		 * writable, which brings the next round */
		if (p->ilen > p->ioff ||
		    (!p->net_eof && p->ssl && SSL_pending(p->ssl) > 0))
			pl |= EPOLLOUT;
	}
	rl_set_interest(p->relay, p->net, &p->ntag, &p->nev, n);
	rl_set_interest(p->relay, p->plain, &p->ptag, &p->pev, pl);
}

/* Both ends closed; freed after the current batch */
void rl_pump_close(struct rl_pump *p)
{
	if (p->state == TP_DEAD)
		return;
	rl_ws_free(p);
	if (p->k)
		p->k->pump = NULL;
	p->k = NULL;
	if (p->ssl)
		SSL_free(p->ssl);
	p->ssl = NULL;
	ab_closep(&p->plain);
	ab_closep(&p->net);
	p->state = TP_DEAD;
	TAILQ_REMOVE(&p->relay->pump_q, p, link);
	TAILQ_INSERT_TAIL(&p->relay->pump_dead_q, p, link);
}

/*
 * A failure before or while the proxy answers: the connection gets a 502
 * with the cause if it has had no answer yet (else a reset), then all
 * closes.  A connection between exchanges (its last one answered and
 * logged, its upstream kept for the next) loses only the upstream: what
 * it was sent stays its to read, and its next request connects anew.
 */
void rl_pump_fail(struct rl_pump *p, const char *fmt, ...)
{
	struct conn *k = p->k;
	va_list ap;

	if (k && k->state == ST_HEAD && !k->req_open) {
		rl_pump_detach(k);
		k = NULL;
	}
	if (k) {
		va_start(ap, fmt);
		vsnprintf(k->reason, sizeof(k->reason), fmt, ap);
		va_end(ap);
		p->k = NULL;
		k->pump = NULL;
		rl_fail_after_head(p->relay, k, 502, "Bad Gateway",
				   p->relay->cfg.ws ? "upstream-websocket" :
						      "upstream-tls");
	}
	rl_pump_close(p);
}

static int pump_connect(struct rl_pump *p)
{
	const struct ab_relay_cfg *c = &p->relay->cfg;
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = &p->ntag };
	int one = 1, err = ENETUNREACH;

	while (p->addr_i < c->n_up) {
		const struct sockaddr *sa =
			(const struct sockaddr *)&c->up[p->addr_i];
		socklen_t len = c->up_len[p->addr_i++];

		ab_closep(&p->net);
		p->net = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
				SOCK_CLOEXEC, 0);
		if (p->net < 0)
			return errno;
		setsockopt(p->net, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(p->net, sa, len) && errno != EINPROGRESS) {
			err = errno;
			continue;
		}
		if (epoll_ctl(p->relay->epfd, EPOLL_CTL_ADD, p->net, &ev))
			return errno;
		p->nev = EPOLLOUT;
		p->state = TP_CONNECTING;
		return 0;
	}
	return err;
}

/* Connected (and TLS done): a WebSocket upstream's upgrade, else open */
static void pump_ready(struct rl_pump *p)
{
	if (!p->relay->cfg.ws) {
		p->state = TP_OPEN;
		return;
	}
	if (rl_ws_start(p)) {
		rl_pump_fail(p, "WebSocket to upstream proxy %s: out of memory",
			     p->relay->cfg.up_name);
		return;
	}
	p->state = TP_UPGRADE;
	rl_ws_upgrade(p);
}

static void pump_handshake(struct rl_pump *p)
{
	char cause[300];
	int rc = SSL_connect(p->ssl);

	p->want_read = p->want_write = false;
	if (rc == 1) {
		pump_ready(p);
		return;
	}
	switch (SSL_get_error(p->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		p->want_read = true;
		return;
	case SSL_ERROR_WANT_WRITE:
		p->want_write = true;
		return;
	default:
		rl_pump_fail(p, "TLS to upstream proxy %s: %s",
			     p->relay->cfg.up_name,
			     rl_uptls_cause(p->ssl, rc, cause, sizeof(cause)));
	}
}

static void pump_connected(struct rl_pump *p)
{
	const struct ab_uptls *t = p->relay->cfg.tls;
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(p->net, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err) {
		int again = pump_connect(p);

		if (again)
			rl_pump_fail(p, "upstream proxy %s unreachable: %s",
				     p->relay->cfg.up_name, strerror(err));
		return;
	}
	if (!t) {			/* ws:// */
		pump_ready(p);
		return;
	}
	p->ssl = rl_uptls_ssl(t, p->net);
	if (!p->ssl) {
		rl_pump_fail(p, "TLS to upstream proxy %s: out of memory",
			     p->relay->cfg.up_name);
		return;
	}
	p->state = TP_HANDSHAKE;
	pump_handshake(p);
}

/**
 * rl_pump_deliver() - Send what ibuf holds to the plain side
 * @p:		Pump
 *
 * Return: 1 if bytes moved, 0 if none could, -1 if the connection is gone
 * (the pump is closed)
 */
int rl_pump_deliver(struct rl_pump *p)
{
	ssize_t n;

	if (p->ilen == p->ioff)
		return 0;
	n = send(p->plain, p->ibuf + p->ioff, p->ilen - p->ioff,
		 MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0) {
		p->ioff += (size_t)n;
		if (p->ioff == p->ilen)
			p->ilen = p->ioff = 0;
		return 1;
	}
	if (n < 0 && !rl_again(errno)) {
		rl_pump_close(p);
		return -1;
	}
	return 0;
}

/* An SSL_read or SSL_write that moved nothing (@rc), as errno */
static ssize_t ssl_again(struct rl_pump *p, int rc)
{
	int e = SSL_get_error(p->ssl, rc);

	p->want_read = e == SSL_ERROR_WANT_READ;
	p->want_write = e == SSL_ERROR_WANT_WRITE;
	if (p->want_read || p->want_write) {
		errno = EAGAIN;
		return -1;
	}
	rl_uptls_cause(p->ssl, rc, p->cause, sizeof(p->cause));
	errno = EPROTO;
	return -1;
}

/**
 * rl_pump_recv() - Read from the upstream, through TLS if there is one
 * @p:		Pump
 * @buf:	Where to
 * @len:	At most
 *
 * Return: bytes read; 0 at the end of stream (a close_notify, or a close
 * without TLS); -1 with errno EAGAIN (p->want_* say for what), or another
 * errno with p->cause filled
 */
ssize_t rl_pump_recv(struct rl_pump *p, void *buf, size_t len)
{
	ssize_t n;
	int rc;

	if (!p->ssl) {
		n = recv(p->net, buf, len, MSG_DONTWAIT);
		if (n < 0 && !rl_again(errno))
			snprintf(p->cause, sizeof(p->cause), "%s",
				 strerror(errno));
		return n;
	}
	p->want_read = p->want_write = false;
	rc = SSL_read(p->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	if (rc > 0)
		return rc;
	if (SSL_get_error(p->ssl, rc) == SSL_ERROR_ZERO_RETURN)
		return 0;
	return ssl_again(p, rc);
}

/**
 * rl_pump_send() - Write to the upstream, through TLS if there is one
 * @p:		Pump
 * @buf:	What
 * @len:	How much
 *
 * Return: bytes written; -1 with errno EAGAIN (p->want_* say for what), or
 * another errno with p->cause filled
 */
ssize_t rl_pump_send(struct rl_pump *p, const void *buf, size_t len)
{
	ssize_t n;
	int rc;

	if (!p->ssl) {
		n = send(p->net, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && !rl_again(errno))
			snprintf(p->cause, sizeof(p->cause), "%s",
				 strerror(errno));
		return n;
	}
	p->want_read = p->want_write = false;
	rc = SSL_write(p->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	if (rc > 0)
		return rc;
	return ssl_again(p, rc);
}

/* The TLS connection failed (p->cause says how) */
static void pump_failed(struct rl_pump *p)
{
	rl_pump_fail(p, "TLS to upstream proxy %s: %s", p->relay->cfg.up_name,
		     p->cause);
}

/* Open: move what can be moved each way */
static void pump_move(struct rl_pump *p)
{
	for (int round = 0; round < PUMP_ROUNDS && p->state == TP_OPEN;
	     round++) {
		bool moved = false;
		ssize_t n;

		/* plain -> obuf */
		if (!p->plain_eof && p->olen == p->ooff) {
			n = recv(p->plain, p->obuf, sizeof(p->obuf),
				 MSG_DONTWAIT);
			if (n > 0) {
				p->olen = (size_t)n;
				p->ooff = 0;
				moved = true;
			} else if (n == 0 || !rl_again(errno)) {
				p->plain_eof = true;
				SSL_shutdown(p->ssl);	/* close_notify */
				moved = true;
			}
		}
		/* obuf -> proxy */
		if (p->olen > p->ooff) {
			n = rl_pump_send(p, p->obuf + p->ooff,
					 p->olen - p->ooff);
			if (n > 0) {
				p->ooff += (size_t)n;
				if (p->ooff == p->olen)
					p->olen = p->ooff = 0;
				moved = true;
			} else if (!rl_again(errno)) {
				pump_failed(p);
				return;
			}
		}
		/* proxy -> ibuf: all OpenSSL holds, as room allows (what it
		 * waits for stays the write's: a read is tried each round) */
		if (!p->net_eof && p->ilen == p->ioff) {
			bool want_read = p->want_read, want_write = p->want_write;

			n = rl_pump_recv(p, p->ibuf, sizeof(p->ibuf));
			p->want_read = want_read;
			p->want_write = want_write;
			if (n > 0) {
				p->ilen = (size_t)n;
				p->ioff = 0;
				moved = true;
			} else if (n == 0) {
				p->net_eof = true;
				moved = true;
			} else if (!rl_again(errno)) {
				pump_failed(p);
				return;
			}
		}
		/* ibuf -> plain */
		switch (rl_pump_deliver(p)) {
		case -1:
			return;
		case 1:
			moved = true;
		}
		if (!moved)
			break;
	}
	if (p->net_eof && p->ilen == p->ioff)
		shutdown(p->plain, SHUT_WR);
	if (p->net_eof && p->plain_eof && p->ilen == p->ioff &&
	    p->olen == p->ooff)
		rl_pump_close(p);
}

/**
 * rl_pump_event() - An event on one of a pump's descriptors
 * @r:		Relay
 * @p:		Pump
 * @net:	On its TCP connection (else its plain end)
 * @ev:		Events
 */
void rl_pump_event(struct ab_relay *r, struct rl_pump *p, bool net, uint32_t ev)
{
	/* (which descriptor and what event matter little: each state
	 * tries what it can, and pump_update() sets the interest; the
	 * plain side is read again once it says it has something) */
	if (!net && (ev & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)))
		p->plain_dry = false;
	switch (p->state) {
	case TP_CONNECTING:
		pump_connected(p);
		break;
	case TP_HANDSHAKE:
		pump_handshake(p);
		if (p->state == TP_OPEN && !p->ws)
			pump_move(p);
		break;
	case TP_UPGRADE:
		rl_ws_upgrade(p);
		break;
	case TP_OPEN:
		if (p->ws)
			rl_ws_move(p);
		else
			pump_move(p);
		break;
	case TP_DEAD:
		return;
	}
	pump_update(p);
}

/**
 * rl_pump_connect() - A connection to a TLS or WebSocket upstream, for @k
 * @r:		Relay
 * @k:		Connection; k->ufd becomes its plain end
 *
 * Return: 0, or an errno (nothing is left open)
 */
int rl_pump_connect(struct ab_relay *r, struct conn *k)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = &k->utag };
	struct rl_pump *p = calloc(1, sizeof(*p));
	int sv[2], err;

	if (!p)
		return ENOMEM;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		       sv)) {
		err = errno;
		free(p);
		return err;
	}
	p->relay = r;
	p->plain = sv[1];
	p->net = -1;
	p->ptag = (struct tag){ T_PUMP_PLAIN, p };
	p->ntag = (struct tag){ T_PUMP_NET, p };
	p->deadline = ab_now_us() + CONNECT_TIMEOUT_US;
	TAILQ_INSERT_TAIL(&r->pump_q, p, link);
	{
		struct epoll_event pe = { .events = 0, .data.ptr = &p->ptag };

		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, p->plain, &pe)) {
			err = errno;
			close(sv[0]);
			rl_pump_close(p);
			return err;
		}
	}
	err = pump_connect(p);
	if (err) {
		close(sv[0]);
		rl_pump_close(p);
		return err;
	}
	k->ufd = sv[0];
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, k->ufd, &ev)) {
		err = errno;
		ab_closep(&k->ufd);
		rl_pump_close(p);
		return err;
	}
	k->u_registered = true;
	k->uev = EPOLLOUT;
	k->pump = p;
	p->k = k;
	return 0;
}

/* A pooled upstream goes to another connection */
void rl_pump_attach(struct rl_pump *p, struct conn *k)
{
	if (!p || p->state == TP_DEAD)
		return;
	p->k = k;
	k->pump = p;
}

/* The connection lets go of its upstream: the pump ends by itself */
void rl_pump_detach(struct conn *k)
{
	if (k->pump)
		k->pump->k = NULL;
	k->pump = NULL;
}

/**
 * rl_pump_timeouts() - Fail the pumps whose connect, handshake, upgrade or
 *			 close is late
 * @r:		Relay
 *
 * Return: the next such deadline (us), or UINT64_MAX
 */
uint64_t rl_pump_timeouts(struct ab_relay *r)
{
	uint64_t now = ab_now_us(), next = UINT64_MAX;
	struct rl_pump *p, *tmp;

	for (p = TAILQ_FIRST(&r->pump_q); p; p = tmp) {
		tmp = TAILQ_NEXT(p, link);
		if (p->state == TP_OPEN && !(p->ws && p->plain_eof))
			continue;	/* (a WebSocket waits for its close) */
		if (p->deadline <= now)
			rl_pump_fail(p, "upstream proxy %s did not complete its "
				     "%s in time", r->cfg.up_name,
				     p->state == TP_UPGRADE ? "WebSocket upgrade" :
				     p->state == TP_OPEN ? "WebSocket close" :
				     "TLS handshake");
		else if (p->deadline < next)
			next = p->deadline;
	}
	return next;
}

/* Free the pumps closed in this batch, or all of them */
void rl_pump_reap(struct ab_relay *r, bool all)
{
	struct rl_pump *p;

	while (all && (p = TAILQ_FIRST(&r->pump_q)))
		rl_pump_close(p);
	while ((p = TAILQ_FIRST(&r->pump_dead_q))) {
		TAILQ_REMOVE(&r->pump_dead_q, p, link);
		free(p);
	}
}
