// SPDX-License-Identifier: MIT
/* test_tls.c - the ClientHello's server name (src/relay/tls.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tls.h"
#include "tls_hellos.h"

static enum ab_tls_result sni(const uint8_t *p, size_t len, char *name,
			      const char **why)
{
	return ab_tls_client_hello(p, len, name, 256, why);
}

/* Real clients: their names, in lower case; every prefix is "more" */
static void real_hellos(void **state)
{
	char name[256];
	const char *why;

	assert_int_equal(sni(hello_openssl, hello_openssl_len, name, &why),
			 AB_TLS_SNI);
	assert_string_equal(name, "allowed.test");
	assert_int_equal(sni(hello_curl, hello_curl_len, name, &why),
			 AB_TLS_SNI);
	assert_string_equal(name, "allowed.test");
	assert_int_equal(sni(hello_nosni, hello_nosni_len, name, &why),
			 AB_TLS_NO_SNI);
	for (size_t n = 0; n < hello_curl_len; n++)
		assert_int_equal(sni(hello_curl, n, name, &why), AB_TLS_MORE);
}

/* A hello split over records of one byte each is joined */
static void split_records(void **state)
{
	size_t body = hello_openssl_len - 5, n = 0;
	uint8_t *p = malloc(body * 6);
	char name[256];
	const char *why;

	for (size_t i = 0; i < body; i++) {
		memcpy(p + n, "\x16\x03\x01\x00\x01", 5);
		p[n + 5] = hello_openssl[5 + i];
		n += 6;
	}
	assert_int_equal(sni(p, n, name, &why), AB_TLS_SNI);
	assert_string_equal(name, "allowed.test");
	free(p);
}

/* A ClientHello made here: one record, extensions as given */
static size_t make_hello(uint8_t *out, const uint8_t *ext, size_t ext_len)
{
	uint8_t body[1024];
	size_t n = 0;

	body[n++] = 3; body[n++] = 3;			/* TLS 1.2 */
	memset(body + n, 0x11, 32); n += 32;		/* random */
	body[n++] = 0;					/* session id */
	body[n++] = 0; body[n++] = 2; body[n++] = 0x13; body[n++] = 1;
	body[n++] = 1; body[n++] = 0;			/* null compression */
	body[n++] = (uint8_t)(ext_len >> 8); body[n++] = (uint8_t)ext_len;
	memcpy(body + n, ext, ext_len); n += ext_len;
	out[0] = 22; out[1] = 3; out[2] = 1;
	out[3] = (uint8_t)((n + 4) >> 8); out[4] = (uint8_t)(n + 4);
	out[5] = 1; out[6] = 0; out[7] = (uint8_t)(n >> 8); out[8] = (uint8_t)n;
	memcpy(out + 9, body, n);
	return n + 9;
}

#define SNI_EXT(len_hi, len_lo, list_hi, list_lo, name_hi, name_lo) \
	0, 0, len_hi, len_lo, list_hi, list_lo, 0, name_hi, name_lo

static void refused(void **state)
{
	static const uint8_t two[] = {
		SNI_EXT(0, 8, 0, 6, 0, 3), 'a', '.', 'b',
		SNI_EXT(0, 8, 0, 6, 0, 3), 'c', '.', 'd' };
	static const uint8_t twice_in_list[] = {
		SNI_EXT(0, 14, 0, 12, 0, 3), 'a', '.', 'b', 0, 0, 3, 'c', '.',
		'd' };
	static const uint8_t nul[] = { SNI_EXT(0, 8, 0, 6, 0, 3), 'a', 0, 'b' };
	static const uint8_t dots[] = { SNI_EXT(0, 8, 0, 6, 0, 3), 'a', '.',
					'.' };
	static const uint8_t overlong[] = { SNI_EXT(0, 8, 0, 6, 0, 9), 'a',
					    '.', 'b' };
	static const uint8_t upper[] = { SNI_EXT(0, 8, 0, 6, 0, 3), 'A', '.',
					 'B' };
	uint8_t h[1200];
	char name[256];
	const char *why;
	size_t n;

	n = make_hello(h, upper, sizeof(upper));
	assert_int_equal(sni(h, n, name, &why), AB_TLS_SNI);
	assert_string_equal(name, "a.b");
	n = make_hello(h, two, sizeof(two));
	assert_int_equal(sni(h, n, name, &why), AB_TLS_BAD);
	assert_non_null(strstr(why, "two server_name"));
	n = make_hello(h, twice_in_list, sizeof(twice_in_list));
	assert_int_equal(sni(h, n, name, &why), AB_TLS_BAD);
	n = make_hello(h, nul, sizeof(nul));
	assert_int_equal(sni(h, n, name, &why), AB_TLS_BAD);
	n = make_hello(h, dots, sizeof(dots));
	assert_int_equal(sni(h, n, name, &why), AB_TLS_BAD);
	n = make_hello(h, overlong, sizeof(overlong));
	assert_int_equal(sni(h, n, name, &why), AB_TLS_BAD);
	/* not TLS at all: an HTTP request, an SSH banner */
	assert_int_equal(sni((const uint8_t *)"GET / HTTP/1.1\r\n", 16, name,
			     &why), AB_TLS_BAD);
	assert_int_equal(sni((const uint8_t *)"S", 1, name, &why), AB_TLS_BAD);
	/* a record that says it is longer than TLS allows */
	assert_int_equal(sni((const uint8_t *)"\x16\x03\x01\x48\x01", 5, name,
			     &why), AB_TLS_BAD);
	/* a handshake that is not a ClientHello */
	assert_int_equal(sni((const uint8_t *)"\x16\x03\x01\x00\x04\x02\x00\x00"
			     "\x00", 9, name, &why), AB_TLS_BAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(real_hellos),
		cmocka_unit_test(split_records),
		cmocka_unit_test(refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
