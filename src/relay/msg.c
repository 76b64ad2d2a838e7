// SPDX-License-Identifier: MIT
/* msg.c - absolute-form requests: one request and its response,
 * framed, pumped both ways (MSG).
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
			 r->dial->peer, result);
		rl_conn_reply(r, k, 502, "Bad Gateway", k->reason, result);
		return;
	}
	rl_conn_close(r, k, result, true);
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
			rl_fail_after_head(r, k, 400, "Bad Request",
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
	rl_req_log(r, k);
	k->n_reqs++;
	if (k->req.close || k->resp_close || k->resp_left == AB_BODY_TO_EOF) {
		shutdown(k->cfd, SHUT_WR);
		rl_pool_put(r, k);	/* the upstream may serve another */
		rl_conn_close(r, k, NULL, false);
		return;
	}
	free(k->uin);
	k->uin = NULL;
	k->state = ST_HEAD;
	rl_set_interest(r, k->ufd, &k->utag, &k->uev, 0);
	rl_set_interest(r, k->cfd, &k->ctag, &k->cev, EPOLLIN);
	rl_timer_add(r, k, HEAD_TIMEOUT_US);
	if (k->cin_len)		/* pipelined: the next head is here */
		rl_conn_head(r, k);
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
			rl_conn_close(r, k, "no-pipe", true);
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
		} else if (n == 0 || !rl_again(errno)) {
			msg_fail(r, k, n ? "connection reset" :
				 "closed before the end of the response");
			return -1;
		}
	}
	if (f->queued) {
		if (!k->resp_started)
			rl_conn_who(r, k);
		n = splice(f->pipe_r, NULL, k->cfd, NULL, f->queued,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			f->queued -= (size_t)n;
			k->down += (uint64_t)n;
			k->resp_started = true;
			moved = 1;
		} else if (n < 0 && !rl_again(errno)) {
			rl_conn_close(r, k, "client-reset", true);
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
	rl_set_interest(r, k->cfd, &k->ctag, &k->cev,
		     (!k->req_framed && k->cin_len < CIN_SIZE ? EPOLLIN : 0) |
		     (k->uin_ready || k->u2c.queued ? EPOLLOUT : 0));
	if (body_by_splice(k))
		read_up = !k->uin_len && k->u2c.queued < r->pipe_cap;
	else
		read_up = k->rphase != RP_DONE && k->uin_len < UIN_SIZE;
	if (k->ufd >= 0)
		rl_set_interest(r, k->ufd, &k->utag, &k->uev,
			     (k->out_sent < k->out_len || k->cin_body ?
				      EPOLLOUT : 0) |
			     (read_up ? EPOLLIN : 0));
}

/*
 * The two moves of a message buffer (cin from the client, uin from
 * upstream): bytes come in at its back, and its first @ready bytes (those
 * framed as belonging to the exchange) go out from its front.
 */

/* Receive into @buf after its @len bytes, up to @cap */
static ssize_t recv_back(int fd, char *buf, size_t *len, size_t cap)
{
	ssize_t n = recv(fd, buf + *len, cap - *len, MSG_DONTWAIT);

	if (n > 0)
		*len += (size_t)n;
	return n;
}

/* Send what can go of the first *@ready bytes of @buf, drop them from it,
 * and count them in *@count */
static ssize_t send_front(int fd, char *buf, size_t *len, size_t *ready,
			  uint64_t *count)
{
	ssize_t n = send(fd, buf, *ready, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n > 0) {
		memmove(buf, buf + n, *len - (size_t)n);
		*len -= (size_t)n;
		*ready -= (size_t)n;
		*count += (uint64_t)n;
	}
	return n;
}

/**
 * rl_msg_pump() - Move what can move, both ways, for one exchange
 * @r:		Relay
 * @k:		Connection in MSG state
 */
void rl_msg_pump(struct ab_relay *r, struct conn *k)
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
			} else if (n < 0 && !rl_again(errno)) {
				msg_fail(r, k, "send failed");
				return;
			}
		}
		if (frame_request(r, k))
			return;
		if (k->ufd >= 0 && k->out_sent == k->out_len && k->cin_body) {
			n = send_front(k->ufd, k->cin, &k->cin_len, &k->cin_body,
				       &k->up);
			if (n > 0) {
				moved = true;
			} else if (n < 0 && !rl_again(errno)) {
				msg_fail(r, k, "send failed");
				return;
			}
		}
		/* more of the body from the client */
		if (!k->req_framed && k->cin_len < CIN_SIZE) {
			n = recv_back(k->cfd, k->cin, &k->cin_len, CIN_SIZE);
			if (n > 0) {
				moved = true;
			} else if (n == 0 || !rl_again(errno)) {
				rl_conn_close(r, k, "client-closed", true);
				return;
			}
		}
		/* the response: its head (and chunked bodies) through uin */
		if (k->ufd >= 0 && k->rphase != RP_DONE &&
		    !body_by_splice(k) && k->uin_len < UIN_SIZE) {
			n = recv_back(k->ufd, k->uin, &k->uin_len, UIN_SIZE);
			if (n > 0) {
				moved = true;
			} else if (n == 0 && k->rphase == RP_BODY &&
				   k->resp_left == AB_BODY_TO_EOF) {
				k->rphase = RP_DONE;
				moved = true;
			} else if (n == 0 || !rl_again(errno)) {
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
				rl_conn_who(r, k);
			n = send_front(k->cfd, k->uin, &k->uin_len,
				       &k->uin_ready, &k->down);
			if (n > 0) {
				k->resp_started = true;
				moved = true;
			} else if (n < 0 && !rl_again(errno)) {
				rl_conn_close(r, k, "client-reset", true);
				return;
			}
		}
		if (!moved)
			break;
	}
	msg_update(r, k);
}

void rl_msg_event(struct ab_relay *r, struct conn *k, bool upstream,
		      uint32_t ev)
{
	if (ev & (EPOLLERR | EPOLLHUP)) {
		if (!upstream) {
			rl_conn_close(r, k, "client-reset", true);
			return;
		}
		if (k->rphase == RP_DONE) {
			/* it answered and went away: finish with the client */
			rl_close_upstream(k);
			k->resp_close = true;
		}
	}
	rl_msg_pump(r, k);
}

