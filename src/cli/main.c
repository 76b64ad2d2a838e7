// SPDX-License-Identifier: MIT
/* main.c - agentbox: parse the command line and dispatch. */

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "claudeshell.h"
#include "egress.h"
#include "err.h"
#include "hook.h"
#include "log.h"
#include "options.h"
#include "policy.h"
#include "profile.h"
#include "sandbox.h"
#include "secrets.h"
#include "util.h"

#ifndef AB_VERSION
#define AB_VERSION "0.1.0"
#endif

extern char **environ;

/**
 * open_audit() - Open the audit log the configuration names
 * @c:		Configuration
 * @e:		Error
 *
 * Return: 0, or -1 with @e filled (a log that cannot be written is a
 * setup failure: the session would not be audited)
 */
static int open_audit(struct ab_config *c, struct ab_err *e)
{
	char up[300], name[256], hex[65];
	struct ab_audit_cfg ac = {
		.syslog = c->audit_sinks & AB_AUDIT_SYSLOG,
		.session = c->session,
		.run = c->run,
		.user = c->user,
		.profile = c->profile_name ?
			   ab_profile_label(c->profile_name, name,
					    sizeof(name)) : "",
		.upstream = up,
		.min_free = c->audit_min_free,
	};

	/* which policy decided: the merged text's hash, and its files */
	if (c->profile) {
		ab_profile_sha256(c->profile, hex);
		ac.policy_sha256 = hex;
		ac.policy_files = c->profile->files;
		ac.n_policy_files = c->profile->n_files;
	}

	ab_upstream_name(&c->upstream, up, sizeof(up));
	if (c->audit_sinks & AB_AUDIT_FILE) {
		if (!c->audit_path[0] &&
		    ab_audit_default_path(c->audit_path,
					  sizeof(c->audit_path)))
			return ab_fail(e, 0, "audit log: no $HOME or "
				       "$XDG_STATE_HOME to put it in");
		ac.path = c->audit_path;
	}
	if (!c->audit_sinks)
		return 0;
	c->audit = ab_audit_open(&ac, e);
	return c->audit ? 0 : -1;
}

int main(int argc, char *argv[])
{
	struct ab_profile prof = { 0 };
	struct ab_egress *eg = NULL;
	struct ab_config c;
	struct ab_err e = { 0 };
	struct ab_claude_cmd cc;
	int rc, now;

	if (ab_claude_shell_named(argv[0])) {
		if (ab_claude_shell(argc, argv, &cc, &now, &e)) {
			ab_err_print(&e);
			return AB_EXIT_SETUP;
		}
		if (now >= 0)
			return now;
		argc = cc.argc;
		argv = cc.argv;
	} else if (argc > 1 && !strcmp(argv[1], "claude-code")) {
		return ab_claude_main(argc - 1, argv + 1);
	}
	if (argc > 1 && !strcmp(argv[1], "profile"))
		return ab_profile_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "log"))
		return ab_log_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "hook"))
		return ab_hook_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "doctor"))
		return ab_doctor_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "connect"))
		return ab_connect_main(argc - 1, argv + 1);
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
	if (ab_inside_agentbox()) {
		const char *sess = getenv("AGENTBOX_SESSION");

		ab_fail(&e, 0, "already inside agentbox (session %.64s): a "
			"sandbox in the sandbox is not supported",
			sess ? sess : "?");
		ab_hint(&e, "run the command directly: it has no other way "
			"out than the proxy already");
		goto fail;
	}
	if (!(eg = malloc(sizeof(*eg)))) {
		ab_fail(&e, ENOMEM, "egress policy");
		goto fail;
	}
	ab_egress_defaults(eg);
	c.egress = eg;
	if (ab_config_resolve(&c, &prof, environ, &e))
		goto fail;
	if (!c.profile_name)	/* the default profile is named in the logs */
		c.profile_name = prof.name;
	if (c.upstream.builtin && ab_egress_own_addrs(eg, &e))
		goto fail;
	if (c.credentials[0] && !c.upstream.builtin &&
	    ab_read_credentials(&c, &e))
		goto fail;
	if (c.upstream_token[0] && ab_read_token(&c, &e))
		goto fail;
	{
		ssize_t n = readlink("/proc/self/exe", c.self,
				     sizeof(c.self) - 1);

		c.self[n > 0 ? n : 0] = '\0';
	}
	ab_session_id(c.run, sizeof(c.run));
	if (!c.session[0])
		snprintf(c.session, sizeof(c.session), "%s", c.run);
	{
		struct passwd *pw = getpwuid(getuid());

		if (pw)
			snprintf(c.user, sizeof(c.user), "%s", pw->pw_name);
		else
			snprintf(c.user, sizeof(c.user), "%u",
				 (unsigned)getuid());
	}
	if (open_audit(&c, &e))
		goto fail;
	if (!(c.policy = ab_policy_build(&c, &e)))
		goto fail;
	rc = ab_sandbox_run(&c);
	ab_policy_free(c.policy);
	ab_profile_free(&prof);
	ab_audit_close(c.audit);
	explicit_bzero(c.proxy_auth, sizeof(c.proxy_auth));
	free(eg);
	return rc;

fail:
	ab_err_print(&e);
	ab_profile_free(&prof);
	ab_audit_close(c.audit);
	free(eg);
	return AB_EXIT_SETUP;
}
