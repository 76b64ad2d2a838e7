/* SPDX-License-Identifier: MIT */
/* profile.h - profiles: INI files a security team maintains.
 *
 * A profile is read into a struct ab_profile in which every value keeps the
 * file and line it came from.  Loading resolves includes (with cycle
 * detection), checks that system profiles are owned by root and writable by
 * nobody else, and merges the profile enforced by the system configuration
 * first: what follows may only tighten it.  Nothing is expanded here (no
 * ~, $VAR or glob): that is policy.c's job at start, and lint never does.
 */
#ifndef AB_PROFILE_H
#define AB_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "options.h"

#define AB_PROFILE_MAX_FILES	32	/* files in one merged profile */
#define AB_PROFILE_MAX_DEPTH	8	/* include nesting */
#define AB_PROFILE_MAX_SIZE	(1 << 20)	/* bytes in one file */
#define AB_PROFILE_DEFAULT	"default"	/* when none is named */
#define AB_PROFILE_NONE		"none"	/* --profile none */

struct ab_origin {
	const char *file;		/* owned by the profile */
	int line;			/* 0: the command line */
	bool enforced;			/* from the enforced profile */
};

struct ab_scalar {
	char *value;			/* NULL: not set */
	struct ab_origin at;
};

struct ab_item {
	char *value;
	struct ab_origin at;
};

struct ab_list {
	struct ab_item *v;
	unsigned n, cap;
};

/* Each id is one row of ab_keys[] (profile_keys.c), which says the rest */
enum ab_scalar_key {
	AB_P_DESCRIPTION, AB_P_UPSTREAM, AB_P_SUBNET, AB_P_PROXY_PORT,
	AB_P_MAX_CONNS, AB_P_VERBOSE, AB_P_MISSING, AB_P_CREDENTIALS,
	AB_P_IDENTITY, AB_P_IP_LITERALS, AB_P_AUDIT_LOG, AB_P_AUDIT_FILE,
	AB_P_CA_BUNDLE, AB_P_X11, AB_P_MIN_FREE, AB_P_TUNNEL_CHECK,
	AB_P_INTERCEPT,
	AB_P_UPSTREAM_CA,
	AB_P_NEGOTIATE,
	AB_P_UPSTREAM_TOKEN,
	AB_P_NSCALARS,
};

enum ab_list_key {
	AB_P_READONLY, AB_P_HIDE, AB_P_ALLOW_UNIX, AB_P_UNSET, AB_P_SET,
	AB_P_PASS, AB_P_EG_ALLOW, AB_P_EG_DENY, AB_P_PORTS, AB_P_ALLOW_NET,
	AB_P_WRITABLE, AB_P_PRIVATE, AB_P_NLISTS,
};

struct ab_profile {
	char *name;			/* what was asked for, "" if none */
	bool builtin;			/* the copy of "default" agentbox
					 * carries (none on disk) */
	char *path;			/* the top file, "" if none */
	struct ab_scalar s[AB_P_NSCALARS];
	struct ab_list l[AB_P_NLISTS];
	char *files[AB_PROFILE_MAX_FILES];	/* every file read */
	unsigned n_files;
	char *enforced;			/* path of the enforced profile */
};

/* The system configuration, /etc/agentbox/agentbox.conf */
struct ab_sysconf {
	bool user_profiles;		/* default true */
	char enforce[256];		/* profile name, "" if none */
	char default_profile[256];	/* "" if none */
	char claude_profile[256];	/* for Claude Code's shells, "" if none */
	char path[4096];		/* the file, "" if absent */
};

enum ab_profile_dir { AB_DIR_SYSTEM, AB_DIR_VENDOR, AB_DIR_USER, AB_NDIRS };

const char *ab_profile_dir(enum ab_profile_dir d, char *buf, size_t size);
int ab_sysconf_load(struct ab_sysconf *sc, struct ab_err *e);
int ab_profile_load(struct ab_profile *p, const struct ab_sysconf *sc,
		    const char *name, struct ab_err *e);
int ab_profile_apply(const struct ab_profile *p, struct ab_config *c,
		     struct ab_err *e);
typedef void (*ab_profile_fn)(void *arg, const char *section,
			      const char *key, const char *value,
			      const struct ab_origin *at);
void ab_profile_walk(const struct ab_profile *p, ab_profile_fn fn, void *arg);
void ab_profile_sha256(const struct ab_profile *p, char hex[65]);
const char *ab_profile_label(const char *name, char *buf, size_t size);

int ab_config_resolve(struct ab_config *c, struct ab_profile *p,
		      char *const envp[], struct ab_err *e);
int ab_profile_parse_text(struct ab_profile *p, const char *name,
			  const char *text, size_t len, bool enforced,
			  struct ab_err *e);
void ab_profile_free(struct ab_profile *p);
int ab_parse_size(const char *v, unsigned long long *out);
int ab_profile_main(int argc, char *argv[]);
const char *ab_profile_key_name(int list_or_scalar, int key);

#endif /* AB_PROFILE_H */
