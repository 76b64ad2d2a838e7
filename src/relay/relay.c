// SPDX-License-Identifier: MIT
/* relay.c - the relay's loop: accept, timers, the life of a connection,
 * and the dispatch of its events by state.
 *
 * The relay's files: relay.c (this), intake.c (request heads, the start of
 * each request), intercept.c (connections nftables redirected, and DNS:
 * turned into the heads an explicit client sends), dial.c (where a request
 * goes: the upstream proxy, or direct), tunnel.c (CONNECT: spliced both
 * ways), msg.c (absolute-form: one framed request and its response);
 * conn.h holds what they share.
 *
 * Theory of operation
 *
 * The supervisor holds the proxy listener that init bound in the gateway
 * netns, and with interception two more (IPv4, IPv6) where nftables sends
 * every other TCP connection of the sandbox; connections accepted on them
 * come from the sandbox.  Each one goes through these states:
 *
 *   HEAD        read a request head (http.c), at most AB_HEAD_MAX bytes
 *               within HEAD_TIMEOUT; a bad head gets 400, a slow one 408.
 *               Built-in mode checks it against the egress policy (403).
 *   RESOLVE     built-in: the name is looked up (c-ares, resolve.c) and
 *               every address checked again (403)
 *   CONNECTING  non-blocking connect, from the host netns, to the upstream
 *               proxy or (built-in) the origin, within CONNECT_TIMEOUT;
 *               failure gets 502 or 504
 *   SEND        CONNECT: the head as forwarded (upstream) or our "200"
 *               answer (built-in), then whatever the client sent early
 *   SPLICE      CONNECT: bytes move both ways with splice(2) through one
 *               pipe per direction, without being copied to user space
 *   MSG         absolute-form: one request and its response, framed
 *               (Content-Length, chunked, until close) so that the end of
 *               each is known; then back to HEAD for the next request on
 *               the same connection, which is checked like the first
 *
 * Every request head the relay sends on is rewritten (ab_http_forward_head):
 * hop-by-hop fields, the sandbox's Proxy-Authorization and its copy of the
 * identity field go; upstream mode adds ours.  A request the relay cannot
 * frame unambiguously (request smuggling) never gets this far: http.c
 * refuses it.
 *
 * The loop is level-triggered and the interest of each descriptor follows
 * from the state of the connection: a side is read only while there is
 * room for what it sends, and written only while something waits for it.
 * That is the backpressure: nothing is read that cannot be written.  In
 * SPLICE, end of stream on a source is passed on as shutdown(SHUT_WR) once
 * its pipe is drained (half-close); an error on either side resets the
 * other (SO_LINGER 0), so a cut transfer is never taken for a complete one.
 *
 * Resources are bounded: at most max_conns connections (the listener is
 * paused at the limit, so the kernel's backlog holds the rest), buffers
 * allocated per connection by state, two pipes per tunnel.  Timeouts live
 * on two FIFO lists (one per timeout value), so the next deadline is
 * always at a list head.
 *
 * Each request (or tunnel) is logged once to the audit log when it ends,
 * and with -v as one line on stderr.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
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
#include "dns.h"
#include "egress.h"
#include "http.h"
#include "peer.h"
#include "relay.h"
#include "resolve.h"
#include "util.h"

#include "conn.h"

bool rl_again(int err)
{
	return err == EAGAIN || err == EINTR;
}

/* Accept on every listener, or on none (the kernel's backlogs hold what
 * comes meanwhile) */
static void listeners_arm(struct ab_relay *r, bool on)
{
	struct { int fd; struct tag *t; } l[] = {
		{ r->cfg.listener, &r->ltag },
		{ r->cfg.icpt4, &r->itag4 },
		{ r->cfg.icpt6, &r->itag6 },
	};

	for (unsigned i = 0; i < ARRAY_SIZE(l); i++) {
		struct epoll_event ev = { .events = on ? EPOLLIN : 0,
					  .data.ptr = l[i].t };

		if (l[i].fd >= 0)
			epoll_ctl(r->epfd, EPOLL_CTL_MOD, l[i].fd, &ev);
	}
	r->listening = on;
	r->accept_resume = 0;
}


/**
 * rl_conn_who() - Find the process behind the connection, once
 * @r:		Relay
 * @k:		Connection
 *
 * Asked when the first request has gone on (the lookup then overlaps the
 * upstream's work instead of delaying the request), before a refusal is
 * answered, and at the latest before the first bytes of a response reach
 * the client (a response that came back at once is forwarded within the
 * same pump): always while the client waits, so it is still there.
 */
void rl_conn_who(struct ab_relay *r, struct conn *k)
{
	if (k->who_asked || !r->cfg.audit)
		return;
	k->who_asked = true;
	ab_peer_owner(r->cfg.diag_fd, r->cfg.sandbox_pid, &k->peer,
		      k->icpt ? &k->odst : &r->me, &k->who);
}

/**
 * rl_req_log() - Log the current request once: audit log and -v
 * @r:		Relay
 * @k:		Connection
 */
void rl_req_log(struct ab_relay *r, struct conn *k)
{
	bool tunnel = k->req.kind == AB_REQ_CONNECT;
	uint64_t us = ab_now_us() - k->t_req;
	struct ab_audit_req a = {
		/* "connection": one that carried no request at all */
		.action = !k->req.method[0] && (!k->status || k->icpt) ?
			  "connection" :
			  tunnel ? "connect" : "http-request",
		.allowed = k->status != 403 && k->status != 400 &&
			   k->status != 431 && k->status != 408,
		/* what the client got: a reset or a cut is a failure, a
		 * close after the answer is not */
		.failed = k->result && strcmp(k->result, "client-closed"),
		.status = k->status > 0 ? k->status : 0,
		.reason = k->reason[0] ? k->reason : k->result,
		.method = k->req.method[0] ? k->req.method : NULL,
		.domain = k->req.host[0] ? k->req.host : NULL,
		.port = k->req.port,
		.address = k->addr_text[0] ? k->addr_text : NULL,
		/* the target without its method (http.request.method):
		 * an absolute URL, or host:port for a tunnel */
		.url = k->target[0] && strchr(k->target, ' ') ?
		       strchr(k->target, ' ') + 1 : NULL,
		.intercepted = k->icpt ? rl_icpt_name(k->icpt) : NULL,
		.orig_addr = k->icpt ? k->oaddr : NULL,
		.orig_port = k->oport,
		.sni = k->sni[0] ? k->sni : NULL,
		.protocol = !k->icpt || k->icpt == IC_HTTP ? "http" :
			    k->icpt == IC_TLS ? "tls" : NULL,
		.bytes_up = k->up - k->up0,
		.bytes_down = k->down - k->down0,
		.duration_us = us,
		.who = &k->who,
	};

	k->req_open = false;
	ab_audit_request(r->cfg.audit, &a);
	if (!r->cfg.verbose)
		return;
	dprintf(STDERR_FILENO, "agentbox: relay: %s status=%d up=%" PRIu64
		" down=%" PRIu64 " time=%" PRIu64 ".%03" PRIu64 "s result=%s%s%s"
		"\n", k->target[0] ? k->target : "-", k->status, a.bytes_up,
		a.bytes_down, us / 1000000, (us / 1000) % 1000,
		k->result ? k->result : "ok", k->reason[0] ? " reason=" : "",
		k->reason);
}

void rl_timer_remove(struct ab_relay *r, struct conn *k)
{
	if (!k->on_timer)
		return;
	TAILQ_REMOVE(k->on_timer, k, timer);
	k->on_timer = NULL;
}

/* Each queue holds one timeout, so it is in the order of deadlines: the
 * intercepted connections' wait for their first bytes, heads, connects */
void rl_timer_add(struct ab_relay *r, struct conn *k, uint64_t timeout)
{
	rl_timer_remove(r, k);
	k->deadline = ab_now_us() + timeout;
	k->on_timer = timeout == FIRST_WAIT_US ? &r->first_q :
		      k->state == ST_HEAD ? &r->head_q : &r->connect_q;
	TAILQ_INSERT_TAIL(k->on_timer, k, timer);
}

void rl_set_interest(struct ab_relay *r, int fd, struct tag *t,
			 uint32_t *cur, uint32_t want)
{
	struct epoll_event ev = { .events = want, .data.ptr = t };

	if (*cur == want || fd < 0)
		return;
	epoll_ctl(r->epfd, EPOLL_CTL_MOD, fd, &ev);
	*cur = want;
}

static void reset_on_close(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

void rl_close_upstream(struct conn *k)
{
	rl_pump_detach(k);	/* its pump ends when it sees the close */
	ab_closep(&k->ufd);	/* close() also takes it out of epoll */
	k->u_registered = false;
	k->uev = 0;
	k->ukey[0] = '\0';
}

void rl_free_bufs(struct conn *k)
{
	free(k->cin);
	free(k->out);
	free(k->uin);
	k->cin = k->out = k->uin = NULL;
}

/**
 * rl_conn_close() - End a connection; it is freed after the current batch
 * @r:		Relay
 * @k:		Connection
 * @result:	NULL for a normal end, else why it ended (for the logs)
 * @reset:	Send RST rather than FIN to both peers
 */
void rl_conn_close(struct ab_relay *r, struct conn *k, const char *result,
		       bool reset)
{
	if (k->state == ST_DEAD)
		return;
	if (result && !k->result)
		k->result = result;
	rl_timer_remove(r, k);
	if (reset) {
		reset_on_close(k->cfd);
		reset_on_close(k->ufd);
	}
	if (k->state == ST_SPLICE) {
		k->up += k->c2u.bytes;
		k->down += k->u2c.bytes;
	}
	ab_closep(&k->cfd);
	rl_close_upstream(k);
	ab_closep(&k->c2u.pipe_r);
	ab_closep(&k->c2u.pipe_w);
	ab_closep(&k->u2c.pipe_r);
	ab_closep(&k->u2c.pipe_w);
	rl_free_bufs(k);
	if (k->req_open)
		rl_req_log(r, k);
	k->state = ST_DEAD;
	TAILQ_REMOVE(&r->all_q, k, link);
	/* a pending lookup still points at us: its callback frees */
	if (!k->dns_pending)
		TAILQ_INSERT_TAIL(&r->dead_q, k, link);

	r->n_conns--;
	if (!r->listening)
		listeners_arm(r, true);
}

/**
 * rl_conn_reply() - Answer the client ourselves and close
 * @r:		Relay
 * @k:		Connection
 * @code:	HTTP status
 * @text:	Reason phrase
 * @why:	One line for the body and X-Agentbox-Reason (no CR or LF)
 * @result:	Result for the logs
 */
void rl_conn_reply(struct ab_relay *r, struct conn *k, int code,
		       const char *text, const char *why, const char *result)
{
	char body[512], buf[1400], junk[4096];
	int blen, n;

	rl_conn_who(r, k);		/* before the answer lets the client go */
	if (rl_icpt_raw(k)) {
		/* the client speaks TLS or its own protocol: no HTTP answer
		 * it could take for the server's, a reset */
		k->status = code;
		if (why != k->reason)
			snprintf(k->reason, sizeof(k->reason), "%s", why);
		k->req_open = true;
		rl_conn_close(r, k, result, true);
		return;
	}
	blen = snprintf(body, sizeof(body), "agentbox: %s\n", why);
	if (blen < 0 || (size_t)blen >= sizeof(body))
		blen = (int)sizeof(body) - 1;
	n = snprintf(buf, sizeof(buf),
		     "HTTP/1.1 %d %s\r\n"
		     "Content-Type: text/plain; charset=utf-8\r\n"
		     "Content-Length: %d\r\n"
		     "Connection: close\r\n"
		     "X-Agentbox-Reason: %s\r\n\r\n%.*s",
		     code, text, blen, why, blen, body);
	if (n > 0 && (size_t)n < sizeof(buf) && !k->resp_started)
		(void)!send(k->cfd, buf, (size_t)n,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
	/* Unread bytes at close() would turn our FIN into a RST and could
	 * destroy the answer before the client reads it */
	while (recv(k->cfd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
	shutdown(k->cfd, SHUT_WR);
	k->status = code;
	if (why != k->reason)
		snprintf(k->reason, sizeof(k->reason), "%s", why);
	k->req_open = true;	/* every answer is logged, bad heads too */
	rl_conn_close(r, k, result, false);
}

/* k->reason, formatted (why a connection is refused or failed) */
void rl_reason(struct conn *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(k->reason, sizeof(k->reason), fmt, ap);
	va_end(ap);
}

void rl_refuse(struct ab_relay *r, struct conn *k)
{
	rl_conn_reply(r, k, 403, "Forbidden", k->reason, "refused");
}


static void conn_event(struct ab_relay *r, struct conn *k, bool upstream,
		       uint32_t ev)
{
	bool err = ev & (EPOLLERR | EPOLLHUP);

	switch (k->state) {
	case ST_HEAD:
		if (upstream)	/* the idle upstream closed or talked */
			rl_close_upstream(k);
		else
			rl_read_head(r, k);
		return;
	case ST_RESOLVE:
	case ST_CONNECTING:
	case ST_SEND:
		if (!upstream) {
			if (err)
				rl_conn_close(r, k, "client-reset", true);
			return;
		}
		if (k->state == ST_CONNECTING)
			rl_connected(r, k);
		else if (k->state == ST_SEND)
			rl_send_out(r, k);
		return;
	case ST_SPLICE:
		rl_splice_event(r, k, upstream, ev);
		return;
	case ST_MSG:
		rl_msg_event(r, k, upstream, ev);
		return;
	case ST_DEAD:
		return;
	}
}

/* Stop accepting for now: the kernel's backlog holds what comes */

static void pause_accept(struct ab_relay *r, uint64_t resume)
{
	listeners_arm(r, false);
	r->accept_resume = resume;
}

/**
 * over_share() - Whether the process behind @k holds its share of slots
 * @r:		Relay
 * @k:		A new connection, its owner found
 *
 * One process may hold at most half of --max-conns, so that slow
 * connections of one (a byte a second) cannot take every slot from the
 * others.
 *
 * Return: the number it holds when over, else 0
 */
static unsigned over_share(struct ab_relay *r, const struct conn *k)
{
	unsigned share = r->cfg.max_conns / 2, n = 0;
	const struct conn *c;

	if (!k->owner || !share)
		return 0;
	TAILQ_FOREACH(c, &r->all_q, link)
		n += c != k && c->owner == k->owner;
	return n >= share ? n : 0;
}

/*
 * With three quarters of the slots taken, a connection that has waited
 * HEAD_TIMEOUT_LOW_US for its request head gets its 408 now, not after
 * HEAD_TIMEOUT_US (head_q is in the order of arrival)
 */
static void shorten_heads(struct ab_relay *r)
{
	uint64_t now = ab_now_us();
	struct conn *k;

	if (r->n_conns * 4 < r->cfg.max_conns * 3)
		return;
	while ((k = TAILQ_FIRST(&r->head_q)) && !k->n_reqs &&
	       k->t_start + HEAD_TIMEOUT_LOW_US <= now)
		rl_conn_reply(r, k, 408, "Request Timeout", "no complete "
			      "request head in time, with the relay's "
			      "connections running low", "head-timeout");
}

/**
 * relay_accept() - Take the connections waiting on one listener
 * @r:		Relay
 * @lfd:	The listener: the proxy's, or an interception one
 * @icpt:	It is an interception listener
 */
static void relay_accept(struct ab_relay *r, int lfd, bool icpt)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct sockaddr_storage peer = { 0 };
		socklen_t plen = sizeof(peer);
		struct conn *k;
		int fd, one = 1;
		unsigned held;

		if (r->n_conns >= r->cfg.max_conns) {
			listeners_arm(r, false);
			return;
		}
		fd = accept4(lfd, (struct sockaddr *)&peer, &plen,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			/* out of descriptors: the listener would stay
			 * readable and spin; wait for a close, or a while */
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				pause_accept(r, ab_now_us() + ACCEPT_PAUSE_US);
			return;	/* EAGAIN, or a transient error: retry later */
		}
		k = calloc(1, sizeof(*k));
		if (k) {
			k->cin = malloc(CIN_SIZE);
			k->out = malloc(OUT_SIZE);
		}
		if (!k || !k->cin || !k->out) {
			if (k)
				rl_free_bufs(k);
			free(k);
			close(fd);
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		k->relay = r;
		k->ctag = (struct tag){ T_CLIENT, k };
		k->utag = (struct tag){ T_UPSTREAM, k };
		k->cfd = fd;
		k->ufd = -1;
		k->c2u.pipe_r = k->c2u.pipe_w = -1;
		k->u2c.pipe_r = k->u2c.pipe_w = -1;
		k->t_start = k->t_req = ab_now_us();
		k->state = ST_HEAD;
		k->cev = EPOLLIN;
		ev.data.ptr = &k->ctag;
		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			rl_free_bufs(k);
			free(k);
			close(fd);
			return;
		}
		k->peer = peer;
		k->who_asked = peer.ss_family != AF_INET &&
			       peer.ss_family != AF_INET6;
		r->n_conns++;
		TAILQ_INSERT_TAIL(&r->all_q, k, link);
		if (icpt) {
			k->icpt = IC_FIRST;
			rl_timer_add(r, k, FIRST_WAIT_US);
		} else {
			rl_timer_add(r, k, HEAD_TIMEOUT_US);
		}
		if (!k->who_asked)
			k->owner = ab_peer_pid(&k->peer);
		if ((held = over_share(r, k))) {
			snprintf(k->reason, sizeof(k->reason), "process %d "
				 "holds %u of the relay's %u connections, its "
				 "share", (int)k->owner, held, r->cfg.max_conns);
			rl_conn_reply(r, k, 503, "Service Unavailable",
				      k->reason, "over-share");
			continue;
		}
		shorten_heads(r);
		if (icpt && k->state != ST_DEAD)
			rl_icpt_accept(r, k);
	}
}

/**
 * relay_timeouts() - Expire connections past their deadline
 * @r:		Relay
 *
 * Return: milliseconds until the next deadline, -1 if none
 */
static int relay_timeouts(struct ab_relay *r)
{
	uint64_t now = ab_now_us(), next = UINT64_MAX;
	struct conn *k;
	int ms;

	if (r->accept_resume && r->accept_resume <= now)
		listeners_arm(r, true);
	if (r->accept_resume)
		next = r->accept_resume;
	/* slots running low: also while nothing new is accepted (all taken,
	 * the listener paused) */
	shorten_heads(r);
	if (r->n_conns * 4 >= r->cfg.max_conns * 3 &&
	    (k = TAILQ_FIRST(&r->head_q)) && !k->n_reqs &&
	    k->t_start + HEAD_TIMEOUT_LOW_US < next)
		next = k->t_start + HEAD_TIMEOUT_LOW_US;

	/* intercepted, silent so far: a server-first protocol */
	while ((k = TAILQ_FIRST(&r->first_q)) && k->deadline <= now)
		if (!rl_icpt_head(r, k, RL_FIRST_SILENT))
			rl_conn_head(r, k);
	while ((k = TAILQ_FIRST(&r->head_q)) && k->deadline <= now) {
		if (k->n_reqs && !k->cin_len) {	/* idle keep-alive */
			rl_pool_put(r, k);
			rl_conn_close(r, k, NULL, false);
		}
		else
			rl_conn_reply(r, k, 408, "Request Timeout",
				   "no complete request head in time",
				   "head-timeout");
	}
	while ((k = TAILQ_FIRST(&r->connect_q)) && k->deadline <= now) {
		snprintf(k->reason, sizeof(k->reason), "%s did not answer in "
			 "time", r->dial->late(r, k));
		rl_conn_reply(r, k, 504, "Gateway Timeout", k->reason,
			   "upstream-timeout");
	}
	if ((k = TAILQ_FIRST(&r->head_q)) && k->deadline < next)
		next = k->deadline;
	if ((k = TAILQ_FIRST(&r->first_q)) && k->deadline < next)
		next = k->deadline;
	if (r->cfg.tls || r->cfg.ws) {
		uint64_t t = rl_pump_timeouts(r);

		if (t < next)
			next = t;
		now = ab_now_us();
	}
	{
		uint64_t t = rl_pool_expire(r);

		if (t < next)
			next = t;
	}
	if ((k = TAILQ_FIRST(&r->connect_q)) && k->deadline < next)
		next = k->deadline;
	ms = next == UINT64_MAX ? -1 : (int)((next - now) / 1000 + 1);
	if (r->res) {
		int dms = ab_resolver_timeout_ms(r->res);

		if (dms >= 0 && (ms < 0 || dms < ms))
			ms = dms;
	}
	return ms;
}

static void reap_dead(struct ab_relay *r)
{
	struct conn *k;

	rl_pump_reap(r, false);
	while ((k = TAILQ_FIRST(&r->dead_q))) {
		TAILQ_REMOVE(&r->dead_q, k, link);
		free(k);
	}
}

/*
 * --max-conns is what the descriptor limit allows: FDS_PER_CONN each, past
 * FDS_RESERVED of the supervisor's own.  More would fail in accept() or
 * pipe() with a bare reset instead of waiting in the backlog.
 */
static void clamp_max_conns(struct ab_relay *r)
{
	struct rlimit rl;
	unsigned long fit, per;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return;
	/* (a TLS upstream's pump holds two more: its socketpair end and
	 * its TCP connection) */
	per = FDS_PER_CONN + (r->cfg.tls || r->cfg.ws ? 2 : 0);
	fit = rl.rlim_cur > FDS_RESERVED + per ?
	      (unsigned long)(rl.rlim_cur - FDS_RESERVED) / per : 1;
	if (r->cfg.max_conns <= fit)
		return;
	ab_warn("max_conns %u lowered to %lu: the descriptor limit is %llu "
		"(%lu per connection); raise it with ulimit -n", r->cfg.max_conns,
		fit, (unsigned long long)rl.rlim_cur, per);
	r->cfg.max_conns = (unsigned)fit;
}

/**
 * ab_relay_new() - Make a relay around a listener
 * @cfg:	Configuration (copied; the relay owns its listeners)
 * @e:		Error
 *
 * Return: the relay, or NULL with @e filled
 */
struct ab_relay *ab_relay_new(const struct ab_relay_cfg *cfg,
			      struct ab_err *e)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct ab_relay *r = calloc(1, sizeof(*r));
	socklen_t mlen = sizeof(r->me);
	int p[2];

	if (!r) {
		ab_fail(e, ENOMEM, "relay");
		return NULL;
	}
	r->cfg = *cfg;
	r->dial = cfg->builtin ? &rl_dial_direct : &rl_dial_upstream;
	clamp_max_conns(r);
	TAILQ_INIT(&r->all_q);
	TAILQ_INIT(&r->head_q);
	TAILQ_INIT(&r->connect_q);
	TAILQ_INIT(&r->first_q);
	TAILQ_INIT(&r->pump_q);
	TAILQ_INIT(&r->pump_dead_q);
	for (unsigned i = 0; i < POOL_MAX; i++)
		r->pool[i].fd = -1;
	TAILQ_INIT(&r->dead_q);
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0) {
		ab_fail(e, errno, "relay: epoll_create1");
		free(r);
		return NULL;
	}
	r->ltag = (struct tag){ T_LISTENER, NULL };
	ev.data.ptr = &r->ltag;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, cfg->listener, &ev)) {
		ab_fail(e, errno, "relay: epoll_ctl listener");
		goto fail;
	}
	r->itag4 = (struct tag){ T_ICPT_LISTENER, NULL };
	r->itag6 = (struct tag){ T_ICPT_LISTENER, &r->itag6 };
	for (int i = 0; i < 2; i++) {
		int fd = i ? cfg->icpt6 : cfg->icpt4;

		ev.data.ptr = i ? &r->itag6 : &r->itag4;
		if (fd >= 0 && epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			ab_fail(e, errno, "relay: epoll_ctl interception "
				"listener");
			goto fail;
		}
	}
	if ((cfg->icpt4 >= 0 || cfg->icpt6 >= 0) &&
	    !(r->fake = ab_fakeip_new())) {
		ab_fail(e, ENOMEM, "relay: fake addresses");
		goto fail;
	}
	r->listening = true;
	getsockname(cfg->listener, (struct sockaddr *)&r->me, &mlen);
	r->pipe_cap = 65536;
	if (!pipe2(p, O_CLOEXEC)) {
		int sz = fcntl(p[0], F_GETPIPE_SZ);

		if (sz > 0)
			r->pipe_cap = (size_t)sz;
		close(p[0]);
		close(p[1]);
	}
	return r;
fail:
	close(r->epfd);
	ab_fakeip_free(r->fake);
	free(r);
	return NULL;
}

/**
 * ab_relay_watch() - Also watch a descriptor of the caller's (signalfd)
 * @r:		Relay
 * @fd:		Descriptor, watched for EPOLLIN
 * @cb:		Called on events; non-zero return stops ab_relay_run()
 * @arg:	Passed to @cb
 * @e:		Error
 *
 * Return: 0 on success, -1 with @e filled
 */
int ab_relay_watch(struct ab_relay *r, int fd, ab_relay_cb cb, void *arg,
		   struct ab_err *e)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct watch *w;

	if (r->n_watches == ARRAY_SIZE(r->watches))
		return ab_fail(e, ENOSPC, "relay: watch");
	w = &r->watches[r->n_watches++];
	w->tag = (struct tag){ T_WATCH, w };
	w->fd = fd;
	w->cb = cb;
	w->arg = arg;
	ev.data.ptr = &w->tag;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev))
		return ab_fail(e, errno, "relay: epoll_ctl watch");
	return 0;
}

/**
 * ab_relay_run() - Run the loop until a watch callback asks to stop
 * @r:		Relay
 * @e:		Error
 *
 * Return: 0 when stopped by a callback, -1 with @e filled on failure
 */
int ab_relay_run(struct ab_relay *r, struct ab_err *e)
{
	struct epoll_event evs[MAX_EVENTS];

	while (!r->stop) {
		int timeout = relay_timeouts(r);
		int n = epoll_wait(r->epfd, evs, MAX_EVENTS, timeout);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ab_fail(e, errno, "relay: epoll_wait");
		}
		if (r->res && (n == 0 || ab_resolver_timeout_ms(r->res) == 1))
			ab_resolver_process(r->res);
		for (int i = 0; i < n; i++) {
			struct tag *t = evs[i].data.ptr;

			switch (t->kind) {
			case T_LISTENER:
				relay_accept(r, r->cfg.listener, false);
				break;
			case T_ICPT_LISTENER:
				relay_accept(r, t->ptr ? r->cfg.icpt6 :
						 r->cfg.icpt4, true);
				break;
			case T_RESOLVER:
				ab_resolver_process(r->res);
				break;
			case T_WATCH: {
				struct watch *w = t->ptr;

				if (w->cb(w->arg, evs[i].events))
					r->stop = 1;
				break;
			}
			case T_CLIENT:
			case T_UPSTREAM:
				conn_event(r, t->ptr, t->kind == T_UPSTREAM,
					   evs[i].events);
				break;
			case T_PUMP_NET:
			case T_PUMP_PLAIN:
				rl_pump_event(r, t->ptr, t->kind == T_PUMP_NET,
					     evs[i].events);
				break;
			case T_POOL:
				rl_pool_event(r, t->ptr);
				break;
			}
		}
		reap_dead(r);
		/* a log that cannot be written ends the session: nothing
		 * more is accepted, what is in flight ends in the drain */
		if (ab_audit_failed(r->cfg.audit))
			r->stop = 1;
	}
	return 0;
}

/**
 * ab_relay_drain() - Let the connections still open finish by themselves
 * @r:		Relay, stopped by its watch callback (the sandbox has ended)
 * @ms:		At most this long
 *
 * When the sandbox ends, its sockets are closed by the kernel, but the
 * relay may not have seen all of it yet: a tunnel whose client closed waits
 * for the upstream to close its side too.  Those end here as they would
 * have (logged "ok", with their bytes), instead of "sandbox-ended".
 * Nothing new is accepted and the watches are no longer served.
 */
void ab_relay_drain(struct ab_relay *r, unsigned ms)
{
	struct epoll_event evs[MAX_EVENTS];
	uint64_t end = ab_now_us() + (uint64_t)ms * 1000;

	/* (a connection closed here re-arms the listener with MOD, which
	 * then fails harmlessly) */
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->cfg.listener, NULL);
	if (r->cfg.icpt4 >= 0)
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->cfg.icpt4, NULL);
	if (r->cfg.icpt6 >= 0)
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->cfg.icpt6, NULL);
	for (unsigned i = 0; i < r->n_watches; i++)
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->watches[i].fd, NULL);
	while (!TAILQ_EMPTY(&r->all_q)) {
		uint64_t now = ab_now_us();
		int timeout, n, left;

		if (now >= end)
			break;
		left = (int)((end - now + 999) / 1000);
		timeout = relay_timeouts(r);
		if (timeout < 0 || timeout > left)
			timeout = left;
		n = epoll_wait(r->epfd, evs, MAX_EVENTS, timeout);
		if (n < 0 && errno != EINTR)
			break;
		if (r->res && (n == 0 || ab_resolver_timeout_ms(r->res) == 1))
			ab_resolver_process(r->res);
		for (int i = 0; i < n; i++) {
			struct tag *t = evs[i].data.ptr;

			if (t->kind == T_RESOLVER)
				ab_resolver_process(r->res);
			else if (t->kind == T_CLIENT || t->kind == T_UPSTREAM)
				conn_event(r, t->ptr, t->kind == T_UPSTREAM,
					   evs[i].events);
			else if (t->kind == T_PUMP_NET || t->kind == T_PUMP_PLAIN)
				rl_pump_event(r, t->ptr, t->kind == T_PUMP_NET,
					     evs[i].events);
			else if (t->kind == T_POOL)
				rl_pool_event(r, t->ptr);
		}
		reap_dead(r);
	}
}

/**
 * ab_relay_free() - Close every connection and free the relay
 * @r:		Relay, may be NULL
 */
void ab_relay_free(struct ab_relay *r)
{
	struct conn *k;

	if (!r)
		return;
	while ((k = TAILQ_FIRST(&r->all_q)))
		rl_conn_close(r, k, "sandbox-ended", true);
	rl_pool_free(r);
	rl_pump_reap(r, true);
	/* pending lookups end here; their callbacks free what they hold */
	ab_resolver_free(r->res);
	reap_dead(r);
	close(r->epfd);
	close(r->cfg.listener);
	if (r->cfg.icpt4 >= 0)
		close(r->cfg.icpt4);
	if (r->cfg.icpt6 >= 0)
		close(r->cfg.icpt6);
	ab_fakeip_free(r->fake);
	if (r->cfg.diag_fd >= 0)
		close(r->cfg.diag_fd);
	free(r);
}

