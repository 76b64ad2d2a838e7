// SPDX-License-Identifier: MIT
/* test_options.c - command line, upstream URL and subnet parsing. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "options.h"

#define ARGS(...) ((char *const[]){ "agentbox", __VA_ARGS__, NULL })
#define NARGS(...) (int)(sizeof((char *const[]){ "agentbox", __VA_ARGS__ }) / \
			 sizeof(char *))

static const char *addr(struct in_addr a)
{
	static char buf[INET_ADDRSTRLEN];

	return inet_ntop(AF_INET, &a, buf, sizeof(buf));
}

static void defaults_and_command(void **state)
{
	struct ab_config c;
	struct ab_err e;

	(void)state;
	assert_int_equal(ab_options_parse(&c, NARGS("--", "curl", "-v"),
					  ARGS("--", "curl", "-v"), &e), 0);
	assert_string_equal(c.argv[0], "curl");
	assert_string_equal(c.argv[1], "-v");	/* not ours */
	assert_int_equal(c.verbose, 0);
	assert_int_equal(c.proxy_port, 3128);
	assert_string_equal(addr(c.gateway_addr), "10.38.0.1");
	assert_string_equal(addr(c.sandbox_addr), "10.38.0.2");
	assert_false(c.have_upstream);
}

static void command_without_dashes(void **state)
{
	struct ab_config c;
	struct ab_err e;

	(void)state;
	assert_int_equal(ab_options_parse(&c, NARGS("-v", "sh", "-c", "x"),
					  ARGS("-v", "sh", "-c", "x"), &e), 0);
	assert_int_equal(c.verbose, 1);
	assert_string_equal(c.argv[0], "sh");
}

static void all_options(void **state)
{
	struct ab_config c;
	struct ab_err e;

	(void)state;
	assert_int_equal(ab_options_parse(&c,
		NARGS("-vv", "--upstream=http://[::1]:3129", "--subnet",
		      "192.168.77.0/29", "--proxy-port", "8080", "--max-conns=9",
		      "--pass-fd", "5", "--", "true"),
		ARGS("-vv", "--upstream=http://[::1]:3129", "--subnet",
		     "192.168.77.0/29", "--proxy-port", "8080", "--max-conns=9",
		     "--pass-fd", "5", "--", "true"), &e), 0);
	assert_int_equal(c.verbose, 2);
	assert_true(c.have_upstream);
	assert_string_equal(c.upstream.host, "::1");
	assert_int_equal(c.upstream.port, 3129);
	assert_string_equal(addr(c.gateway_addr), "192.168.77.1");
	assert_string_equal(addr(c.sandbox_addr), "192.168.77.2");
	assert_int_equal(c.prefix_len, 29);
	assert_int_equal(c.proxy_port, 8080);
	assert_int_equal(c.max_conns, 9);
	assert_int_equal(c.n_pass_fds, 1);
	assert_int_equal(c.pass_fds[0], 5);
}

static void session_label(void **state)
{
	struct ab_config c;
	struct ab_err e;

	(void)state;
	assert_int_equal(ab_options_parse(&c, NARGS("--session",
		"5e2a1c9d-0b7a-4c55-9d2f-1c3b5a7e9f00", "--", "true"),
		ARGS("--session", "5e2a1c9d-0b7a-4c55-9d2f-1c3b5a7e9f00", "--",
		     "true"), &e), 0);
	assert_string_equal(c.session, "5e2a1c9d-0b7a-4c55-9d2f-1c3b5a7e9f00");
	assert_int_equal(ab_options_parse(&c, NARGS("true"), ARGS("true"), &e),
			 0);
	assert_string_equal(c.session, "");	/* main: the run's own id */
}

static void errors(void **state)
{
	const struct { int argc; char *const *argv; const char *msg; }
	cases[] = {
		{ NARGS("--bogus", "x"), ARGS("--bogus", "x"),
		  "unknown option '--bogus'" },
		{ NARGS("-x", "x"), ARGS("-x", "x"), "unknown option '-x'" },
		{ NARGS("--upstream"), ARGS("--upstream"),
		  "option --upstream needs a value" },
		{ NARGS("-v"), ARGS("-v"), "no command given" },
		{ NARGS("--proxy-port", "0", "x"), ARGS("--proxy-port", "0", "x"),
		  "--proxy-port '0'" },
		{ NARGS("--pass-fd", "2", "x"), ARGS("--pass-fd", "2", "x"),
		  "--pass-fd '2'" },
		{ NARGS("--subnet", "10.1.1.1/30", "x"),
		  ARGS("--subnet", "10.1.1.1/30", "x"),
		  "did you mean 10.1.1.0/30?" },
		{ NARGS("--subnet", "127.0.0.0/30", "x"),
		  ARGS("--subnet", "127.0.0.0/30", "x"), "loopback" },
		{ NARGS("--subnet", "10.0.0.0/31", "x"),
		  ARGS("--subnet", "10.0.0.0/31", "x"), "prefix length" },
		{ NARGS("--help=x", "x"), ARGS("--help=x", "x"),
		  "unknown option '--help'" },
		{ NARGS("--session", "a;b", "x"), ARGS("--session", "a;b", "x"),
		  "--session 'a;b': expected 1 to 64 letters" },
		{ NARGS("--session=", "x"), ARGS("--session=", "x"),
		  "--session '': expected" },
	};
	struct ab_config c;
	struct ab_err e;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!ab_options_parse(&c, cases[i].argc, cases[i].argv, &e))
			fail_msg("case %zu accepted", i);
		if (!strstr(e.msg, cases[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, e.msg,
				 cases[i].msg);
	}
}

static void upstream_urls(void **state)
{
	struct ab_upstream u;
	struct ab_err e;

	(void)state;
	assert_int_equal(ab_parse_upstream(&u, "http://proxy.corp:8080/", "x",
					   &e), 0);
	assert_string_equal(u.host, "proxy.corp");
	assert_int_equal(u.port, 8080);
	assert_int_equal(ab_parse_upstream(&u, "127.0.0.1:3128", "x", &e), 0);
	assert_int_equal(u.port, 3128);
	assert_int_equal(ab_parse_upstream(&u, "HTTP://[::1]:1", "x", &e), 0);
	assert_string_equal(u.host, "::1");

	assert_int_equal(ab_parse_upstream(&u, "https://p:1", "x", &e), 0);
	assert_true(u.tls);
	assert_int_equal(ab_parse_upstream(&u, "http://p:1", "x", &e), 0);
	assert_false(u.tls);
	assert_int_equal(ab_parse_upstream(&u, "socks5://p:1", "x", &e), -1);
	assert_non_null(strstr(e.msg, "only http://, https://, ws:// and wss://"));
	assert_int_equal(ab_parse_upstream(&u, "http://u:pw@p:1", "x", &e), -1);
	assert_non_null(strstr(e.msg, "credentials"));
	assert_int_equal(ab_parse_upstream(&u, "http://p", "x", &e), -1);
	assert_non_null(strstr(e.msg, "missing port"));
	assert_int_equal(ab_parse_upstream(&u, "http://p:99999", "x", &e), -1);
	assert_int_equal(ab_parse_upstream(&u, "http://p:1/x", "x", &e), -1);
	assert_int_equal(ab_parse_upstream(&u, "http://[::1:1", "x", &e), -1);
	assert_int_equal(ab_parse_upstream(&u, "http://p q:1", "x", &e), -1);

	/* a WebSocket bridge: a path, and the scheme's port if none */
	assert_int_equal(ab_parse_upstream(&u, "wss://ingress.corp/agentbox",
					   "x", &e), 0);
	assert_true(u.ws && u.tls);
	assert_int_equal(u.port, 443);
	assert_string_equal(u.path, "/agentbox");
	assert_int_equal(ab_parse_upstream(&u, "ws://[::1]:8080", "x", &e), 0);
	assert_true(u.ws && !u.tls);
	assert_int_equal(u.port, 8080);
	assert_string_equal(u.path, "/");
	assert_int_equal(ab_parse_upstream(&u, "WS://b/p?x=1", "x", &e), 0);
	assert_int_equal(u.port, 80);
	assert_string_equal(u.path, "/p?x=1");
	assert_int_equal(ab_parse_upstream(&u, "wss://b:0/p", "x", &e), -1);
	assert_int_equal(ab_parse_upstream(&u, "wss://b:/p", "x", &e), -1);
	assert_int_equal(ab_parse_upstream(&u, "wss://u:t@b/p", "x", &e), -1);
	assert_non_null(strstr(e.msg, "credentials"));
	assert_int_equal(ab_parse_upstream(&u, "wss://b/a\177b", "x", &e), -1);
	assert_non_null(strstr(e.msg, "visible ASCII"));
	assert_int_equal(ab_parse_upstream(&u, "wss://b/a b", "x", &e), -1);
}

static void upstream_from_env(void **state)
{
	char *const env1[] = { "PATH=/bin", "HTTP_PROXY=http://a:1",
			       "https_proxy=http://b:2", NULL };
	char *const env2[] = { "HTTPS_PROXY=", "http_proxy=http://c:3", NULL };
	char *const env3[] = { "PATH=/bin", NULL };
	char *const env4[] = { "HTTPS_PROXY=socks5://d:4", NULL };
	struct ab_upstream u;
	struct ab_err e;

	(void)state;
	assert_int_equal(ab_upstream_from_env(&u, env1, &e), 1);
	assert_string_equal(u.host, "b");
	assert_string_equal(u.source, "https_proxy");
	assert_int_equal(ab_upstream_from_env(&u, env2, &e), 1);
	assert_string_equal(u.host, "c");
	assert_int_equal(ab_upstream_from_env(&u, env3, &e), 0);
	assert_int_equal(ab_upstream_from_env(&u, env4, &e), -1);
	assert_non_null(strstr(e.msg, "HTTPS_PROXY"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_and_command),
		cmocka_unit_test(command_without_dashes),
		cmocka_unit_test(all_options),
		cmocka_unit_test(errors),
		cmocka_unit_test(session_label),
		cmocka_unit_test(upstream_urls),
		cmocka_unit_test(upstream_from_env),
	};

	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
