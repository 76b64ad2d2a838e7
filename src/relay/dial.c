// SPDX-License-Identifier: MIT
/* dial.c - where a request goes: the upstream proxy, or (built-in)
 * the origin, resolved and its addresses checked (RESOLVE, CONNECTING).
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

#include "conn.h"

static void connect_failed(struct ab_relay *r, struct conn *k, int err)
{
	r->dial->unreachable(r, k, err);
	rl_conn_reply(r, k, 502, "Bad Gateway", k->reason,
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

		rl_close_upstream(k);
		return err;
	}
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, k->ufd, &ev)) {
		int err = errno;

		rl_close_upstream(k);
		return err;
	}
	k->u_registered = true;
	k->uev = EPOLLOUT;
	return 0;
}

/* An idle upstream connection is reusable if it has not closed or talked */
bool rl_idle_alive(int fd)
{
	char c;

	return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
	       errno == EAGAIN;
}

/* Connect to the next place the dial path names, within CONNECT_TIMEOUT */
static void connect_next(struct ab_relay *r, struct conn *k)
{
	int err;

	k->state = ST_CONNECTING;
	rl_set_interest(r, k->cfd, &k->ctag, &k->cev, 0);
	err = r->dial->connect(r, k);
	if (err) {
		connect_failed(r, k, err);
		return;
	}
	rl_timer_add(r, k, CONNECT_TIMEOUT_US);
}

void rl_connected(struct ab_relay *r, struct conn *k)
{
	int err = 0;
	socklen_t len = sizeof(err);

	rl_timer_remove(r, k);
	if (getsockopt(k->ufd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err) {
		rl_close_upstream(k);
		if (r->dial->retry(r, k)) {
			connect_next(r, k);
			return;
		}
		connect_failed(r, k, err);
		return;
	}
	r->dial->key(k, k->ukey, sizeof(k->ukey));
	rl_begin(r, k);
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
		rl_conn_reply(r, k, 502, "Bad Gateway", k->reason,
			   "unresolved");
		return;
	}
	k->addrs = *addrs;
	k->addr_i = 0;
	if (check_addrs(r, k, false)) {
		rl_refuse(r, k);
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

/* ---- the pool of idle upstream connections ------------------------- */

/*
 * A connection to the upstream proxy that carried a request and may carry
 * another (the response was framed, neither side said close) is kept when
 * its client goes, for the next client's request: most clients open a
 * connection per request, and a new one to the proxy costs a handshake (a
 * TLS one with https://).  Only absolute-form requests take one; a tunnel
 * is a connection of its own.  An idle one that the proxy closes, or that
 * waited POOL_IDLE_US, is closed; none is ever opened before a request
 * needs it.
 */

/**
 * rl_pool_put() - Keep @k's upstream connection for another request
 * @r:		Relay
 * @k:		Connection, its exchange over and framed
 *
 * Return: true if kept (k->ufd is then -1)
 */
bool rl_pool_put(struct ab_relay *r, struct conn *k)
{
	struct pooled *slot = NULL;
	struct epoll_event ev = { .events = EPOLLIN };

	if (r->dial->origin_form || k->ufd < 0 || k->resp_close ||
	    k->resp_left == AB_BODY_TO_EOF || k->req.kind != AB_REQ_ABSOLUTE)
		return false;
	for (unsigned i = 0; i < POOL_MAX && !slot; i++)
		if (r->pool[i].fd < 0)
			slot = &r->pool[i];
	if (!slot)
		return false;
	slot->tag = (struct tag){ T_POOL, slot };
	ev.data.ptr = &slot->tag;
	if (epoll_ctl(r->epfd, EPOLL_CTL_MOD, k->ufd, &ev))
		return false;
	slot->fd = k->ufd;
	slot->pump = k->pump;
	slot->since = ab_now_us();
	rl_pump_detach(k);
	k->ufd = -1;
	k->u_registered = false;
	k->uev = 0;
	k->ukey[0] = '\0';
	return true;
}

static void pool_drop(struct pooled *p)
{
	ab_closep(&p->fd);	/* a TLS pump ends when it sees the close */
	p->pump = NULL;
}

/* The newest idle connection that is still open, or -1 */
static int pool_take(struct ab_relay *r, struct conn *k)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = &k->utag };

	for (;;) {
		struct pooled *best = NULL;

		for (unsigned i = 0; i < POOL_MAX; i++)
			if (r->pool[i].fd >= 0 &&
			    (!best || r->pool[i].since > best->since))
				best = &r->pool[i];
		if (!best)
			return -1;
		if (!rl_idle_alive(best->fd) ||
		    epoll_ctl(r->epfd, EPOLL_CTL_MOD, best->fd, &ev)) {
			pool_drop(best);
			continue;
		}
		k->ufd = best->fd;
		k->u_registered = true;
		k->uev = EPOLLOUT;
		rl_pump_attach(best->pump, k);
		best->fd = -1;
		best->pump = NULL;
		return 0;
	}
}

/* The proxy closed (or spoke on) an idle connection */
void rl_pool_event(struct ab_relay *r, struct pooled *p)
{
	(void)r;
	pool_drop(p);
}

/* Close the connections idle too long; the next deadline, or UINT64_MAX */
uint64_t rl_pool_expire(struct ab_relay *r)
{
	uint64_t now = ab_now_us(), next = UINT64_MAX;

	for (unsigned i = 0; i < POOL_MAX; i++) {
		struct pooled *p = &r->pool[i];

		if (p->fd < 0)
			continue;
		if (p->since + POOL_IDLE_US <= now)
			pool_drop(p);
		else if (p->since + POOL_IDLE_US < next)
			next = p->since + POOL_IDLE_US;
	}
	return next;
}

void rl_pool_free(struct ab_relay *r)
{
	for (unsigned i = 0; i < POOL_MAX; i++)
		if (r->pool[i].fd >= 0)
			pool_drop(&r->pool[i]);
}

/* ---- the upstream proxy -------------------------------------------- */

static int upstream_admit(struct ab_relay *r, struct conn *k)
{
	return 0;	/* the upstream decides */
}

static void upstream_key(const struct conn *k, char *buf, size_t size)
{
	snprintf(buf, size, "upstream");
}

static void upstream_start(struct ab_relay *r, struct conn *k)
{
	k->addr_i = 0;
	connect_next(r, k);
}

/*
 * The upstream's addresses in turn, from the one tried last (which
 * answered, unless every one failed): no connection is made before the
 * first request, so a proxy's log holds only the sandbox's requests
 */
static int upstream_connect(struct ab_relay *r, struct conn *k)
{
	int err = ENETUNREACH;

	if (k->req.kind == AB_REQ_ABSOLUTE && !pool_take(r, k)) {
		k->addr_i = r->cfg.n_up;	/* no retry with it */
		return 0;
	}
	if (r->cfg.tls || r->cfg.ws) {	/* the pump tries the addresses */
		k->addr_i = r->cfg.n_up;
		return rl_pump_connect(r, k);
	}
	while (k->addr_i < r->cfg.n_up) {
		unsigned i = (r->up_next + k->addr_i++) % r->cfg.n_up;

		r->up_next = i;
		err = connect_to(r, k, (struct sockaddr *)&r->cfg.up[i],
				 r->cfg.up_len[i]);
		if (!err)
			return 0;
	}
	return err;
}

static bool upstream_retry(const struct ab_relay *r, const struct conn *k)
{
	return k->addr_i < r->cfg.n_up;
}

static void upstream_unreachable(struct ab_relay *r, struct conn *k, int err)
{
	snprintf(k->reason, sizeof(k->reason), "upstream proxy %s "
		 "unreachable: %s", r->cfg.up_name, strerror(err));
}

static const char *upstream_late(const struct ab_relay *r,
				 const struct conn *k)
{
	return r->cfg.up_name;
}

const struct rl_dial rl_dial_upstream = {
	.peer = "upstream proxy",
	.origin_form = false,
	.admit = upstream_admit,
	.key = upstream_key,
	.start = upstream_start,
	.connect = upstream_connect,
	.retry = upstream_retry,
	.unreachable = upstream_unreachable,
	.late = upstream_late,
};

/* ---- direct: the built-in proxy ------------------------------------- */

/* The egress policy on the name and port */
static int direct_admit(struct ab_relay *r, struct conn *k)
{
	return ab_egress_name(r->cfg.egress, k->req.host, k->req.port,
			      k->reason, sizeof(k->reason));
}

static void direct_key(const struct conn *k, char *buf, size_t size)
{
	snprintf(buf, size, "%s:%u", k->req.host, k->req.port);
}

/* An IP literal is its own address; names are looked up */
static void direct_start(struct ab_relay *r, struct conn *k)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&k->addrs.a[0];
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&k->addrs.a[0];

	memset(&k->addrs, 0, sizeof(k->addrs));
	k->addr_i = 0;
	if (inet_pton(AF_INET, k->req.host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(k->req.port);
		k->addrs.len[0] = sizeof(*s4);
		k->addrs.n = 1;
	} else if (inet_pton(AF_INET6, k->req.host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(k->req.port);
		k->addrs.len[0] = sizeof(*s6);
		k->addrs.n = 1;
	}
	if (k->addrs.n) {
		if (check_addrs(r, k, true)) {
			rl_refuse(r, k);
			return;
		}
		connect_next(r, k);
		return;
	}
	if (!r->res && relay_resolver(r)) {
		snprintf(k->reason, sizeof(k->reason), "cannot resolve %s: "
			 "no resolver", k->req.host);
		rl_conn_reply(r, k, 502, "Bad Gateway", k->reason,
			      "unresolved");
		return;
	}
	k->state = ST_RESOLVE;
	rl_set_interest(r, k->cfd, &k->ctag, &k->cev, 0);
	rl_timer_remove(r, k);
	k->dns_pending = true;
	ab_resolver_lookup(r->res, k->req.host, k->req.port, on_resolved, k);
}

/* The resolved (or literal) addresses, in order, until one connects */
static int direct_connect(struct ab_relay *r, struct conn *k)
{
	int err = 0;

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
	return err;
}

static bool direct_retry(const struct ab_relay *r, const struct conn *k)
{
	return k->addr_i < k->addrs.n;
}

static void direct_unreachable(struct ab_relay *r, struct conn *k, int err)
{
	snprintf(k->reason, sizeof(k->reason), "cannot connect to %s port %u "
		 "(%s): %s", k->req.host, k->req.port, k->addr_text,
		 strerror(err));
}

static const char *direct_late(const struct ab_relay *r,
			       const struct conn *k)
{
	return k->req.host;
}

const struct rl_dial rl_dial_direct = {
	.peer = "origin",
	.origin_form = true,
	.admit = direct_admit,
	.key = direct_key,
	.start = direct_start,
	.connect = direct_connect,
	.retry = direct_retry,
	.unreachable = direct_unreachable,
	.late = direct_late,
};

/**
 * rl_route() - Send the parsed request on its way
 * @r:		Relay
 * @k:		Connection with k->req parsed
 *
 * The dial path (upstream proxy, or direct) was chosen once, when the
 * relay was made: r->dial.
 */
void rl_route(struct ab_relay *r, struct conn *k)
{
	char key[300];

	if (r->dial->admit(r, k)) {
		rl_refuse(r, k);
		return;
	}
	r->dial->key(k, key, sizeof(key));
	if (k->ufd >= 0 && k->req.kind == AB_REQ_ABSOLUTE &&
	    !strcmp(key, k->ukey) && rl_idle_alive(k->ufd)) {
		rl_set_interest(r, k->cfd, &k->ctag, &k->cev, 0);
		rl_begin(r, k);
		return;
	}
	rl_close_upstream(k);
	k->addr_text[0] = '\0';
	r->dial->start(r, k);
}
