// SPDX-License-Identifier: MIT
/* relay.c - the relay: gateway listener -> upstream proxy or the world.
 *
 * Theory of operation
 *
 * The supervisor holds the proxy listener that init bound in the gateway
 * netns; connections accepted on it come from the sandbox.  Each one goes
 * through these states:
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

#define HEAD_TIMEOUT_US		(60 * 1000000ULL)
#define HEAD_TIMEOUT_LOW_US	(5 * 1000000ULL)	/* slots running low */
#define ACCEPT_PAUSE_US		(100 * 1000ULL)	/* after EMFILE */
#define FDS_PER_CONN		6	/* client, upstream, two pipes */
#define FDS_RESERVED		64	/* the supervisor's own, and slack */
#define CONNECT_TIMEOUT_US	(10 * 1000000ULL)
#define PUMP_ROUNDS		8	/* per event, for fairness */
#define MSG_ROUNDS		16
#define ACCEPT_BATCH		64
#define MAX_EVENTS		128
#define CIN_SIZE		AB_HEAD_MAX
#define OUT_SIZE		(AB_HEAD_MAX + 2048)
#define UIN_SIZE		65536

enum tag_kind { T_LISTENER, T_WATCH, T_CLIENT, T_UPSTREAM, T_RESOLVER };

struct tag {
	enum tag_kind kind;
	void *ptr;
};

enum conn_state {
	ST_HEAD, ST_RESOLVE, ST_CONNECTING, ST_SEND, ST_SPLICE, ST_MSG,
	ST_DEAD,
};

enum resp_phase { RP_HEAD, RP_BODY, RP_DONE };

struct flow {
	int src, dst;
	int pipe_r, pipe_w;
	size_t queued;		/* bytes in the pipe */
	bool eof;		/* source at end of stream */
	bool shut;		/* end of stream passed on to dst */
	int failed;		/* the descriptor that failed, or -1 */
	uint64_t bytes;		/* delivered to dst */
};

struct conn {
	struct ab_relay *relay;
	struct tag ctag, utag;
	int cfd, ufd;
	enum conn_state state;
	uint32_t cev, uev;		/* current epoll interest */
	bool u_registered;

	char *cin;			/* from the client: heads and bodies */
	size_t cin_len;
	char *out;			/* to upstream: the forwarded head */
	size_t out_len, out_sent;
	char *uin;			/* from upstream (MSG) */
	size_t uin_len, uin_ready;	/* ready: framed, to the client */

	struct ab_req req;		/* the current request */
	bool req_open;			/* accepted, not yet logged */
	char ukey[300];			/* what ufd is connected to */
	struct ab_addrs addrs;		/* built-in: where to connect */
	unsigned addr_i;
	char addr_text[INET6_ADDRSTRLEN];
	bool dns_pending;		/* a lookup holds a pointer to us */

	/* MSG: the request body ... */
	size_t cin_body;		/* framed body bytes at cin's start */
	long long req_left;		/* Content-Length left, -1: chunked */
	struct ab_chunked req_ch;
	bool req_framed;		/* its end has been read */
	/* ... and the response */
	enum resp_phase rphase;
	long long resp_left;		/* >= 0, or AB_BODY_* */
	struct ab_chunked resp_ch;
	bool resp_close;		/* no other request after this one */
	bool resp_started;		/* bytes of it reached the client */
	unsigned n_reqs;		/* finished on this connection */

	struct flow c2u, u2c;		/* SPLICE */
	uint64_t t_start, t_req, deadline;
	uint64_t up0, down0;		/* byte counts when t_req began */
	uint64_t up, down;		/* bytes client->upstream and back */
	char target[320];		/* "CONNECT host:port", for -v */
	int status;			/* upstream's or ours */
	const char *result;
	char reason[400];		/* why we refused or failed */
	struct ab_actor who;		/* the process that connected */
	pid_t owner;			/* its pid for the share, 0 unknown */
	struct sockaddr_in peer;	/* its address, to find it */
	bool who_asked;
	TAILQ_ENTRY(conn) timer;	/* on head_q or connect_q */
	bool on_timer;
	TAILQ_ENTRY(conn) link;		/* on all_q, then on dead_q */
};

TAILQ_HEAD(conn_q, conn);

struct watch {
	struct tag tag;
	int fd;
	ab_relay_cb cb;
	void *arg;
};

struct ab_relay {
	struct ab_relay_cfg cfg;
	int epfd;
	struct tag ltag, rtag;
	bool listening;
	uint64_t accept_resume;		/* paused for lack of descriptors
					 * until then, 0 if not */
	unsigned n_conns;
	size_t pipe_cap;
	struct sockaddr_in me;		/* the listener's address */
	struct ab_resolver *res;
	struct conn_q all_q, head_q, connect_q, dead_q;
	struct watch watches[8];
	unsigned n_watches;
	int stop;
};

static void conn_head(struct ab_relay *r, struct conn *k);
static void msg_pump(struct ab_relay *r, struct conn *k);

static bool again(int err)
{
	return err == EAGAIN || err == EINTR;
}

/**
 * conn_who() - Find the process behind the connection, once
 * @r:		Relay
 * @k:		Connection
 *
 * Asked when the first request has gone on (the lookup then overlaps the
 * upstream's work instead of delaying the request), before a refusal is
 * answered, and at the latest before the first bytes of a response reach
 * the client (a response that came back at once is forwarded within the
 * same pump): always while the client waits, so it is still there.
 */
static void conn_who(struct ab_relay *r, struct conn *k)
{
	if (k->who_asked || !r->cfg.audit)
		return;
	k->who_asked = true;
	ab_peer_owner(r->cfg.diag_fd, r->cfg.sandbox_pid, &k->peer, &r->me,
		      &k->who);
}

/**
 * req_log() - Log the current request once: audit log and -v
 * @r:		Relay
 * @k:		Connection
 */
static void req_log(struct ab_relay *r, struct conn *k)
{
	bool tunnel = k->req.kind == AB_REQ_CONNECT;
	uint64_t us = ab_now_us() - k->t_req;
	struct ab_audit_req a = {
		/* "connection": one that carried no request at all */
		.action = !k->req.method[0] && !k->status ? "connection" :
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
		.url = k->target[0] ? k->target : NULL,
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

static void timer_remove(struct ab_relay *r, struct conn *k)
{
	if (!k->on_timer)
		return;
	if (k->state == ST_HEAD)
		TAILQ_REMOVE(&r->head_q, k, timer);
	else
		TAILQ_REMOVE(&r->connect_q, k, timer);
	k->on_timer = false;
}

static void timer_add(struct ab_relay *r, struct conn *k, uint64_t timeout)
{
	timer_remove(r, k);
	k->deadline = ab_now_us() + timeout;
	TAILQ_INSERT_TAIL(k->state == ST_HEAD ? &r->head_q : &r->connect_q,
			  k, timer);
	k->on_timer = true;
}

static void set_interest(struct ab_relay *r, int fd, struct tag *t,
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

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void close_upstream(struct conn *k)
{
	close_fd(&k->ufd);	/* close() also takes it out of epoll */
	k->u_registered = false;
	k->uev = 0;
	k->ukey[0] = '\0';
}

static void free_bufs(struct conn *k)
{
	free(k->cin);
	free(k->out);
	free(k->uin);
	k->cin = k->out = k->uin = NULL;
}

/**
 * conn_close() - End a connection; it is freed after the current batch
 * @r:		Relay
 * @k:		Connection
 * @result:	NULL for a normal end, else why it ended (for the logs)
 * @reset:	Send RST rather than FIN to both peers
 */
static void conn_close(struct ab_relay *r, struct conn *k, const char *result,
		       bool reset)
{
	if (k->state == ST_DEAD)
		return;
	if (result && !k->result)
		k->result = result;
	timer_remove(r, k);
	if (reset) {
		reset_on_close(k->cfd);
		reset_on_close(k->ufd);
	}
	if (k->state == ST_SPLICE) {
		k->up += k->c2u.bytes;
		k->down += k->u2c.bytes;
	}
	close_fd(&k->cfd);
	close_upstream(k);
	close_fd(&k->c2u.pipe_r);
	close_fd(&k->c2u.pipe_w);
	close_fd(&k->u2c.pipe_r);
	close_fd(&k->u2c.pipe_w);
	free_bufs(k);
	if (k->req_open)
		req_log(r, k);
	k->state = ST_DEAD;
	TAILQ_REMOVE(&r->all_q, k, link);
	/* a pending lookup still points at us: its callback frees */
	if (!k->dns_pending)
		TAILQ_INSERT_TAIL(&r->dead_q, k, link);

	r->n_conns--;
	if (!r->listening) {
		r->accept_resume = 0;
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.ptr = &r->ltag };

		epoll_ctl(r->epfd, EPOLL_CTL_MOD, r->cfg.listener, &ev);
		r->listening = true;
	}
}

/**
 * conn_reply() - Answer the client ourselves and close
 * @r:		Relay
 * @k:		Connection
 * @code:	HTTP status
 * @text:	Reason phrase
 * @why:	One line for the body and X-Agentbox-Reason (no CR or LF)
 * @result:	Result for the logs
 */
static void conn_reply(struct ab_relay *r, struct conn *k, int code,
		       const char *text, const char *why, const char *result)
{
	char body[512], buf[1400], junk[4096];
	int blen, n;

	conn_who(r, k);		/* before the answer lets the client go */
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
	conn_close(r, k, result, false);
}

static void refuse(struct ab_relay *r, struct conn *k)
{
	conn_reply(r, k, 403, "Forbidden", k->reason, "refused");
}

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
			} else if (!again(errno)) {
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
			} else if (n < 0 && !again(errno)) {
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
		conn_close(r, k, NULL, false);
		return;
	}
	set_interest(r, k->cfd, &k->ctag, &k->cev,
		     flow_want_src(&k->c2u) | flow_want_dst(&k->u2c));
	set_interest(r, k->ufd, &k->utag, &k->uev,
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
static void fail_after_head(struct ab_relay *r, struct conn *k, int code,
			    const char *text, const char *result)
{
	if (k->resp_started || (k->req.kind == AB_REQ_CONNECT &&
				k->status == 200)) {
		conn_close(r, k, result, true);
		return;
	}
	conn_reply(r, k, code, text, k->reason, result);
}

/* No pipes for a tunnel (upstream mode: its 200 comes through the tunnel,
 * so the client has had no answer yet) */
static void no_pipe(struct ab_relay *r, struct conn *k)
{
	snprintf(k->reason, sizeof(k->reason), "the relay is out of "
		 "descriptors (pipe2: %s)", strerror(errno));
	fail_after_head(r, k, 503, "Service Unavailable", "no-pipe");
}

/* Which side reset a tunnel: the result for the logs */
static const char *reset_side(const struct conn *k, const struct flow *f)
{
	return f->failed >= 0 && f->failed == k->ufd ? "upstream-reset" :
						       "client-reset";
}

static void start_splice(struct ab_relay *r, struct conn *k)
{
	int p1[2], p2[2];

	close_fd(&k->u2c.pipe_r);	/* from a request before, empty */
	close_fd(&k->u2c.pipe_w);
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
	free_bufs(k);
	k->state = ST_SPLICE;
	splice_update(r, k);
}

static void splice_event(struct ab_relay *r, struct conn *k, bool upstream,
			 uint32_t ev)
{
	bool err = ev & (EPOLLERR | EPOLLHUP);

	if (upstream && !k->status && (ev & EPOLLIN))
		peek_status(k);
	/* IN on a side feeds one flow, OUT drains the other */
	if ((ev & EPOLLIN) || err) {
		struct flow *f = upstream ? &k->u2c : &k->c2u;

		if (flow_pump(r, f)) {
			conn_close(r, k, reset_side(k, f), true);
			return;
		}
	}
	if ((ev & EPOLLOUT) || err) {
		struct flow *f = upstream ? &k->c2u : &k->u2c;

		if (flow_pump(r, f)) {
			conn_close(r, k, reset_side(k, f), true);
			return;
		}
	}
	splice_update(r, k);
}

/* ---- SEND: the start of a tunnel ------------------------------------ */

/**
 * send_out() - Write k->out upstream, then start the tunnel
 * @r:		Relay
 * @k:		Connection in SEND state
 */
static void send_out(struct ab_relay *r, struct conn *k)
{
	while (k->out_sent < k->out_len) {
		ssize_t n = send(k->ufd, k->out + k->out_sent,
				 k->out_len - k->out_sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			set_interest(r, k->ufd, &k->utag, &k->uev, EPOLLOUT);
			return;
		}
		if (n < 0) {
			snprintf(k->reason, sizeof(k->reason), "%s closed the "
				 "connection", r->cfg.builtin ? "origin" :
				 "upstream proxy");
			conn_reply(r, k, 502, "Bad Gateway", k->reason,
				   "upstream-closed");
			return;
		}
		k->out_sent += (size_t)n;
		k->up += (uint64_t)n;
	}
	start_splice(r, k);
}

/* ---- MSG: one request and its response ------------------------------ */

/**
 * msg_fail() - The exchange broke after it started: reset both sides
 * @r:		Relay
 * @k:		Connection
 * @result:	For the logs
 */
static void msg_fail(struct ab_relay *r, struct conn *k, const char *result)
{
	if (!k->resp_started) {
		snprintf(k->reason, sizeof(k->reason), "%s: %s",
			 r->cfg.builtin ? "origin" : "upstream proxy", result);
		conn_reply(r, k, 502, "Bad Gateway", k->reason, result);
		return;
	}
	conn_close(r, k, result, true);
}

/**
 * frame_response() - Decide which bytes from upstream may go to the client
 * @r:		Relay
 * @k:		Connection in MSG state
 *
 * Return: 0, or -1 if the connection was closed
 */
static int frame_response(struct ab_relay *r, struct conn *k)
{
	while (k->uin_ready < k->uin_len && k->rphase != RP_DONE) {
		const char *p = k->uin + k->uin_ready;
		size_t avail = k->uin_len - k->uin_ready;

		if (k->rphase == RP_HEAD) {
			struct ab_resp rs;

			switch (ab_http_parse_resp(p, avail, &rs)) {
			case AB_HEAD_INCOMPLETE:
				return 0;
			case AB_HEAD_BAD:
			case AB_HEAD_TOO_LARGE:
				msg_fail(r, k, rs.reason);
				return -1;
			case AB_HEAD_OK:
				break;
			}
			k->uin_ready += rs.head_len;
			if (rs.status < 200) {
				if (rs.status == 101) {	/* no Upgrade sent */
					msg_fail(r, k, "unrequested "
						 "protocol switch");
					return -1;
				}
				continue;	/* 1xx: the final one follows */
			}
			k->status = rs.status;
			k->resp_close = rs.close;
			k->resp_left = ab_http_resp_body(&k->req, &rs);
			memset(&k->resp_ch, 0, sizeof(k->resp_ch));
			k->rphase = k->resp_left == AB_BODY_NONE ? RP_DONE :
								    RP_BODY;
			continue;
		}
		if (k->resp_left == AB_BODY_CHUNKED) {
			const char *why;
			size_t n = ab_chunked_feed(&k->resp_ch, p, avail, &why);

			if (why) {
				msg_fail(r, k, why);
				return -1;
			}
			k->uin_ready += n;
			if (k->resp_ch.done)
				k->rphase = RP_DONE;
		} else if (k->resp_left == AB_BODY_TO_EOF) {
			k->uin_ready += avail;
		} else {
			size_t n = avail < (unsigned long long)k->resp_left ?
					   avail : (size_t)k->resp_left;

			k->uin_ready += n;
			k->resp_left -= (long long)n;
			if (!k->resp_left)
				k->rphase = RP_DONE;
		}
	}
	if (k->rphase == RP_DONE && k->uin_len > k->uin_ready) {
		/* bytes after the response: the server is confused */
		k->uin_len = k->uin_ready;
		k->resp_close = true;
	}
	return 0;
}

/**
 * frame_request() - Mark the client's body bytes that belong to the request
 * @r:		Relay
 * @k:		Connection in MSG state
 *
 * Return: 0, or -1 if the connection was closed
 */
static int frame_request(struct ab_relay *r, struct conn *k)
{
	size_t avail = k->cin_len - k->cin_body;

	if (k->req_framed || !avail)
		return 0;
	if (k->req_left < 0) {
		const char *why;
		size_t n = ab_chunked_feed(&k->req_ch, k->cin + k->cin_body,
					   avail, &why);

		if (why) {
			snprintf(k->reason, sizeof(k->reason), "%s", why);
			fail_after_head(r, k, 400, "Bad Request",
					"bad-request-body");
			return -1;
		}
		k->cin_body += n;
		k->req_framed = k->req_ch.done;
	} else {
		size_t n = avail < (unsigned long long)k->req_left ?
				   avail : (size_t)k->req_left;

		k->cin_body += n;
		k->req_left -= (long long)n;
		k->req_framed = !k->req_left;
	}
	return 0;
}

/**
 * msg_next() - The exchange is over: log it, then close or wait for more
 * @r:		Relay
 * @k:		Connection
 */
static void msg_next(struct ab_relay *r, struct conn *k)
{
	req_log(r, k);
	k->n_reqs++;
	if (k->req.close || k->resp_close || k->resp_left == AB_BODY_TO_EOF) {
		shutdown(k->cfd, SHUT_WR);
		conn_close(r, k, NULL, false);
		return;
	}
	free(k->uin);
	k->uin = NULL;
	k->state = ST_HEAD;
	set_interest(r, k->ufd, &k->utag, &k->uev, 0);
	set_interest(r, k->cfd, &k->ctag, &k->cev, EPOLLIN);
	timer_add(r, k, HEAD_TIMEOUT_US);
	if (k->cin_len)		/* pipelined: the next head is here */
		conn_head(r, k);
}

/* A body of known length, or one that ends at the close: spliced */
static bool body_by_splice(const struct conn *k)
{
	return k->rphase == RP_BODY && k->resp_left != AB_BODY_CHUNKED;
}

/**
 * body_splice() - Response body: upstream -> pipe -> client, no copy
 * @r:		Relay
 * @k:		Connection in MSG state, its head forwarded (uin empty)
 *
 * Return: 1 if bytes moved, 0 if not, -1 if the connection was closed
 */
static int body_splice(struct ab_relay *r, struct conn *k)
{
	struct flow *f = &k->u2c;
	int moved = 0;
	ssize_t n;

	if (f->pipe_r < 0) {
		int p[2];

		if (pipe2(p, O_NONBLOCK | O_CLOEXEC)) {
			conn_close(r, k, "no-pipe", true);
			return -1;
		}
		f->pipe_r = p[0];
		f->pipe_w = p[1];
		f->queued = 0;
	}
	if (body_by_splice(k) && f->queued < r->pipe_cap) {
		size_t want = r->pipe_cap - f->queued;

		if (k->resp_left >= 0 &&
		    (unsigned long long)k->resp_left < want)
			want = (size_t)k->resp_left;
		n = splice(k->ufd, NULL, f->pipe_w, NULL, want,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			f->queued += (size_t)n;
			moved = 1;
			if (k->resp_left >= 0) {
				k->resp_left -= n;
				if (!k->resp_left)
					k->rphase = RP_DONE;
			}
		} else if (n == 0 && k->resp_left == AB_BODY_TO_EOF) {
			k->rphase = RP_DONE;
			moved = 1;
		} else if (n == 0 || !again(errno)) {
			msg_fail(r, k, n ? "connection reset" :
				 "closed before the end of the response");
			return -1;
		}
	}
	if (f->queued) {
		if (!k->resp_started)
			conn_who(r, k);
		n = splice(f->pipe_r, NULL, k->cfd, NULL, f->queued,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			f->queued -= (size_t)n;
			k->down += (uint64_t)n;
			k->resp_started = true;
			moved = 1;
		} else if (n < 0 && !again(errno)) {
			conn_close(r, k, "client-reset", true);
			return -1;
		}
	}
	return moved;
}

static void msg_update(struct ab_relay *r, struct conn *k)
{
	bool req_done = k->req_framed && !k->cin_body &&
			k->out_sent == k->out_len;
	bool resp_done = k->rphase == RP_DONE && !k->uin_ready &&
			 !k->u2c.queued;
	bool read_up;

	if (resp_done && req_done) {
		msg_next(r, k);
		return;
	}
	if (resp_done && k->ufd < 0) {
		/* answered before the whole body went up, and closed */
		k->resp_close = true;
		k->req.close = 1;
		msg_next(r, k);
		return;
	}
	set_interest(r, k->cfd, &k->ctag, &k->cev,
		     (!k->req_framed && k->cin_len < CIN_SIZE ? EPOLLIN : 0) |
		     (k->uin_ready || k->u2c.queued ? EPOLLOUT : 0));
	if (body_by_splice(k))
		read_up = !k->uin_len && k->u2c.queued < r->pipe_cap;
	else
		read_up = k->rphase != RP_DONE && k->uin_len < UIN_SIZE;
	if (k->ufd >= 0)
		set_interest(r, k->ufd, &k->utag, &k->uev,
			     (k->out_sent < k->out_len || k->cin_body ?
				      EPOLLOUT : 0) |
			     (read_up ? EPOLLIN : 0));
}

/**
 * msg_pump() - Move what can move, both ways, for one exchange
 * @r:		Relay
 * @k:		Connection in MSG state
 */
static void msg_pump(struct ab_relay *r, struct conn *k)
{
	for (int round = 0; round < MSG_ROUNDS; round++) {
		bool moved = false;
		ssize_t n;

		/* the head, then framed body bytes, upstream */
		if (k->ufd >= 0 && k->out_sent < k->out_len) {
			n = send(k->ufd, k->out + k->out_sent,
				 k->out_len - k->out_sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				k->out_sent += (size_t)n;
				k->up += (uint64_t)n;
				moved = true;
			} else if (n < 0 && !again(errno)) {
				msg_fail(r, k, "send failed");
				return;
			}
		}
		if (frame_request(r, k))
			return;
		if (k->ufd >= 0 && k->out_sent == k->out_len && k->cin_body) {
			n = send(k->ufd, k->cin, k->cin_body,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				memmove(k->cin, k->cin + n,
					k->cin_len - (size_t)n);
				k->cin_len -= (size_t)n;
				k->cin_body -= (size_t)n;
				k->up += (uint64_t)n;
				moved = true;
			} else if (n < 0 && !again(errno)) {
				msg_fail(r, k, "send failed");
				return;
			}
		}
		/* more of the body from the client */
		if (!k->req_framed && k->cin_len < CIN_SIZE) {
			n = recv(k->cfd, k->cin + k->cin_len,
				 CIN_SIZE - k->cin_len, MSG_DONTWAIT);
			if (n > 0) {
				k->cin_len += (size_t)n;
				moved = true;
			} else if (n == 0 || !again(errno)) {
				conn_close(r, k, "client-closed", true);
				return;
			}
		}
		/* the response: its head (and chunked bodies) through uin */
		if (k->ufd >= 0 && k->rphase != RP_DONE &&
		    !body_by_splice(k) && k->uin_len < UIN_SIZE) {
			n = recv(k->ufd, k->uin + k->uin_len,
				 UIN_SIZE - k->uin_len, MSG_DONTWAIT);
			if (n > 0) {
				k->uin_len += (size_t)n;
				moved = true;
			} else if (n == 0 && k->rphase == RP_BODY &&
				   k->resp_left == AB_BODY_TO_EOF) {
				k->rphase = RP_DONE;
				moved = true;
			} else if (n == 0 || !again(errno)) {
				msg_fail(r, k, n ? "connection reset" :
						   "closed before the end "
						   "of the response");
				return;
			}
		}
		if (frame_response(r, k))
			return;
		/* the rest of a long body, once uin has gone to the client */
		if ((k->ufd >= 0 && !k->uin_len && body_by_splice(k)) ||
		    k->u2c.queued) {
			int m = body_splice(r, k);

			if (m < 0)
				return;
			moved |= m > 0;
		}
		if (k->uin_ready) {
			/* the client is still there until it has its answer */
			if (!k->resp_started)
				conn_who(r, k);
			n = send(k->cfd, k->uin, k->uin_ready,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				memmove(k->uin, k->uin + n,
					k->uin_len - (size_t)n);
				k->uin_len -= (size_t)n;
				k->uin_ready -= (size_t)n;
				k->down += (uint64_t)n;
				k->resp_started = true;
				moved = true;
			} else if (n < 0 && !again(errno)) {
				conn_close(r, k, "client-reset", true);
				return;
			}
		}
		if (!moved)
			break;
	}
	msg_update(r, k);
}

static void msg_event(struct ab_relay *r, struct conn *k, bool upstream,
		      uint32_t ev)
{
	if (ev & (EPOLLERR | EPOLLHUP)) {
		if (!upstream) {
			conn_close(r, k, "client-reset", true);
			return;
		}
		if (k->rphase == RP_DONE) {
			/* it answered and went away: finish with the client */
			close_upstream(k);
			k->resp_close = true;
		}
	}
	msg_pump(r, k);
}

/* ---- starting a request --------------------------------------------- */

/**
 * begin() - Upstream is connected: forward the request
 * @r:		Relay
 * @k:		Connection
 */
static void begin(struct ab_relay *r, struct conn *k)
{
	struct ab_fwd f = {
		.origin_form = r->cfg.builtin,
		.strip = r->cfg.identity,
		.strip_forwarding = !r->cfg.builtin,
		.extra = r->cfg.builtin ? NULL : r->cfg.extra,
	};
	size_t rest = k->cin_len - k->req.head_len;
	long n;

	timer_remove(r, k);
	if (k->req.kind == AB_REQ_CONNECT && r->cfg.builtin) {
		static const char ok[] = "HTTP/1.1 200 Connection established"
					 "\r\n\r\n";

		if (send(k->cfd, ok, sizeof(ok) - 1,
			 MSG_NOSIGNAL | MSG_DONTWAIT) != sizeof(ok) - 1) {
			conn_close(r, k, "client-reset", true);
			return;
		}
		k->status = 200;
		n = 0;
	} else {
		n = ab_http_forward_head(k->cin, &k->req, &f, k->out,
					 OUT_SIZE);
		if (n < 0) {
			conn_reply(r, k, 431, "Request Header Fields Too Large",
				   "request head too large", "bad-request");
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
			fail_after_head(r, k, 400, "Bad Request", "overflow");
			return;
		}
		memcpy(k->out + k->out_len, k->cin + k->req.head_len, rest);
		k->out_len += rest;
		k->state = ST_SEND;
		set_interest(r, k->cfd, &k->ctag, &k->cev, 0);
		send_out(r, k);
		if (k->state != ST_DEAD)
			conn_who(r, k);
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
		fail_after_head(r, k, 503, "Service Unavailable",
				"no-memory");
		return;
	}
	k->state = ST_MSG;
	msg_pump(r, k);
	if (k->state != ST_DEAD)
		conn_who(r, k);
}

static void connect_failed(struct ab_relay *r, struct conn *k, int err)
{
	if (r->cfg.builtin)
		snprintf(k->reason, sizeof(k->reason), "cannot connect to "
			 "%s port %u (%s): %s", k->req.host, k->req.port,
			 k->addr_text, strerror(err));
	else
		snprintf(k->reason, sizeof(k->reason), "upstream proxy %s "
			 "unreachable: %s", r->cfg.up_name, strerror(err));
	conn_reply(r, k, 502, "Bad Gateway", k->reason,
		   "upstream-unreachable");
}

/**
 * connect_to() - Start a non-blocking connect
 * @r:		Relay
 * @k:		Connection
 * @sa:		Where to
 * @len:	Its length
 *
 * Return: 0 if started, else an errno
 */
static int connect_to(struct ab_relay *r, struct conn *k,
		      const struct sockaddr *sa, socklen_t len)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = &k->utag };
	int one = 1;

	k->ufd = socket(sa->sa_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (k->ufd < 0)
		return errno;
	setsockopt(k->ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(k->ufd, sa, len) && errno != EINPROGRESS) {
		int err = errno;

		close_upstream(k);
		return err;
	}
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, k->ufd, &ev)) {
		int err = errno;

		close_upstream(k);
		return err;
	}
	k->u_registered = true;
	k->uev = EPOLLOUT;
	return 0;
}

/* An idle upstream connection is reusable if it has not closed or talked */
static bool idle_alive(int fd)
{
	char c;

	return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
	       errno == EAGAIN;
}

/**
 * take_warm() - Use the connection made at start to check the upstream
 * @r:		Relay
 *
 * Return: a connected upstream socket, or -1 if there is none or it closed
 */
static int take_warm(struct ab_relay *r)
{
	int fd = r->cfg.warm_fd;

	if (fd < 0)
		return -1;
	r->cfg.warm_fd = -1;
	if (idle_alive(fd))
		return fd;
	close(fd);
	return -1;
}


static void connect_next(struct ab_relay *r, struct conn *k)
{
	int err = 0;

	k->state = ST_CONNECTING;
	set_interest(r, k->cfd, &k->ctag, &k->cev, 0);
	if (!r->cfg.builtin) {
		int fd = take_warm(r);

		if (fd >= 0) {
			struct epoll_event ev = { .events = EPOLLOUT,
						  .data.ptr = &k->utag };

			k->ufd = fd;
			if (!epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev)) {
				k->u_registered = true;
				k->uev = EPOLLOUT;
				timer_add(r, k, CONNECT_TIMEOUT_US);
				return;
			}
			close_upstream(k);
		}
		err = connect_to(r, k, (struct sockaddr *)&r->cfg.up,
				 r->cfg.up_len);
	} else {
		while (k->addr_i < k->addrs.n) {
			const struct sockaddr *sa = (struct sockaddr *)
				&k->addrs.a[k->addr_i];

			inet_ntop(sa->sa_family, sa->sa_family == AF_INET ?
				  (const void *)&((const struct sockaddr_in *)
						  (const void *)sa)->sin_addr :
				  (const void *)&((const struct sockaddr_in6 *)
						  (const void *)sa)->sin6_addr,
				  k->addr_text, sizeof(k->addr_text));
			err = connect_to(r, k, sa, k->addrs.len[k->addr_i]);
			k->addr_i++;
			if (!err)
				break;
		}
	}
	if (err) {
		connect_failed(r, k, err);
		return;
	}
	timer_add(r, k, CONNECT_TIMEOUT_US);
}

static void connected(struct ab_relay *r, struct conn *k)
{
	int err = 0;
	socklen_t len = sizeof(err);

	timer_remove(r, k);
	if (getsockopt(k->ufd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err) {
		close_upstream(k);
		if (r->cfg.builtin && k->addr_i < k->addrs.n) {
			connect_next(r, k);
			return;
		}
		connect_failed(r, k, err);
		return;
	}
	if (r->cfg.builtin)
		snprintf(k->ukey, sizeof(k->ukey), "%s:%u", k->req.host,
			 k->req.port);
	else
		snprintf(k->ukey, sizeof(k->ukey), "upstream");
	begin(r, k);
}

/**
 * check_addrs() - Keep the addresses the policy allows
 * @r:		Relay
 * @k:		Connection; on refusal k->reason says why
 *
 * Return: 0 if any is left, -1 if all were refused
 */
static int check_addrs(struct ab_relay *r, struct conn *k, bool literal)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < k->addrs.n; i++) {
		char why[300];

		if (ab_egress_addr(r->cfg.egress,
				   (struct sockaddr *)&k->addrs.a[i], why,
				   sizeof(why))) {
			if (k->reason[0])
				continue;
			if (literal)
				snprintf(k->reason, sizeof(k->reason), "%s",
					 why);
			else
				snprintf(k->reason, sizeof(k->reason),
					 "%.120s resolves to %.250s",
					 k->req.host, why);
			continue;
		}
		k->addrs.a[kept] = k->addrs.a[i];
		k->addrs.len[kept++] = k->addrs.len[i];
	}
	k->addrs.n = kept;
	if (!kept)
		return -1;
	k->reason[0] = '\0';
	return 0;
}

static void on_resolved(void *arg, const struct ab_addrs *addrs,
			const char *error)
{
	struct conn *k = arg;
	struct ab_relay *r = k->relay;

	k->dns_pending = false;
	if (k->state == ST_DEAD) {
		free(k);
		return;
	}
	if (!addrs) {
		snprintf(k->reason, sizeof(k->reason), "cannot resolve %s: "
			 "%s", k->req.host, error);
		conn_reply(r, k, 502, "Bad Gateway", k->reason,
			   "unresolved");
		return;
	}
	k->addrs = *addrs;
	k->addr_i = 0;
	if (check_addrs(r, k, false)) {
		refuse(r, k);
		return;
	}
	connect_next(r, k);
}

/**
 * relay_resolver() - Start the resolver at the first name to look up
 * @r:		Relay
 *
 * (Reading resolv.conf and friends at every start would cost the sessions
 * that never resolve anything, such as one shell command.)
 *
 * Return: 0, or -1 (logged once on stderr)
 */
static int relay_resolver(struct ab_relay *r)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &r->rtag };
	struct ab_err e = { 0 };

	r->res = ab_resolver_new(&e);
	if (!r->res) {
		ab_err_print(&e);
		return -1;
	}
	r->rtag = (struct tag){ T_RESOLVER, NULL };
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, ab_resolver_fd(r->res), &ev)) {
		ab_resolver_free(r->res);
		r->res = NULL;
		return -1;
	}
	return 0;
}

/**
 * route() - Send the parsed request on its way
 * @r:		Relay
 * @k:		Connection with k->req parsed
 */
static void route(struct ab_relay *r, struct conn *k)
{
	char key[300];

	if (!r->cfg.builtin) {
		snprintf(key, sizeof(key), "upstream");
	} else {
		if (ab_egress_name(r->cfg.egress, k->req.host, k->req.port,
				   k->reason, sizeof(k->reason))) {
			refuse(r, k);
			return;
		}
		snprintf(key, sizeof(key), "%s:%u", k->req.host, k->req.port);
	}
	if (k->ufd >= 0 && k->req.kind == AB_REQ_ABSOLUTE &&
	    !strcmp(key, k->ukey) && idle_alive(k->ufd)) {
		set_interest(r, k->cfd, &k->ctag, &k->cev, 0);
		begin(r, k);
		return;
	}
	close_upstream(k);
	k->addr_text[0] = '\0';
	if (!r->cfg.builtin) {
		connect_next(r, k);
		return;
	}
	/* an IP literal is its own address; names are looked up */
	{
		struct sockaddr_in *s4 = (struct sockaddr_in *)&k->addrs.a[0];
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)
					  &k->addrs.a[0];

		memset(&k->addrs, 0, sizeof(k->addrs));
		k->addr_i = 0;
		if (inet_pton(AF_INET, k->req.host, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons(k->req.port);
			k->addrs.len[0] = sizeof(*s4);
			k->addrs.n = 1;
		} else if (inet_pton(AF_INET6, k->req.host,
				     &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(k->req.port);
			k->addrs.len[0] = sizeof(*s6);
			k->addrs.n = 1;
		}
	}
	if (k->addrs.n) {
		if (check_addrs(r, k, true)) {
			refuse(r, k);
			return;
		}
		connect_next(r, k);
		return;
	}
	if (!r->res && relay_resolver(r)) {
		snprintf(k->reason, sizeof(k->reason), "cannot resolve %s: "
			 "no resolver", k->req.host);
		conn_reply(r, k, 502, "Bad Gateway", k->reason, "unresolved");
		return;
	}
	k->state = ST_RESOLVE;
	set_interest(r, k->cfd, &k->ctag, &k->cev, 0);
	timer_remove(r, k);
	k->dns_pending = true;
	ab_resolver_lookup(r->res, k->req.host, k->req.port, on_resolved, k);
}

/**
 * conn_head() - Parse what the client sent as a request head
 * @r:		Relay
 * @k:		Connection in HEAD state
 */
static void conn_head(struct ab_relay *r, struct conn *k)
{
	struct ab_req *q = &k->req;
	enum ab_head_status st;

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
		conn_reply(r, k, 431, "Request Header Fields Too Large",
			   q->reason, "bad-request");
		return;
	case AB_HEAD_BAD:
		conn_reply(r, k, 400, "Bad Request", q->reason,
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
	timer_remove(r, k);
	route(r, k);
}

static void read_head(struct ab_relay *r, struct conn *k)
{
	ssize_t n = recv(k->cfd, k->cin + k->cin_len, CIN_SIZE - k->cin_len,
			 MSG_DONTWAIT);

	if (n < 0 && again(errno))
		return;
	if (n <= 0 && !k->n_reqs) {
		/* gone before its first request was whole (given up in the
		 * backlog, or a preconnect never used): still one line */
		k->req_open = true;
		conn_who(r, k);
		conn_close(r, k, "client-gone", n < 0);
		return;
	}
	if (n <= 0) {
		conn_close(r, k, "client-closed", n < 0);
		return;
	}
	k->cin_len += (size_t)n;
	conn_head(r, k);
}

static void conn_event(struct ab_relay *r, struct conn *k, bool upstream,
		       uint32_t ev)
{
	bool err = ev & (EPOLLERR | EPOLLHUP);

	switch (k->state) {
	case ST_HEAD:
		if (upstream)	/* the idle upstream closed or talked */
			close_upstream(k);
		else
			read_head(r, k);
		return;
	case ST_RESOLVE:
	case ST_CONNECTING:
	case ST_SEND:
		if (!upstream) {
			if (err)
				conn_close(r, k, "client-reset", true);
			return;
		}
		if (k->state == ST_CONNECTING)
			connected(r, k);
		else if (k->state == ST_SEND)
			send_out(r, k);
		return;
	case ST_SPLICE:
		splice_event(r, k, upstream, ev);
		return;
	case ST_MSG:
		msg_event(r, k, upstream, ev);
		return;
	case ST_DEAD:
		return;
	}
}

/* Stop accepting for now: the kernel's backlog holds what comes */
static void pause_accept(struct ab_relay *r, uint64_t resume)
{
	struct epoll_event ev = { .events = 0, .data.ptr = &r->ltag };

	epoll_ctl(r->epfd, EPOLL_CTL_MOD, r->cfg.listener, &ev);
	r->listening = false;
	r->accept_resume = resume;
}

static void resume_accept(struct ab_relay *r)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &r->ltag };

	epoll_ctl(r->epfd, EPOLL_CTL_MOD, r->cfg.listener, &ev);
	r->listening = true;
	r->accept_resume = 0;
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
		conn_reply(r, k, 408, "Request Timeout", "no complete request "
			   "head in time, with the relay's connections "
			   "running low", "head-timeout");
}

static void relay_accept(struct ab_relay *r)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct sockaddr_in peer = { 0 };
		socklen_t plen = sizeof(peer);
		struct conn *k;
		int fd, one = 1;
		unsigned held;

		if (r->n_conns >= r->cfg.max_conns) {
			ev.events = 0;
			ev.data.ptr = &r->ltag;
			epoll_ctl(r->epfd, EPOLL_CTL_MOD, r->cfg.listener, &ev);
			r->listening = false;
			return;
		}
		fd = accept4(r->cfg.listener, (struct sockaddr *)&peer, &plen,
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
				free_bufs(k);
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
			free_bufs(k);
			free(k);
			close(fd);
			return;
		}
		k->peer = peer;
		k->who_asked = plen < sizeof(peer) ||
			       peer.sin_family != AF_INET;
		r->n_conns++;
		TAILQ_INSERT_TAIL(&r->all_q, k, link);
		timer_add(r, k, HEAD_TIMEOUT_US);
		if (!k->who_asked)
			k->owner = ab_peer_pid(&k->peer);
		if ((held = over_share(r, k))) {
			snprintf(k->reason, sizeof(k->reason), "process %d "
				 "holds %u of the relay's %u connections, its "
				 "share", (int)k->owner, held, r->cfg.max_conns);
			conn_reply(r, k, 503, "Service Unavailable", k->reason,
				   "over-share");
			continue;
		}
		shorten_heads(r);
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
		resume_accept(r);
	if (r->accept_resume)
		next = r->accept_resume;
	/* slots running low: also while nothing new is accepted (all taken,
	 * the listener paused) */
	shorten_heads(r);
	if (r->n_conns * 4 >= r->cfg.max_conns * 3 &&
	    (k = TAILQ_FIRST(&r->head_q)) && !k->n_reqs &&
	    k->t_start + HEAD_TIMEOUT_LOW_US < next)
		next = k->t_start + HEAD_TIMEOUT_LOW_US;

	while ((k = TAILQ_FIRST(&r->head_q)) && k->deadline <= now) {
		if (k->n_reqs && !k->cin_len)	/* idle keep-alive */
			conn_close(r, k, NULL, false);
		else
			conn_reply(r, k, 408, "Request Timeout",
				   "no complete request head in time",
				   "head-timeout");
	}
	while ((k = TAILQ_FIRST(&r->connect_q)) && k->deadline <= now) {
		snprintf(k->reason, sizeof(k->reason), "%s did not answer in "
			 "time", r->cfg.builtin ? k->req.host :
			 r->cfg.up_name);
		conn_reply(r, k, 504, "Gateway Timeout", k->reason,
			   "upstream-timeout");
	}
	if ((k = TAILQ_FIRST(&r->head_q)) && k->deadline < next)
		next = k->deadline;
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
	unsigned long fit;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return;
	fit = rl.rlim_cur > FDS_RESERVED + FDS_PER_CONN ?
	      (unsigned long)(rl.rlim_cur - FDS_RESERVED) / FDS_PER_CONN : 1;
	if (r->cfg.max_conns <= fit)
		return;
	ab_warn("max_conns %u lowered to %lu: the descriptor limit is %llu "
		"(%d per connection); raise it with ulimit -n", r->cfg.max_conns,
		fit, (unsigned long long)rl.rlim_cur, FDS_PER_CONN);
	r->cfg.max_conns = (unsigned)fit;
}

/**
 * ab_relay_new() - Make a relay around a listener
 * @cfg:	Configuration (copied; the relay owns listener and warm_fd)
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
	clamp_max_conns(r);
	TAILQ_INIT(&r->all_q);
	TAILQ_INIT(&r->head_q);
	TAILQ_INIT(&r->connect_q);
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
				relay_accept(r);
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
		conn_close(r, k, "sandbox-ended", true);
	/* pending lookups end here; their callbacks free what they hold */
	ab_resolver_free(r->res);
	reap_dead(r);
	close(r->epfd);
	close(r->cfg.listener);
	if (r->cfg.diag_fd >= 0)
		close(r->cfg.diag_fd);
	if (r->cfg.warm_fd >= 0)
		close(r->cfg.warm_fd);
	free(r);
}
