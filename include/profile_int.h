/* SPDX-License-Identifier: MIT */
/* profile_int.h - what only the profile modules share.
 *
 *   profile_keys.c   the grammar: one descriptor per key (its parser, its
 *                    tightening rule, its apply step), the line handler,
 *                    parsing text in memory
 *   profile.c        files: where profiles are, ownership (StrictModes),
 *                    includes, the system configuration, loading
 *   profile_apply.c  the merged profile into struct ab_config
 *   profilecmd.c     "agentbox profile list|show|lint"
 *
 * A key is added in one place: a row of ab_keys[] (and its index in the
 * enum of profile.h).  Nothing else tests key ids.
 */
#ifndef AB_PROFILE_INT_H
#define AB_PROFILE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "profile.h"

enum key_kind { K_SCALAR, K_LIST, K_INCLUDE };

/* How a value may differ from the enforced profile's (tightening only) */
enum tighten {
	T_FREE,		/* not bound by the enforced profile */
	T_EQUAL,	/* once enforced: that value only */
	T_AT_MOST,	/* a number, or a choice, at most the enforced one */
	T_AT_LEAST,	/* a size at least the enforced one */
	T_SUBSET,	/* only the enforced list's values (none if empty) */
	T_SUBSET_IF_SET,/* the same, once the enforced list has any */
	T_WITHIN,	/* paths: the enforced list's, or below one of them,
			 * once the enforced list has any */
	T_NOT_UNSET,	/* NAME=VALUE: not a name the enforced profile unsets */
};

struct ctx;
struct key;

typedef int key_check_fn(struct ctx *x, const struct key *k, const char *v);
typedef int key_apply_fn(const struct key *k, const struct ab_profile *p,
			 struct ab_config *c, struct ab_err *e);

struct key {
	const char *section;
	const char *name;
	enum key_kind kind;
	int id;				/* enum ab_scalar_key / ab_list_key */
	key_check_fn *check;		/* the value as written; NULL: any */
	enum tighten tighten;
	key_apply_fn *apply;		/* NULL: read where it is used
					 * (policy.c: paths, sockets, env) */
	unsigned long min, max;		/* numbers */
	const char *const *choices;	/* NULL-terminated, strictest first */
	size_t field, fsize;		/* in struct ab_config, for apply */
	unsigned cli;			/* AB_SET_* of the command line's
					 * option for it, 0 if none */
	const char *cli_name;		/* that option */
};

extern const struct key ab_keys[];
extern const size_t ab_nkeys;
extern const char *const ab_sections[];
extern const size_t ab_nsections;

/* Where a file came from: decides the ownership rule */
enum trust { TRUST_ROOT, TRUST_USER, TRUST_NONE /* lint, memory */ };

struct ctx {
	struct ab_profile *p;
	struct ab_sysconf *sc;		/* agentbox.conf's reader only */
	struct ab_err *e;
	const char *file;		/* interned in p->files */
	int line;
	bool mid_line;			/* the reader is inside a long line */
	FILE *f;
	enum trust trust;
	bool enforced;
	bool lint;			/* report every error, go on */
	int errors;
	int depth;
	const char *stack[AB_PROFILE_MAX_DEPTH + 1];
	int scalar_line[AB_P_NSCALARS];	/* this file's, for duplicates */
	unsigned first_item[AB_P_NLISTS];	/* this file's first items */
	char missing;			/* this file's default: '!' or '?' */
	/* "include = NAME": profile.c reads files; NULL refuses includes */
	int (*include)(struct ctx *x, const char *v);
};

int ab_perr(struct ctx *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *ab_closest(const char *word, const char *const *cands, size_t n);
void ab_ini_setup(void);
char *ab_ini_reader(char *str, int num, void *stream);
char *ab_profile_intern_file(struct ab_profile *p, const char *path);
int ab_profile_parse_file(struct ctx *x, const char *file);
const struct key *ab_key_find(int kind, int id);
int ab_profile_lint(const char *path);

#endif /* AB_PROFILE_INT_H */
