// SPDX-License-Identifier: MIT
/* relay.c - the relay: gateway listener -> upstream proxy, one epoll loop.
 *
 * Theory of operation
 *
 * The supervisor holds the proxy listener that init bound in the gateway
 * netns; connections accepted on it come from the sandbox.  Each one goes
 * through these states:
 *
 *   HEAD        read the request head (http.c), at most AB_HEAD_MAX bytes
 *               within HEAD_TIMEOUT; a bad head gets 400, a slow one 408
 *   CONNECTING  non-blocking connect to the upstream proxy from the host
 *               netns, within CONNECT_TIMEOUT; failure gets 502 or 504
 *   SENDHEAD    the head (and whatever followed it) is written upstream
 *   SPLICE      bytes move both ways with splice(2) through one pipe per
 *               direction, without being copied to user space
 *
 * The loop is level-triggered and the interest of each descriptor follows
 * from the state of the two flows that use it: a flow wants its source
 * readable while its pipe is empty and not at end of stream, and its
 * destination writable while its pipe holds bytes.  A pump moves bytes
 * source -> pipe -> destination until either side would block, so a pipe
 * holds bytes only while its destination is full: that is the backpressure,
 * and nothing is read that cannot be written.  End of stream on a source is
 * passed on as shutdown(SHUT_WR) once its pipe is drained (half-close); an
 * error on either side resets the other (SO_LINGER 0), so that a cut
 * transfer is never taken for a complete one.
 *
 * Resources are bounded: at most max_conns connections (the listener is
 * paused at the limit, so the kernel's backlog holds the rest), one head
 * buffer per connection in HEAD state only, two pipes per connection in
 * SPLICE state.  Timeouts live on two FIFO lists (one per timeout value),
 * so the next deadline is always at a list head.
 */

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
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "relay.h"
#include "util.h"

#define HEAD_TIMEOUT_US		(60 * 1000000ULL)
#define CONNECT_TIMEOUT_US	(10 * 1000000ULL)
#define PUMP_ROUNDS		8	/* per event, for fairness */
#define ACCEPT_BATCH		64
#define MAX_EVENTS		128

enum tag_kind { T_LISTENER, T_WATCH, T_CLIENT, T_UPSTREAM };

struct tag {
	enum tag_kind kind;
	void *ptr;
};

enum conn_state { ST_HEAD, ST_CONNECTING, ST_SENDHEAD, ST_SPLICE, ST_DEAD };

struct flow {
	int src, dst;
	int pipe_r, pipe_w;
	size_t queued;		/* bytes in the pipe */
	bool eof;		/* source at end of stream */
	bool shut;		/* end of stream passed on to dst */
	uint64_t bytes;		/* delivered to dst */
};

struct conn {
	struct tag ctag, utag;
	int cfd, ufd;
	enum conn_state state;
	uint32_t cev, uev;		/* current epoll interest */
	bool u_registered;
	char *head;			/* HEAD and SENDHEAD only */
	size_t head_len, head_sent;
	struct flow c2u, u2c;
	uint64_t t_start, deadline;
	char target[300];		/* "CONNECT host:port", for -v */
	int status;			/* upstream's or ours, for -v */
	const char *result;
	TAILQ_ENTRY(conn) timer;	/* on head_q or connect_q */
	bool on_timer;
	TAILQ_ENTRY(conn) link;		/* on all_q, then on dead_q */
};

TAILQ_HEAD(conn_q, conn);

struct watch {
	struct tag tag;
	ab_relay_cb cb;
	void *arg;
};

struct ab_relay {
	struct ab_relay_cfg cfg;
	int epfd;
	struct tag ltag;
	bool listening;
	unsigned n_conns;
	size_t pipe_cap;
	struct conn_q all_q, head_q, connect_q, dead_q;
	struct watch watches[4];
	unsigned n_watches;
	int stop;
};

static void conn_log(struct ab_relay *r, struct conn *k)
{
	uint64_t us;

	if (!r->cfg.verbose)
		return;
	us = ab_now_us() - k->t_start;
	dprintf(STDERR_FILENO, "agentbox: relay: %s status=%d up=%" PRIu64
		" down=%" PRIu64 " time=%" PRIu64 ".%03" PRIu64 "s result=%s\n",
		k->target[0] ? k->target : "-", k->status, k->c2u.bytes,
		k->u2c.bytes, us / 1000000, (us / 1000) % 1000,
		k->result ? k->result : "ok");
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
	k->deadline = ab_now_us() + timeout;
	TAILQ_INSERT_TAIL(k->state == ST_HEAD ? &r->head_q : &r->connect_q,
			  k, timer);
	k->on_timer = true;
}

static void set_interest(struct ab_relay *r, int fd, struct tag *t,
			 uint32_t *cur, uint32_t want)
{
	struct epoll_event ev = { .events = want, .data.ptr = t };

	if (*cur == want)
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

/**
 * conn_close() - End a connection; it is freed after the current batch
 * @r:		Relay
 * @k:		Connection
 * @result:	NULL for a normal end, else why it ended (for -v)
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
	close_fd(&k->cfd);
	close_fd(&k->ufd);
	close_fd(&k->c2u.pipe_r);
	close_fd(&k->c2u.pipe_w);
	close_fd(&k->u2c.pipe_r);
	close_fd(&k->u2c.pipe_w);
	free(k->head);
	k->head = NULL;
	conn_log(r, k);
	k->state = ST_DEAD;
	TAILQ_REMOVE(&r->all_q, k, link);
	TAILQ_INSERT_TAIL(&r->dead_q, k, link);

	r->n_conns--;
	if (!r->listening) {
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
 * @result:	Result for -v
 */
static void conn_reply(struct ab_relay *r, struct conn *k, int code,
		       const char *text, const char *why, const char *result)
{
	char body[512], buf[1200], junk[4096];
	int blen, n;

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
	if (n > 0 && (size_t)n < sizeof(buf))
		(void)!send(k->cfd, buf, (size_t)n,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
	/* Unread bytes at close() would turn our FIN into a RST and could
	 * destroy the answer before the client reads it */
	while (recv(k->cfd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
	shutdown(k->cfd, SHUT_WR);
	k->status = code;
	conn_close(r, k, result, false);
}

static void flow_init(struct flow *f, int src, int dst)
{
	memset(f, 0, sizeof(*f));
	f->src = src;
	f->dst = dst;
	f->pipe_r = f->pipe_w = -1;
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
			} else if (errno != EAGAIN && errno != EINTR) {
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
			} else if (n < 0 && errno != EAGAIN &&
				   errno != EINTR) {
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

/**
 * conn_update() - After pumping: close when done, else set the interest
 * @r:		Relay
 * @k:		Connection in SPLICE state
 */
static void conn_update(struct ab_relay *r, struct conn *k)
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
 * peek_status() - For -v: note the status code of upstream's response
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

static void conn_start_splice(struct ab_relay *r, struct conn *k)
{
	int p1[2], p2[2];

	if (pipe2(p1, O_NONBLOCK | O_CLOEXEC)) {
		conn_close(r, k, "no-pipe", true);
		return;
	}
	if (pipe2(p2, O_NONBLOCK | O_CLOEXEC)) {
		close(p1[0]);
		close(p1[1]);
		conn_close(r, k, "no-pipe", true);
		return;
	}
	flow_init(&k->c2u, k->cfd, k->ufd);
	flow_init(&k->u2c, k->ufd, k->cfd);
	k->c2u.bytes = k->head_sent;	/* the head went up with send() */
	k->c2u.pipe_r = p1[0];
	k->c2u.pipe_w = p1[1];
	k->u2c.pipe_r = p2[0];
	k->u2c.pipe_w = p2[1];
	free(k->head);
	k->head = NULL;
	k->state = ST_SPLICE;
	conn_update(r, k);
}

/**
 * conn_send_head() - Write the buffered head (and what followed) upstream
 * @r:		Relay
 * @k:		Connection with a connected upstream
 */
static void conn_send_head(struct ab_relay *r, struct conn *k)
{
	while (k->head_sent < k->head_len) {
		ssize_t n = send(k->ufd, k->head + k->head_sent,
				 k->head_len - k->head_sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			k->state = ST_SENDHEAD;
			set_interest(r, k->ufd, &k->utag, &k->uev, EPOLLOUT);
			return;
		}
		if (n < 0) {
			conn_reply(r, k, 502, "Bad Gateway",
				   "upstream proxy closed the connection",
				   "upstream-closed");
			return;
		}
		k->head_sent += (size_t)n;
	}
	conn_start_splice(r, k);
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
	char c;

	if (fd < 0)
		return -1;
	r->cfg.warm_fd = -1;
	if (recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && errno == EAGAIN)
		return fd;	/* open, nothing to read: alive */
	close(fd);
	return -1;
}

static void conn_upstream_failed(struct ab_relay *r, struct conn *k, int err)
{
	char why[400];

	snprintf(why, sizeof(why), "upstream proxy %s unreachable: %s",
		 r->cfg.up_name, strerror(err));
	conn_reply(r, k, 502, "Bad Gateway", why, "upstream-unreachable");
}

static void conn_connect(struct ab_relay *r, struct conn *k)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = &k->utag };
	int one = 1;

	set_interest(r, k->cfd, &k->ctag, &k->cev, 0);
	k->ufd = take_warm(r);
	if (k->ufd < 0) {
		k->ufd = socket(r->cfg.up.ss_family,
				SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (k->ufd < 0) {
			conn_upstream_failed(r, k, errno);
			return;
		}
		setsockopt(k->ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(k->ufd, (struct sockaddr *)&r->cfg.up,
			    r->cfg.up_len) && errno != EINPROGRESS) {
			conn_upstream_failed(r, k, errno);
			return;
		}
	}
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, k->ufd, &ev)) {
		conn_close(r, k, "epoll", true);
		return;
	}
	k->u_registered = true;
	k->uev = EPOLLOUT;
	k->state = ST_CONNECTING;
	timer_add(r, k, CONNECT_TIMEOUT_US);
}

static void conn_connected(struct ab_relay *r, struct conn *k)
{
	int err = 0;
	socklen_t len = sizeof(err);

	timer_remove(r, k);
	if (getsockopt(k->ufd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err) {
		conn_upstream_failed(r, k, err);
		return;
	}
	conn_send_head(r, k);
}

/**
 * conn_read_head() - Read and parse the request head
 * @r:		Relay
 * @k:		Connection in HEAD state
 */
static void conn_read_head(struct ab_relay *r, struct conn *k)
{
	struct ab_req req;
	ssize_t n;

	n = recv(k->cfd, k->head + k->head_len, AB_HEAD_MAX - k->head_len,
		 MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(r, k, "client-closed", n < 0);
		return;
	}
	k->head_len += (size_t)n;

	switch (ab_http_parse_head(k->head, k->head_len, &req)) {
	case AB_HEAD_INCOMPLETE:
		return;
	case AB_HEAD_TOO_LARGE:
		conn_reply(r, k, 431, "Request Header Fields Too Large",
			   req.reason, "bad-request");
		return;
	case AB_HEAD_BAD:
		conn_reply(r, k, 400, "Bad Request", req.reason,
			   "bad-request");
		return;
	case AB_HEAD_OK:
		break;
	}
	if (req.kind == AB_REQ_CONNECT)
		snprintf(k->target, sizeof(k->target), "CONNECT %s%s%s:%u",
			 strchr(req.host, ':') ? "[" : "", req.host,
			 strchr(req.host, ':') ? "]" : "", req.port);
	else
		snprintf(k->target, sizeof(k->target), "%s %s://%s%s%s:%u",
			 req.method, req.scheme,
			 strchr(req.host, ':') ? "[" : "", req.host,
			 strchr(req.host, ':') ? "]" : "", req.port);
	timer_remove(r, k);
	conn_connect(r, k);
}

static void conn_event(struct ab_relay *r, struct conn *k, bool upstream,
		       uint32_t ev)
{
	bool err = ev & (EPOLLERR | EPOLLHUP);

	switch (k->state) {
	case ST_HEAD:
		conn_read_head(r, k);
		return;
	case ST_CONNECTING:
		if (upstream)
			conn_connected(r, k);
		return;
	case ST_SENDHEAD:
		if (upstream)
			conn_send_head(r, k);
		return;
	case ST_SPLICE:
		break;
	case ST_DEAD:
		return;
	}

	if (upstream && !k->status && r->cfg.verbose && (ev & EPOLLIN))
		peek_status(k);
	/* IN on a side feeds one flow, OUT drains the other */
	if ((ev & EPOLLIN) || err) {
		if (flow_pump(r, upstream ? &k->u2c : &k->c2u)) {
			conn_close(r, k, "reset", true);
			return;
		}
	}
	if ((ev & EPOLLOUT) || err) {
		if (flow_pump(r, upstream ? &k->c2u : &k->u2c)) {
			conn_close(r, k, "reset", true);
			return;
		}
	}
	conn_update(r, k);
}

static void relay_accept(struct ab_relay *r)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct conn *k;
		int fd, one = 1;

		if (r->n_conns >= r->cfg.max_conns) {
			ev.events = 0;
			ev.data.ptr = &r->ltag;
			epoll_ctl(r->epfd, EPOLL_CTL_MOD, r->cfg.listener, &ev);
			r->listening = false;
			return;
		}
		fd = accept4(r->cfg.listener, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;	/* EAGAIN, or a transient error: retry later */
		k = calloc(1, sizeof(*k));
		if (k)
			k->head = malloc(AB_HEAD_MAX);
		if (!k || !k->head) {
			if (k)
				free(k);
			close(fd);
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		k->ctag = (struct tag){ T_CLIENT, k };
		k->utag = (struct tag){ T_UPSTREAM, k };
		k->cfd = fd;
		k->ufd = -1;
		k->c2u.pipe_r = k->c2u.pipe_w = -1;
		k->u2c.pipe_r = k->u2c.pipe_w = -1;
		k->t_start = ab_now_us();
		k->state = ST_HEAD;
		k->cev = EPOLLIN;
		ev.data.ptr = &k->ctag;
		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			free(k->head);
			free(k);
			close(fd);
			return;
		}
		r->n_conns++;
		TAILQ_INSERT_TAIL(&r->all_q, k, link);
		timer_add(r, k, HEAD_TIMEOUT_US);
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

	while ((k = TAILQ_FIRST(&r->head_q)) && k->deadline <= now)
		conn_reply(r, k, 408, "Request Timeout",
			   "no complete request head in time", "head-timeout");
	while ((k = TAILQ_FIRST(&r->connect_q)) && k->deadline <= now) {
		char why[400];

		snprintf(why, sizeof(why), "upstream proxy %s did not answer "
			 "in time", r->cfg.up_name);
		conn_reply(r, k, 504, "Gateway Timeout", why,
			   "upstream-timeout");
	}
	if ((k = TAILQ_FIRST(&r->head_q)))
		next = k->deadline;
	if ((k = TAILQ_FIRST(&r->connect_q)) && k->deadline < next)
		next = k->deadline;
	if (next == UINT64_MAX)
		return -1;
	return (int)((next - now) / 1000 + 1);
}

static void reap_dead(struct ab_relay *r)
{
	struct conn *k;

	while ((k = TAILQ_FIRST(&r->dead_q))) {
		TAILQ_REMOVE(&r->dead_q, k, link);
		free(k);
	}
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
	int p[2];

	if (!r) {
		ab_fail(e, ENOMEM, "relay");
		return NULL;
	}
	r->cfg = *cfg;
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
		close(r->epfd);
		free(r);
		return NULL;
	}
	r->listening = true;

	r->pipe_cap = 65536;
	if (!pipe2(p, O_CLOEXEC)) {
		int sz = fcntl(p[0], F_GETPIPE_SZ);

		if (sz > 0)
			r->pipe_cap = (size_t)sz;
		close(p[0]);
		close(p[1]);
	}
	return r;
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
		for (int i = 0; i < n; i++) {
			struct tag *t = evs[i].data.ptr;

			switch (t->kind) {
			case T_LISTENER:
				relay_accept(r);
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
	}
	return 0;
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
	reap_dead(r);
	close(r->epfd);
	close(r->cfg.listener);
	if (r->cfg.warm_fd >= 0)
		close(r->cfg.warm_fd);
	free(r);
}
