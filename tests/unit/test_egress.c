// SPDX-License-Identifier: MIT
/* test_egress.c - the built-in proxy's policy (src/policy/egress.c). */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "egress.h"

static struct ab_egress g;

static int setup(void **state)
{
	struct ab_err e = { 0 };

	(void)state;
	ab_egress_defaults(&g);
	assert_int_equal(ab_egress_add(&g, "allow", "*.Example.com.", "f:1",
				       &e), 0);
	assert_int_equal(ab_egress_add(&g, "allow", "api.test", "f:2", &e), 0);
	assert_int_equal(ab_egress_add(&g, "deny", "bad.example.com", "f:3",
				       &e), 0);
	return 0;
}

static int name(const char *host, unsigned port, char *why)
{
	return ab_egress_name(&g, host, port, why, 256);
}

static void names(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(name("www.example.com", 443, why), 0);
	assert_int_equal(name("a.b.example.com", 80, why), 0);
	assert_int_equal(name("api.test", 443, why), 0);
	assert_int_equal(name("api.test.", 443, why), 0);
	/* *.domain is below the domain only */
	assert_int_equal(name("example.com", 443, why), -1);
	assert_string_equal(why, "example.com matches no 'allow' pattern");
	assert_int_equal(name("evilexample.com", 443, why), -1);
	assert_int_equal(name("sub.api.test", 443, why), -1);
	assert_int_equal(name("bad.example.com", 443, why), -1);
	assert_string_equal(why, "bad.example.com is denied by "
			    "'deny = bad.example.com' (f:3)");
	assert_int_equal(name("www.example.com", 22, why), -1);
	assert_string_equal(why, "port 22 is not an allowed port (ports)");
	assert_int_equal(name("10.0.0.1", 443, why), -1);
	assert_int_equal(name("::1", 443, why), -1);
}

/* A lookup is checked on the name alone: the port is not known yet */
static void lookups(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(ab_egress_host(&g, "www.example.com", why, 256), 0);
	assert_int_equal(ab_egress_host(&g, "api.test.", why, 256), 0);
	assert_int_equal(ab_egress_host(&g, "bad.example.com", why, 256), -1);
	assert_string_equal(why, "bad.example.com is denied by "
			    "'deny = bad.example.com' (f:3)");
	assert_int_equal(ab_egress_host(&g, "other.test", why, 256), -1);
	assert_string_equal(why, "other.test matches no 'allow' pattern");
	assert_int_equal(ab_egress_host(&g, "10.0.0.1", why, 256), -1);
	assert_string_equal(why, "10.0.0.1 is an IP address, and IP literals "
			    "are not allowed (ip_literals)");
}

static int addr(const char *text, char *why)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, text, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		inet_pton(AF_INET, text, &s4->sin_addr);
	}
	return ab_egress_addr(&g, (struct sockaddr *)&ss, why, 256);
}

static void addresses(void **state)
{
	static const char *const refused[] = {
		"127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1",
		"172.31.255.255", "192.168.1.1", "169.254.169.254",
		"169.254.1.1", "100.64.0.1", "0.0.0.0", "224.0.0.1",
		"255.255.255.255", "::1", "::", "fe80::1", "fd00::1",
		"ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
		"64:ff9b::a9fe:a9fe", "2001:db8::1",
	};
	static const char *const allowed[] = {
		"93.184.216.34", "172.32.0.1", "100.128.0.1", "8.8.8.8",
		"2606:4700::1111", "::ffff:8.8.8.8",
	};
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (addr(refused[i], why) != -1)
			fail_msg("allowed: %s", refused[i]);
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (addr(allowed[i], why) != 0)
			fail_msg("refused: %s (%s)", allowed[i], why);
	assert_int_equal(addr("169.254.169.254", why), -1);
	assert_string_equal(why, "169.254.169.254 is the cloud metadata "
			    "service (allow_net)");
	assert_int_equal(addr("::ffff:127.0.0.1", why), -1);
	assert_string_equal(why, "127.0.0.1 is loopback (allow_net)");
}

static void allow_net_and_own(void **state)
{
	struct ab_err e = { 0 };
	char why[256];

	(void)state;
	assert_int_equal(ab_egress_add(&g, "allow_net", "10.20.0.0/16", "",
				       &e), 0);
	assert_int_equal(addr("10.20.3.4", why), 0);
	assert_int_equal(addr("10.21.0.1", why), -1);
	/* a host address outside the special ranges is still refused */
	assert_int_equal(ab_parse_net("198.51.99.7", &g.own[g.n_own++]), 0);
	assert_int_equal(addr("198.51.99.7", why), -1);
	assert_string_equal(why, "198.51.99.7 is an address of this host "
			    "(allow_net)");
}

static void bad_settings(void **state)
{
	static const char *const bad[][2] = {
		{ "allow", "exa mple.com" }, { "allow", "*example.com" },
		{ "allow", "a..b" }, { "deny", "" }, { "ports", "0" },
		{ "ports", "65536" }, { "ports", "80x" },
		{ "allow_net", "10.0.0.0/33" }, { "allow_net", "host" },
		{ "allow_net", "::1/129" }, { "ip_literals", "maybe" },
		{ "nonsense", "x" },
	};
	struct ab_err e = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!ab_egress_add(&g, bad[i][0], bad[i][1], "", &e))
			fail_msg("accepted: %s = %s", bad[i][0], bad[i][1]);
}

static void ports_replace_defaults(void **state)
{
	struct ab_err e = { 0 };
	char why[256];

	(void)state;
	assert_int_equal(ab_egress_add(&g, "ports", "8443", "", &e), 0);
	assert_int_equal(name("www.example.com", 8443, why), 0);
	assert_int_equal(name("www.example.com", 443, why), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(names, setup),
		cmocka_unit_test_setup(lookups, setup),
		cmocka_unit_test_setup(addresses, setup),
		cmocka_unit_test_setup(allow_net_and_own, setup),
		cmocka_unit_test_setup(bad_settings, setup),
		cmocka_unit_test_setup(ports_replace_defaults, setup),
	};

	return cmocka_run_group_tests_name("egress", tests, NULL, NULL);
}
