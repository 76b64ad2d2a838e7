/* SPDX-License-Identifier: MIT */
/* policy.h - a profile made concrete for this run: paths and sockets.
 *
 * Built by the supervisor before the clone (policy.c: ~, $VAR and globs
 * expanded, the host's unix sockets listed), applied by init to its mount
 * namespace (protect.c), and by the environment builder (env.c).
 */
#ifndef AB_POLICY_H
#define AB_POLICY_H

#include <stdbool.h>

#include "cabundle.h"
#include "err.h"
#include "options.h"

struct ab_fs_rule {
	char *path;			/* absolute, expanded, no symlink */
	bool hide;			/* else read-only (or, in roots, writable) */
	bool priv;			/* hide: a writable tmpfs of its own */
	bool stub;			/* create it if it is missing */
	bool dir;			/* a stub is a directory */
	char origin[96];		/* "FILE:LINE" or "built-in" */
};

struct ab_strv {
	char **v;
	unsigned n, cap;
};

/* A file of ours mounted read-only over another inside */
struct ab_file_over {
	char *data;			/* NULL: none */
	size_t len;
	char target[4096];
};

struct ab_rules {
	struct ab_fs_rule *v;
	unsigned n, cap;
};

struct ab_policy {
	struct ab_rules rules;		/* read-only and hidden paths */
	/* [filesystem] writable, none nested in another, shortest first;
	 * when there is any, everything else is read-only */
	struct ab_rules roots;
	struct ab_strv pins;		/* directories above the rules */
	struct ab_strv sockets;		/* host sockets to cover */
	struct ab_strv unix_allow;	/* [unix] allow patterns, expanded */
	struct ab_strv unset, set, pass;
	char cwd[4096];			/* to re-enter after the mounts */
	struct ab_ca ca;		/* [network] ca_bundle, pem NULL if none */
	struct ab_file_over xauth;	/* untrusted X cookie (x11.c) */
	struct ab_file_over resolv;	/* with interception: the gateway */
};

struct ab_policy *ab_policy_build(const struct ab_config *c,
				  struct ab_err *e);
void ab_policy_free(struct ab_policy *pol);
int ab_strv_add(struct ab_strv *sv, const char *s);

#endif /* AB_POLICY_H */
