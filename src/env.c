// SPDX-License-Identifier: MIT
/* env.c - the command's environment (pure code).
 *
 * The caller's environment is kept, except every proxy variable, which is
 * replaced: the command is told to use the proxy listener in the gateway,
 * the only address it can reach.  NO_PROXY names loopback only, because the
 * sandbox's loopback is its own and the caller's other exceptions point at
 * hosts that are unreachable from inside.  AGENTBOX=1 and AGENTBOX_SESSION
 * tell nested tools that they run inside.  Nothing here is a security
 * boundary: a command that ignores these variables simply has no network.
 *
 * A profile's [env] section applies first: with a "pass" list only the
 * variables it matches are kept, "unset" removes what it matches (both take
 * * and ? patterns), "set" adds or replaces NAME=VALUE.  agentbox's own
 * variables are set last and cannot be changed by a profile.
 */

#include <arpa/inet.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <fnmatch.h>

#include "env.h"
#include "policy.h"
#include "util.h"

/* Replaced in whatever case the caller wrote them */
static const char *const proxy_vars[] = {
	"http_proxy", "https_proxy", "all_proxy", "ftp_proxy", "no_proxy",
};

static bool name_matches(const char *kv, const struct ab_strv *pats)
{
	const char *eq = strchr(kv, '=');
	char name[256];

	if (!pats)
		return false;
	snprintf(name, sizeof(name), "%.*s",
		 (int)(eq ? (size_t)(eq - kv) : strlen(kv)), kv);
	for (unsigned i = 0; i < pats->n; i++)
		if (!fnmatch(pats->v[i], name, 0))
			return true;
	return false;
}

/* Whether a set entry NAME=VALUE names the same variable as @kv */
static bool is_set_by_profile(const char *kv, const struct ab_strv *set)
{
	const char *eq = strchr(kv, '=');
	size_t n = eq ? (size_t)(eq - kv) : strlen(kv);

	for (unsigned i = 0; set && i < set->n; i++)
		if (!strncmp(set->v[i], kv, n) && set->v[i][n] == '=')
			return true;
	return false;
}

static bool is_dropped(const char *kv, const struct ab_policy *pol)
{
	if (!pol)
		return false;
	if (pol->pass.n && !name_matches(kv, &pol->pass))
		return true;
	return name_matches(kv, &pol->unset) || is_set_by_profile(kv, &pol->set);
}

/**
 * ab_env_is_own() - Whether a variable is one agentbox sets itself
 * @kv:		"NAME=VALUE" or "NAME"
 *
 * Return: true for the proxy variables (any case), AGENTBOX and
 * AGENTBOX_SESSION: the caller's are replaced, a profile may not set them
 */
bool ab_env_is_own(const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t n = eq ? (size_t)(eq - kv) : strlen(kv);

	for (size_t i = 0; i < ARRAY_SIZE(proxy_vars); i++)
		if (n == strlen(proxy_vars[i]) &&
		    !strncasecmp(kv, proxy_vars[i], n))
			return true;
	return (n == 8 && !strncmp(kv, "AGENTBOX", 8)) ||
	       (n == 16 && !strncmp(kv, "AGENTBOX_SESSION", 16));
}

/**
 * ab_env_build() - Make the command's environment
 * @envp:	Caller's environment
 * @c:		Configuration (gateway address and port)
 * @session:	Session id
 * @e:		Error
 *
 * Return: NULL-terminated array (free with ab_env_free()), NULL on error
 */
char **ab_env_build(char *const envp[], const struct ab_config *c,
		    const char *session, struct ab_err *e)
{
	static const char *const set[] = {
		"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
		"all_proxy", "ALL_PROXY", "ftp_proxy", "FTP_PROXY",
	};
	static const char no_proxy[] = "localhost,127.0.0.1,::1";
	char url[64], addr[INET_ADDRSTRLEN];
	size_t n = 0, i = 0;
	char **env;

	for (char *const *v = envp; v && *v; v++)
		n++;
	if (c->policy)
		n += c->policy->set.n;
	env = calloc(n + ARRAY_SIZE(set) + 5, sizeof(char *));
	if (!env) {
		ab_fail(e, ENOMEM, "environment");
		return NULL;
	}

	inet_ntop(AF_INET, &c->gateway_addr, addr, sizeof(addr));
	snprintf(url, sizeof(url), "http://%s:%u", addr, c->proxy_port);

	for (char *const *v = envp; v && *v; v++)
		if (!ab_env_is_own(*v) && !is_dropped(*v, c->policy) &&
		    !(env[i++] = strdup(*v)))
			goto oom;
	for (unsigned k = 0; c->policy && k < c->policy->set.n; k++)
		if (!(env[i++] = strdup(c->policy->set.v[k])))
			goto oom;
	for (size_t k = 0; k < ARRAY_SIZE(set); k++)
		if (asprintf(&env[i++], "%s=%s", set[k], url) < 0)
			goto oom_last;
	if (asprintf(&env[i++], "no_proxy=%s", no_proxy) < 0 ||
	    asprintf(&env[i++], "NO_PROXY=%s", no_proxy) < 0 ||
	    !(env[i++] = strdup("AGENTBOX=1")) ||
	    asprintf(&env[i++], "AGENTBOX_SESSION=%s", session) < 0)
		goto oom_last;
	env[i] = NULL;
	return env;

oom_last:
	env[--i] = NULL;
oom:
	ab_env_free(env);
	ab_fail(e, ENOMEM, "environment");
	return NULL;
}

/**
 * ab_env_free() - Free an environment made by ab_env_build()
 * @env:	Environment, may be NULL
 */
void ab_env_free(char **env)
{
	if (!env)
		return;
	for (char **v = env; *v; v++)
		free(*v);
	free(env);
}
