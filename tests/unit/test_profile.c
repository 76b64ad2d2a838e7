// SPDX-License-Identifier: MIT
/* test_profile.c - the profile grammar and its tightening rules, on text in
 * memory (src/policy/profile_keys.c; no file, no ownership check). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "profile.h"

/* Parse @text into @p (after what it holds); return the error message */
static int parse(struct ab_profile *p, const char *name, const char *text,
		 bool enforced, struct ab_err *e)
{
	memset(e, 0, sizeof(*e));
	return ab_profile_parse_text(p, name, text, strlen(text), enforced, e);
}

static void refused(const char *text, const char *want)
{
	struct ab_profile p;
	struct ab_err e;

	memset(&p, 0, sizeof(p));
	if (parse(&p, "t.conf", text, false, &e) != -1)
		fail_msg("accepted: %s", text);
	if (!strstr(e.msg, want))
		fail_msg("'%s' lacks '%s'", e.msg, want);
	ab_profile_free(&p);
}

static void accepted(const char *text)
{
	struct ab_profile p;
	struct ab_err e;

	memset(&p, 0, sizeof(p));
	if (parse(&p, "t.conf", text, false, &e))
		fail_msg("refused: %s: %s", text, e.msg);
	ab_profile_free(&p);
}

static void values_kept_with_their_line(void **state)
{
	struct ab_profile p;
	struct ab_err e;

	memset(&p, 0, sizeof(p));
	assert_int_equal(parse(&p, "t.conf",
			       "# c\n[filesystem]\nwritable = $AGENTBOX_PROJECT\n"
			       "writable = ?~/.npm\nmissing = skip\n"
			       "readonly = ~/.bashrc\n[network]\nmax_conns = 9\n",
			       false, &e), 0);
	assert_int_equal(p.l[AB_P_WRITABLE].n, 2);
	/* the file's "missing" is the default of its path rules */
	assert_string_equal(p.l[AB_P_WRITABLE].v[0].value,
			    "?$AGENTBOX_PROJECT");
	assert_string_equal(p.l[AB_P_WRITABLE].v[1].value, "?~/.npm");
	assert_int_equal(p.l[AB_P_WRITABLE].v[1].at.line, 4);
	assert_string_equal(p.l[AB_P_READONLY].v[0].value, "?~/.bashrc");
	assert_string_equal(p.s[AB_P_MAX_CONNS].value, "9");
	assert_int_equal(p.s[AB_P_MAX_CONNS].at.line, 8);
	assert_string_equal(p.s[AB_P_MAX_CONNS].at.file, "t.conf");
	ab_profile_free(&p);
}

static void mistakes_named(void **state)
{
	refused("[filesystem]\nwritable = tmp\n",
		"t.conf:2: writable 'tmp': a path must be absolute");
	refused("[filesystem]\nwritable = /a/../b\n", "'..' is not allowed");
	refused("[filesystem]\nwriteable = /tmp\n",
		"unknown key 'writeable' in [filesystem] (did you mean "
		"'writable'?)");
	refused("[filsystem]\nwritable = /tmp\n", "did you mean [filesystem]");
	refused("[nowhere]\nx = 1\n", "(sections: [profile], [network], "
		"[egress], [audit], [filesystem], [unix], [env])");
	refused("writable = /tmp\n", "'writable' outside a section (sections: "
		"[profile], [network], [egress], [audit], [filesystem]");
	refused("[network]\nwritable = /tmp\n",
		"key 'writable' belongs in [filesystem], not [network]");
	refused("[network]\nmax_conns = 0\n", "expected a number from 1 to 65536");
	refused("[network]\nmax_conns = 12x\n", "expected a number");
	refused("[network]\nverbose = 1\nverbose = 2\n",
		"t.conf:3: duplicate key 'verbose' (first set at line 2)");
	refused("[audit]\nlog = everywhere\n",
		"log 'everywhere': expected 'file', 'syslog', 'both' or 'none'");
	refused("[filesystem]\nmissing = maybe\n",
		"expected 'skip' or 'stub'");
	refused("[egress]\nip_literals = sometimes\n", "expected 'no' or 'yes'");
	refused("[env]\nset = PATH\n", "expected NAME=VALUE");
	refused("[env]\nset = HTTP_PROXY=x\n", "agentbox's own");
	refused("[env]\nunset = 9X\n", "expected a variable name");
	refused("[network]\nupstream = ftp://x\n", "upstream");
	refused("[network]\nidentity_header = X Y\n", "header field name");
	refused("[network]\ncredentials = relative\n",
		"expected an absolute path or ~/PATH");
	refused("[filesystem]\nwritable =\n", "writable: empty value");
	refused("[profile]\ninclude = other\n", "include 'other': not allowed");
	refused("[filesystem\n", "not a 'key = value' line or a [section]");
	accepted("[profile]\ndescription =\n");
	accepted("[filesystem]\nwritable = ${TMPDIR}\nhide = !~/.ssh/\n"
		 "readonly = /etc/*.conf\n");
}

/* The enforced profile first, then a profile that may only tighten it */
static int after_enforced(const char *enforced, const char *text,
			  struct ab_err *e)
{
	struct ab_profile p;
	int rc;

	memset(&p, 0, sizeof(p));
	assert_int_equal(parse(&p, "corp.conf", enforced, true, e), 0);
	rc = parse(&p, "user.conf", text, false, e);
	ab_profile_free(&p);
	return rc;
}

static void tightening_only(void **state)
{
	static const char corp[] =
		"[network]\nupstream = http://proxy.corp:3128\nmax_conns = 64\n"
		"[egress]\nallow = *.corp.example\nip_literals = no\n"
		"[filesystem]\nwritable = $AGENTBOX_PROJECT\nwritable = /tmp/\n"
		"[unix]\nallow = /run/x.sock\n[env]\nunset = SECRET_*\n";
	struct ab_err e;

	/* writable roots: the enforced ones, or below them */
	assert_int_equal(after_enforced(corp, "[filesystem]\nwritable = "
					"$AGENTBOX_PROJECT\n", &e), 0);
	assert_int_equal(after_enforced(corp, "[filesystem]\nwritable = "
					"?/tmp/sub\n", &e), 0);
	assert_int_equal(after_enforced(corp, "[filesystem]\nwritable = "
					"$AGENTBOX_PROJECT/build\n", &e), 0);
	assert_int_equal(after_enforced(corp, "[filesystem]\nwritable = "
					"/tmpx\n", &e), -1);
	assert_non_null(strstr(e.msg, "user.conf:2: writable '/tmpx': the "
			       "enforced profile corp.conf allows only its "
			       "own list"));
	assert_int_equal(after_enforced(corp, "[filesystem]\nwritable = ~/\n",
					&e), -1);
	/* with no enforced roots, any root tightens */
	assert_int_equal(after_enforced("[network]\nmax_conns = 8\n",
					"[filesystem]\nwritable = ~/\n", &e), 0);
	/* equal, at most, subset */
	assert_int_equal(after_enforced(corp, "[network]\nupstream = "
					"http://other:1\n", &e), -1);
	assert_non_null(strstr(e.msg, "upstream: enforced as "
			       "'http://proxy.corp:3128' by corp.conf:2"));
	assert_int_equal(after_enforced(corp, "[network]\nmax_conns = 65\n",
					&e), -1);
	assert_non_null(strstr(e.msg, "allows at most 64"));
	assert_int_equal(after_enforced(corp, "[network]\nmax_conns = 8\n",
					&e), 0);
	assert_int_equal(after_enforced(corp, "[egress]\nip_literals = yes\n",
					&e), -1);
	assert_int_equal(after_enforced(corp, "[egress]\nallow = evil.test\n",
					&e), -1);
	assert_int_equal(after_enforced(corp, "[egress]\ndeny = x.corp."
					"example\n", &e), 0);
	assert_int_equal(after_enforced(corp, "[unix]\nallow = /run/y.sock\n",
					&e), -1);
	assert_non_null(strstr(e.msg, "does not allow this socket"));
	assert_int_equal(after_enforced("[env]\nunset = A\n", "[unix]\nallow ="
					" /run/y.sock\n", &e), -1);
	assert_int_equal(after_enforced(corp, "[env]\nset = SECRET_X=1\n", &e),
			 -1);
	assert_non_null(strstr(e.msg, "the enforced profile unsets SECRET_X"));
	assert_int_equal(after_enforced(corp, "[env]\nset = OTHER=1\n", &e),
			 0);
	/* a reserve may only grow */
	assert_int_equal(after_enforced("[audit]\nmin_free = 1G\n",
					"[audit]\nmin_free = 512M\n", &e), -1);
	assert_non_null(strstr(e.msg, "min_free 512M: the enforced profile "
			       "(corp.conf:2) asks for at least 1G"));
	assert_int_equal(after_enforced("[audit]\nmin_free = 1G\n",
					"[audit]\nmin_free = 2048M\n", &e), 0);
}

static void sizes(void **state)
{
	unsigned long long n;

	assert_int_equal(ab_parse_size("0", &n), 0);
	assert_true(n == 0);
	assert_int_equal(ab_parse_size("32M", &n), 0);
	assert_true(n == 32ULL << 20);
	assert_int_equal(ab_parse_size("3T", &n), 0);
	assert_true(n == 3ULL << 40);
	assert_int_equal(ab_parse_size("16777216T", &n), -1);	/* > 2^64 */
	assert_int_equal(ab_parse_size("1k", &n), -1);
	assert_int_equal(ab_parse_size("-1", &n), -1);
	assert_int_equal(ab_parse_size("1MB", &n), -1);
	assert_int_equal(ab_parse_size("", &n), -1);
}

/* Found by the fuzzer: a NUL byte, and the line number after a long line */
static void nul_and_long_lines(void **state)
{
	static const char nul[] = "[filesystem]\nwritable = /a\0b\n";
	struct ab_profile p;
	struct ab_err e;
	char text[1200];

	memset(&p, 0, sizeof(p));
	assert_int_equal(ab_profile_parse_text(&p, "t.conf", nul,
					       sizeof(nul) - 1, false, &e), -1);
	assert_non_null(strstr(e.msg, "t.conf:2: a NUL byte in the text"));
	ab_profile_free(&p);

	memset(&p, 0, sizeof(p));
	snprintf(text, sizeof(text), "[profile]\ndescription = %0900d\n"
		 "[filesystem]\nwritable = /tmp\n", 0);
	assert_int_equal(parse(&p, "t.conf", text, false, &e), 0);
	assert_int_equal(p.l[AB_P_WRITABLE].v[0].at.line, 4);
	ab_profile_free(&p);
}

static void key_names(void **state)
{
	assert_string_equal(ab_profile_key_name(1, AB_P_WRITABLE), "writable");
	assert_string_equal(ab_profile_key_name(0, AB_P_MAX_CONNS),
			    "max_conns");
	assert_string_equal(ab_profile_key_name(1, AB_P_ALLOW_UNIX), "allow");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(values_kept_with_their_line),
		cmocka_unit_test(mistakes_named),
		cmocka_unit_test(tightening_only),
		cmocka_unit_test(nul_and_long_lines),
		cmocka_unit_test(sizes),
		cmocka_unit_test(key_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
