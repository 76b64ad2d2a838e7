/* SPDX-License-Identifier: MIT */
/* pump.h - a pump between a connection and a transformed connection to the
 * upstream (pump.c), and the WebSocket layer it carries for a ws:// or
 * wss:// upstream (upws.c).  Internal to the relay.
 */
#ifndef AB_RELAY_PUMP_H
#define AB_RELAY_PUMP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "conn.h"

#define PUMP_IBUF	65536	/* the proxy's bytes: wide, so that each send to
				 * the plain side moves many records */
#define PUMP_OBUF	16384

enum pump_state { TP_CONNECTING, TP_HANDSHAKE, TP_UPGRADE, TP_OPEN,
		  TP_DEAD };

struct ssl_st;
struct rl_ws;

struct rl_pump {
	struct ab_relay *relay;
	struct conn *k;			/* while it is attached, else NULL */
	enum pump_state state;
	int plain, net;
	struct tag ptag, ntag;
	uint32_t pev, nev;
	struct ssl_st *ssl;		/* TLS to the upstream, or NULL */
	struct rl_ws *ws;		/* a WebSocket over net, or NULL */
	unsigned addr_i;		/* the upstream address being tried */
	uint64_t deadline;		/* connect, handshake and upgrade by
					 * then */
	char ibuf[PUMP_IBUF];		/* from the proxy, to the plain side */
	size_t ilen, ioff;
	char obuf[PUMP_OBUF];		/* from the plain side, to the proxy */
	size_t olen, ooff;
	bool plain_eof;			/* the connection ended its side */
	bool plain_dry;			/* its last recv found nothing, and no
					 * EPOLLIN came since */
	bool net_eof;			/* the proxy ended its side */
	bool want_read, want_write;	/* what OpenSSL waits for on net */
	char cause[300];		/* net's failure, in words */
	TAILQ_ENTRY(rl_pump) link;
};

/* pump.c */
int rl_pump_deliver(struct rl_pump *p);
ssize_t rl_pump_recv(struct rl_pump *p, void *buf, size_t len);
ssize_t rl_pump_send(struct rl_pump *p, const void *buf, size_t len);
void rl_pump_fail(struct rl_pump *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void rl_pump_close(struct rl_pump *p);

/* upws.c */
int rl_ws_start(struct rl_pump *p);
void rl_ws_upgrade(struct rl_pump *p);
void rl_ws_move(struct rl_pump *p);
void rl_ws_interest(const struct rl_pump *p, uint32_t *net,
		    uint32_t *plain);
void rl_ws_free(struct rl_pump *p);

#endif /* AB_RELAY_PUMP_H */
