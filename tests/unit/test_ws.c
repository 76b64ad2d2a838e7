// SPDX-License-Identifier: MIT
/* test_ws.c - the WebSocket opening handshake (src/relay/ws.c): the upgrade
 * request, and the checks of the bridge's answer (RFC 6455 section 4.1),
 * with RFC 6455's own example key and accept value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ws.h"

#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="	/* RFC 6455 1.3 */

static enum ab_head_status answer(const char *text, char *why,
				  struct ab_resp *r)
{
	return ab_ws_answer(text, strlen(text), ACCEPT, r, why, 300);
}

static void request(void **state)
{
	struct ab_ws_req q = { .host = "ingress.corp:443", .path = "/ab",
			       .key = "dGhlIHNhbXBsZSBub25jZQ==",
			       .token = "t0k.en", .agent = "agentbox/1" };
	char buf[1024];
	long n;

	(void)state;
	n = ab_ws_request(&q, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(buf));
	assert_non_null(strstr(buf, "GET /ab HTTP/1.1\r\nHost: ingress.corp:443\r\n"));
	assert_non_null(strstr(buf, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"));
	assert_non_null(strstr(buf, "\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
	assert_non_null(strstr(buf, "\r\nSec-WebSocket-Version: 13\r\n"));
	assert_non_null(strstr(buf, "\r\nAuthorization: Bearer t0k.en\r\n"));
	assert_true(n > 4 && !strcmp(buf + n - 4, "\r\n\r\n"));
	q.token = NULL;
	n = ab_ws_request(&q, buf, sizeof(buf));
	assert_null(strstr(buf, "Authorization"));
	assert_int_equal(ab_ws_request(&q, buf, 40), -1);	/* too small */
}

static void good_answer(void **state)
{
	const char *ok = "HTTP/1.1 101 Switching Protocols\r\n"
			 "upgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
			 "Sec-WebSocket-Accept: " ACCEPT "\r\n"
			 "Sec-WebSocket-Protocol: binary\r\n\r\n\x82\x01x";
	struct ab_resp r;
	char why[300];

	(void)state;
	assert_int_equal(answer(ok, why, &r), AB_HEAD_OK);
	assert_int_equal(r.head_len, strlen(ok) - 3);	/* the frame follows */
	/* not yet whole */
	assert_int_equal(ab_ws_answer(ok, 40, ACCEPT, &r, why, sizeof(why)),
			 AB_HEAD_INCOMPLETE);
}

static void refused_and_bad_answers(void **state)
{
	static const struct { const char *text, *why; } cases[] = {
		{ "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n",
		  "the upgrade was refused: 401 Unauthorized" },
		{ "HTTP/1.1 502 Bad Gateway\r\n\r\n",
		  "refused: 502 Bad Gateway" },
		{ "HTTP/1.1 101 OK\r\nConnection: upgrade\r\n"
		  "Sec-WebSocket-Accept: " ACCEPT "\r\n\r\n",
		  "lacks Upgrade: websocket" },
		{ "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n"
		  "Sec-WebSocket-Accept: " ACCEPT "\r\n\r\n",
		  "lacks Connection: upgrade" },
		{ "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
		  "Sec-WebSocket-Accept: AAAAPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
		  "a wrong Sec-WebSocket-Accept" },
		{ "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
		  "no Sec-WebSocket-Accept" },
		{ "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
		  "Sec-WebSocket-Accept: " ACCEPT "\r\n"
		  "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
		  "extension that was not offered" },
		{ "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
		  "Sec-WebSocket-Accept: " ACCEPT "\r\n"
		  "Sec-WebSocket-Protocol: base64\r\n\r\n",
		  "subprotocol other than binary" },
		{ "SSH-2.0-OpenSSH_9.2\r\n\r\n", "not HTTP" },
		{ "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nBad\x01Field: x\r\n\r\n",
		  "not HTTP" },
	};
	struct ab_resp r;
	char why[300];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = '\0';
		if (answer(cases[i].text, why, &r) != AB_HEAD_BAD)
			fail_msg("case %zu accepted", i);
		if (!strstr(why, cases[i].why))
			fail_msg("case %zu: '%s' lacks '%s'", i, why,
				 cases[i].why);
	}
}

static void tokens_and_paths(void **state)
{
	(void)state;
	assert_true(ab_ws_token_ok("abc-DEF_0.9~+/=="));
	assert_false(ab_ws_token_ok(""));
	assert_false(ab_ws_token_ok("a b"));
	assert_false(ab_ws_token_ok("=abc"));
	assert_false(ab_ws_token_ok("ab=c"));
	assert_false(ab_ws_token_ok("ab\"c"));
	assert_true(ab_ws_path_ok("/"));
	assert_true(ab_ws_path_ok("/a/b?c=d&e"));
	assert_false(ab_ws_path_ok("a"));
	assert_false(ab_ws_path_ok("/a b"));
	assert_false(ab_ws_path_ok("/a\r\nX: y"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(request),
		cmocka_unit_test(good_answer),
		cmocka_unit_test(refused_and_bad_answers),
		cmocka_unit_test(tokens_and_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
