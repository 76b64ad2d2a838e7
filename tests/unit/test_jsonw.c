// SPDX-License-Identifier: MIT
/* test_jsonw.c - the audit log's JSON writer (src/audit/jsonw.c), checked
 * against jansson: its text always parses, a valid UTF-8 string comes back
 * as it was, anything else as U+FFFD, and only ASCII is written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "jsonw.h"

/* Write {"k": s} and read it back with jansson */
static char *roundtrip(const char *s, char *text, size_t size)
{
	struct ab_jw w;
	json_t *o;
	char *back;

	ab_jw_init(&w, text, size);
	ab_jw_str(&w, "k", s);
	assert_true(ab_jw_done(&w));
	for (size_t i = 0; i < w.len; i++)
		assert_true((unsigned char)text[i] >= 0x20 &&
			    (unsigned char)text[i] < 0x7f);	/* ASCII only */
	o = json_loads(text, 0, NULL);
	assert_non_null(o);
	back = strdup(json_string_value(json_object_get(o, "k")));
	json_decref(o);
	return back;
}

static void strings(void **state)
{
	static const char *const same[] = {
		"plain", "", "quote \" and \\ backslash", "tab\tnew\nline\r",
		"\x01\x1f\x7f", "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
		"\xef\xbf\xbf", "\xf4\x8f\xbf\xbf",
	};
	static const struct { const char *in, *out; } fixed[] = {
		{ "a\xff" "b", "a\xef\xbf\xbd" "b" },		/* stray byte */
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },	/* overlong */
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd" },	/* cut short */
		{ "\xf5\x80\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
				      "\xef\xbf\xbd" },		/* > U+10FFFF */
	};
	char text[512];

	for (size_t i = 0; i < sizeof(same) / sizeof(*same); i++) {
		char *b = roundtrip(same[i], text, sizeof(text));

		assert_string_equal(b, same[i]);
		free(b);
	}
	for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++) {
		char *b = roundtrip(fixed[i].in, text, sizeof(text));

		assert_string_equal(b, fixed[i].out);
		free(b);
	}
}

static void random_bytes_always_parse(void **state)
{
	char s[64], text[1024];

	srand(7);
	for (int n = 0; n < 100000; n++) {
		size_t len = (size_t)(rand() % 40);
		char *b;

		for (size_t i = 0; i < len; i++)
			s[i] = (char)(1 + rand() % 255);
		s[len] = '\0';
		b = roundtrip(s, text, sizeof(text));
		/* valid UTF-8 (as jansson judges it) comes back as it was */
		json_t *j = json_string(s);

		if (j)
			assert_string_equal(b, s);
		json_decref(j);
		free(b);
	}
}

static void structure_and_overflow(void **state)
{
	char text[256], small[24];
	struct ab_jw w;
	json_t *o;

	ab_jw_init(&w, text, sizeof(text));
	ab_jw_open(&w, "a");
	ab_jw_int(&w, "n", -42);
	ab_jw_list1(&w, "l", "x");
	ab_jw_close(&w);
	ab_jw_str(&w, "b", "y");
	assert_true(ab_jw_done(&w));
	assert_string_equal(text, "{\"a\":{\"n\":-42,\"l\":[\"x\"]},\"b\":\"y\"}");
	o = json_loads(text, 0, NULL);
	assert_non_null(o);
	json_decref(o);
	/* what does not fit is refused, never cut */
	ab_jw_init(&w, small, sizeof(small));
	ab_jw_str(&w, "key", "a value longer than the buffer");
	assert_false(ab_jw_done(&w));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(strings),
		cmocka_unit_test(random_bytes_always_parse),
		cmocka_unit_test(structure_and_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
