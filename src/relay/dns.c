// SPDX-License-Identifier: MIT
/* dns.c - the sandbox's DNS messages and fake addresses (pure code).
 *
 * ab_dns_parse_query() takes one query as it came over TCP (without the
 * two length bytes) and accepts only what a stub resolver sends: a
 * standard query (QR 0, opcode 0) with exactly one question, no answer or
 * authority records, at most one additional record (EDNS), a name of
 * hostname characters in uncompressed labels.  Anything else gets the
 * rcode the caller answers with and one reason.  ab_dns_answer() builds
 * the answer: the question copied as it came, and at most one A or AAAA
 * record pointing at it.
 *
 * The fake addresses: the n-th name the session asks for gets
 * 198.18.0.0/15 + n and fd61:6762:6f78::/64 + n (n from 1); the relay maps
 * an intercepted connection to such an address back to its name.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static bool host_char(uint8_t c)
{
	return isalnum(c) || c == '-' || c == '_';
}

/**
 * ab_dns_parse_query() - Parse one DNS query
 * @msg:	The message (no TCP length prefix)
 * @len:	Its length
 * @q:		Result; q->have_id says whether an answer can carry the id
 * @why:	Result: the reason, when refused
 *
 * Return: 0 (AB_DNS_NOERROR) for a query to answer, else the rcode to
 * answer with (AB_DNS_FORMERR, AB_DNS_NOTIMP)
 */
int ab_dns_parse_query(const uint8_t *msg, size_t len,
		       struct ab_dns_query *q, const char **why)
{
	size_t p = AB_DNS_HEADER, n = 0;
	uint16_t flags;

	memset(q, 0, sizeof(*q));
	*why = NULL;
	if (len < AB_DNS_HEADER) {
		*why = "shorter than a DNS header";
		return AB_DNS_FORMERR;
	}
	q->id = get16(msg);
	q->have_id = true;
	flags = get16(msg + 2);
	q->rd = flags & 0x0100;
	if (flags & 0x8000) {
		*why = "a response, not a query";
		return AB_DNS_FORMERR;
	}
	if ((flags >> 11) & 0xf) {
		*why = "not a standard query (opcode)";
		return AB_DNS_NOTIMP;
	}
	if (get16(msg + 4) != 1 || get16(msg + 6) || get16(msg + 8) ||
	    get16(msg + 10) > 1) {
		*why = "not one question (or answer or authority records)";
		return AB_DNS_FORMERR;
	}
	for (;;) {
		uint8_t l;

		if (p >= len) {
			*why = "the name runs past the message";
			return AB_DNS_FORMERR;
		}
		l = msg[p++];
		if (!l)
			break;
		if (l & 0xc0) {
			*why = "a compressed or extended label in the question";
			return AB_DNS_FORMERR;
		}
		if (p + l > len) {
			*why = "the name runs past the message";
			return AB_DNS_FORMERR;
		}
		if (n + (n ? 1 : 0) + l > AB_DNS_MAX_NAME) {
			*why = "a name longer than 253 characters";
			return AB_DNS_FORMERR;
		}
		if (n)
			q->name[n++] = '.';
		for (uint8_t i = 0; i < l; i++) {
			uint8_t c = msg[p + i];

			if (!host_char(c)) {
				*why = "a name with a character hostnames "
				       "do not have";
				return AB_DNS_FORMERR;
			}
			q->name[n++] = (char)tolower(c);
		}
		p += l;
	}
	q->name[n] = '\0';
	if (p + 4 > len) {
		*why = "the question has no type or class";
		return AB_DNS_FORMERR;
	}
	q->qtype = get16(msg + p);
	q->qclass = get16(msg + p + 2);
	q->question_end = p + 4;
	return AB_DNS_NOERROR;
}

/**
 * ab_dns_answer() - Build the answer to a query
 * @msg:	The query as it came (its question is copied)
 * @q:		What ab_dns_parse_query() made of it
 * @rcode:	AB_DNS_*
 * @addr:	NOERROR with an A (4 bytes) or AAAA (16) question: the
 *		address to answer, or NULL for no record
 * @ttl:	Its time to live
 * @out:	Result
 * @cap:	Its size
 *
 * Return: the answer's length, or 0 if @q has no id or @cap is too small
 */
size_t ab_dns_answer(const uint8_t *msg, const struct ab_dns_query *q,
		     int rcode, const void *addr, uint32_t ttl, uint8_t *out,
		     size_t cap)
{
	size_t qlen = q->question_end ? q->question_end - AB_DNS_HEADER : 0;
	size_t alen = q->qtype == AB_DNS_TYPE_AAAA ? 16 : 4;
	size_t n = AB_DNS_HEADER + qlen;
	bool rr = addr && rcode == AB_DNS_NOERROR && q->question_end &&
		  (q->qtype == AB_DNS_TYPE_A || q->qtype == AB_DNS_TYPE_AAAA);

	if (!q->have_id || cap < n + (rr ? 12 + alen : 0))
		return 0;
	put16(out, q->id);
	/* QR, AA (ours is the only view), RD as asked, RA */
	put16(out + 2, (uint16_t)(0x8000 | 0x0400 | (q->rd ? 0x0100 : 0) |
				  0x0080 | (rcode & 0xf)));
	put16(out + 4, qlen ? 1 : 0);
	put16(out + 6, rr ? 1 : 0);
	put16(out + 8, 0);
	put16(out + 10, 0);
	memcpy(out + AB_DNS_HEADER, msg + AB_DNS_HEADER, qlen);
	if (!rr)
		return n;
	put16(out + n, 0xc000 | AB_DNS_HEADER);	/* the question's name */
	put16(out + n + 2, q->qtype);
	put16(out + n + 4, AB_DNS_CLASS_IN);
	put16(out + n + 6, (uint16_t)(ttl >> 16));
	put16(out + n + 8, (uint16_t)ttl);
	put16(out + n + 10, (uint16_t)alen);
	memcpy(out + n + 12, addr, alen);
	return n + 12 + alen;
}

/* ---- the fake addresses --------------------------------------------- */

#define FAKE4_BASE	0xc6120000u	/* 198.18.0.0/15 */
#define FAKE4_MASK	0xfffe0000u
#define HASH_SIZE	(AB_FAKEIP_MAX * 2)

static const uint8_t fake6_prefix[8] = { 0xfd, 0x61, 0x67, 0x62,
					 0x6f, 0x78, 0x00, 0x00 };

struct ab_fakeip {
	char *names[AB_FAKEIP_MAX];	/* index n-1: the n-th name */
	unsigned n;
	uint32_t hash[HASH_SIZE];	/* 0 empty, else an index + 1 */
};

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

/**
 * ab_fakeip_new() - An empty map
 *
 * Return: the map, or NULL out of memory
 */
struct ab_fakeip *ab_fakeip_new(void)
{
	return calloc(1, sizeof(struct ab_fakeip));
}

void ab_fakeip_free(struct ab_fakeip *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < m->n; i++)
		free(m->names[i]);
	free(m);
}

static void addrs_of(unsigned n, struct in_addr *v4, struct in6_addr *v6)
{
	v4->s_addr = htonl(FAKE4_BASE + n);
	memcpy(v6->s6_addr, fake6_prefix, 8);
	memset(v6->s6_addr + 8, 0, 4);
	v6->s6_addr[12] = (uint8_t)(n >> 24);
	v6->s6_addr[13] = (uint8_t)(n >> 16);
	v6->s6_addr[14] = (uint8_t)(n >> 8);
	v6->s6_addr[15] = (uint8_t)n;
}

/**
 * ab_fakeip_get() - The fake addresses of a name, made at its first ask
 * @m:		Map
 * @name:	Name, lower case
 * @v4:		Result
 * @v6:		Result
 *
 * Return: 0, or -1 when the map is full or out of memory
 */
int ab_fakeip_get(struct ab_fakeip *m, const char *name, struct in_addr *v4,
		  struct in6_addr *v6)
{
	uint32_t h = name_hash(name) % HASH_SIZE;

	while (m->hash[h]) {
		unsigned i = m->hash[h] - 1;

		if (!strcmp(m->names[i], name)) {
			addrs_of(i + 1, v4, v6);
			return 0;
		}
		h = (h + 1) % HASH_SIZE;
	}
	if (m->n == AB_FAKEIP_MAX || !(m->names[m->n] = strdup(name)))
		return -1;
	m->hash[h] = ++m->n;
	addrs_of(m->n, v4, v6);
	return 0;
}

bool ab_fakeip_is4(struct in_addr a)
{
	return (ntohl(a.s_addr) & FAKE4_MASK) == FAKE4_BASE;
}

bool ab_fakeip_is6(const struct in6_addr *a)
{
	return !memcmp(a->s6_addr, fake6_prefix, 8);
}

/**
 * ab_fakeip_name4() - The name a fake IPv4 address stands for
 * @m:		Map
 * @a:		Address
 *
 * Return: the name, or NULL if the session handed it out for none
 */
const char *ab_fakeip_name4(const struct ab_fakeip *m, struct in_addr a)
{
	uint32_t n = ntohl(a.s_addr) - FAKE4_BASE;

	if (!ab_fakeip_is4(a) || !n || n > m->n)
		return NULL;
	return m->names[n - 1];
}

/**
 * ab_fakeip_name6() - The name a fake IPv6 address stands for
 * @m:		Map
 * @a:		Address
 *
 * Return: the name, or NULL if the session handed it out for none
 */
const char *ab_fakeip_name6(const struct ab_fakeip *m,
			    const struct in6_addr *a)
{
	uint32_t n;

	if (!ab_fakeip_is6(a) || a->s6_addr[8] || a->s6_addr[9] ||
	    a->s6_addr[10] || a->s6_addr[11])
		return NULL;
	n = (uint32_t)a->s6_addr[12] << 24 | (uint32_t)a->s6_addr[13] << 16 |
	    (uint32_t)a->s6_addr[14] << 8 | a->s6_addr[15];
	if (!n || n > m->n)
		return NULL;
	return m->names[n - 1];
}
