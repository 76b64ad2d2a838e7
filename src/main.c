// SPDX-License-Identifier: MIT
/* main.c - agentbox: parse the command line and dispatch. */

#include <stdio.h>
#include <unistd.h>

#include "err.h"
#include "options.h"
#include "sandbox.h"

#ifndef AB_VERSION
#define AB_VERSION "0.1.0"
#endif

extern char **environ;

int main(int argc, char *argv[])
{
	struct ab_config c;
	struct ab_err e = { 0 };
	int rc;

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
	if (!c.have_upstream) {
		rc = ab_upstream_from_env(&c.upstream, environ, &e);
		if (rc < 0) {
			ab_err_print(&e);
			return AB_EXIT_SETUP;
		}
		if (rc == 0) {
			ab_fail(&e, 0, "upstream proxy: none given");
			ab_hint(&e, "pass --upstream http://HOST:PORT or set "
				"HTTPS_PROXY");
			ab_err_print(&e);
			return AB_EXIT_SETUP;
		}
	}
	return ab_sandbox_run(&c);
}
