/* SPDX-License-Identifier: MIT */
/* dns.h - the sandbox's DNS: one query parsed, one answer built (pure
 * code, no I/O), and the session's map of fake addresses.
 *
 * Inside the sandbox, resolv.conf names the gateway with "options use-vc":
 * glibc asks over TCP (UDP stays refused).  The relay answers A and AAAA
 * queries from a per-session map of fake addresses (198.18.0.0/15 and a
 * ULA /64), so that a connection to such an address is known by its name;
 * the query itself never goes anywhere.
 */
#ifndef AB_DNS_H
#define AB_DNS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AB_DNS_HEADER		12
#define AB_DNS_MAX_NAME		253	/* dotted, without the last dot */
#define AB_DNS_MAX_MSG		65535	/* a TCP message, without its length */

#define AB_DNS_TYPE_A		1
#define AB_DNS_TYPE_AAAA	28
#define AB_DNS_CLASS_IN		1

#define AB_DNS_NOERROR		0
#define AB_DNS_FORMERR		1
#define AB_DNS_SERVFAIL		2
#define AB_DNS_NXDOMAIN		3
#define AB_DNS_NOTIMP		4
#define AB_DNS_REFUSED		5

struct ab_dns_query {
	uint16_t id;
	bool rd;			/* recursion desired, echoed */
	bool have_id;			/* the header was whole */
	char name[AB_DNS_MAX_NAME + 1];	/* lower case, no trailing dot */
	uint16_t qtype, qclass;
	size_t question_end;		/* offset just past the question */
};

int ab_dns_parse_query(const uint8_t *msg, size_t len,
		       struct ab_dns_query *q, const char **why);
size_t ab_dns_answer(const uint8_t *msg, const struct ab_dns_query *q,
		     int rcode, const void *addr, uint32_t ttl, uint8_t *out,
		     size_t cap);

/* The session's fake addresses: a name gets one IPv4 and one IPv6
 * address, the same for the session's whole life */
#define AB_FAKEIP_MAX		65536

struct ab_fakeip;

struct ab_fakeip *ab_fakeip_new(void);
void ab_fakeip_free(struct ab_fakeip *m);
int ab_fakeip_get(struct ab_fakeip *m, const char *name, struct in_addr *v4,
		  struct in6_addr *v6);
const char *ab_fakeip_name4(const struct ab_fakeip *m, struct in_addr a);
const char *ab_fakeip_name6(const struct ab_fakeip *m,
			    const struct in6_addr *a);
bool ab_fakeip_is4(struct in_addr a);
bool ab_fakeip_is6(const struct in6_addr *a);

#endif /* AB_DNS_H */
