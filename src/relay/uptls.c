// SPDX-License-Identifier: MIT
/* uptls.c - TLS to the upstream proxy itself (upstream = https://HOST:PORT).
 *
 * Theory of operation: the relay's paths (splice(2) tunnels, framed
 * messages, the peeks at an answer's status) work on a plain stream
 * socket.  So a connection to a TLS proxy is a socketpair: the connection's
 * ufd is one end, and this file's pump moves bytes between the other end
 * and the TCP connection to the proxy, through OpenSSL:
 *
 *   conn ufd <== socketpair ==> plain --SSL_write--> net (TCP, TLS) -> proxy
 *                                     <--SSL_read---
 *
 * The rest of the relay sees an upstream that accepted at once and then
 * speaks as a plain proxy would; the sandbox's CONNECT and absolute-form
 * requests, with identity and credentials, travel inside the TLS session.
 * The pump connects to the proxy's addresses in turn, handshakes (the
 * proxy's certificate is verified against the system's roots or the
 * profile's upstream_ca, and its name or address checked), and then
 * copies each way through 16 KiB buffers, with backpressure: a side is read
 * only while its buffer is empty.  An end of stream on the plain side
 * becomes a close_notify; the proxy's close_notify or a close becomes the
 * end of the plain side.  A failure (connect, handshake, verification, a
 * reset) is reported to the connection while it waits for the proxy
 * (a 502 with the cause: "certificate verify failed: ..."), then both ends
 * close.  Connect and handshake together must finish within
 * CONNECT_TIMEOUT_US.
 *
 * Why OpenSSL: Debian's most used and best-kept TLS library, with the
 * verification (X509_VERIFY_PARAM host and IP checks) this needs.  It is
 * loaded only when an upstream is https:// (ossl.c), so a run with an
 * http:// upstream pays nothing for it.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
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
#include "uptls.h"
#include "util.h"

#include "conn.h"

#define TLS_BUF		16384

struct ab_uptls {
	SSL_CTX *ctx;
	char host[256];			/* checked against the certificate */
	bool ip;			/* host is an IP literal */
	SSL_SESSION *session;		/* the newest the proxy gave, to
					 * resume: a handshake without the
					 * proxy's signature */
};

/* The relay is one thread: the one context's newest session, kept */
static struct ab_uptls *session_owner;

static int new_session(SSL *ssl, SSL_SESSION *sess)
{
	(void)ssl;
	if (!session_owner)
		return 0;
	if (session_owner->session)
		SSL_SESSION_free(session_owner->session);
	session_owner->session = sess;
	return 1;			/* the reference is ours now */
}

enum pump_state { TP_CONNECTING, TP_HANDSHAKE, TP_OPEN, TP_DEAD };

struct rl_tls {
	struct ab_relay *relay;
	struct conn *k;			/* while it is attached, else NULL */
	enum pump_state state;
	int plain, net;
	struct tag ptag, ntag;
	uint32_t pev, nev;
	SSL *ssl;
	unsigned addr_i;		/* the upstream address being tried */
	uint64_t deadline;		/* connect and handshake by then */
	char ibuf[TLS_BUF];		/* from the proxy, to the plain side */
	size_t ilen, ioff;
	char obuf[TLS_BUF];		/* from the plain side, to the proxy */
	size_t olen, ooff;
	bool plain_eof;			/* the connection ended its side */
	bool net_eof;			/* the proxy ended its side */
	bool want_read, want_write;	/* what OpenSSL waits for on net */
	TAILQ_ENTRY(rl_tls) link;
};

/**
 * ab_uptls_new() - The TLS context for an upstream, made before the sandbox
 * @host:	The proxy's host as written (a name, or an IP literal)
 * @ca:		PEM file of the CA(s) to trust, or NULL for the system's roots
 * @e:		Error
 *
 * Return: the context, or NULL with @e filled (a CA file that cannot be
 * read or holds no certificate is a setup failure)
 */
struct ab_uptls *ab_uptls_new(const char *host, const char *ca,
			      struct ab_err *e)
{
	struct ab_uptls *t = calloc(1, sizeof(*t));
	struct in6_addr a6;
	struct in_addr a4;
	unsigned long err;

	if (!t) {
		ab_fail(e, ENOMEM, "TLS to the upstream proxy");
		return NULL;
	}
	if (ab_ossl_load(e)) {
		free(t);
		return NULL;
	}
	snprintf(t->host, sizeof(t->host), "%s", host);
	t->ip = inet_pton(AF_INET, host, &a4) == 1 ||
		inet_pton(AF_INET6, host, &a6) == 1;
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (!t->ctx) {
		ab_fail(e, ENOMEM, "TLS to the upstream proxy: SSL_CTX_new");
		free(t);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	/* sessions to resume: the next connection skips the proxy's
	 * certificate signature, the costly part of a handshake */
	SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_CLIENT |
				       SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(t->ctx, new_session);
	session_owner = t;
	if (ca ? SSL_CTX_load_verify_locations(t->ctx, ca, NULL) != 1 :
		 SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
		err = ERR_get_error();
		ab_fail(e, 0, "upstream_ca %s: %s", ca ? ca : "(system roots)",
			err ? ERR_reason_error_string(err) : "no certificate");
		ERR_clear_error();
		ab_uptls_free(t);
		return NULL;
	}
	return t;
}

void ab_uptls_free(struct ab_uptls *t)
{
	if (!t)
		return;
	if (session_owner == t)
		session_owner = NULL;
	if (t->session)
		SSL_SESSION_free(t->session);
	SSL_CTX_free(t->ctx);
	free(t);
}

/* The cause of an OpenSSL failure, in words */
static const char *ssl_cause(SSL *ssl, int rc, char *buf, size_t size)
{
	long v = SSL_get_verify_result(ssl);
	unsigned long err = ERR_get_error();

	if (v != X509_V_OK)
		snprintf(buf, size, "certificate verify failed: %s",
			 X509_verify_cert_error_string(v));
	else if (err)
		snprintf(buf, size, "%s", ERR_reason_error_string(err) ?
			 ERR_reason_error_string(err) : "TLS error");
	else if (rc == 0 || errno == 0)
		snprintf(buf, size, "the proxy closed the connection");
	else
		snprintf(buf, size, "%s", strerror(errno));
	ERR_clear_error();
	return buf;
}

/* An SSL on @fd that checks the proxy's name or address, or NULL */
static SSL *ssl_for(const struct ab_uptls *t, int fd)
{
	SSL *ssl = SSL_new(t->ctx);

	if (!ssl || !SSL_set_fd(ssl, fd)) {
		SSL_free(ssl);
		return NULL;
	}
	if (t->ip) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), t->host);
	} else {
		SSL_set_tlsext_host_name(ssl, t->host);
		SSL_set1_host(ssl, t->host);
	}
	return ssl;
}

/**
 * ab_uptls_check() - A handshake on a connected socket, for the doctor
 * @t:		Context
 * @fd:		Connected to the proxy (made non-blocking here)
 * @timeout_ms:	For the whole handshake
 * @why:	Result on failure
 * @size:	Its size
 *
 * Return: 0 when the proxy's certificate verifies, -1 with @why filled
 */
int ab_uptls_check(const struct ab_uptls *t, int fd, int timeout_ms,
		   char *why, size_t size)
{
	uint64_t end = ab_now_us() + (uint64_t)timeout_ms * 1000;
	SSL *ssl = ssl_for(t, fd);
	int rc = -1;

	if (!ssl) {
		snprintf(why, size, "out of memory");
		return -1;
	}
	for (;;) {
		int r = SSL_connect(ssl), e = SSL_get_error(ssl, r);
		struct pollfd p = { .fd = fd };
		uint64_t now = ab_now_us();

		if (r == 1) {
			rc = 0;
			break;
		}
		if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
		    now >= end) {
			if (now >= end)
				snprintf(why, size, "no handshake in time");
			else
				ssl_cause(ssl, r, why, size);
			break;
		}
		p.events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		poll(&p, 1, (int)((end - now) / 1000 + 1));
	}
	ERR_clear_error();
	SSL_free(ssl);
	return rc;
}

/* ---- the pump ------------------------------------------------------- */

static void pump_update(struct rl_tls *p)
{
	uint32_t n = 0, pl = 0;

	if (p->state == TP_DEAD)
		return;
	if (p->state == TP_CONNECTING) {
		n = EPOLLOUT;
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
static void pump_close(struct rl_tls *p)
{
	if (p->state == TP_DEAD)
		return;
	if (p->k)
		p->k->tls = NULL;
	p->k = NULL;
	if (p->ssl)
		SSL_free(p->ssl);
	p->ssl = NULL;
	ab_closep(&p->plain);
	ab_closep(&p->net);
	p->state = TP_DEAD;
	TAILQ_REMOVE(&p->relay->tls_q, p, link);
	TAILQ_INSERT_TAIL(&p->relay->tls_dead_q, p, link);
}

/*
 * A failure before or while the proxy answers: the connection gets a 502
 * with the cause if it has had no answer yet (else a reset), then all
 * closes
 */
static void pump_fail(struct rl_tls *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void pump_fail(struct rl_tls *p, const char *fmt, ...)
{
	struct conn *k = p->k;
	va_list ap;

	if (k) {
		va_start(ap, fmt);
		vsnprintf(k->reason, sizeof(k->reason), fmt, ap);
		va_end(ap);
		p->k = NULL;
		k->tls = NULL;
		rl_fail_after_head(p->relay, k, 502, "Bad Gateway",
				   "upstream-tls");
	}
	pump_close(p);
}

static int pump_connect(struct rl_tls *p)
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

static void pump_handshake(struct rl_tls *p)
{
	char cause[300];
	int rc = SSL_connect(p->ssl);

	p->want_read = p->want_write = false;
	if (rc == 1) {
		p->state = TP_OPEN;
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
		pump_fail(p, "TLS to upstream proxy %s: %s", p->relay->cfg.up_name,
			  ssl_cause(p->ssl, rc, cause, sizeof(cause)));
	}
}

static void pump_connected(struct rl_tls *p)
{
	const struct ab_uptls *t = p->relay->cfg.tls;
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(p->net, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err) {
		int again = pump_connect(p);

		if (again)
			pump_fail(p, "upstream proxy %s unreachable: %s",
				  p->relay->cfg.up_name, strerror(err));
		return;
	}
	p->ssl = ssl_for(t, p->net);
	if (!p->ssl) {
		pump_fail(p, "TLS to upstream proxy %s: out of memory",
			  p->relay->cfg.up_name);
		return;
	}
	SSL_set_mode(p->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
		     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (t->session)		/* verified when it was made */
		SSL_set_session(p->ssl, t->session);
	p->state = TP_HANDSHAKE;
	pump_handshake(p);
}

/* Open: move what can be moved each way */
static void pump_move(struct rl_tls *p)
{
	char cause[300];

	for (int round = 0; round < PUMP_ROUNDS && p->state == TP_OPEN;
	     round++) {
		bool moved = false;
		ssize_t n;
		int rc;

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
			p->want_read = p->want_write = false;
			rc = SSL_write(p->ssl, p->obuf + p->ooff,
				       (int)(p->olen - p->ooff));
			if (rc > 0) {
				p->ooff += (size_t)rc;
				if (p->ooff == p->olen)
					p->olen = p->ooff = 0;
				moved = true;
			} else {
				int e = SSL_get_error(p->ssl, rc);

				if (e == SSL_ERROR_WANT_WRITE)
					p->want_write = true;
				else if (e == SSL_ERROR_WANT_READ)
					p->want_read = true;
				else {
					pump_fail(p, "TLS to upstream proxy "
						  "%s: %s", p->relay->cfg.up_name,
						  ssl_cause(p->ssl, rc, cause,
							    sizeof(cause)));
					return;
				}
			}
		}
		/* proxy -> ibuf: all OpenSSL holds, as room allows */
		if (!p->net_eof && p->ilen == p->ioff) {
			rc = SSL_read(p->ssl, p->ibuf, sizeof(p->ibuf));
			if (rc > 0) {
				p->ilen = (size_t)rc;
				p->ioff = 0;
				moved = true;
			} else {
				int e = SSL_get_error(p->ssl, rc);

				if (e == SSL_ERROR_ZERO_RETURN) {
					p->net_eof = true;
					moved = true;
				} else if (e != SSL_ERROR_WANT_READ &&
					   e != SSL_ERROR_WANT_WRITE) {
					pump_fail(p, "TLS to upstream proxy "
						  "%s: %s", p->relay->cfg.up_name,
						  ssl_cause(p->ssl, rc, cause,
							    sizeof(cause)));
					return;
				}
			}
		}
		/* ibuf -> plain */
		if (p->ilen > p->ioff) {
			n = send(p->plain, p->ibuf + p->ioff, p->ilen - p->ioff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				p->ioff += (size_t)n;
				if (p->ioff == p->ilen)
					p->ilen = p->ioff = 0;
				moved = true;
			} else if (n < 0 && !rl_again(errno)) {
				pump_close(p);	/* the connection is gone */
				return;
			}
		}
		if (!moved)
			break;
	}
	if (p->net_eof && p->ilen == p->ioff)
		shutdown(p->plain, SHUT_WR);
	if (p->net_eof && p->plain_eof && p->ilen == p->ioff &&
	    p->olen == p->ooff)
		pump_close(p);
}

/**
 * rl_tls_event() - An event on one of a pump's descriptors
 * @r:		Relay
 * @p:		Pump
 * @net:	On its TCP connection (else its plain end)
 * @ev:		Events
 */
void rl_tls_event(struct ab_relay *r, struct rl_tls *p, bool net, uint32_t ev)
{
	/* (which descriptor and what event do not matter: each state
	 * tries what it can, and pump_update() sets the interest) */
	switch (p->state) {
	case TP_CONNECTING:
		pump_connected(p);
		break;
	case TP_HANDSHAKE:
		pump_handshake(p);
		if (p->state == TP_OPEN)
			pump_move(p);
		break;
	case TP_OPEN:
		pump_move(p);
		break;
	case TP_DEAD:
		return;
	}
	pump_update(p);
}

/**
 * rl_tls_connect() - A connection to the TLS upstream, for @k
 * @r:		Relay
 * @k:		Connection; k->ufd becomes its plain end
 *
 * Return: 0, or an errno (nothing is left open)
 */
int rl_tls_connect(struct ab_relay *r, struct conn *k)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = &k->utag };
	struct rl_tls *p = calloc(1, sizeof(*p));
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
	p->ptag = (struct tag){ T_TLS_PLAIN, p };
	p->ntag = (struct tag){ T_TLS_NET, p };
	p->deadline = ab_now_us() + CONNECT_TIMEOUT_US;
	TAILQ_INSERT_TAIL(&r->tls_q, p, link);
	{
		struct epoll_event pe = { .events = 0, .data.ptr = &p->ptag };

		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, p->plain, &pe)) {
			err = errno;
			close(sv[0]);
			pump_close(p);
			return err;
		}
	}
	err = pump_connect(p);
	if (err) {
		close(sv[0]);
		pump_close(p);
		return err;
	}
	k->ufd = sv[0];
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, k->ufd, &ev)) {
		err = errno;
		ab_closep(&k->ufd);
		pump_close(p);
		return err;
	}
	k->u_registered = true;
	k->uev = EPOLLOUT;
	k->tls = p;
	p->k = k;
	return 0;
}

/* A pooled upstream goes to another connection */
void rl_tls_attach(struct rl_tls *p, struct conn *k)
{
	if (!p || p->state == TP_DEAD)
		return;
	p->k = k;
	k->tls = p;
}

/* The connection lets go of its upstream: the pump ends by itself */
void rl_tls_detach(struct conn *k)
{
	if (k->tls)
		k->tls->k = NULL;
	k->tls = NULL;
}

/**
 * rl_tls_timeouts() - Fail the pumps whose connect or handshake is late
 * @r:		Relay
 *
 * Return: the next such deadline (us), or UINT64_MAX
 */
uint64_t rl_tls_timeouts(struct ab_relay *r)
{
	uint64_t now = ab_now_us(), next = UINT64_MAX;
	struct rl_tls *p, *tmp;

	for (p = TAILQ_FIRST(&r->tls_q); p; p = tmp) {
		tmp = TAILQ_NEXT(p, link);
		if (p->state == TP_OPEN)
			continue;
		if (p->deadline <= now)
			pump_fail(p, "upstream proxy %s did not complete its "
				  "TLS handshake in time", r->cfg.up_name);
		else if (p->deadline < next)
			next = p->deadline;
	}
	return next;
}

/* Free the pumps closed in this batch, or all of them */
void rl_tls_reap(struct ab_relay *r, bool all)
{
	struct rl_tls *p;

	while (all && (p = TAILQ_FIRST(&r->tls_q)))
		pump_close(p);
	while ((p = TAILQ_FIRST(&r->tls_dead_q))) {
		TAILQ_REMOVE(&r->tls_dead_q, p, link);
		free(p);
	}
}
