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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <fnmatch.h>

#include "env.h"
#include "policy.h"
#include "util.h"

/* With [network] ca_bundle: the variables through which common tools take
 * a CA bundle, all pointed at the system bundle's path, over which init
 * mounted the bundle with the proxy's CA (OpenSSL and Go, curl, Python
 * requests, Node, git, pip, cargo, the AWS SDKs and CLI, npm/yarn/pnpm,
 * Nix, Deno).  They replace the caller's and a profile's values. */
static const char *const ca_vars[] = {
	"SSL_CERT_FILE", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE",
	"NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO", "PIP_CERT",
	"CARGO_HTTP_CAINFO", "AWS_CA_BUNDLE", "npm_config_cafile",
	"NIX_SSL_CERT_FILE", "DENO_CERT",
};

/* Whether the variable of @kv ("NAME=VALUE" or "NAME") is in @names */
static bool name_in(const char *kv, const char *const *names, size_t count,
		    bool any_case)
{
	const char *eq = strchr(kv, '=');
	size_t n = eq ? (size_t)(eq - kv) : strlen(kv);

	for (size_t i = 0; i < count; i++)
		if (n == strlen(names[i]) &&
		    !(any_case ? strncasecmp : strncmp)(kv, names[i], n))
			return true;
	return false;
}

static bool is_ca_var(const char *kv)
{
	return name_in(kv, ca_vars, ARRAY_SIZE(ca_vars), false);
}

/* Replaced in whatever case the caller wrote them: the standard proxy
 * variables, and those of tools whose own configuration files would
 * otherwise win over the standard ones (an .npmrc, a .yarnrc.yml, a
 * pip.conf or a .cargo/config naming some other proxy) */
static const char *const proxy_vars[] = {
	"http_proxy", "https_proxy", "all_proxy", "ftp_proxy", "no_proxy",
	"npm_config_proxy", "npm_config_https_proxy", "yarn_http_proxy",
	"yarn_https_proxy", "pip_proxy", "cargo_http_proxy",
	"node_use_env_proxy",
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
 * (JAVA_TOOL_OPTIONS, GIT_CONFIG_* and GIT_SSH_COMMAND are extended, not
 * replaced: they are not ours)
 */
bool ab_env_is_own(const char *kv)
{
	static const char *const ours[] = { "AGENTBOX", "AGENTBOX_SESSION" };

	return name_in(kv, proxy_vars, ARRAY_SIZE(proxy_vars), true) ||
	       name_in(kv, ours, ARRAY_SIZE(ours), false);
}

/* The index of NAME in @env[0..n), or -1 */
static int env_find(char **env, size_t n, const char *name)
{
	size_t len = strlen(name);

	for (size_t k = 0; k < n; k++)
		if (!strncmp(env[k], name, len) && env[k][len] == '=')
			return (int)k;
	return -1;
}

/* Append a formatted entry; @env stays NULL-terminated on failure */
static int env_add(char **env, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int env_add(char **env, size_t *n, const char *fmt, ...)
{
	va_list ap;
	char *v;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&v, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	env[(*n)++] = v;
	return 0;
}

/* NAME=OLD + SEP + ADD if NAME is in @env, else NAME=ADD (appended) */
static int env_extend(char **env, size_t *n, const char *name,
		      const char *sep, const char *add)
{
	int k = env_find(env, *n, name);
	char *v;

	if (k < 0)
		return env_add(env, n, "%s=%s", name, add);
	if (asprintf(&v, "%s%s%s", env[k], sep, add) < 0)
		return -1;
	free(env[k]);
	env[k] = v;
	return 0;
}

/* What tool_env() adds at most: 6 proxy URLs, NODE_USE_ENV_PROXY,
 * JAVA_TOOL_OPTIONS, the three GIT_CONFIG_* and GIT_SSH_COMMAND */
#define TOOL_ENV_MAX	12

/**
 * tool_env() - Proxy settings for tools that do not read the standard
 *		variables, or read their own configuration first
 * @env:	Environment being built, @n entries so far, room for
 *		TOOL_ENV_MAX more
 * @n:		Its length, updated
 * @url:	The gateway listener, http://ADDR:PORT
 * @addr:	ADDR
 * @port:	PORT
 * @self:	agentbox's binary, for ssh's ProxyCommand ("" if unknown)
 *
 * npm, yarn, pnpm, pip and cargo get their own proxy variables (which win
 * over their configuration files); Node's fetch is asked to use the
 * standard ones (Node 24 and later honour NODE_USE_ENV_PROXY); JVMs get
 * the proxy as system properties through JAVA_TOOL_OPTIONS; git gets
 * http.proxy as command-line configuration (GIT_CONFIG_COUNT), which wins
 * over every gitconfig file; ssh run by git reaches HOST:PORT through the
 * proxy's CONNECT ("agentbox connect"), where the proxy allows it.
 *
 * Return: 0, or -1 out of memory
 */
static int tool_env(char **env, size_t *n, const char *url, const char *addr,
		    unsigned port, const char *self)
{
	static const char *const url_vars[] = {
		"npm_config_proxy", "npm_config_https_proxy",
		"YARN_HTTP_PROXY", "YARN_HTTPS_PROXY", "PIP_PROXY",
		"CARGO_HTTP_PROXY",
	};
	char buf[4096 + 64];
	int k, count = 0;

	for (size_t j = 0; j < ARRAY_SIZE(url_vars); j++)
		if (env_add(env, n, "%s=%s", url_vars[j], url))
			return -1;
	if (env_add(env, n, "NODE_USE_ENV_PROXY=1"))
		return -1;

	snprintf(buf, sizeof(buf), "-Dhttp.proxyHost=%s -Dhttp.proxyPort=%u "
		 "-Dhttps.proxyHost=%s -Dhttps.proxyPort=%u "
		 "-Dhttp.nonProxyHosts=localhost|127.0.0.1", addr, port, addr,
		 port);
	if (env_extend(env, n, "JAVA_TOOL_OPTIONS", " ", buf))
		return -1;

	/* GIT_CONFIG_KEY_<count> = http.proxy, after the caller's own */
	k = env_find(env, *n, "GIT_CONFIG_COUNT");
	if (k >= 0) {
		char *end;
		long v = strtol(env[k] + sizeof("GIT_CONFIG_COUNT=") - 1,
				&end, 10);

		count = (!*end && v >= 0 && v < 1000) ? (int)v : 0;
		free(env[k]);
		env[k] = env[--*n];
		env[*n] = NULL;
	}
	if (env_add(env, n, "GIT_CONFIG_COUNT=%d", count + 1) ||
	    env_add(env, n, "GIT_CONFIG_KEY_%d=http.proxy", count) ||
	    env_add(env, n, "GIT_CONFIG_VALUE_%d=%s", count, url))
		return -1;

	/* a path that needs quoting in two shells is left alone */
	if (*self && !strpbrk(self, " \t\n'\"\\$`;&|<>()*?[]{}~#%")) {
		k = env_find(env, *n, "GIT_SSH_COMMAND");
		snprintf(buf, sizeof(buf), "%s-o 'ProxyCommand=%s connect %%h "
			 "%%p'", k < 0 ? "ssh " : "", self);
		if (env_extend(env, n, "GIT_SSH_COMMAND", " ", buf))
			return -1;
	}
	return 0;
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
	const char *ca;
	size_t n = 0, i = 0;
	char **env;

	for (char *const *v = envp; v && *v; v++)
		n++;
	if (c->policy)
		n += c->policy->set.n;
	env = calloc(n + ARRAY_SIZE(set) + ARRAY_SIZE(ca_vars) + TOOL_ENV_MAX +
		     5, sizeof(char *));
	if (!env) {
		ab_fail(e, ENOMEM, "environment");
		return NULL;
	}

	inet_ntop(AF_INET, &c->gateway_addr, addr, sizeof(addr));
	snprintf(url, sizeof(url), "http://%s:%u", addr, c->proxy_port);

	ca = c->policy && c->policy->ca.pem ? c->policy->ca.target : NULL;
	for (char *const *v = envp; v && *v; v++)
		if (!ab_env_is_own(*v) && !is_dropped(*v, c->policy) &&
		    !(ca && is_ca_var(*v)) && !(env[i++] = strdup(*v)))
			goto oom;
	for (unsigned k = 0; c->policy && k < c->policy->set.n; k++)
		if (!(ca && is_ca_var(c->policy->set.v[k])) &&
		    !(env[i++] = strdup(c->policy->set.v[k])))
			goto oom;
	for (size_t k = 0; ca && k < ARRAY_SIZE(ca_vars); k++)
		if (asprintf(&env[i++], "%s=%s", ca_vars[k], ca) < 0)
			goto oom_last;
	for (size_t k = 0; k < ARRAY_SIZE(set); k++)
		if (asprintf(&env[i++], "%s=%s", set[k], url) < 0)
			goto oom_last;
	if (tool_env(env, &i, url, addr, c->proxy_port, c->self))
		goto oom;
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
