// SPDX-License-Identifier: MIT
/* profile.c - reading, checking and merging profiles (libinih).
 *
 * Theory of operation: a profile is an INI file of known sections and
 * keys (the table keys[] below is the whole grammar).  Every value is
 * checked when it is read, and kept with the file and line it came from, so
 * that an error names the line and "profile show" can say where each value
 * of the merged result was set.
 *
 * Where profiles come from, in this order: the system directory
 * (/etc/agentbox/profiles), the vendor directory (PREFIX/share/agentbox/
 * profiles, what "make install" ships), the user's (~/.config/agentbox/
 * profiles) unless /etc/agentbox/agentbox.conf says user_profiles = no.
 * A file read from the system or vendor directory, or included from one,
 * must be owned by root and writable by nobody else, and so must every
 * directory above it (a sticky directory such as /tmp is accepted above a
 * root-owned one: nobody else can rename or remove it); any other profile
 * must belong to the caller or root and be writable by nobody else.  This
 * is sshd's StrictModes rule.
 *
 * Enforcement: when the system configuration names "enforce = NAME", that
 * profile is read first and its values are marked enforced.  What follows
 * (the chosen profile, then the command line) may only tighten it: add
 * read-only and hidden paths and variables to unset, lower max_conns; it
 * may not change the upstream, allow more host sockets, pass more
 * variables or set a variable the enforced profile unsets.
 *
 * libinih is built without line numbers in its callback; the line counter
 * is kept by our reader function, which libinih calls once per line.
 */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "egress.h"
#include "env.h"
#include "profile.h"
#include "util.h"

#ifndef AB_SYSCONFDIR
#define AB_SYSCONFDIR	"/etc"
#endif
#ifndef AB_DATADIR
#define AB_DATADIR	"/usr/local/share"
#endif

enum key_kind { K_SCALAR, K_LIST, K_INCLUDE };

struct key {
	const char *section;
	const char *name;
	enum key_kind kind;
	int id;				/* enum ab_scalar_key / ab_list_key */
};

static const struct key keys[] = {
	{ "profile",	"description",	K_SCALAR, AB_P_DESCRIPTION },
	{ "profile",	"include",	K_INCLUDE, 0 },
	{ "network",	"upstream",	K_SCALAR, AB_P_UPSTREAM },
	{ "network",	"subnet",	K_SCALAR, AB_P_SUBNET },
	{ "network",	"proxy_port",	K_SCALAR, AB_P_PROXY_PORT },
	{ "network",	"max_conns",	K_SCALAR, AB_P_MAX_CONNS },
	{ "network",	"verbose",	K_SCALAR, AB_P_VERBOSE },
	{ "network",	"credentials",	K_SCALAR, AB_P_CREDENTIALS },
	{ "network",	"identity_header", K_SCALAR, AB_P_IDENTITY },
	{ "network",	"ca_bundle",	K_SCALAR, AB_P_CA_BUNDLE },
	{ "egress",	"allow",	K_LIST, AB_P_EG_ALLOW },
	{ "egress",	"deny",		K_LIST, AB_P_EG_DENY },
	{ "egress",	"ports",	K_LIST, AB_P_PORTS },
	{ "egress",	"allow_net",	K_LIST, AB_P_ALLOW_NET },
	{ "egress",	"ip_literals",	K_SCALAR, AB_P_IP_LITERALS },
	{ "audit",	"log",		K_SCALAR, AB_P_AUDIT_LOG },
	{ "audit",	"file",		K_SCALAR, AB_P_AUDIT_FILE },
	{ "filesystem",	"readonly",	K_LIST, AB_P_READONLY },
	{ "filesystem",	"hide",		K_LIST, AB_P_HIDE },
	{ "filesystem",	"missing",	K_SCALAR, AB_P_MISSING },
	{ "unix",	"allow",	K_LIST, AB_P_ALLOW_UNIX },
	{ "env",	"unset",	K_LIST, AB_P_UNSET },
	{ "env",	"set",		K_LIST, AB_P_SET },
	{ "env",	"pass",		K_LIST, AB_P_PASS },
};

static const char *const sections[] = {
	"profile", "network", "egress", "audit", "filesystem", "unix", "env",
};

/**
 * ab_profile_key_name() - "[section] key" of a scalar or list key
 * @list_or_scalar:	K_LIST (1) or K_SCALAR (0)
 * @key:		Its id
 *
 * Return: the key's name
 */
const char *ab_profile_key_name(int list_or_scalar, int key)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if ((int)keys[i].kind == list_or_scalar && keys[i].id == key)
			return keys[i].name;
	return "?";
}

/* Where a file came from: decides the ownership rule */
enum trust { TRUST_ROOT, TRUST_USER, TRUST_NONE /* lint */ };

struct ctx {
	struct ab_profile *p;
	struct ab_sysconf *sc;		/* agentbox.conf's reader only */
	struct ab_err *e;
	const char *file;		/* interned in p->files */
	int line;
	FILE *f;
	char section[64];
	enum trust trust;
	bool enforced;
	bool lint;			/* report every error, go on */
	int errors;
	int depth;
	const char *stack[AB_PROFILE_MAX_DEPTH + 1];
	int scalar_line[AB_P_NSCALARS];	/* this file's, for duplicates */
	unsigned first_item[AB_P_NLISTS];	/* this file's first items */
	char missing;			/* this file's default: '!' or '?' */
};

static int load_file(struct ctx *x, const char *path, enum trust trust);

/**
 * perr() - Report an error at the current file and line
 * @x:		Context
 * @fmt:	Message
 *
 * In lint mode every error is printed; otherwise the first is kept in
 * x->e and parsing stops at the end of the file.
 *
 * Return: 0 (libinih's "error" return)
 */
__attribute__((format(printf, 2, 3)))
static int perr(struct ctx *x, const char *fmt, ...)
{
	char msg[AB_ERR_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	x->errors++;
	if (x->lint)
		fprintf(stderr, "%s:%d: %s\n", x->file, x->line, msg);
	else if (x->errors == 1)
		ab_fail(x->e, 0, "%s:%d: %s", x->file, x->line, msg);
	return 0;
}

/**
 * edit_distance() - Levenshtein distance, for "did you mean"
 * @a:		One word
 * @b:		The other (both shorter than 64)
 *
 * Return: the distance, or 99 for long words
 */
static unsigned edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned d[64], prev;

	if (la >= 64 || lb >= 64)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		d[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		prev = d[0];
		d[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned cur = d[j], best;

			best = prev + (a[i - 1] != b[j - 1]);
			if (d[j] + 1 < best)
				best = d[j] + 1;
			if (d[j - 1] + 1 < best)
				best = d[j - 1] + 1;
			d[j] = best;
			prev = cur;
		}
	}
	return d[lb];
}

static const char *closest(const char *word, const char *const *cands,
			   size_t n)
{
	const char *best = NULL;
	unsigned bd = 3;	/* at most 2 edits away */

	for (size_t i = 0; i < n; i++) {
		unsigned dist = edit_distance(word, cands[i]);

		if (dist < bd) {
			bd = dist;
			best = cands[i];
		}
	}
	return best;
}

static bool valid_env_name(const char *s, bool glob)
{
	if (!*s)
		return false;
	for (const char *c = s; *c; c++)
		if (!(isalnum((unsigned char)*c) || *c == '_' ||
		      (glob && (*c == '*' || *c == '?'))))
			return false;
	return !isdigit((unsigned char)*s);
}

/**
 * check_path() - A path as profiles write it: absolute, ~ or $VAR
 * @x:		Context, for the error
 * @key:	Key name
 * @v:		Value, after any '?'/'!' prefix
 *
 * Return: 1 if fine, 0 after reporting
 */
static int check_path(struct ctx *x, const char *key, const char *v)
{
	if (!(v[0] == '/' || v[0] == '$' ||
	      (v[0] == '~' && (v[1] == '/' || !v[1]))))
		return perr(x, "%s '%s': a path must be absolute or start "
			    "with ~/ or $VARIABLE", key, v);
	if (strstr(v, "/../") || !strcmp(v + strlen(v) - (strlen(v) > 2 ?
						       3 : 0), "/.."))
		return perr(x, "%s '%s': '..' is not allowed in a path", key,
			    v);
	return 1;
}

/**
 * check_value() - Check one value against its key
 * @x:		Context
 * @k:		The key
 * @v:		Value as written
 *
 * Return: 1 if fine, 0 after reporting
 */
static int check_value(struct ctx *x, const struct key *k, const char *v)
{
	struct ab_err e = { 0 };
	unsigned long n;
	char *end;

	if (!*v && k->id != AB_P_DESCRIPTION)
		return perr(x, "%s: empty value", k->name);
	if (k->kind == K_SCALAR) {
		switch (k->id) {
		case AB_P_UPSTREAM: {
			struct ab_upstream u;

			if (ab_parse_upstream(&u, v, "upstream", &e))
				return perr(x, "%s", e.msg);
			return 1;
		}
		case AB_P_SUBNET: {
			struct in_addr a, b;
			unsigned len;

			if (ab_parse_subnet(v, &a, &b, &len, &e))
				return perr(x, "%s", e.msg);
			return 1;
		}
		case AB_P_PROXY_PORT:
		case AB_P_MAX_CONNS:
		case AB_P_VERBOSE: {
			unsigned long max = k->id == AB_P_PROXY_PORT ? 65535 :
					    k->id == AB_P_MAX_CONNS ? 65536 :
								      2;
			unsigned long min = k->id == AB_P_VERBOSE ? 0 : 1;

			errno = 0;
			n = strtoul(v, &end, 10);
			if (!isdigit((unsigned char)*v) || *end || errno ||
			    n < min || n > max)
				return perr(x, "%s '%s': expected a number "
					    "from %lu to %lu", k->name, v,
					    min, max);
			return 1;
		}
		case AB_P_MISSING:
			if (strcmp(v, "skip") && strcmp(v, "stub"))
				return perr(x, "missing '%s': expected 'skip' "
					    "or 'stub'", v);
			return 1;
		case AB_P_IP_LITERALS:
			if (strcmp(v, "yes") && strcmp(v, "no"))
				return perr(x, "ip_literals '%s': expected "
					    "'yes' or 'no'", v);
			return 1;
		case AB_P_AUDIT_LOG:
			if (strcmp(v, "file") && strcmp(v, "syslog") &&
			    strcmp(v, "both") && strcmp(v, "none"))
				return perr(x, "log '%s': expected 'file', "
					    "'syslog', 'both' or 'none'", v);
			return 1;
		case AB_P_AUDIT_FILE:
		case AB_P_CREDENTIALS:
		case AB_P_CA_BUNDLE:
			if (v[0] != '/' && strncmp(v, "~/", 2))
				return perr(x, "%s '%s': expected an absolute "
					    "path or ~/PATH", k->name, v);
			return check_path(x, k->name, v);
		case AB_P_IDENTITY:
			for (const char *q = v; *q; q++)
				if (!isalnum((unsigned char)*q) && *q != '-')
					return perr(x, "identity_header '%s': "
						    "expected a header field "
						    "name (letters, digits, "
						    "-)", v);
			return 1;
		default:
			return 1;
		}
	}
	switch (k->id) {
	case AB_P_READONLY:
	case AB_P_HIDE:
		return check_path(x, k->name, v + (*v == '?' || *v == '!'));
	case AB_P_ALLOW_UNIX:
		return check_path(x, k->name, v);
	case AB_P_EG_ALLOW:
	case AB_P_EG_DENY:
	case AB_P_PORTS:
	case AB_P_ALLOW_NET: {
		static struct ab_egress g;	/* scratch, for checking */

		if (strpbrk(v, " \t"))
			return perr(x, "%s '%s': one value per line", k->name,
				    v);
		ab_egress_defaults(&g);
		if (ab_egress_add(&g, k->name, v, "", &e))
			return perr(x, "%s", e.msg);
		return 1;
	}
	case AB_P_UNSET:
	case AB_P_PASS:
		if (!valid_env_name(v, true))
			return perr(x, "%s '%s': expected a variable name "
				    "(letters, digits, _; * and ? match)",
				    k->name, v);
		return 1;
	case AB_P_SET: {
		const char *eq = strchr(v, '=');
		char name[256];

		if (!eq || (size_t)(eq - v) >= sizeof(name))
			return perr(x, "set '%s': expected NAME=VALUE", v);
		memcpy(name, v, (size_t)(eq - v));
		name[eq - v] = '\0';
		if (!valid_env_name(name, false))
			return perr(x, "set '%s': '%s' is not a variable "
				    "name", v, name);
		if (ab_env_is_own(name))
			return perr(x, "set '%s': %s is agentbox's own (the "
				    "proxy variables point at the relay)", v,
				    name);
		return 1;
	}
	}
	return 1;
}

static char *intern_file(struct ab_profile *p, const char *path)
{
	for (unsigned i = 0; i < p->n_files; i++)
		if (!strcmp(p->files[i], path))
			return p->files[i];
	if (p->n_files == AB_PROFILE_MAX_FILES)
		return NULL;
	return p->files[p->n_files++] = strdup(path);
}

static int list_add(struct ab_list *l, const char *v, struct ab_origin at)
{
	if (l->n == l->cap) {
		unsigned cap = l->cap ? l->cap * 2 : 8;
		struct ab_item *nv = realloc(l->v, cap * sizeof(*nv));

		if (!nv)
			return -1;
		l->v = nv;
		l->cap = cap;
	}
	if (!(l->v[l->n].value = strdup(v)))
		return -1;
	l->v[l->n++].at = at;
	return 0;
}

static const struct ab_item *list_find(const struct ab_list *l,
				       const char *v, bool enforced_only)
{
	for (unsigned i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].value, v) &&
		    (!enforced_only || l->v[i].at.enforced))
			return &l->v[i];
	return NULL;
}

static bool list_has_enforced(const struct ab_list *l)
{
	for (unsigned i = 0; i < l->n; i++)
		if (l->v[i].at.enforced)
			return true;
	return false;
}

/**
 * tighten_only() - Refuse a value that would loosen the enforced profile
 * @x:		Context (not enforced itself)
 * @k:		Key
 * @v:		Value
 *
 * Return: 1 if allowed, 0 after reporting
 */
static int tighten_only(struct ctx *x, const struct key *k, const char *v)
{
	struct ab_profile *p = x->p;
	const struct ab_scalar *s;

	if (!p->enforced || x->enforced)
		return 1;
	if (k->kind == K_SCALAR) {
		s = &p->s[k->id];
		if (!s->value || !s->at.enforced)
			return 1;
		if (k->id == AB_P_UPSTREAM && strcmp(s->value, v))
			return perr(x, "upstream: enforced as '%s' by %s:%d",
				    s->value, s->at.file, s->at.line);
		if ((k->id == AB_P_CREDENTIALS || k->id == AB_P_IDENTITY ||
		     k->id == AB_P_CA_BUNDLE ||
		     k->id == AB_P_AUDIT_LOG || k->id == AB_P_AUDIT_FILE ||
		     (k->id == AB_P_IP_LITERALS && !strcmp(v, "yes"))) &&
		    strcmp(s->value, v))
			return perr(x, "%s: enforced as '%s' by %s:%d",
				    k->name, s->value, s->at.file,
				    s->at.line);
		if (k->id == AB_P_MAX_CONNS &&
		    strtoul(v, NULL, 10) > strtoul(s->value, NULL, 10))
			return perr(x, "max_conns %s: the enforced profile "
				    "(%s:%d) allows at most %s", v,
				    s->at.file, s->at.line, s->value);
		return 1;
	}
	if (k->id == AB_P_ALLOW_UNIX && !list_find(&p->l[k->id], v, true))
		return perr(x, "allow '%s': the enforced profile %s does not "
			    "allow this socket, and a profile may only "
			    "tighten it", v, p->enforced);
	if ((k->id == AB_P_EG_ALLOW || k->id == AB_P_PORTS ||
	     k->id == AB_P_ALLOW_NET) && list_has_enforced(&p->l[k->id]) &&
	    !list_find(&p->l[k->id], v, true))
		return perr(x, "%s '%s': the enforced profile %s allows only "
			    "its own list, and a profile may only tighten it",
			    k->name, v, p->enforced);

	if (k->id == AB_P_PASS && list_has_enforced(&p->l[AB_P_PASS]) &&
	    !list_find(&p->l[k->id], v, true))
		return perr(x, "pass '%s': the enforced profile %s passes "
			    "only its own list", v, p->enforced);
	if (k->id == AB_P_SET) {
		const struct ab_list *u = &p->l[AB_P_UNSET];
		size_t n = (size_t)(strchr(v, '=') - v);
		char name[256];

		snprintf(name, sizeof(name), "%.*s", (int)n, v);
		for (unsigned i = 0; i < u->n; i++)
			if (u->v[i].at.enforced &&
			    !fnmatch(u->v[i].value, name, 0))
				return perr(x, "set '%s': the enforced "
					    "profile unsets %s (%s:%d)", v,
					    name, u->v[i].at.file,
					    u->v[i].at.line);
	}
	return 1;
}

static int do_include(struct ctx *x, const char *v);

/**
 * handler() - libinih callback: one "key = value" line
 * @user:	Context
 * @section:	Current section
 * @name:	Key
 * @value:	Value
 *
 * Return: 1 to go on, 0 on an error (already reported)
 */
static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	struct ctx *x = user;
	const char *cands[ARRAY_SIZE(keys)];
	const struct key *k = NULL;
	struct ab_origin at;
	size_t nc = 0;
	bool known_section = false;
	const char *hint;

	if (x->errors && !x->lint)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
		known_section |= !strcmp(section, sections[i]);
	if (!*section)
		return perr(x, "'%s' outside a section (sections: [profile], "
			    "[network], [filesystem], [unix], [env])", name);
	if (!known_section) {
		hint = closest(section, sections, ARRAY_SIZE(sections));
		if (hint)
			return perr(x, "unknown section [%s] (did you mean "
				    "[%s]?)", section, hint);
		return perr(x, "unknown section [%s] (sections: [profile], "
			    "[network], [filesystem], [unix], [env])",
			    section);
	}
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (strcmp(keys[i].section, section))
			continue;
		cands[nc++] = keys[i].name;
		if (!strcmp(keys[i].name, name))
			k = &keys[i];
	}
	if (!k) {
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			if (!strcmp(keys[i].name, name))
				return perr(x, "key '%s' belongs in [%s], not "
					    "[%s]", name, keys[i].section,
					    section);
		hint = closest(name, cands, nc);
		if (hint)
			return perr(x, "unknown key '%s' in [%s] (did you "
				    "mean '%s'?)", name, section, hint);
		return perr(x, "unknown key '%s' in [%s]", name, section);
	}
	if (k->kind == K_INCLUDE)
		return do_include(x, value);
	if (!check_value(x, k, value) || !tighten_only(x, k, value))
		return 0;

	at = (struct ab_origin){ x->file, x->line, x->enforced };
	if (k->kind == K_SCALAR) {
		struct ab_scalar *s = &x->p->s[k->id];

		if (x->scalar_line[k->id])
			return perr(x, "duplicate key '%s' (first set at line "
				    "%d)", name, x->scalar_line[k->id]);
		x->scalar_line[k->id] = x->line;
		free(s->value);
		if (!(s->value = strdup(value)))
			return perr(x, "out of memory");
		s->at = at;
		if (k->id == AB_P_MISSING)
			x->missing = strcmp(value, "skip") ? '!' : '?';
		return 1;
	}
	if (list_add(&x->p->l[k->id], value, at))
		return perr(x, "out of memory");
	return 1;
}

/**
 * normalize_missing() - Give this file's path rules an explicit '?' or '!'
 * @x:		Context, at the end of a file
 *
 * "missing = skip|stub" is the default of the file it is written in, for
 * the rules of that file, wherever in the file it stands.
 */
static int normalize_missing(struct ctx *x)
{
	static const int lists[] = { AB_P_READONLY, AB_P_HIDE };

	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		struct ab_list *l = &x->p->l[lists[i]];

		for (unsigned j = x->first_item[lists[i]]; j < l->n; j++) {
			char *v = l->v[j].value, *nv;

			if (l->v[j].at.file != x->file || *v == '?' ||
			    *v == '!')
				continue;
			if (asprintf(&nv, "%c%s", x->missing, v) < 0)
				return -1;
			free(v);
			l->v[j].value = nv;
		}
	}
	return 0;
}

/**
 * ab_profile_dir() - One of the three profile directories
 * @d:		Which
 * @buf:	Result
 * @size:	Its size
 *
 * Return: @buf, or NULL if there is none (no home directory)
 */
const char *ab_profile_dir(enum ab_profile_dir d, char *buf, size_t size)
{
	const char *v;

	switch (d) {
	case AB_DIR_SYSTEM:
#ifdef AB_TEST_PATHS
		if ((v = getenv("AGENTBOX_TEST_SYSCONF")))
			return snprintf(buf, size, "%s/profiles", v) <
				(int)size ? buf : NULL;
#endif
		snprintf(buf, size, "%s/agentbox/profiles", AB_SYSCONFDIR);
		return buf;
	case AB_DIR_VENDOR:
#ifdef AB_TEST_PATHS
		if ((v = getenv("AGENTBOX_TEST_VENDOR")))
			return snprintf(buf, size, "%s", v) < (int)size ?
				buf : NULL;
#endif
		snprintf(buf, size, "%s/agentbox/profiles", AB_DATADIR);
		return buf;
	default:
		v = getenv("HOME");
		if (!v || v[0] != '/')
			return NULL;
		if (snprintf(buf, size, "%s/.config/agentbox/profiles", v) >=
		    (int)size)
			return NULL;
		return buf;
	}
}

static const char *sysconf_file(char *buf, size_t size)
{
#ifdef AB_TEST_PATHS
	const char *v = getenv("AGENTBOX_TEST_SYSCONF");

	if (v) {
		snprintf(buf, size, "%s/agentbox.conf", v);
		return buf;
	}
#endif
	snprintf(buf, size, "%s/agentbox/agentbox.conf", AB_SYSCONFDIR);
	return buf;
}

/**
 * check_owner() - StrictModes: the file and every directory above it
 * @path:	Absolute path of the file
 * @trust:	TRUST_ROOT: root only; TRUST_USER: root or the caller
 * @e:		Error
 *
 * Return: 0 if safe, -1 with @e filled (which file and why)
 */
static int check_owner(const char *path, enum trust trust, struct ab_err *e)
{
	char buf[PATH_MAX];
	uid_t me = getuid();
	bool first = true;
	struct stat st;

	if (trust == TRUST_NONE)
		return 0;
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return ab_fail(e, ENAMETOOLONG, "profile %s", path);
	for (;;) {
		bool ok_owner;
		char *slash;

		if (lstat(buf, &st))
			return ab_fail(e, errno, "profile %s: %s", path, buf);
		ok_owner = st.st_uid == 0 ||
			   (trust == TRUST_USER && st.st_uid == me);
		if (first && !S_ISREG(st.st_mode))
			return ab_fail(e, 0, "profile %s: not a regular file",
				       path);
		if (!first && !S_ISDIR(st.st_mode))
			return ab_fail(e, 0, "profile %s: %s is not a "
				       "directory", path, buf);
		if (!ok_owner)
			return ab_fail(e, 0, "profile %s refused: %s is owned "
				       "by uid %u, not %s", path, buf,
				       (unsigned)st.st_uid,
				       trust == TRUST_ROOT ? "root" :
							     "root or you");
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
		    !(!first && (st.st_mode & S_ISVTX)))
			return ab_fail(e, 0, "profile %s refused: %s is "
				       "writable by %s", path, buf,
				       (st.st_mode & S_IWOTH) ? "everyone" :
							       "its group");
		first = false;
		if (!strcmp(buf, "/"))
			return 0;
		slash = strrchr(buf, '/');
		if (slash == buf)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
}

static bool under_dir(const char *path, const char *dir)
{
	char rd[PATH_MAX];
	size_t n;

	if (!realpath(dir, rd))
		return false;
	n = strlen(rd);
	return !strncmp(path, rd, n) && path[n] == '/';
}

/**
 * resolve() - Find a profile by name or path
 * @name:	NAME (searched) or a path (contains '/')
 * @from_dir:	Directory of the including file, searched first; or NULL
 * @allow_user:	Whether the user directory and other paths may be used
 * @out:	Result: the real path
 * @trust:	Result: the ownership rule for it
 * @e:		Error
 *
 * Return: 0, or -1 with @e filled
 */
static int resolve(const char *name, const char *from_dir, bool allow_user,
		   char out[PATH_MAX], enum trust *trust, struct ab_err *e)
{
	char dir[PATH_MAX], cand[PATH_MAX + 300];
	char found[AB_NDIRS][PATH_MAX];
	const char *dirs[AB_NDIRS + 1];
	unsigned nd = 0;

	if (strchr(name, '/')) {
		if (!realpath(name, out))
			return ab_fail(e, errno, "profile %s", name);
	} else {
		size_t l = strlen(name);
		char bare[256];

		/* "corp" and "corp.conf" name the same profile */
		if (l > 5 && l < sizeof(bare) && !strcmp(name + l - 5, ".conf")) {
			snprintf(bare, sizeof(bare), "%.*s", (int)(l - 5), name);
			name = bare;
		}
		if (!*name || name[0] == '.' || strlen(name) > 200)
			return ab_fail(e, 0, "profile name '%s': expected "
				       "NAME or a path", name);
		if (from_dir)
			dirs[nd++] = from_dir;
		for (int d = 0; d < AB_NDIRS; d++) {
			if (d == AB_DIR_USER && !allow_user)
				continue;
			if (ab_profile_dir((enum ab_profile_dir)d, found[d],
					   sizeof(found[d])))
				dirs[nd++] = found[d];
		}
		out[0] = '\0';
		for (unsigned i = 0; i < nd && !out[0]; i++) {
			snprintf(cand, sizeof(cand), "%s/%s.conf", dirs[i],
				 name);
			if (!access(cand, F_OK) && !realpath(cand, out))
				out[0] = '\0';
		}
		if (!out[0]) {
			ab_fail(e, ENOENT, "profile '%s'", name);
			ab_hint(e, "'agentbox profile list' shows the profiles "
				"there are");
			return -1;
		}
	}
	*trust = TRUST_USER;
	for (int d = AB_DIR_SYSTEM; d <= AB_DIR_VENDOR; d++)
		if (ab_profile_dir((enum ab_profile_dir)d, dir, sizeof(dir)) &&
		    under_dir(out, dir))
			*trust = TRUST_ROOT;
	if (*trust == TRUST_USER && !allow_user) {
		ab_fail(e, 0, "profile %s refused: user profiles are turned "
			"off by the system configuration", out);
		return -1;
	}
	return 0;
}

static char *reader(char *str, int num, void *stream)
{
	struct ctx *x = stream;
	char *r = fgets(str, num, x->f);

	if (r)
		x->line++;
	return r;
}

static int do_include(struct ctx *x, const char *v)
{
	const char *written = v;
	char path[PATH_MAX], dir[PATH_MAX];
	struct ab_err e = { 0 };
	enum trust trust = TRUST_NONE;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", x->file);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	char rel[PATH_MAX * 2];

	/* A relative path is relative to the including file */
	if (strchr(v, '/') && v[0] != '/') {
		snprintf(rel, sizeof(rel), "%s/%s", dir, v);
		v = rel;
	}
	if (resolve(v, dir, x->trust != TRUST_ROOT || x->lint, path, &trust,
		    &e)) {
		return perr(x, "include '%s': %s%s%s", written, e.msg,
			    e.code ? ": " : "", e.code ? strerror(e.code) : "");
	}
	if (x->trust == TRUST_ROOT && trust != TRUST_ROOT)
		return perr(x, "include '%s': %s is not a system profile; a "
			    "system profile includes system profiles only", written,
			    path);
	if (x->lint)
		trust = TRUST_NONE;
	for (int i = 0; i <= x->depth; i++)
		if (x->stack[i] && !strcmp(x->stack[i], path))
			return perr(x, "include '%s': include loop (%s is "
				    "already being read)", written, path);
	if (x->depth >= AB_PROFILE_MAX_DEPTH)
		return perr(x, "include '%s': nested deeper than %d", written,
			    AB_PROFILE_MAX_DEPTH);
	return load_file(x, path, trust) ? 0 : 1;
}

/**
 * load_file() - Read one profile file into the context's profile
 * @x:		Context (its file, line and per-file state are saved)
 * @path:	Real path
 * @trust:	Ownership rule
 *
 * Return: 0 on success, -1 on an error (reported)
 */
static int load_file(struct ctx *x, const char *path, enum trust trust)
{
	struct ctx saved = *x;
	const char *file;
	int rc, errors_before = x->errors;

	if (!(file = intern_file(x->p, path))) {
		perr(x, "more than %d profile files", AB_PROFILE_MAX_FILES);
		return -1;
	}
	if (check_owner(path, trust, x->e)) {
		x->errors++;
		if (x->lint)
			ab_err_print(x->e);
		return -1;
	}
	x->f = fopen(path, "re");
	if (!x->f) {
		x->errors++;
		if (x->lint)
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
		else
			ab_fail(x->e, errno, "profile %s", path);
		x->f = saved.f;
		return -1;
	}
	x->file = file;
	x->line = 0;
	x->trust = trust;
	x->section[0] = '\0';
	x->stack[++x->depth] = file;
	x->missing = '!';
	memset(x->scalar_line, 0, sizeof(x->scalar_line));
	for (int i = 0; i < AB_P_NLISTS; i++)
		x->first_item[i] = x->p->l[i].n;

	rc = ini_parse_stream(reader, x, handler, x);
	if (rc > 0 && x->errors == errors_before) {
		/* a line libinih could not parse: no '=' or a bad [ */
		x->line = rc;
		perr(x, "not a 'key = value' line or a [section]");
	}
	if (normalize_missing(x))
		perr(x, "out of memory");
	fclose(x->f);

	rc = x->errors > errors_before ? -1 : 0;
	x->f = saved.f;
	x->file = saved.file;
	x->line = saved.line;
	x->trust = saved.trust;
	x->depth = saved.depth;
	x->missing = saved.missing;
	memcpy(x->scalar_line, saved.scalar_line, sizeof(x->scalar_line));
	memcpy(x->first_item, saved.first_item, sizeof(x->first_item));
	return rc;
}

static void ini_setup(void)
{
	/* Comments only on their own line: values are paths and commands
	 * in which ';' and '#' are ordinary characters. */
	ini_allow_inline_comments = false;
	ini_allow_multiline = false;
	ini_use_stack = false;
	ini_allow_realloc = true;
	ini_max_line = 8192;
}

/**
 * sysconf_handler() - libinih callback for agentbox.conf
 */
static int sysconf_handler(void *user, const char *section, const char *name,
			   const char *value)
{
	struct ctx *x = user;
	struct ab_sysconf *sc = x->sc;

	if (strcmp(section, "agentbox"))
		return perr(x, "unknown section [%s] (expected [agentbox])",
			    section);
	if (!strcmp(name, "user_profiles")) {
		if (strcmp(value, "yes") && strcmp(value, "no"))
			return perr(x, "user_profiles '%s': expected yes or "
				    "no", value);
		sc->user_profiles = !strcmp(value, "yes");
	} else if (!strcmp(name, "enforce") || !strcmp(name, "default")) {
		char *dst = name[0] == 'e' ? sc->enforce : sc->default_profile;

		if (strchr(value, '/') || !*value || strlen(value) > 200)
			return perr(x, "%s '%s': expected a profile name",
				    name, value);
		snprintf(dst, 256, "%s", value);
	} else {
		static const char *const k[] = { "user_profiles", "enforce",
						 "default" };
		const char *hint = closest(name, k, ARRAY_SIZE(k));

		if (hint)
			return perr(x, "unknown key '%s' in [agentbox] (did "
				    "you mean '%s'?)", name, hint);
		return perr(x, "unknown key '%s' in [agentbox]", name);
	}
	return 1;
}

/**
 * ab_sysconf_load() - Read /etc/agentbox/agentbox.conf, if there is one
 * @sc:		Result
 * @e:		Error
 *
 * Return: 0 (also when there is no file), -1 with @e filled
 */
int ab_sysconf_load(struct ab_sysconf *sc, struct ab_err *e)
{
	struct ctx x = { .e = e };
	char path[4096];
	int rc;

	memset(sc, 0, sizeof(*sc));
	sc->user_profiles = true;
	sysconf_file(path, sizeof(path));
	if (access(path, F_OK))
		return 0;
	if (check_owner(path, TRUST_ROOT, e))
		return -1;
	snprintf(sc->path, sizeof(sc->path), "%s", path);
	ini_setup();
	x.sc = sc;
	x.file = sc->path;
	if (!(x.f = fopen(path, "re")))
		return ab_fail(e, errno, "system configuration %s", path);
	rc = ini_parse_stream(reader, &x, sysconf_handler, &x);
	fclose(x.f);
	if (rc > 0 && !x.errors) {
		x.line = rc;
		perr(&x, "not a 'key = value' line or a [section]");
	}
	return x.errors ? -1 : 0;
}

/**
 * ab_profile_load() - Load the enforced profile, then the chosen one
 * @p:		Result (free with ab_profile_free(), also on failure)
 * @sc:		System configuration
 * @name:	--profile NAME|PATH, or NULL for the default
 * @e:		Error
 *
 * Return: 0, or -1 with @e filled
 */
int ab_profile_load(struct ab_profile *p, const struct ab_sysconf *sc,
		    const char *name, struct ab_err *e)
{
	struct ctx x = { .p = p, .e = e };
	char path[PATH_MAX];
	enum trust trust = TRUST_NONE;

	memset(p, 0, sizeof(*p));
	ini_setup();
	if (sc->enforce[0]) {
		if (resolve(sc->enforce, NULL, false, path, &trust, e)) {
			ab_hint(e, "named by 'enforce' in %s", sc->path);
			return -1;
		}
		if (trust != TRUST_ROOT)
			return ab_fail(e, 0, "enforced profile %s: not in the "
				       "system or vendor directory", path);
		if (!(p->enforced = strdup(path)))
			return ab_fail(e, ENOMEM, "profile");
		x.enforced = true;
		if (load_file(&x, path, TRUST_ROOT))
			return -1;
		x.enforced = false;
	}
	if (!name && sc->default_profile[0])
		name = sc->default_profile;
	p->name = strdup(name ? name : "");
	p->path = strdup("");
	if (!p->name || !p->path)
		return ab_fail(e, ENOMEM, "profile");
	if (!name)
		return 0;
	if (resolve(name, NULL, sc->user_profiles, path, &trust, e))
		return -1;
	free(p->path);
	if (!(p->path = strdup(path)))
		return ab_fail(e, ENOMEM, "profile");
	if (p->enforced && !strcmp(p->enforced, path))
		return 0;	/* already read, enforced */
	return load_file(&x, path, trust);
}

/**
 * ab_profile_lint() - Check profile files as written
 * @path:	File
 *
 * Return: the number of errors (each printed as FILE:LINE: message)
 */
static int ab_profile_lint(const char *path)
{
	struct ab_profile p;
	struct ab_err e = { 0 };
	struct ctx x = { .p = &p, .e = &e, .lint = true };
	char real[PATH_MAX];

	memset(&p, 0, sizeof(p));
	ini_setup();
	if (!realpath(path, real)) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	load_file(&x, real, TRUST_NONE);
	ab_profile_free(&p);
	return x.errors;
}

/* "~/x" -> "$HOME/x"; NULL or "" -> "" */
static int expand_home(const char *v, char *out, size_t size)
{
	const char *home = getenv("HOME");
	int n;

	if (!v || !*v)
		return 0;
	if (!strncmp(v, "~/", 2) && home && *home == '/')
		n = snprintf(out, size, "%s/%s", home, v + 2);
	else
		n = snprintf(out, size, "%s", v);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* The [egress] lists into c->egress, each rule with its file:line */
static int apply_egress(const struct ab_profile *p, struct ab_config *c,
			struct ab_err *e)
{
	static const int lists[] = { AB_P_EG_ALLOW, AB_P_EG_DENY, AB_P_PORTS,
				     AB_P_ALLOW_NET };

	if (!c->egress)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		const struct ab_list *l = &p->l[lists[i]];

		for (unsigned j = 0; j < l->n; j++) {
			char at[160];

			snprintf(at, sizeof(at), "%s:%d", l->v[j].at.file,
				 l->v[j].at.line);
			if (ab_egress_add(c->egress,
					  ab_profile_key_name(K_LIST, lists[i]),
					  l->v[j].value, at, e))
				return -1;
		}
	}
	if (p->s[AB_P_IP_LITERALS].value &&
	    ab_egress_add(c->egress, "ip_literals",
			  p->s[AB_P_IP_LITERALS].value, "", e))
		return -1;
	return 0;
}

/**
 * ab_profile_apply() - Put the merged profile into the configuration
 * @p:		Profile
 * @c:		Configuration: command-line values (c->cli_set) win over
 *		the profile's, unless the profile enforced them
 * @e:		Error
 *
 * Return: 0, or -1 with @e filled
 */
int ab_profile_apply(const struct ab_profile *p, struct ab_config *c,
		     struct ab_err *e)
{
	const struct ab_scalar *s = p->s;

	c->profile = p;
	if (s[AB_P_UPSTREAM].value) {
		struct ab_upstream u;

		if (ab_parse_upstream(&u, s[AB_P_UPSTREAM].value,
				      "upstream", e))
			return -1;
		if ((c->cli_set & AB_SET_UPSTREAM) && s[AB_P_UPSTREAM].at.enforced &&
		    (strcmp(u.host, c->upstream.host) ||
		     u.port != c->upstream.port))
			return ab_fail(e, 0, "--upstream: the upstream is "
				       "enforced as '%s' by %s:%d",
				       s[AB_P_UPSTREAM].value,
				       s[AB_P_UPSTREAM].at.file,
				       s[AB_P_UPSTREAM].at.line);
		if (!(c->cli_set & AB_SET_UPSTREAM)) {
			snprintf(u.source, sizeof(u.source), "profile");
			c->upstream = u;
			c->have_upstream = true;
		}
	}
	if (s[AB_P_SUBNET].value && !(c->cli_set & AB_SET_SUBNET) &&
	    ab_parse_subnet(s[AB_P_SUBNET].value, &c->sandbox_addr,
			    &c->gateway_addr, &c->prefix_len, e))
		return -1;
	if (s[AB_P_PROXY_PORT].value && !(c->cli_set & AB_SET_PROXY_PORT))
		c->proxy_port = (unsigned short)strtoul(
			s[AB_P_PROXY_PORT].value, NULL, 10);
	if (s[AB_P_MAX_CONNS].value) {
		unsigned long m = strtoul(s[AB_P_MAX_CONNS].value, NULL, 10);

		if ((c->cli_set & AB_SET_MAX_CONNS) &&
		    s[AB_P_MAX_CONNS].at.enforced && c->max_conns > m)
			return ab_fail(e, 0, "--max-conns %u: the enforced "
				       "profile (%s:%d) allows at most %lu",
				       c->max_conns, s[AB_P_MAX_CONNS].at.file,
				       s[AB_P_MAX_CONNS].at.line, m);
		if (!(c->cli_set & AB_SET_MAX_CONNS))
			c->max_conns = (unsigned)m;
	}
	if (s[AB_P_VERBOSE].value && !(c->cli_set & AB_SET_VERBOSE))
		c->verbose = (int)strtoul(s[AB_P_VERBOSE].value, NULL, 10);
	if (s[AB_P_IDENTITY].value)
		snprintf(c->identity, sizeof(c->identity), "%s",
			 s[AB_P_IDENTITY].value);
	if (expand_home(s[AB_P_CREDENTIALS].value, c->credentials,
			sizeof(c->credentials)) ||
	    expand_home(s[AB_P_AUDIT_FILE].value, c->audit_path,
			sizeof(c->audit_path)) ||
	    expand_home(s[AB_P_CA_BUNDLE].value, c->ca_bundle,
			sizeof(c->ca_bundle)))
		return ab_fail(e, ENAMETOOLONG, "profile: path too long");
	if (s[AB_P_AUDIT_LOG].value) {
		const char *v = s[AB_P_AUDIT_LOG].value;

		c->audit_sinks = !strcmp(v, "file") ? AB_AUDIT_FILE :
				 !strcmp(v, "syslog") ? AB_AUDIT_SYSLOG :
				 !strcmp(v, "both") ? AB_AUDIT_FILE |
						      AB_AUDIT_SYSLOG : 0;
	}
	return apply_egress(p, c, e);
}

/**
 * ab_config_resolve() - The configuration a run with these options has:
 *			 system configuration, profile, upstream
 * @c:		Parsed options, with c->egress holding the defaults
 * @p:		Result: the merged profile (free with ab_profile_free())
 * @envp:	Environment, for the proxy variables
 * @e:		Error
 *
 * The upstream is the command line's, else the profile's, else the first
 * proxy variable set, else the built-in proxy.  Used by a run and by
 * "agentbox doctor", so that doctor checks what a run would use.
 *
 * Return: 0, or -1 with @e filled
 */
int ab_config_resolve(struct ab_config *c, struct ab_profile *p,
		      char *const envp[], struct ab_err *e)
{
	struct ab_sysconf sc;
	int found;

	if (ab_sysconf_load(&sc, e) ||
	    ab_profile_load(p, &sc, c->profile_name, e) ||
	    ab_profile_apply(p, c, e))
		return -1;
	if (c->have_upstream)
		return 0;
	found = ab_upstream_from_env(&c->upstream, envp, e);
	if (found < 0)
		return -1;
	if (!found)	/* nothing configured: our own proxy */
		ab_parse_upstream(&c->upstream, "builtin", "default", e);
	return 0;
}

/**
 * ab_profile_free() - Free what a profile holds
 * @p:		Profile
 */
void ab_profile_free(struct ab_profile *p)
{
	for (int i = 0; i < AB_P_NSCALARS; i++)
		free(p->s[i].value);
	for (int i = 0; i < AB_P_NLISTS; i++) {
		for (unsigned j = 0; j < p->l[i].n; j++)
			free(p->l[i].v[j].value);
		free(p->l[i].v);
	}
	for (unsigned i = 0; i < p->n_files; i++)
		free(p->files[i]);
	free(p->name);
	free(p->path);
	free(p->enforced);
	memset(p, 0, sizeof(*p));
}

static void show_origin(const struct ab_origin *at)
{
	printf(" # %s:%d%s\n", at->file, at->line,
	       at->enforced ? " (enforced)" : "");
}

static void profile_show(const struct ab_profile *p)
{
	const char *path = p->path ? p->path : "";

	printf("# agentbox profile '%s'%s%s%s\n", p->name ? p->name : "",
	       path[0] ? " (" : "", path, path[0] ? ")" : "");
	if (p->enforced)
		printf("# enforced by the system: %s\n", p->enforced);
	for (size_t si = 0; si < ARRAY_SIZE(sections); si++) {
		bool head = false;

		for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
			const struct key *k = &keys[i];

			if (strcmp(k->section, sections[si]) ||
			    k->kind == K_INCLUDE)
				continue;
			if (k->kind == K_SCALAR && p->s[k->id].value) {
				if (!head && (head = true))
					printf("\n[%s]\n", sections[si]);
				printf("%s = %s", k->name, p->s[k->id].value);
				show_origin(&p->s[k->id].at);
			}
			for (unsigned j = 0; k->kind == K_LIST &&
					     j < p->l[k->id].n; j++) {
				if (!head && (head = true))
					printf("\n[%s]\n", sections[si]);
				printf("%s = %s", k->name,
				       p->l[k->id].v[j].value);
				show_origin(&p->l[k->id].v[j].at);
			}
		}
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void profile_list(const struct ab_sysconf *sc)
{
	static const char *const label[] = { "system", "vendor", "user" };
	char dir[PATH_MAX], seen[64][128];
	unsigned nseen = 0;

	if (sc->path[0])
		printf("# system configuration: %s%s%s%s\n", sc->path,
		       sc->enforce[0] ? ", enforce = " : "", sc->enforce,
		       sc->user_profiles ? "" : ", user_profiles = no");
	for (int d = 0; d < AB_NDIRS; d++) {
		char *names[256];
		unsigned n = 0;
		struct dirent *de;
		DIR *dh;

		if (!ab_profile_dir((enum ab_profile_dir)d, dir, sizeof(dir)))
			continue;
		if (d == AB_DIR_USER && !sc->user_profiles) {
			printf("%-14s %-7s %s (turned off)\n", "-", label[d],
			       dir);
			continue;
		}
		if (!(dh = opendir(dir)))
			continue;
		while ((de = readdir(dh)) && n < ARRAY_SIZE(names)) {
			size_t l = strlen(de->d_name);

			if (l > 5 && !strcmp(de->d_name + l - 5, ".conf") &&
			    de->d_name[0] != '.')
				names[n++] = strndup(de->d_name, l - 5);
		}
		closedir(dh);
		qsort(names, n, sizeof(*names), cmp_str);
		for (unsigned i = 0; i < n; i++) {
			bool shadowed = false;

			for (unsigned j = 0; j < nseen; j++)
				shadowed |= !strcmp(seen[j], names[i]);
			printf("%-14s %-7s %s/%s.conf%s%s\n", names[i],
			       label[d], dir, names[i],
			       shadowed ? " (shadowed)" : "",
			       !strcmp(names[i], sc->enforce) && d < 2 &&
			       !shadowed ? " (enforced)" : "");
			if (!shadowed && nseen < ARRAY_SIZE(seen))
				snprintf(seen[nseen++], sizeof(seen[0]), "%s",
					 names[i]);
			free(names[i]);
		}
	}
}

/**
 * ab_profile_main() - "agentbox profile list|show NAME|lint PATH..."
 * @argc:	Arguments after "agentbox"
 * @argv:	argv[0] is "profile"
 *
 * Return: exit status
 */
int ab_profile_main(int argc, char *argv[])
{
	struct ab_sysconf sc;
	struct ab_profile p;
	struct ab_err e = { 0 };
	int errors = 0;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf("Usage: agentbox profile list\n"
		       "       agentbox profile show [NAME|PATH]\n"
		       "       agentbox profile lint PATH...\n"
		       "See agentbox.profile(5).\n");
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "lint")) {
		if (argc < 3) {
			fprintf(stderr, "agentbox: profile lint: no file "
				"given\n");
			return 2;
		}
		for (int i = 2; i < argc; i++)
			errors += ab_profile_lint(argv[i]);
		if (errors)
			fprintf(stderr, "agentbox: profile lint: %d error%s\n",
				errors, errors == 1 ? "" : "s");
		return errors ? 1 : 0;
	}
	if (ab_sysconf_load(&sc, &e)) {
		ab_err_print(&e);
		return AB_EXIT_SETUP;
	}
	if (!strcmp(argv[1], "list") && argc == 2) {
		profile_list(&sc);
		return 0;
	}
	if (!strcmp(argv[1], "show") && argc <= 3) {
		int rc = ab_profile_load(&p, &sc, argc == 3 ? argv[2] : NULL,
					 &e);

		if (rc)
			ab_err_print(&e);
		else
			profile_show(&p);
		ab_profile_free(&p);
		return rc ? AB_EXIT_SETUP : 0;
	}
	fprintf(stderr, "agentbox: profile %s: unknown command or wrong "
		"arguments (list, show [NAME], lint PATH...)\n", argv[1]);
	return 2;
}
