// SPDX-License-Identifier: MIT
/* test_env.c - the command's environment (src/sandbox/env.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

/* The configuration of "agentbox -- true" */
static void parse_defaults(struct ab_config *c)
{
	struct ab_err e;

	assert_int_equal(ab_options_parse(c, 3,
		(char *const[]){ "agentbox", "--", "true", NULL }, &e), 0);
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
	parse_defaults(&c);
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

/* Tools whose own settings would win over the standard variables */
static void tool_settings(void **state)
{
	char *const in[] = {
		"GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_0=a.b", "GIT_CONFIG_VALUE_0=1",
		"GIT_CONFIG_KEY_1=c.d", "GIT_CONFIG_VALUE_1=2",
		"JAVA_TOOL_OPTIONS=-Xmx1g", "NPM_CONFIG_PROXY=http://corp:1",
		"PIP_PROXY=http://corp:2", "GIT_SSH_COMMAND=ssh -i k", NULL,
	};
	struct ab_config c;
	struct ab_err e;
	char **env;

	(void)state;
	parse_defaults(&c);
	snprintf(c.self, sizeof(c.self), "/usr/bin/agentbox");
	env = ab_env_build(in, &c, "s", &e);
	assert_non_null(env);
	assert_string_equal(get(env, "GIT_CONFIG_COUNT"), "3");
	assert_string_equal(get(env, "GIT_CONFIG_KEY_0"), "a.b");
	assert_string_equal(get(env, "GIT_CONFIG_KEY_2"), "http.proxy");
	assert_string_equal(get(env, "GIT_CONFIG_VALUE_2"), "http://10.38.0.1:3128");
	assert_int_equal(count(env, "GIT_CONFIG_COUNT"), 1);
	assert_string_equal(get(env, "JAVA_TOOL_OPTIONS"), "-Xmx1g "
		"-Dhttp.proxyHost=10.38.0.1 -Dhttp.proxyPort=3128 "
		"-Dhttps.proxyHost=10.38.0.1 -Dhttps.proxyPort=3128 "
		"-Dhttp.nonProxyHosts=localhost|127.0.0.1");
	assert_int_equal(count(env, "npm_config_proxy"), 1);
	assert_string_equal(get(env, "npm_config_proxy"), "http://10.38.0.1:3128");
	assert_string_equal(get(env, "PIP_PROXY"), "http://10.38.0.1:3128");
	assert_string_equal(get(env, "CARGO_HTTP_PROXY"), "http://10.38.0.1:3128");
	assert_string_equal(get(env, "NODE_USE_ENV_PROXY"), "1");
	assert_string_equal(get(env, "GIT_SSH_COMMAND"), "ssh -i k -o "
		"'ProxyCommand=/usr/bin/agentbox connect %h %p'");
	ab_env_free(env);

	/* a binary path that would need quoting twice: no ProxyCommand */
	snprintf(c.self, sizeof(c.self), "/opt/my tools/agentbox");
	env = ab_env_build((char *const[]){ NULL }, &c, "s", &e);
	assert_null(get(env, "GIT_SSH_COMMAND"));
	assert_string_equal(get(env, "GIT_CONFIG_COUNT"), "1");
	ab_env_free(env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(proxies_replaced),
		cmocka_unit_test(tool_settings),
	};

	return cmocka_run_group_tests_name("env", tests, NULL, NULL);
}
