// SPDX-License-Identifier: MIT
/* test_http.c - request head parsing (src/http.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http.h"

static enum ab_head_status parse(const char *s, struct ab_req *r)
{
	return ab_http_parse_head(s, strlen(s), r);
}

static void connect_authority(void **state)
{
	struct ab_req r;

	(void)state;
	assert_int_equal(parse("CONNECT example.org:443 HTTP/1.1\r\n"
			       "Host: example.org:443\r\n\r\n", &r),
			 AB_HEAD_OK);
	assert_int_equal(r.kind, AB_REQ_CONNECT);
	assert_string_equal(r.host, "example.org");
	assert_int_equal(r.port, 443);
	assert_int_equal(r.head_len, strlen("CONNECT example.org:443 HTTP/1.1"
					    "\r\nHost: example.org:443\r\n\r\n"));
}

static void connect_ipv6_and_case(void **state)
{
	struct ab_req r;

	(void)state;
	assert_int_equal(parse("CONNECT [2001:DB8::1]:8443 HTTP/1.1\r\n\r\n",
			       &r), AB_HEAD_OK);
	assert_string_equal(r.host, "2001:db8::1");
	assert_int_equal(r.port, 8443);
	assert_int_equal(parse("CONNECT Example.ORG:443 HTTP/1.0\r\n\r\n", &r),
			 AB_HEAD_OK);
	assert_string_equal(r.host, "example.org");
}

static void absolute_form(void **state)
{
	struct ab_req r;

	(void)state;
	assert_int_equal(parse("GET http://example.org/a?b HTTP/1.1\r\n"
			       "Host: example.org\r\n\r\n", &r), AB_HEAD_OK);
	assert_int_equal(r.kind, AB_REQ_ABSOLUTE);
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.scheme, "http");
	assert_string_equal(r.host, "example.org");
	assert_int_equal(r.port, 80);
	assert_int_equal(parse("POST http://10.0.0.1:8080 HTTP/1.1\r\n\r\n",
			       &r), AB_HEAD_OK);
	assert_string_equal(r.host, "10.0.0.1");
	assert_int_equal(r.port, 8080);
}

static void bare_lf_accepted(void **state)
{
	struct ab_req r;

	(void)state;
	assert_int_equal(parse("CONNECT a.b:1 HTTP/1.1\nHost: a.b\n\n", &r),
			 AB_HEAD_OK);
}

static void incomplete(void **state)
{
	struct ab_req r;

	(void)state;
	assert_int_equal(parse("CONNECT a.b:443 HTTP/1.1\r\nHost: a", &r),
			 AB_HEAD_INCOMPLETE);
	assert_int_equal(parse("", &r), AB_HEAD_INCOMPLETE);
	assert_int_equal(parse("GE", &r), AB_HEAD_INCOMPLETE);
}

static void garbage_refused_early(void **state)
{
	struct ab_req r;

	(void)state;
	/* a TLS ClientHello sent to the proxy port, without CONNECT */
	assert_int_equal(ab_http_parse_head("\x16\x03\x01\x02\x00", 5, &r),
			 AB_HEAD_BAD);
}

static void malformed(void **state)
{
	static const char *const bad[] = {
		"GET /path HTTP/1.1\r\n\r\n",			/* origin-form */
		"CONNECT example.org HTTP/1.1\r\n\r\n",	/* no port */
		"CONNECT example.org:0 HTTP/1.1\r\n\r\n",
		"CONNECT example.org:65536 HTTP/1.1\r\n\r\n",
		"CONNECT exa mple.org:443 HTTP/1.1\r\n\r\n",
		"CONNECT example.org:443 HTTP/2.0\r\n\r\n",
		"CONNECT example.org:443\r\n\r\n",
		"GET http://user:pw@example.org/ HTTP/1.1\r\n\r\n",
		"GET https://example.org/ HTTP/1.1\r\n\r\n",
		"GET http:///x HTTP/1.1\r\n\r\n",
		"CONNECT a.b:443 HTTP/1.1\r\nHost : a\r\n\r\n",
		"CONNECT a.b:443 HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
		"CONNECT a.b:443 HTTP/1.1\r\nX: a\rb\r\n\r\n",
		"CONNECT a.b:443 HTTP/1.1\r\nnocolon\r\n\r\n",
		"CONNECT [::1:443 HTTP/1.1\r\n\r\n",
		"\r\n\r\n",
		"G(T http://a/ HTTP/1.1\r\n\r\n",
	};
	struct ab_req r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum ab_head_status st = parse(bad[i], &r);

		if (st != AB_HEAD_BAD)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(r.reason);
	}
}

static void nul_byte(void **state)
{
	static const char h[] = "CONNECT a.b:443 HTTP/1.1\r\nX: a\0b\r\n\r\n";
	struct ab_req r;

	(void)state;
	assert_int_equal(ab_http_parse_head(h, sizeof(h) - 1, &r),
			 AB_HEAD_BAD);
}

static void too_large(void **state)
{
	static char big[AB_HEAD_MAX + 100];
	struct ab_req r;

	(void)state;
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET http://a/ HTTP/1.1\r\nX: ", 26);
	assert_int_equal(ab_http_parse_head(big, sizeof(big), &r),
			 AB_HEAD_TOO_LARGE);
	assert_int_equal(ab_http_parse_head(big, AB_HEAD_MAX - 1, &r),
			 AB_HEAD_INCOMPLETE);
}

static void trailing_body_not_counted(void **state)
{
	static const char h[] = "CONNECT a.b:443 HTTP/1.1\r\n\r\n\x16\x03\x01";
	struct ab_req r;

	(void)state;
	assert_int_equal(ab_http_parse_head(h, sizeof(h) - 1, &r), AB_HEAD_OK);
	assert_int_equal(r.head_len, sizeof(h) - 1 - 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(connect_authority),
		cmocka_unit_test(connect_ipv6_and_case),
		cmocka_unit_test(absolute_form),
		cmocka_unit_test(bare_lf_accepted),
		cmocka_unit_test(incomplete),
		cmocka_unit_test(garbage_refused_early),
		cmocka_unit_test(malformed),
		cmocka_unit_test(nul_byte),
		cmocka_unit_test(too_large),
		cmocka_unit_test(trailing_body_not_counted),
	};

	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
