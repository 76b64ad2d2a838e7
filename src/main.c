// SPDX-License-Identifier: MIT
/* main.c - agentbox: parse the command line and dispatch. */

#include <stdio.h>
#include <unistd.h>

#include <string.h>

#include "err.h"
#include "options.h"
#include "policy.h"
#include "profile.h"
#include "sandbox.h"

#ifndef AB_VERSION
#define AB_VERSION "0.1.0"
#endif

extern char **environ;

/**
 * load_profile() - The system configuration and the profile, into @c
 * @c:		Configuration from the command line
 * @p:		Result (free with ab_profile_free())
 * @e:		Error
 *
 * Return: 0, or -1 with @e filled
 */
static int load_profile(struct ab_config *c, struct ab_profile *p,
			struct ab_err *e)
{
	struct ab_sysconf sc;

	if (ab_sysconf_load(&sc, e) ||
	    ab_profile_load(p, &sc, c->profile_name, e))
		return -1;
	return ab_profile_apply(p, c, e);
}

int main(int argc, char *argv[])
{
	struct ab_profile prof = { 0 };
	struct ab_config c;
	struct ab_err e = { 0 };
	int rc;

	if (argc > 1 && !strcmp(argv[1], "profile"))
		return ab_profile_main(argc - 1, argv + 1);
	if (ab_options_parse(&c, argc, argv, &e)) {
		ab_err_print(&e);
		return AB_EXIT_SETUP;
	}
	if (c.help) {
		ab_usage(STDOUT_FILENO);
		return 0;
	}
	if (c.version) {
		printf("agentbox %s\n", AB_VERSION);
		return 0;
	}
	if (load_profile(&c, &prof, &e))
		goto fail;
	if (!c.have_upstream) {
		rc = ab_upstream_from_env(&c.upstream, environ, &e);
		if (rc < 0)
			goto fail;
		if (rc == 0) {
			ab_fail(&e, 0, "upstream proxy: none given");
			ab_hint(&e, "pass --upstream http://HOST:PORT, set "
				"HTTPS_PROXY, or give a profile an upstream");
			goto fail;
		}
	}
	if (!(c.policy = ab_policy_build(&c, &e)))
		goto fail;
	rc = ab_sandbox_run(&c);
	ab_policy_free(c.policy);
	ab_profile_free(&prof);
	return rc;

fail:
	ab_err_print(&e);
	ab_profile_free(&prof);
	return AB_EXIT_SETUP;
}
