// SPDX-License-Identifier: MIT
/* test_env.c - the command's environment (src/env.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "env.h"

static const char *get(char **env, const char *name)
{
	size_t n = strlen(name);

	for (char **v = env; *v; v++)
		if (!strncmp(*v, name, n) && (*v)[n] == '=')
			return *v + n + 1;
	return NULL;
}

static int count(char **env, const char *name)
{
	size_t n = strlen(name);
	int k = 0;

	for (char **v = env; *v; v++)
		if (!strncasecmp(*v, name, n) && (*v)[n] == '=')
			k++;
	return k;
}

static void proxies_replaced(void **state)
{
	char *const in[] = {
		"PATH=/usr/bin", "HTTP_PROXY=http://corp:1",
		"Https_Proxy=http://u:secret@corp:2", "no_proxy=.corp,10.0.0.0/8",
		"AGENTBOX=0", "HOME=/home/u", NULL,
	};
	struct ab_config c;
	struct ab_err e;
	char **env;

	(void)state;
	assert_int_equal(ab_options_parse(&c, 3,
		(char *const[]){ "agentbox", "--", "true", NULL }, &e), 0);
	env = ab_env_build(in, &c, "0123456789abcdef", &e);
	assert_non_null(env);
	assert_string_equal(get(env, "PATH"), "/usr/bin");
	assert_string_equal(get(env, "HOME"), "/home/u");
	assert_string_equal(get(env, "HTTP_PROXY"), "http://10.38.0.1:3128");
	assert_string_equal(get(env, "https_proxy"), "http://10.38.0.1:3128");
	assert_string_equal(get(env, "ALL_PROXY"), "http://10.38.0.1:3128");
	assert_string_equal(get(env, "NO_PROXY"), "localhost,127.0.0.1,::1");
	assert_string_equal(get(env, "no_proxy"), "localhost,127.0.0.1,::1");
	assert_string_equal(get(env, "AGENTBOX"), "1");
	assert_string_equal(get(env, "AGENTBOX_SESSION"), "0123456789abcdef");
	/* the caller's values, credentials included, are gone */
	assert_int_equal(count(env, "https_proxy"), 2);
	for (char **v = env; *v; v++)
		assert_null(strstr(*v, "secret"));
	assert_int_equal(count(env, "AGENTBOX"), 1);
	ab_env_free(env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(proxies_replaced),
	};

	return cmocka_run_group_tests_name("env", tests, NULL, NULL);
}
