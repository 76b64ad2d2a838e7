/* SPDX-License-Identifier: MIT */
/* conn.h - what the relay's files share: the connection, the relay, and
 * the functions one file offers the others (rl_ prefix).
 */
#ifndef AB_RELAY_CONN_H
#define AB_RELAY_CONN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "http.h"
#include "peer.h"
#include "relay.h"
#include "resolve.h"

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
#define POOL_MAX		8	/* idle upstream connections kept */
#define POOL_IDLE_US		(15 * 1000000ULL)
#define FIRST_WAIT_US		(250 * 1000ULL)	/* intercepted: a client
						 * that says nothing first
						 * is a server-first one */

enum tag_kind { T_LISTENER, T_ICPT_LISTENER, T_WATCH, T_CLIENT, T_UPSTREAM,
		T_RESOLVER, T_PUMP_NET, T_PUMP_PLAIN, T_POOL };

struct tag {
	enum tag_kind kind;
	void *ptr;
};

enum conn_state {
	ST_HEAD, ST_RESOLVE, ST_CONNECTING, ST_SEND, ST_SPLICE, ST_MSG,
	ST_DEAD,
};

enum resp_phase { RP_HEAD, RP_BODY, RP_DONE };

/* How an intercepted connection is carried (intercept.c) */
enum icpt_kind {
	IC_NONE,		/* through the explicit proxy port */
	IC_FIRST,		/* intercepted, its first bytes not yet seen */
	IC_HTTP,		/* plain HTTP: each head made absolute-form */
	IC_TLS,			/* CONNECT to the name, the SNI checked */
	IC_TCP,			/* anything else: CONNECT to the name */
	IC_DNS,			/* a lookup, to the gateway's port 53 */
};

struct flow {
	int src, dst;
	int pipe_r, pipe_w;
	size_t queued;		/* bytes in the pipe */
	bool eof;		/* source at end of stream */
	bool shut;		/* end of stream passed on to dst */
	int failed;		/* the descriptor that failed, or -1 */
	uint64_t bytes;		/* delivered to dst */
};

TAILQ_HEAD(conn_q, conn);

struct rl_pump;
TAILQ_HEAD(pump_q, rl_pump);

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
	bool gated;			/* a CONNECT's c2u waits until the
					 * first bytes (in cin) name its host
					 * (tunnel.c) */
	uint64_t t_start, t_req, deadline;
	uint64_t up0, down0;		/* byte counts when t_req began */
	uint64_t up, down;		/* bytes client->upstream and back */
	char target[320];		/* "CONNECT host:port", for -v */
	int status;			/* upstream's or ours */
	const char *result;
	char reason[400];		/* why we refused or failed */
	struct ab_actor who;		/* the process that connected */
	pid_t owner;			/* its pid for the share, 0 unknown */
	struct sockaddr_storage peer;	/* its address, to find it */

	/* intercepted (intercept.c) */
	enum icpt_kind icpt;
	struct sockaddr_storage odst;	/* where the sandbox connected */
	char oaddr[INET6_ADDRSTRLEN];	/* odst's address, as text */
	unsigned short oport;
	char oname[256];		/* the name its fake address stands
					 * for, "" for an IP literal */
	char sni[256];			/* the ClientHello's, "" if none */
	bool await_answer;		/* upstream's answer to our CONNECT
					 * is not the client's to see */
	struct rl_pump *pump;		/* a TLS upstream's pump (pump.c) */
	bool who_asked;
	TAILQ_ENTRY(conn) timer;	/* on one timer queue: */
	struct conn_q *on_timer;	/* that one, or NULL */
	TAILQ_ENTRY(conn) link;		/* on all_q, then on dead_q */
};

/* An idle connection to the upstream proxy that carried a request, kept
 * for the next one (dial.c) */
struct pooled {
	struct tag tag;
	int fd;				/* -1: a free slot */
	struct rl_pump *pump;		/* its pump, for a TLS upstream */
	uint64_t since;
};

struct watch {
	struct tag tag;
	int fd;
	ab_relay_cb cb;
	void *arg;
};

/*
 * A dial path: where a request goes, chosen once per relay (dial.c).  Its
 * steps, in order: admit (the policy: non-zero refuses, k->reason says
 * why), start (connect_next(), or resolve first), connect (start one
 * non-blocking connect: 0 or an errno), retry (another place to try after
 * a failed connect), key (what the connection is to, for reuse).
 */
struct rl_dial {
	const char *peer;		/* "upstream proxy", "origin" */
	bool origin_form;		/* requests go on in origin-form, and
					 * we answer CONNECT ourselves */
	int (*admit)(struct ab_relay *r, struct conn *k);
	void (*key)(const struct conn *k, char *buf, size_t size);
	void (*start)(struct ab_relay *r, struct conn *k);
	int (*connect)(struct ab_relay *r, struct conn *k);
	bool (*retry)(const struct ab_relay *r, const struct conn *k);
	void (*unreachable)(struct ab_relay *r, struct conn *k, int err);
	const char *(*late)(const struct ab_relay *r, const struct conn *k);
};

extern const struct rl_dial rl_dial_upstream, rl_dial_direct;

struct ab_relay {
	struct ab_relay_cfg cfg;
	const struct rl_dial *dial;	/* chosen once: cfg.builtin */
	int epfd;
	struct tag ltag, rtag;
	bool listening;
	uint64_t accept_resume;		/* paused for lack of descriptors
					 * until then, 0 if not */
	unsigned n_conns;
	size_t pipe_cap;
	struct sockaddr_storage me;	/* the listener's address */
	struct ab_resolver *res;
	struct ab_fakeip *fake;		/* the session's fake addresses */
	unsigned up_next;		/* the upstream address to try first */
	struct tag itag4, itag6;	/* the interception listeners' */
	struct conn_q all_q, head_q, connect_q, first_q, dead_q;
	struct pump_q pump_q, pump_dead_q; /* TLS upstream pumps (pump.c) */
	struct pooled pool[POOL_MAX];
	struct watch watches[8];
	unsigned n_watches;
	int stop;
};

/* relay.c */
bool rl_again(int err);
void rl_conn_who(struct ab_relay *r, struct conn *k);
void rl_req_log(struct ab_relay *r, struct conn *k);
void rl_timer_remove(struct ab_relay *r, struct conn *k);
void rl_timer_add(struct ab_relay *r, struct conn *k, uint64_t timeout);
void rl_set_interest(struct ab_relay *r, int fd, struct tag *t, uint32_t *cur,
		     uint32_t want);
void rl_close_upstream(struct conn *k);
void rl_free_bufs(struct conn *k);
void rl_conn_close(struct ab_relay *r, struct conn *k, const char *result,
		   bool reset);
void rl_conn_reply(struct ab_relay *r, struct conn *k, int code,
		   const char *text, const char *why, const char *result);
void rl_refuse(struct ab_relay *r, struct conn *k);
void rl_reason(struct conn *k, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* intake.c */
void rl_conn_head(struct ab_relay *r, struct conn *k);
void rl_read_head(struct ab_relay *r, struct conn *k);
void rl_begin(struct ab_relay *r, struct conn *k);

/* dial.c */
void rl_route(struct ab_relay *r, struct conn *k);
void rl_connected(struct ab_relay *r, struct conn *k);
bool rl_idle_alive(int fd);
bool rl_pool_put(struct ab_relay *r, struct conn *k);
void rl_pool_event(struct ab_relay *r, struct pooled *p);
uint64_t rl_pool_expire(struct ab_relay *r);
void rl_pool_free(struct ab_relay *r);

/* tunnel.c */
void rl_fail_after_head(struct ab_relay *r, struct conn *k, int code,
			const char *text, const char *result);
void rl_send_out(struct ab_relay *r, struct conn *k);
void rl_splice_event(struct ab_relay *r, struct conn *k, bool upstream,
		     uint32_t ev);

/* intercept.c */
void rl_icpt_accept(struct ab_relay *r, struct conn *k);
#define RL_FIRST_DATA	0
#define RL_FIRST_SILENT	1
#define RL_FIRST_EOF	2
int rl_icpt_head(struct ab_relay *r, struct conn *k, int why);
void rl_icpt_answer(struct ab_relay *r, struct conn *k);
void rl_dns_read(struct ab_relay *r, struct conn *k);
bool rl_icpt_raw(const struct conn *k);
const char *rl_icpt_name(enum icpt_kind kind);

/* pump.c */
int rl_pump_connect(struct ab_relay *r, struct conn *k);
void rl_pump_detach(struct conn *k);
void rl_pump_attach(struct rl_pump *p, struct conn *k);
void rl_pump_event(struct ab_relay *r, struct rl_pump *p, bool net,
		  uint32_t ev);
uint64_t rl_pump_timeouts(struct ab_relay *r);
void rl_pump_reap(struct ab_relay *r, bool all);

/* uptls.c: the SSL of a pump's connection, and a failure in words */
struct ssl_st;
struct ssl_st *rl_uptls_ssl(const struct ab_uptls *t, int fd);
const char *rl_uptls_cause(struct ssl_st *ssl, int rc, char *buf,
			   size_t size);

/* msg.c */
void rl_msg_pump(struct ab_relay *r, struct conn *k);
void rl_msg_event(struct ab_relay *r, struct conn *k, bool upstream,
		  uint32_t ev);

#endif /* AB_RELAY_CONN_H */
