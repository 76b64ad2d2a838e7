// SPDX-License-Identifier: MIT
/* test_sha256.c - SHA-256 (src/common/sha256.c) against FIPS 180-2's
 * examples (appendix B) and the empty message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sha256.h"

static void digest(const char *msg, size_t len, size_t step, char *hex)
{
	struct ab_sha256 c;

	ab_sha256_init(&c);
	for (size_t off = 0; off < len; off += step)
		ab_sha256_update(&c, msg + off, len - off < step ? len - off :
				 step);
	ab_sha256_hex(&c, hex);
}

static void standard_examples(void **state)
{
	static const char two[] =
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	char hex[AB_SHA256_HEX];

	(void)state;
	digest("", 0, 1, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
				 "27ae41e4649b934ca495991b7852b855");
	digest("abc", 3, 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
				 "b00361a396177a9cb410ff61f20015ad");
	/* 56 bytes: the length no longer fits the first block's padding */
	for (size_t step = 1; step <= sizeof(two); step++) {
		digest(two, sizeof(two) - 1, step, hex);
		assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039"
					 "a33ce45964ff2167f6ecedd419db06c1");
	}
}

static void a_million_a(void **state)
{
	static char a[1000000];
	char hex[AB_SHA256_HEX];

	(void)state;
	memset(a, 'a', sizeof(a));
	digest(a, sizeof(a), 4099, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67"
				 "f1809a48a497200e046d39ccc7112cd0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(standard_examples),
		cmocka_unit_test(a_million_a),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
