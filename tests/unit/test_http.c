// SPDX-License-Identifier: MIT
/* test_http.c - request head parsing (src/relay/http.c). */
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


static void smuggling_refused(void **state)
{
	static const char *const bad[] = {
		"POST http://a/ HTTP/1.1\r\nContent-Length: 5\r\n"
		"Transfer-Encoding: chunked\r\n\r\n",
		"POST http://a/ HTTP/1.1\r\nContent-Length: 5\r\n"
		"Content-Length: 6\r\n\r\n",
		"POST http://a/ HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n",
		"POST http://a/ HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
		"POST http://a/ HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
		"POST http://a/ HTTP/1.1\r\nTransfer-Encoding: gzip, chunked"
		"\r\n\r\n",
		"POST http://a/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		"Transfer-Encoding: chunked\r\n\r\n",
		"POST http://a/ HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n",
		"POST http://a/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST http://a/ HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n",
		"CONNECT a:1 HTTP/1.1\r\nContent-Length: 3\r\n\r\n",
		"GET http://a/#frag HTTP/1.1\r\n\r\n",
	};
	struct ab_req r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], &r) != AB_HEAD_BAD)
			fail_msg("accepted: %s", bad[i]);
}

static void request_framing(void **state)
{
	struct ab_req r;

	(void)state;
	assert_int_equal(parse("POST http://a/ HTTP/1.1\r\nContent-Length: 5"
			       "\r\ncontent-length: 5\r\n\r\n", &r), AB_HEAD_OK);
	assert_int_equal(r.content_length, 5);
	assert_false(r.close);
	assert_int_equal(parse("POST http://a/ HTTP/1.1\r\nTransfer-Encoding:"
			       " Chunked \r\nConnection: close\r\n\r\n", &r),
			 AB_HEAD_OK);
	assert_true(r.chunked);
	assert_true(r.close);
	assert_int_equal(r.content_length, -1);
	assert_int_equal(parse("GET http://a/ HTTP/1.0\r\n\r\n", &r),
			 AB_HEAD_OK);
	assert_true(r.close);
	assert_int_equal(parse("GET http://a/ HTTP/1.0\r\nConnection: "
			       "keep-alive\r\n\r\n", &r), AB_HEAD_OK);
	assert_false(r.close);
}

static void response_heads(void **state)
{
	struct ab_req q;
	struct ab_resp r;
	const char *h;

	(void)state;
	assert_int_equal(parse("GET http://a/ HTTP/1.1\r\n\r\n", &q),
			 AB_HEAD_OK);
	h = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nbody";
	assert_int_equal(ab_http_parse_resp(h, strlen(h), &r), AB_HEAD_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.head_len, strlen(h) - 4);
	assert_int_equal(ab_http_resp_body(&q, &r), 12);
	h = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	assert_int_equal(ab_http_parse_resp(h, strlen(h), &r), AB_HEAD_OK);
	assert_int_equal(ab_http_resp_body(&q, &r), AB_BODY_CHUNKED);
	assert_false(r.close);
	h = "HTTP/1.0 200 OK\r\n\r\n";
	assert_int_equal(ab_http_parse_resp(h, strlen(h), &r), AB_HEAD_OK);
	assert_int_equal(ab_http_resp_body(&q, &r), AB_BODY_TO_EOF);
	assert_true(r.close);
	h = "HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n";
	assert_int_equal(ab_http_parse_resp(h, strlen(h), &r), AB_HEAD_OK);
	assert_int_equal(ab_http_resp_body(&q, &r), AB_BODY_NONE);
	h = "HTTP/1.1 100 Continue\r\n\r\n";
	assert_int_equal(ab_http_parse_resp(h, strlen(h), &r), AB_HEAD_OK);
	assert_int_equal(r.status, 100);
	h = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n";
	assert_int_equal(ab_http_parse_resp(h, strlen(h), &r), AB_HEAD_OK);
	assert_int_equal(ab_http_resp_body(&q, &r), AB_BODY_CHUNKED);
	assert_true(r.close);
	h = "SSH-2.0-OpenSSH\r\n";
	assert_int_equal(ab_http_parse_resp(h, strlen(h), &r), AB_HEAD_BAD);
	h = "HTTP/1.1 2000 OK\r\n\r\n";
	assert_int_equal(ab_http_parse_resp(h, strlen(h), &r), AB_HEAD_BAD);
	assert_int_equal(parse("HEAD http://a/ HTTP/1.1\r\n\r\n", &q),
			 AB_HEAD_OK);
	h = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n";
	assert_int_equal(ab_http_parse_resp(h, strlen(h), &r), AB_HEAD_OK);
	assert_int_equal(ab_http_resp_body(&q, &r), AB_BODY_NONE);
}

static void chunked_bodies(void **state)
{
	static const char body[] = "4;ext=1\r\nWiki\r\n5\r\npedia\r\n"
				   "0\r\nX-T: 1\r\n\r\nNEXT";
	struct ab_chunked c;
	const char *why;
	size_t n;

	(void)state;
	memset(&c, 0, sizeof(c));
	n = ab_chunked_feed(&c, body, sizeof(body) - 1, &why);
	assert_null(why);
	assert_true(c.done);
	assert_int_equal(n, sizeof(body) - 1 - 4);
	/* byte by byte gives the same answer */
	memset(&c, 0, sizeof(c));
	n = 0;
	for (size_t i = 0; i < sizeof(body) - 1 && !c.done; i++)
		n += ab_chunked_feed(&c, body + i, 1, &why);
	assert_true(c.done);
	assert_int_equal(n, sizeof(body) - 1 - 4);

	static const char *const bad[] = {
		"x\r\n", "4\r\nWikiX", "4\nWiki\r\n", "\r\n",
		"1234567890abcdef0\r\n", "4\r\nWiki\r\n0\r\n\x01\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&c, 0, sizeof(c));
		ab_chunked_feed(&c, bad[i], strlen(bad[i]), &why);
		if (!why)
			fail_msg("accepted: %s", bad[i]);
	}
}

static void forward_head(void **state)
{
	static const char h[] =
		"GET http://Example.org:8080?q=1 HTTP/1.1\r\n"
		"Host: evil.example\r\n"
		"Proxy-Authorization: Basic Zm9vOmJhcg==\r\n"
		"Connection: keep-alive, X-Secret\r\n"
		"X-Secret: 1\r\n"
		"X-Agentbox-Session: forged\r\n"
		"X-Forwarded-For: 10.9.9.9\r\n"
		"Forwarded: for=10.9.9.9\r\n"
		"Via: 1.1 forged\r\n"
		"Accept: */*\n\r\n";
	struct ab_fwd f = { .origin_form = 1, .strip = "x-agentbox-session",
			    .extra = "X-Added: yes\r\n" };
	struct ab_req r;
	char out[1024];
	long n;

	(void)state;
	assert_int_equal(parse(h, &r), AB_HEAD_OK);
	n = ab_http_forward_head(h, &r, &f, out, sizeof(out));
	assert_true(n > 0);
	out[n] = '\0';
	assert_string_equal(out, "GET /?q=1 HTTP/1.1\r\n"
			    "Host: example.org:8080\r\n"
			    "X-Forwarded-For: 10.9.9.9\r\n"
			    "Forwarded: for=10.9.9.9\r\n"
			    "Via: 1.1 forged\r\n"
			    "Accept: */*\r\n"
			    "X-Added: yes\r\n\r\n");
	f.origin_form = 0;
	f.strip_forwarding = 1;
	n = ab_http_forward_head(h, &r, &f, out, sizeof(out));
	assert_true(n > 0);
	out[n] = '\0';
	assert_string_equal(out, "GET http://Example.org:8080?q=1 HTTP/1.1\r\n"
			    "Host: evil.example\r\n"
			    "Accept: */*\r\n"
			    "X-Added: yes\r\n\r\n");
	assert_int_equal(ab_http_forward_head(h, &r, &f, out, 20), -1);
}

/* The host a tunnel's first request names (the check of a tunnel's first
 * bytes in tunnel.c) */
static void first_host(void **state)
{
	char h[256];
#define FH(s) ab_http_first_host(s, strlen(s), h, sizeof(h))

	assert_int_equal(FH("GET /x HTTP/1.1\r\nHost: A.test:8080\r\n\r\n"),
			 AB_FIRST_HOST);
	assert_string_equal(h, "a.test");
	assert_int_equal(FH("GET http://b.test/x HTTP/1.1\r\n\r\n"),
			 AB_FIRST_HOST);
	assert_string_equal(h, "b.test");
	assert_int_equal(FH("GET /x HTTP/1.0\r\n\r\n"), AB_FIRST_NO_HOST);
	assert_int_equal(FH("GE"), AB_FIRST_MORE);
	assert_int_equal(FH("GET /x HTTP/1.1\r\nHost: a.test\r\n"),
			 AB_FIRST_MORE);
	assert_int_equal(FH("SSH-2.0-OpenSSH\r\n"), AB_FIRST_NOT_HTTP);
	assert_int_equal(FH("\x16\x03\x01"), AB_FIRST_NOT_HTTP);
	/* two Hosts, a Host and a target that disagree, a bad Host */
	assert_int_equal(FH("GET /x HTTP/1.1\r\nHost: a.test\r\nhost: b.test"
			    "\r\n\r\n"), AB_FIRST_BAD);
	assert_int_equal(FH("GET http://b.test/ HTTP/1.1\r\nHost: a.test\r\n"
			    "\r\n"), AB_FIRST_BAD);
	assert_int_equal(FH("GET http://u@b.test/ HTTP/1.1\r\n\r\n"),
			 AB_FIRST_BAD);
	assert_int_equal(FH("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
			 AB_FIRST_BAD);
#undef FH
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_host),
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
		cmocka_unit_test(smuggling_refused),
		cmocka_unit_test(request_framing),
		cmocka_unit_test(response_heads),
		cmocka_unit_test(chunked_bodies),
		cmocka_unit_test(forward_head),
	};

	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
