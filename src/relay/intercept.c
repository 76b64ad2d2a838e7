// SPDX-License-Identifier: MIT
/* intercept.c - connections the sandbox made to anywhere, redirected to
 * the relay by the gateway's nftables rules (nft.c), and its DNS.
 *
 * Theory of operation
 *
 * A tool that ignores the proxy variables connects to the address its
 * lookup gave.  The sandbox's resolv.conf names the gateway, with
 * "options use-vc" (glibc asks over TCP; UDP stays refused), and every TCP
 * connection from the sandbox, the lookups' too, arrives on an
 * interception listener.  Its original destination (SO_ORIGINAL_DST) says
 * what it was:
 *
 *   the gateway, port 53   a lookup (IC_DNS): A and AAAA questions are
 *                          answered from the session's fake addresses
 *                          (dns.c), a name the built-in policy refuses with
 *                          NXDOMAIN, other questions with REFUSED.  The
 *                          query never leaves: no name is resolved here
 *   the gateway, another   refused (reset)
 *   a fake address         the name it was given for; one no lookup gave
 *                          is refused
 *   any other address      an IP literal, as the tool connected to it
 *
 * Then the first bytes decide how it is carried (IC_FIRST, at most
 * FIRST_WAIT_US for a client that says nothing first):
 *
 *   a TLS ClientHello      IC_TLS: "CONNECT name:port", with the hello's
 *                          server name checked against the name, as in an
 *                          explicit tunnel (tunnel.c, always)
 *   an HTTP request head   IC_HTTP: each head on the connection is made
 *                          absolute-form ("GET http://name:port/path") and
 *                          handled as an explicit proxy request: policy,
 *                          identity, credentials, Squid's log of the URL.
 *                          A Host field that names another host is refused
 *   anything else, or      IC_TCP: "CONNECT name:port" (an IP literal if
 *   nothing in time        that is what it connected to)
 *
 * That head is put in front of what the client sent and the connection
 * goes on as an explicit one (intake.c), with three differences for a
 * client that speaks TLS or its own protocol: it gets no HTTP answer (a
 * refusal is a reset, rl_conn_reply()), no "200" from the built-in proxy,
 * and the upstream proxy's answer to our CONNECT is read here
 * (rl_icpt_answer()), not passed on: a refusal (a port Squid does not
 * allow) resets the client and is logged with Squid's status.
 *
 * Lookups that get a fake address are not events of their own: the
 * connection that uses the name is one, and carries the name and the fake
 * address (a lookup alone reaches nothing: it is answered here).  A
 * refused lookup is an event, folded like the other refusals.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "audit.h"
#include "dns.h"
#include "egress.h"
#include "http.h"
#include "relay.h"
#include "tls.h"
#include "util.h"

#include "conn.h"

#define DNS_TTL		60	/* a fake address is the session's */
#define SYNTH_MAX	600	/* the CONNECT head we put in front */

const char *rl_icpt_name(enum icpt_kind kind)
{
	switch (kind) {
	case IC_NONE:	return NULL;
	case IC_FIRST:	return "tcp";
	case IC_HTTP:	return "http";
	case IC_TLS:	return "tls";
	case IC_TCP:	return "tcp";
	case IC_DNS:	return "dns";
	}
	return NULL;
}

/* The client does not speak HTTP to us: an answer would be garbage to it */
bool rl_icpt_raw(const struct conn *k)
{
	return k->icpt != IC_NONE && k->icpt != IC_HTTP;
}

/* ---- the original destination --------------------------------------- */

static int original_dst(const struct conn *k, struct sockaddr_storage *o)
{
	socklen_t len = sizeof(*o);

	if (k->peer.ss_family == AF_INET6)
		return getsockopt(k->cfd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, o,
				  &len);
	return getsockopt(k->cfd, SOL_IP, SO_ORIGINAL_DST, o, &len);
}

/* The address of @sa, and its port */
static const void *sa_addr(const struct sockaddr_storage *sa, unsigned *port)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	if (sa->ss_family == AF_INET6) {
		*port = ntohs(s6->sin6_port);
		return &s6->sin6_addr;
	}
	*port = ntohs(s4->sin_port);
	return &s4->sin_addr;
}

/**
 * rl_icpt_accept() - A connection from an interception listener: where
 *		      the sandbox meant it to go
 * @r:		Relay
 * @k:		Connection, just accepted (IC_FIRST, on first_q)
 */
void rl_icpt_accept(struct ab_relay *r, struct conn *k)
{
	struct sockaddr_storage me;
	socklen_t mlen = sizeof(me);
	const void *oa, *ma;
	unsigned mport;
	const char *name;
	size_t alen = k->peer.ss_family == AF_INET6 ? 16 : 4;

	if (original_dst(k, &k->odst) ||
	    getsockname(k->cfd, (struct sockaddr *)&me, &mlen)) {
		rl_reason(k, "an intercepted connection whose original "
			  "destination is unknown (SO_ORIGINAL_DST: %s)",
			  strerror(errno));
		rl_refuse(r, k);
		return;
	}
	oa = sa_addr(&k->odst, &mport);
	k->oport = (unsigned short)mport;
	inet_ntop(k->odst.ss_family, oa, k->oaddr, sizeof(k->oaddr));
	ma = sa_addr(&me, &mport);
	if (!memcmp(oa, ma, alen)) {
		if (k->oport == 53) {
			k->icpt = IC_DNS;
			k->req_open = false;
			rl_timer_add(r, k, HEAD_TIMEOUT_US);
			return;
		}
		rl_reason(k, "%s port %u is the gateway itself, where "
			  "only the proxy and DNS (53) answer", k->oaddr,
			  k->oport);
		rl_refuse(r, k);
		return;
	}
	name = k->odst.ss_family == AF_INET6 ?
	       ab_fakeip_name6(r->fake,
			       &((struct sockaddr_in6 *)&k->odst)->sin6_addr) :
	       ab_fakeip_name4(r->fake,
			       ((struct sockaddr_in *)&k->odst)->sin_addr);
	if (name) {
		snprintf(k->oname, sizeof(k->oname), "%s", name);
		return;
	}
	if (k->odst.ss_family == AF_INET6 ?
	    ab_fakeip_is6(&((struct sockaddr_in6 *)&k->odst)->sin6_addr) :
	    ab_fakeip_is4(((struct sockaddr_in *)&k->odst)->sin_addr)) {
		rl_reason(k, "%s is in the range of fake addresses, but "
			  "no lookup of this session gave it", k->oaddr);
		rl_refuse(r, k);
	}
}

/* ---- the first bytes ------------------------------------------------ */

/* Where the connection goes, as a proxy request names it: name:port */
static void authority(const struct conn *k, char *buf, size_t size)
{
	ab_http_authority(buf, size, k->oname[0] ? k->oname : k->oaddr,
			  k->oport);
}

/* "CONNECT name:port" in front of what the client sent */
static int synth_connect(struct ab_relay *r, struct conn *k)
{
	char auth[300], head[SYNTH_MAX];
	int n;

	authority(k, auth, sizeof(auth));
	n = snprintf(head, sizeof(head), "CONNECT %s HTTP/1.1\r\nHost: %s"
		     "\r\n\r\n", auth, auth);
	if (n < 0 || (size_t)n >= sizeof(head) ||
	    k->cin_len + (size_t)n > CIN_SIZE) {
		rl_reason(k, "the connection to %s began with more than "
			  "%zu bytes before its server spoke, which cannot "
			  "be checked", auth, (size_t)(CIN_SIZE - SYNTH_MAX));
		rl_refuse(r, k);
		return -1;
	}
	memmove(k->cin + n, k->cin, k->cin_len);
	memcpy(k->cin, head, (size_t)n);
	k->cin_len += (size_t)n;
	return 0;
}

/**
 * http_absolute() - Make the client's request head absolute-form
 * @r:		Relay
 * @k:		Connection (IC_HTTP), a head begun in cin
 *
 * Return: 0 when cin holds a head for ab_http_parse_head() (absolute-form,
 * or one it refuses with its usual answer), 1 to wait for more or when
 * refused here
 */
static int http_absolute(struct ab_relay *r, struct conn *k)
{
	char host[256], pre[310];
	const char *sp;
	size_t t_off, plen;

	switch (ab_http_first_host(k->cin, k->cin_len, host, sizeof(host))) {
	case AB_FIRST_MORE:
		/* wait; a head that does not end gets the usual 431 */
		return k->cin_len < CIN_SIZE;
	case AB_FIRST_NOT_HTTP:
	case AB_FIRST_BAD:
		return 0;	/* the usual 400, with its reason */
	case AB_FIRST_HOST:
		if (k->oname[0] && strcmp(host, k->oname)) {
			rl_reason(k, "an HTTP request for %s, on a "
				  "connection to the address a lookup gave "
				  "for %s", host, k->oname);
			rl_refuse(r, k);
			return 1;
		}
		break;
	case AB_FIRST_NO_HOST:
		break;
	}
	sp = memchr(k->cin, ' ', k->cin_len);
	t_off = (size_t)(sp - k->cin) + 1;
	if (t_off >= k->cin_len || k->cin[t_off] != '/')
		return 0;	/* absolute-form already, or the usual 400 */
	memcpy(pre, "http://", 7);
	authority(k, pre + 7, sizeof(pre) - 7);
	plen = strlen(pre);
	if (k->cin_len + plen > CIN_SIZE) {
		rl_conn_reply(r, k, 431, "Request Header Fields Too Large",
			      "request head too large", "bad-request");
		return 1;
	}
	memmove(k->cin + t_off + plen, k->cin + t_off, k->cin_len - t_off);
	memcpy(k->cin + t_off, pre, plen);
	k->cin_len += plen;
	return 0;
}

/* IC_FIRST: what the first bytes are, IC_FIRST if too few to tell */
static enum icpt_kind first_kind(struct conn *k, const char **why)
{
	const uint8_t *p = (const uint8_t *)k->cin;
	char host[256];

	if (!k->cin_len)
		return IC_TCP;		/* it waits for its server */
	if (p[0] == 22) {		/* a TLS handshake record */
		switch (ab_tls_client_hello(p, k->cin_len, k->sni,
					    sizeof(k->sni), why)) {
		case AB_TLS_BAD:
			k->sni[0] = '\0';
			return IC_NONE;
		case AB_TLS_MORE:
			k->sni[0] = '\0';
			return IC_FIRST;
		case AB_TLS_SNI:
		case AB_TLS_NO_SNI:
			return IC_TLS;
		}
	}
	switch (ab_http_first_host(k->cin, k->cin_len, host, sizeof(host))) {
	case AB_FIRST_MORE:
		return IC_FIRST;
	case AB_FIRST_NOT_HTTP:
		return IC_TCP;
	default:
		return IC_HTTP;
	}
}

/**
 * rl_icpt_head() - Turn what an intercepted client sent into the head an
 *		    explicit client would have
 * @r:		Relay
 * @k:		Connection, intercepted, in HEAD
 * @why:	RL_FIRST_DATA (bytes came), RL_FIRST_SILENT (the first wait
 *		is over), RL_FIRST_EOF (it sent all it will)
 *
 * Return: 0 when cin holds a proxy request head to go on with, 1 when
 * there is nothing to do yet (or the connection was refused)
 */
int rl_icpt_head(struct ab_relay *r, struct conn *k, int why)
{
	const char *bad = NULL;
	enum icpt_kind kind;

	if (k->icpt == IC_HTTP)
		return http_absolute(r, k);
	if (k->icpt != IC_FIRST)
		return 0;	/* TLS, TCP: the CONNECT is already in front */
	if (!k->cin_len && why == RL_FIRST_DATA)
		return 1;

	kind = first_kind(k, &bad);
	if (kind == IC_FIRST && why != RL_FIRST_EOF &&
	    k->cin_len + SYNTH_MAX <= CIN_SIZE) {
		/* a hello or head begun: the head's time to finish it */
		if (k->on_timer == &r->first_q)
			rl_timer_add(r, k, HEAD_TIMEOUT_US);
		return 1;
	}
	if (k->on_timer == &r->first_q)
		rl_timer_add(r, k, HEAD_TIMEOUT_US);
	if (kind == IC_NONE) {
		k->icpt = IC_TLS;
		rl_reason(k, "the connection to %s port %u began with a "
			  "malformed TLS ClientHello: %s",
			  k->oname[0] ? k->oname : k->oaddr, k->oport, bad);
		rl_refuse(r, k);
		return 1;
	}
	if (kind == IC_FIRST)	/* all there will be, or all there is room
				 * for: carried as it is */
		kind = ((const uint8_t *)k->cin)[0] == 22 ? IC_TLS : IC_TCP;
	k->icpt = kind;
	if (kind == IC_HTTP)
		return http_absolute(r, k);
	return synth_connect(r, k) ? 1 : 0;
}

/* ---- the upstream's answer to our CONNECT --------------------------- */

/**
 * rl_icpt_answer() - Read the upstream proxy's answer to the CONNECT we
 *		      sent for an intercepted client, which must not see it
 * @r:		Relay
 * @k:		Connection in SPLICE, await_answer set
 *
 * Only the answer's head is taken from the socket (peeked, then read to
 * its length): what the server sent after it (an ssh banner) stays, for
 * the tunnel.
 */
void rl_icpt_answer(struct ab_relay *r, struct conn *k)
{
	char buf[4096], auth[300];
	struct ab_resp resp;
	const char *eol;
	ssize_t n;

	n = recv(k->ufd, buf, sizeof(buf) - 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && rl_again(errno))
		return;
	authority(k, auth, sizeof(auth));
	if (n <= 0) {
		snprintf(k->reason, sizeof(k->reason), "%s closed the "
			 "connection before it answered CONNECT %s",
			 r->dial->peer, auth);
		k->status = 502;
		rl_conn_close(r, k, "upstream-closed", true);
		return;
	}
	buf[n] = '\0';
	switch (ab_http_parse_resp(buf, (size_t)n, &resp)) {
	case AB_HEAD_INCOMPLETE:
		if ((size_t)n < sizeof(buf) - 1)
			return;
		/* fall through */
	case AB_HEAD_TOO_LARGE:
	case AB_HEAD_BAD:
		snprintf(k->reason, sizeof(k->reason), "%s answered CONNECT "
			 "%s with a malformed head", r->dial->peer, auth);
		k->status = 502;
		rl_conn_close(r, k, "upstream-bad-answer", true);
		return;
	case AB_HEAD_OK:
		break;
	}
	if (recv(k->ufd, buf, resp.head_len, MSG_DONTWAIT) !=
	    (ssize_t)resp.head_len) {
		k->status = 502;
		rl_conn_close(r, k, "upstream-reset", true);
		return;
	}
	k->status = resp.status;
	k->await_answer = false;
	if (resp.status == 200)
		return;
	eol = strstr(buf, "\r\n");
	snprintf(k->reason, sizeof(k->reason), "%s refused CONNECT %s: %.*s",
		 r->dial->peer, auth,
		 eol ? (int)(eol - buf) : 0, buf);
	rl_conn_close(r, k, "upstream-refused", true);
}

/* ---- DNS ------------------------------------------------------------ */

/* The question types a client asks most, by their names (RFC 1035, 3596,
 * 2782, 9460); others are TYPEnnn (RFC 3597) */
static const char *qtype_name(unsigned t)
{
	switch (t) {
	case 1:		return "A";
	case 2:		return "NS";
	case 5:		return "CNAME";
	case 6:		return "SOA";
	case 12:	return "PTR";
	case 15:	return "MX";
	case 16:	return "TXT";
	case 28:	return "AAAA";
	case 33:	return "SRV";
	case 64:	return "SVCB";
	case 65:	return "HTTPS";
	case 255:	return "ANY";
	default:	return NULL;
	}
}

static void dns_log(struct ab_relay *r, struct conn *k,
		    const struct ab_dns_query *q, const char *rcode,
		    const char *why)
{
	char qtype[16];
	struct ab_audit_req a = {
		.action = "dns-query",
		.allowed = false,
		.reason = why,
		.domain = q->name[0] ? q->name : NULL,
		.port = 53,
		.intercepted = "dns",
		.orig_addr = k->oaddr,
		.orig_port = k->oport,
		.protocol = "dns",
		.dns_type = qtype,
		.dns_rcode = rcode,
		.who = &k->who,
	};

	if (qtype_name(q->qtype))
		snprintf(qtype, sizeof(qtype), "%s", qtype_name(q->qtype));
	else
		snprintf(qtype, sizeof(qtype), "TYPE%u", q->qtype);
	rl_conn_who(r, k);
	ab_audit_request(r->cfg.audit, &a);
	if (r->cfg.verbose)
		dprintf(STDERR_FILENO, "agentbox: relay: dns %s %s: %s (%s)\n",
			qtype, q->name[0] ? q->name : "-", rcode, why);
}

static const char *rcode_name(int rc)
{
	switch (rc) {
	case AB_DNS_FORMERR:	return "FORMERR";
	case AB_DNS_SERVFAIL:	return "SERVFAIL";
	case AB_DNS_NXDOMAIN:	return "NXDOMAIN";
	case AB_DNS_NOTIMP:	return "NOTIMP";
	case AB_DNS_REFUSED:	return "REFUSED";
	default:		return "NOERROR";
	}
}

/**
 * dns_one() - Answer one query
 * @r:		Relay
 * @k:		Connection (IC_DNS)
 * @msg:	The query, without its length
 * @len:	Its length
 *
 * Return: 0, or -1 if the connection must close (no id to answer, or the
 * client does not read)
 */
static int dns_one(struct ab_relay *r, struct conn *k, const uint8_t *msg,
		   size_t len)
{
	struct ab_dns_query q;
	const char *why = NULL;
	char reason[400];
	uint8_t out[2 + 512];
	struct in_addr v4;
	struct in6_addr v6;
	const void *addr = NULL;
	size_t n;
	int rc;

	memset(&q, 0, sizeof(q));
	rc = ab_dns_parse_query(msg, len, &q, &why);
	if (rc == AB_DNS_NOERROR && (q.qclass != AB_DNS_CLASS_IN ||
	    (q.qtype != AB_DNS_TYPE_A && q.qtype != AB_DNS_TYPE_AAAA))) {
		rc = AB_DNS_REFUSED;
		snprintf(reason, sizeof(reason), "only A and AAAA questions "
			 "are answered inside the sandbox (type %u, class "
			 "%u)", q.qtype, q.qclass);
		why = reason;
	}
	if (rc == AB_DNS_NOERROR && r->dial->origin_form &&
	    ab_egress_host(r->cfg.egress, q.name, reason, sizeof(reason))) {
		rc = AB_DNS_NXDOMAIN;
		why = reason;
	}
	if (rc == AB_DNS_NOERROR && ab_fakeip_get(r->fake, q.name, &v4, &v6)) {
		rc = AB_DNS_SERVFAIL;
		why = "the session's fake addresses are all taken";
	}
	if (rc == AB_DNS_NOERROR)
		addr = q.qtype == AB_DNS_TYPE_A ? (const void *)&v4 :
						  (const void *)&v6;
	else
		dns_log(r, k, &q, rcode_name(rc), why ? why : "refused");
	n = ab_dns_answer(msg, &q, rc, addr, DNS_TTL, out + 2,
			  sizeof(out) - 2);
	if (!n)
		return -1;
	out[0] = (uint8_t)(n >> 8);
	out[1] = (uint8_t)n;
	if (send(k->cfd, out, n + 2, MSG_NOSIGNAL | MSG_DONTWAIT) !=
	    (ssize_t)(n + 2))
		return -1;
	return 0;
}

/**
 * rl_dns_read() - Read DNS queries (each with its two length bytes), and
 *		   answer each one whole
 * @r:		Relay
 * @k:		Connection (IC_DNS)
 */
void rl_dns_read(struct ab_relay *r, struct conn *k)
{
	ssize_t n = recv(k->cfd, k->cin + k->cin_len, CIN_SIZE - k->cin_len,
			 MSG_DONTWAIT);
	size_t off = 0;

	if (n < 0 && rl_again(errno))
		return;
	if (n <= 0) {
		rl_conn_close(r, k, NULL, n < 0);
		return;
	}
	k->cin_len += (size_t)n;
	while (k->cin_len - off >= 2) {
		const uint8_t *p = (const uint8_t *)k->cin + off;
		size_t mlen = (size_t)(p[0] << 8 | p[1]);

		if (mlen > CIN_SIZE - 2) {
			struct ab_dns_query q = { 0 };

			dns_log(r, k, &q, "FORMERR", "a DNS message longer "
				"than the relay takes (16 KiB)");
			rl_conn_close(r, k, NULL, true);
			return;
		}
		if (k->cin_len - off < 2 + mlen)
			break;
		if (dns_one(r, k, p + 2, mlen)) {
			rl_conn_close(r, k, NULL, true);
			return;
		}
		k->n_reqs++;	/* idle after it: closed quietly in time */
		off += 2 + mlen;
	}
	memmove(k->cin, k->cin + off, k->cin_len - off);
	k->cin_len -= off;
	rl_timer_add(r, k, HEAD_TIMEOUT_US);
}
