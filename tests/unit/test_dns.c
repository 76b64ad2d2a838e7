// SPDX-License-Identifier: MIT
/* test_dns.c - DNS queries, answers and fake addresses (src/relay/dns.c). */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns.h"

/* A query for @name (dotted), type @qtype, as glibc sends it (RD, EDNS
 * optional) */
static size_t make_query(uint8_t *m, const char *name, uint16_t qtype,
			 bool edns)
{
	size_t n = 12;
	const char *p = name;

	memcpy(m, "\xbe\xef\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		m[n++] = (uint8_t)l;
		memcpy(m + n, p, l);
		n += l;
		p += l + (dot ? 1 : 0);
	}
	m[n++] = 0;
	m[n++] = (uint8_t)(qtype >> 8); m[n++] = (uint8_t)qtype;
	m[n++] = 0; m[n++] = 1;
	if (edns) {
		m[11] = 1;
		memcpy(m + n, "\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00", 11);
		n += 11;
	}
	return n;
}

static void query_parsed(void **state)
{
	uint8_t m[600];
	struct ab_dns_query q;
	const char *why;
	size_t n = make_query(m, "Origin.Test", AB_DNS_TYPE_A, true);

	assert_int_equal(ab_dns_parse_query(m, n, &q, &why), AB_DNS_NOERROR);
	assert_string_equal(q.name, "origin.test");
	assert_int_equal(q.id, 0xbeef);
	assert_true(q.rd);
	assert_int_equal(q.qtype, AB_DNS_TYPE_A);
	assert_int_equal(q.qclass, AB_DNS_CLASS_IN);
	assert_int_equal(q.question_end, 12 + 13 + 4);
}

static void answers(void **state)
{
	uint8_t m[600], a[700];
	struct ab_dns_query q;
	struct in_addr v4 = { htonl(0xc6120001) };
	const char *why;
	size_t n = make_query(m, "origin.test", AB_DNS_TYPE_A, false), an;

	assert_int_equal(ab_dns_parse_query(m, n, &q, &why), 0);
	an = ab_dns_answer(m, &q, AB_DNS_NOERROR, &v4, 5, a, sizeof(a));
	assert_int_equal(an, n + 16);
	assert_memory_equal(a, "\xbe\xef\x85\x80\x00\x01\x00\x01\x00\x00\x00\x00",
			    12);
	assert_memory_equal(a + 12, m + 12, n - 12);	/* the question */
	assert_memory_equal(a + n, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x05"
			    "\x00\x04\xc6\x12\x00\x01", 16);
	/* NXDOMAIN: the question, no record */
	an = ab_dns_answer(m, &q, AB_DNS_NXDOMAIN, NULL, 0, a, sizeof(a));
	assert_int_equal(an, n);
	assert_int_equal(a[3] & 0xf, AB_DNS_NXDOMAIN);
	assert_int_equal(a[7], 0);
	/* too small a buffer: nothing */
	assert_int_equal(ab_dns_answer(m, &q, 0, &v4, 5, a, n), 0);
}

static void refused(void **state)
{
	uint8_t m[600];
	struct ab_dns_query q;
	const char *why;
	size_t n;

	memset(m, 0, sizeof(m));
	assert_int_equal(ab_dns_parse_query(m, 5, &q, &why), AB_DNS_FORMERR);
	assert_false(q.have_id);
	n = make_query(m, "a.test", AB_DNS_TYPE_A, false);
	m[2] |= 0x80;				/* a response */
	assert_int_equal(ab_dns_parse_query(m, n, &q, &why), AB_DNS_FORMERR);
	assert_true(q.have_id);
	m[2] = 0x28;				/* opcode 5: UPDATE */
	assert_int_equal(ab_dns_parse_query(m, n, &q, &why), AB_DNS_NOTIMP);
	n = make_query(m, "a.test", AB_DNS_TYPE_A, false);
	m[5] = 2;				/* two questions */
	assert_int_equal(ab_dns_parse_query(m, n, &q, &why), AB_DNS_FORMERR);
	n = make_query(m, "a.test", AB_DNS_TYPE_A, false);
	m[12] = 0xc0;				/* a pointer */
	assert_int_equal(ab_dns_parse_query(m, n, &q, &why), AB_DNS_FORMERR);
	n = make_query(m, "a.test", AB_DNS_TYPE_A, false);
	m[13] = 0;				/* a NUL in the name */
	assert_int_equal(ab_dns_parse_query(m, n, &q, &why), AB_DNS_FORMERR);
	n = make_query(m, "a.test", AB_DNS_TYPE_A, false);
	assert_int_equal(ab_dns_parse_query(m, n - 3, &q, &why),
			 AB_DNS_FORMERR);	/* cut in the type */
	m[12] = 60;				/* a label past the end */
	assert_int_equal(ab_dns_parse_query(m, n, &q, &why), AB_DNS_FORMERR);
	{
		char big[300];

		memset(big, 'a', sizeof(big));
		for (int i = 63; i < 299; i += 64)
			big[i] = '.';
		big[299] = '\0';
		n = make_query(m, big, AB_DNS_TYPE_A, false);
		assert_int_equal(ab_dns_parse_query(m, n, &q, &why),
				 AB_DNS_FORMERR);
	}
}

static void fake_addresses(void **state)
{
	struct ab_fakeip *f = ab_fakeip_new();
	struct in_addr a4, b4, c4;
	struct in6_addr a6, b6, c6;
	char buf[64];

	assert_non_null(f);
	assert_int_equal(ab_fakeip_get(f, "origin.test", &a4, &a6), 0);
	assert_int_equal(ab_fakeip_get(f, "other.test", &b4, &b6), 0);
	assert_int_equal(ab_fakeip_get(f, "origin.test", &c4, &c6), 0);
	assert_int_equal(a4.s_addr, c4.s_addr);	/* the same, every time */
	assert_memory_equal(&a6, &c6, 16);
	assert_int_not_equal(a4.s_addr, b4.s_addr);
	assert_string_equal(inet_ntop(AF_INET, &a4, buf, sizeof(buf)),
			    "198.18.0.1");
	assert_string_equal(inet_ntop(AF_INET6, &b6, buf, sizeof(buf)),
			    "fd61:6762:6f78::2");
	assert_true(ab_fakeip_is4(a4) && ab_fakeip_is6(&b6));
	assert_string_equal(ab_fakeip_name4(f, b4), "other.test");
	assert_string_equal(ab_fakeip_name6(f, &a6), "origin.test");
	/* handed out for no name, or not fake at all */
	c4.s_addr = htonl(0xc6120003);
	assert_null(ab_fakeip_name4(f, c4));
	c4.s_addr = htonl(0x7f000001);
	assert_false(ab_fakeip_is4(c4));
	assert_null(ab_fakeip_name4(f, c4));
	ab_fakeip_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(query_parsed),
		cmocka_unit_test(answers),
		cmocka_unit_test(refused),
		cmocka_unit_test(fake_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
