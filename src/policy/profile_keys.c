// SPDX-License-Identifier: MIT
/* profile_keys.c - the profile grammar: every key, described once.
 *
 * Theory of operation: ab_keys[] is the whole grammar.  Each row says where
 * a key lives ([section] name), whether it is a single value or a list,
 * how a value is checked as written (check), how a value that follows the
 * enforced profile may differ from it (tighten), and how it reaches the
 * configuration (apply; NULL for the lists policy.c reads itself).  The
 * line handler below looks a key up, checks it, checks the tightening rule,
 * and stores it with its file and line; nothing else in agentbox tests a
 * key by its id to decide how to parse, tighten or apply it.
 *
 * Nothing here opens a file of the user's: a profile's text is parsed from
 * a FILE that profile.c opened, or from memory (ab_profile_parse_text(),
 * for the unit tests and the fuzzer), in which "include" is refused.
 */

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "egress.h"
#include "env.h"
#include "profile_int.h"
#include "sha256.h"
#include "util.h"

#define FIELD(m)	.field = offsetof(struct ab_config, m), \
			.fsize = sizeof(((struct ab_config *)0)->m)

key_apply_fn ab_apply_upstream, ab_apply_subnet, ab_apply_number,
	ab_apply_string, ab_apply_path, ab_apply_audit_log, ab_apply_egress,
	ab_apply_size, ab_apply_yes;

static key_check_fn check_upstream, check_subnet, check_number, check_size,
	check_choice,
	check_file, check_header, check_fs_path, check_socket, check_egress,
	check_env_name, check_env_set;

static const char *const yes_no[] = { "no", "yes", NULL };
static const char *const check_yes_no[] = { "yes", "no", NULL };
static const char *const skip_stub[] = { "skip", "stub", NULL };
static const char *const x11_modes[] = { "untrusted", "trusted", NULL };
static const char *const log_sinks[] = { "file", "syslog", "both", "none",
					 NULL };

/* Rows leave the fields that do not apply to them zero */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
const struct key ab_keys[] = {
	{ "profile", "description", K_SCALAR, AB_P_DESCRIPTION },
	{ "profile", "include", K_INCLUDE, 0 },
	{ "network", "upstream", K_SCALAR, AB_P_UPSTREAM, check_upstream,
	  T_EQUAL, ab_apply_upstream, .cli = AB_SET_UPSTREAM,
	  .cli_name = "--upstream" },
	{ "network", "subnet", K_SCALAR, AB_P_SUBNET, check_subnet, T_FREE,
	  ab_apply_subnet, .cli = AB_SET_SUBNET },
	{ "network", "proxy_port", K_SCALAR, AB_P_PROXY_PORT, check_number,
	  T_FREE, ab_apply_number, 1, 65535, FIELD(proxy_port),
	  .cli = AB_SET_PROXY_PORT },
	{ "network", "max_conns", K_SCALAR, AB_P_MAX_CONNS, check_number,
	  T_AT_MOST, ab_apply_number, 1, 65536, FIELD(max_conns),
	  .cli = AB_SET_MAX_CONNS, .cli_name = "--max-conns" },
	{ "network", "verbose", K_SCALAR, AB_P_VERBOSE, check_number, T_FREE,
	  ab_apply_number, 0, 2, FIELD(verbose), .cli = AB_SET_VERBOSE },
	{ "network", "credentials", K_SCALAR, AB_P_CREDENTIALS, check_file,
	  T_EQUAL, ab_apply_path, FIELD(credentials) },
	{ "network", "identity_header", K_SCALAR, AB_P_IDENTITY, check_header,
	  T_EQUAL, ab_apply_string, FIELD(identity) },
	{ "network", "ca_bundle", K_SCALAR, AB_P_CA_BUNDLE, check_file,
	  T_EQUAL, ab_apply_path, FIELD(ca_bundle) },
	{ "network", "upstream_ca", K_SCALAR, AB_P_UPSTREAM_CA, check_file,
	  T_EQUAL, ab_apply_path, FIELD(upstream_ca) },
	{ "network", "upstream_token", K_SCALAR, AB_P_UPSTREAM_TOKEN,
	  check_file, T_EQUAL, ab_apply_path, FIELD(upstream_token) },
	{ "network", "negotiate", K_SCALAR, AB_P_NEGOTIATE, check_choice,
	  T_FREE, ab_apply_yes, FIELD(negotiate),
	  .choices = check_yes_no },
	{ "network", "tunnel_check", K_SCALAR, AB_P_TUNNEL_CHECK, check_choice,
	  T_AT_MOST, ab_apply_yes, FIELD(tunnel_check),
	  .choices = check_yes_no },
	{ "network", "intercept", K_SCALAR, AB_P_INTERCEPT, check_choice,
	  T_FREE, ab_apply_yes, FIELD(intercept),
	  .choices = check_yes_no },
	{ "egress", "allow", K_LIST, AB_P_EG_ALLOW, check_egress,
	  T_SUBSET_IF_SET, ab_apply_egress },
	{ "egress", "deny", K_LIST, AB_P_EG_DENY, check_egress, T_FREE,
	  ab_apply_egress },
	{ "egress", "ports", K_LIST, AB_P_PORTS, check_egress,
	  T_SUBSET_IF_SET, ab_apply_egress },
	{ "egress", "allow_net", K_LIST, AB_P_ALLOW_NET, check_egress,
	  T_SUBSET_IF_SET, ab_apply_egress },
	{ "egress", "ip_literals", K_SCALAR, AB_P_IP_LITERALS, check_choice,
	  T_AT_MOST, ab_apply_egress, .choices = yes_no },
	{ "audit", "log", K_SCALAR, AB_P_AUDIT_LOG, check_choice, T_EQUAL,
	  ab_apply_audit_log, .choices = log_sinks },
	{ "audit", "file", K_SCALAR, AB_P_AUDIT_FILE, check_file, T_EQUAL,
	  ab_apply_path, FIELD(audit_path) },
	{ "audit", "min_free", K_SCALAR, AB_P_MIN_FREE, check_size, T_AT_LEAST,
	  ab_apply_size, FIELD(audit_min_free) },
	{ "filesystem", "readonly", K_LIST, AB_P_READONLY, check_fs_path,
	  T_FREE },
	{ "filesystem", "hide", K_LIST, AB_P_HIDE, check_fs_path, T_FREE },
	{ "filesystem", "private", K_LIST, AB_P_PRIVATE, check_fs_path,
	  T_FREE },
	{ "filesystem", "writable", K_LIST, AB_P_WRITABLE, check_fs_path,
	  T_WITHIN },
	{ "filesystem", "missing", K_SCALAR, AB_P_MISSING, check_choice,
	  T_FREE, .choices = skip_stub },
	{ "unix", "allow", K_LIST, AB_P_ALLOW_UNIX, check_socket, T_SUBSET },
	{ "unix", "x11", K_SCALAR, AB_P_X11, check_choice, T_AT_MOST,
	  .choices = x11_modes },
	{ "env", "unset", K_LIST, AB_P_UNSET, check_env_name, T_FREE },
	{ "env", "set", K_LIST, AB_P_SET, check_env_set, T_NOT_UNSET },
	{ "env", "pass", K_LIST, AB_P_PASS, check_env_name, T_SUBSET_IF_SET },
};
#pragma GCC diagnostic pop
const size_t ab_nkeys = ARRAY_SIZE(ab_keys);

const char *const ab_sections[] = {
	"profile", "network", "egress", "audit", "filesystem", "unix", "env",
};
const size_t ab_nsections = ARRAY_SIZE(ab_sections);

/**
 * ab_key_find() - The descriptor of a scalar or list key
 * @kind:	K_SCALAR or K_LIST
 * @id:		Its id
 *
 * Return: the descriptor, or NULL
 */
const struct key *ab_key_find(int kind, int id)
{
	for (size_t i = 0; i < ab_nkeys; i++)
		if ((int)ab_keys[i].kind == kind && ab_keys[i].id == id)
			return &ab_keys[i];
	return NULL;
}

/**
 * ab_profile_key_name() - The name of a scalar or list key
 * @list_or_scalar:	K_LIST (1) or K_SCALAR (0)
 * @key:		Its id
 *
 * Return: the key's name
 */
const char *ab_profile_key_name(int list_or_scalar, int key)
{
	const struct key *k = ab_key_find(list_or_scalar, key);

	return k ? k->name : "?";
}

/**
 * ab_perr() - Report an error at the current file and line
 * @x:		Context
 * @fmt:	Message
 *
 * In lint mode every error is printed; otherwise the first is kept in
 * x->e and parsing stops at the end of the file.
 *
 * Return: 0 (libinih's "error" return)
 */
int ab_perr(struct ctx *x, const char *fmt, ...)
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

#define perr ab_perr

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

/**
 * ab_closest() - The candidate at most two edits from @word, if any
 * @word:	What was written
 * @cands:	Candidates
 * @n:		How many
 *
 * Return: the closest candidate, or NULL
 */
const char *ab_closest(const char *word, const char *const *cands, size_t n)
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
	size_t n = strlen(v);

	if (!(v[0] == '/' || v[0] == '$' ||
	      (v[0] == '~' && (v[1] == '/' || !v[1]))))
		return perr(x, "%s '%s': a path must be absolute or start "
			    "with ~/ or $VARIABLE", key, v);
	if (strstr(v, "/../") || !strcmp(v + (n > 2 ? n - 3 : 0), "/.."))
		return perr(x, "%s '%s': '..' is not allowed in a path", key,
			    v);
	return 1;
}

static int check_upstream(struct ctx *x, const struct key *k, const char *v)
{
	struct ab_upstream u;
	struct ab_err e = { 0 };

	if (ab_parse_upstream(&u, v, "upstream", &e))
		return perr(x, "%s", e.msg);
	return 1;
}

static int check_subnet(struct ctx *x, const struct key *k, const char *v)
{
	struct in_addr a, b;
	struct ab_err e = { 0 };
	unsigned len;

	if (ab_parse_subnet(v, &a, &b, &len, &e))
		return perr(x, "%s", e.msg);
	return 1;
}

static int check_number(struct ctx *x, const struct key *k, const char *v)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (!isdigit((unsigned char)*v) || *end || errno || n < k->min ||
	    n > k->max)
		return perr(x, "%s '%s': expected a number from %lu to %lu",
			    k->name, v, k->min, k->max);
	return 1;
}

/**
 * ab_parse_size() - "N", "NK", "NM", "NG" or "NT" (powers of 1024)
 * @v:		Text
 * @out:	Result, bytes
 *
 * Return: 0, or -1 if it is not a size
 */
int ab_parse_size(const char *v, unsigned long long *out)
{
	unsigned long long n;
	char *end;
	int shift = 0;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	case 'T': shift = 40; end++; break;
	case '\0': break;
	default: return -1;
	}
	if (*end || n > (~0ULL >> shift))
		return -1;
	*out = n << shift;
	return 0;
}

static int check_size(struct ctx *x, const struct key *k, const char *v)
{
	unsigned long long n;

	if (ab_parse_size(v, &n))
		return perr(x, "%s '%s': expected a size (a number, with K, M, "
			    "G or T for powers of 1024)", k->name, v);
	return 1;
}

static int choice_index(const struct key *k, const char *v)
{
	for (int i = 0; k->choices[i]; i++)
		if (!strcmp(k->choices[i], v))
			return i;
	return -1;
}

static int check_choice(struct ctx *x, const struct key *k, const char *v)
{
	char list[256] = "";
	size_t o = 0;
	int n = 0;

	if (choice_index(k, v) >= 0)
		return 1;
	while (k->choices[n])
		n++;
	for (int i = 0; i < n && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s'%s'",
				      !i ? "" : i == n - 1 ? " or " : ", ",
				      k->choices[i]);
	return perr(x, "%s '%s': expected %s", k->name, v, list);
}

static int check_file(struct ctx *x, const struct key *k, const char *v)
{
	if (v[0] != '/' && strncmp(v, "~/", 2))
		return perr(x, "%s '%s': expected an absolute path or ~/PATH",
			    k->name, v);
	return check_path(x, k->name, v);
}

static int check_header(struct ctx *x, const struct key *k, const char *v)
{
	for (const char *q = v; *q; q++)
		if (!isalnum((unsigned char)*q) && *q != '-')
			return perr(x, "%s '%s': expected a header field name "
				    "(letters, digits, -)", k->name, v);
	return 1;
}

static int check_fs_path(struct ctx *x, const struct key *k, const char *v)
{
	return check_path(x, k->name, v + (*v == '?' || *v == '!'));
}

static int check_socket(struct ctx *x, const struct key *k, const char *v)
{
	return check_path(x, k->name, v);
}

static int check_egress(struct ctx *x, const struct key *k, const char *v)
{
	static struct ab_egress g;	/* scratch, for checking */
	struct ab_err e = { 0 };

	if (strpbrk(v, " \t"))
		return perr(x, "%s '%s': one value per line", k->name, v);
	ab_egress_defaults(&g);
	if (ab_egress_add(&g, k->name, v, "", &e))
		return perr(x, "%s", e.msg);
	return 1;
}

static int check_env_name(struct ctx *x, const struct key *k, const char *v)
{
	if (!valid_env_name(v, true))
		return perr(x, "%s '%s': expected a variable name (letters, "
			    "digits, _; * and ? match)", k->name, v);
	return 1;
}

static int check_env_set(struct ctx *x, const struct key *k, const char *v)
{
	const char *eq = strchr(v, '=');
	char name[256];

	if (!eq || (size_t)(eq - v) >= sizeof(name))
		return perr(x, "set '%s': expected NAME=VALUE", v);
	memcpy(name, v, (size_t)(eq - v));
	name[eq - v] = '\0';
	if (!valid_env_name(name, false))
		return perr(x, "set '%s': '%s' is not a variable name", v,
			    name);
	if (ab_env_is_own(name))
		return perr(x, "set '%s': %s is agentbox's own (the proxy "
			    "variables point at the relay)", v, name);
	return 1;
}

/**
 * ab_profile_intern_file() - The profile's own copy of a file name
 * @p:		Profile
 * @path:	Name
 *
 * Return: the copy, or NULL when the profile holds too many files
 */
char *ab_profile_intern_file(struct ab_profile *p, const char *path)
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

static const struct ab_item *enforced_item(const struct ab_list *l,
					   const char *v)
{
	for (unsigned i = 0; i < l->n; i++)
		if (l->v[i].at.enforced && !strcmp(l->v[i].value, v))
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

/* A path pattern that is an enforced one, or below one */
static bool within_enforced(const struct ab_list *l, const char *v)
{
	const char *pv = v + (*v == '?' || *v == '!');

	for (unsigned i = 0; i < l->n; i++) {
		const char *e = l->v[i].value;
		size_t n;

		if (!l->v[i].at.enforced)
			continue;
		e += (*e == '?' || *e == '!');
		n = strlen(e);
		while (n > 1 && e[n - 1] == '/')
			n--;
		if (!strncmp(pv, e, n) && (pv[n] == '\0' || pv[n] == '/'))
			return true;
	}
	return false;
}

static int tighten_scalar(struct ctx *x, const struct key *k, const char *v)
{
	const struct ab_scalar *s = &x->p->s[k->id];

	if (!s->value || !s->at.enforced || !strcmp(s->value, v))
		return 1;
	switch (k->tighten) {
	case T_EQUAL:
		return perr(x, "%s: enforced as '%s' by %s:%d", k->name,
			    s->value, s->at.file, s->at.line);
	case T_AT_LEAST: {
		unsigned long long a = 0, b = 0;

		ab_parse_size(v, &a);
		ab_parse_size(s->value, &b);
		if (a < b)
			return perr(x, "%s %s: the enforced profile (%s:%d) "
				    "asks for at least %s", k->name, v,
				    s->at.file, s->at.line, s->value);
		return 1;
	}
	case T_AT_MOST:
		if (k->choices) {
			if (choice_index(k, v) > choice_index(k, s->value))
				return perr(x, "%s: enforced as '%s' by %s:%d",
					    k->name, s->value, s->at.file,
					    s->at.line);
			return 1;
		}
		if (strtoul(v, NULL, 10) > strtoul(s->value, NULL, 10))
			return perr(x, "%s %s: the enforced profile (%s:%d) "
				    "allows at most %s", k->name, v,
				    s->at.file, s->at.line, s->value);
		return 1;
	default:
		return 1;
	}
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
	const struct ab_list *l;

	if (!p->enforced || x->enforced || k->tighten == T_FREE)
		return 1;
	if (k->kind == K_SCALAR)
		return tighten_scalar(x, k, v);
	l = &p->l[k->id];
	switch (k->tighten) {
	case T_SUBSET:
		if (!enforced_item(l, v))
			return perr(x, "%s '%s': the enforced profile %s does "
				    "not allow this socket, and a profile may "
				    "only tighten it", k->name, v,
				    p->enforced);
		return 1;
	case T_SUBSET_IF_SET:
	case T_WITHIN:
		if (!list_has_enforced(l) || enforced_item(l, v) ||
		    (k->tighten == T_WITHIN && within_enforced(l, v)))
			return 1;
		return perr(x, "%s '%s': the enforced profile %s allows only "
			    "its own list, and a profile may only tighten it",
			    k->name, v, p->enforced);
	case T_NOT_UNSET: {
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
		return 1;
	}
	default:
		return 1;
	}
}

/* "(sections: [profile], [network], ...)" from ab_sections[] */
static const char *section_list(char *buf, size_t size)
{
	size_t o = (size_t)snprintf(buf, size, "sections:");

	for (size_t i = 0; i < ab_nsections && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s [%s]",
				      i ? "," : "", ab_sections[i]);
	return buf;
}

/**
 * find_key() - The key of a line, or report why there is none
 * @x:		Context
 * @section:	Current section
 * @name:	Key as written
 *
 * Return: the key, or NULL after reporting
 */
static const struct key *find_key(struct ctx *x, const char *section,
				  const char *name)
{
	const char *cands[ARRAY_SIZE(ab_keys)], *hint;
	const struct key *k = NULL;
	bool known_section = false;
	char secs[160];
	size_t nc = 0;

	for (size_t i = 0; i < ab_nsections; i++)
		known_section |= !strcmp(section, ab_sections[i]);
	if (!*section) {
		perr(x, "'%s' outside a section (%s)", name,
		     section_list(secs, sizeof(secs)));
		return NULL;
	}
	if (!known_section) {
		hint = ab_closest(section, ab_sections, ab_nsections);
		if (hint)
			perr(x, "unknown section [%s] (did you mean [%s]?)",
			     section, hint);
		else
			perr(x, "unknown section [%s] (%s)", section,
			     section_list(secs, sizeof(secs)));
		return NULL;
	}
	for (size_t i = 0; i < ab_nkeys; i++) {
		if (strcmp(ab_keys[i].section, section))
			continue;
		cands[nc++] = ab_keys[i].name;
		if (!strcmp(ab_keys[i].name, name))
			k = &ab_keys[i];
	}
	if (k)
		return k;
	for (size_t i = 0; i < ab_nkeys; i++)
		if (!strcmp(ab_keys[i].name, name)) {
			perr(x, "key '%s' belongs in [%s], not [%s]", name,
			     ab_keys[i].section, section);
			return NULL;
		}
	hint = ab_closest(name, cands, nc);
	if (hint)
		perr(x, "unknown key '%s' in [%s] (did you mean '%s'?)", name,
		     section, hint);
	else
		perr(x, "unknown key '%s' in [%s]", name, section);
	return NULL;
}

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
	const struct key *k;
	struct ab_origin at;

	if (x->errors && !x->lint)
		return 0;
	if (!(k = find_key(x, section, name)))
		return 0;
	if (k->kind == K_INCLUDE) {
		if (!x->include)
			return perr(x, "include '%s': not allowed here",
				    value);
		return x->include(x, value);
	}
	if (!*value && !(k->kind == K_SCALAR && k->id == AB_P_DESCRIPTION))
		return perr(x, "%s: empty value", k->name);
	if ((k->check && !k->check(x, k, value)) || !tighten_only(x, k, value))
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
 *
 * Return: 0, or -1 out of memory
 */
static int normalize_missing(struct ctx *x)
{
	static const int lists[] = { AB_P_READONLY, AB_P_HIDE,
				     AB_P_WRITABLE, AB_P_PRIVATE };

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

/* libinih's reader: fgets that counts lines.  libinih reads a line longer
 * than its buffer in more than one call: a line is counted where it starts */
char *ab_ini_reader(char *str, int num, void *stream)
{
	struct ctx *x = stream;
	char *r = fgets(str, num, x->f);
	size_t n;

	if (!r)
		return NULL;
	if (!x->mid_line)
		x->line++;
	n = strlen(r);
	x->mid_line = n && r[n - 1] != '\n';
	return r;
}

/**
 * ab_ini_setup() - libinih's settings for every file agentbox reads
 */
void ab_ini_setup(void)
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
 * ab_profile_parse_file() - Parse x->f as the profile file @file
 * @x:		Context: the file's per-file state is set up here
 * @file:	Its name, interned in the profile
 *
 * Return: 0, or -1 after reporting
 */
int ab_profile_parse_file(struct ctx *x, const char *file)
{
	int rc, errors_before = x->errors;
	FILE *whole = x->f;
	char *text = NULL;
	size_t len;

	x->file = file;
	x->line = 0;
	x->mid_line = false;
	x->missing = '!';
	memset(x->scalar_line, 0, sizeof(x->scalar_line));
	for (int i = 0; i < AB_P_NLISTS; i++)
		x->first_item[i] = x->p->l[i].n;

	/* Read whole, so that a NUL byte is an error naming its line, not a
	 * line cut short that libinih would read on from */
	if (!(text = malloc(AB_PROFILE_MAX_SIZE + 1)))
		return perr(x, "out of memory"), -1;
	len = fread(text, 1, AB_PROFILE_MAX_SIZE + 1, whole);
	if (ferror(whole) || len > AB_PROFILE_MAX_SIZE) {
		free(text);
		return perr(x, ferror(whole) ? "read error" : "larger than "
			    "%d bytes", AB_PROFILE_MAX_SIZE), -1;
	}
	if (memchr(text, '\0', len)) {
		const char *nul = memchr(text, '\0', len);

		x->line = 1;
		for (const char *c = text; c < nul; c++)
			x->line += *c == '\n';
		free(text);
		return perr(x, "a NUL byte in the text"), -1;
	}
	if (!len) {
		free(text);
		return 0;
	}
	if (!(x->f = fmemopen(text, len, "r"))) {
		free(text);
		x->f = whole;
		return perr(x, "fmemopen: %s", strerror(errno)), -1;
	}
	rc = ini_parse_stream(ab_ini_reader, x, handler, x);
	fclose(x->f);
	free(text);
	x->f = whole;
	if (rc > 0 && x->errors == errors_before) {
		/* a line libinih could not parse: no '=' or a bad [ */
		x->line = rc;
		perr(x, "not a 'key = value' line or a [section]");
	}
	if (normalize_missing(x))
		perr(x, "out of memory");
	return x->errors > errors_before ? -1 : 0;
}

/**
 * ab_profile_parse_text() - Parse a profile held in memory
 * @p:		Profile to add to (zeroed, or holding what came before)
 * @name:	What to call it in messages
 * @text:	The text
 * @len:	Its length
 * @enforced:	Whether its values are the enforced profile's
 * @e:		Error
 *
 * The grammar and the tightening rules of a file, without a file: no
 * ownership check, and "include" is refused.  For the unit tests and the
 * fuzzer.
 *
 * Return: 0, or -1 with @e filled
 */
int ab_profile_parse_text(struct ab_profile *p, const char *name,
			  const char *text, size_t len, bool enforced,
			  struct ab_err *e)
{
	struct ctx x = { .p = p, .e = e, .trust = TRUST_NONE,
			 .enforced = enforced };
	const char *file;
	int rc;

	ab_ini_setup();
	if (enforced && !p->enforced && !(p->enforced = strdup(name)))
		return ab_fail(e, ENOMEM, "profile");
	if (!(file = ab_profile_intern_file(p, name)))
		return ab_fail(e, 0, "more than %d profile files",
			       AB_PROFILE_MAX_FILES);
	if (!len)
		return 0;
	if (!(x.f = fmemopen((void *)(uintptr_t)text, len, "r")))
		return ab_fail(e, errno, "profile %s: fmemopen", name);
	rc = ab_profile_parse_file(&x, file);
	fclose(x.f);
	return rc;
}

/**
 * ab_profile_walk() - Every value of a merged profile, in the order of
 *		       ab_keys[] within its sections' order
 * @p:		Profile
 * @fn:		Called for each value
 * @arg:	Passed to @fn
 */
void ab_profile_walk(const struct ab_profile *p, ab_profile_fn fn, void *arg)
{
	for (size_t si = 0; si < ab_nsections; si++) {
		for (size_t i = 0; i < ab_nkeys; i++) {
			const struct key *k = &ab_keys[i];

			if (strcmp(k->section, ab_sections[si]) ||
			    k->kind == K_INCLUDE)
				continue;
			if (k->kind == K_SCALAR && p->s[k->id].value)
				fn(arg, k->section, k->name,
				   p->s[k->id].value, &p->s[k->id].at);
			for (unsigned j = 0; k->kind == K_LIST &&
					     j < p->l[k->id].n; j++)
				fn(arg, k->section, k->name,
				   p->l[k->id].v[j].value,
				   &p->l[k->id].v[j].at);
		}
	}
}

struct hash_walk {
	struct ab_sha256 c;
	const char *section;
};

static void hash_value(void *arg, const char *section, const char *key,
		       const char *value, const struct ab_origin *at)
{
	struct hash_walk *h = arg;

	(void)at;
	if (h->section != section) {
		ab_sha256_update(&h->c, "[", 1);
		ab_sha256_update(&h->c, section, strlen(section));
		ab_sha256_update(&h->c, "]\n", 2);
		h->section = section;
	}
	ab_sha256_update(&h->c, key, strlen(key));
	ab_sha256_update(&h->c, " = ", 3);
	ab_sha256_update(&h->c, value, strlen(value));
	ab_sha256_update(&h->c, "\n", 1);
}

/**
 * ab_profile_sha256() - The hash of a merged profile's text
 * @p:		Profile
 * @hex:	Result
 *
 * The text is what "agentbox profile show" prints without its comments:
 * "[section]" lines and "key = value" lines, in the order of the keys.  It
 * says which policy decided an event, whatever file or line each value
 * came from.
 */
void ab_profile_sha256(const struct ab_profile *p, char hex[AB_SHA256_HEX])
{
	struct hash_walk h = { .section = NULL };

	ab_sha256_init(&h.c);
	ab_profile_walk(p, hash_value, &h);
	ab_sha256_hex(&h.c, hex);
}
