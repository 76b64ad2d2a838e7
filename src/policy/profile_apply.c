// SPDX-License-Identifier: MIT
/* profile_apply.c - the merged profile into the run's configuration.
 *
 * Each key's descriptor (profile_keys.c) names its apply step; this file
 * holds those steps, and ab_profile_apply() runs them in the table's order.
 * A value the command line gave (c->cli_set) wins over the profile's,
 * unless the enforced profile set it: then the command line may only
 * tighten it (the same rule as for a profile that follows the enforced
 * one).  The lists policy.c reads itself (paths, sockets, variables) have
 * no apply step.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "egress.h"
#include "profile_int.h"
#include "util.h"

key_apply_fn ab_apply_upstream, ab_apply_subnet, ab_apply_number,
	ab_apply_string, ab_apply_path, ab_apply_audit_log, ab_apply_egress,
	ab_apply_size, ab_apply_yes;

static void *field(const struct key *k, struct ab_config *c)
{
	return (char *)c + k->field;
}

/* Whether the command line set this key's option */
static bool cli_wins(const struct key *k, const struct ab_config *c)
{
	return k->cli && (c->cli_set & k->cli);
}

int ab_apply_upstream(const struct key *k, const struct ab_profile *p,
		      struct ab_config *c, struct ab_err *e)
{
	const struct ab_scalar *s = &p->s[k->id];
	struct ab_upstream u;

	if (ab_parse_upstream(&u, s->value, "upstream", e))
		return -1;
	if (cli_wins(k, c) && s->at.enforced &&
	    (strcmp(u.host, c->upstream.host) || u.port != c->upstream.port))
		return ab_fail(e, 0, "%s: the upstream is enforced as '%s' by "
			       "%s:%d", k->cli_name, s->value, s->at.file,
			       s->at.line);
	if (!cli_wins(k, c)) {
		snprintf(u.source, sizeof(u.source), "profile");
		c->upstream = u;
		c->have_upstream = true;
	}
	return 0;
}

int ab_apply_subnet(const struct key *k, const struct ab_profile *p,
		    struct ab_config *c, struct ab_err *e)
{
	if (cli_wins(k, c))
		return 0;
	return ab_parse_subnet(p->s[k->id].value, &c->sandbox_addr,
			       &c->gateway_addr, &c->prefix_len, e);
}

/* yes or no into a bool field */
int ab_apply_yes(const struct key *k, const struct ab_profile *p,
		 struct ab_config *c, struct ab_err *e)
{
	bool v = !strcmp(p->s[k->id].value, "yes");

	memcpy(field(k, c), &v, sizeof(v));
	return 0;
}

/* A number into an int-sized or short field */
int ab_apply_number(const struct key *k, const struct ab_profile *p,
		    struct ab_config *c, struct ab_err *e)
{
	const struct ab_scalar *s = &p->s[k->id];
	unsigned long m = strtoul(s->value, NULL, 10), cur;
	unsigned short u16;
	unsigned u32;

	if (k->fsize == sizeof(u16)) {
		memcpy(&u16, field(k, c), sizeof(u16));
		cur = u16;
	} else {
		memcpy(&u32, field(k, c), sizeof(u32));
		cur = u32;
	}
	if (cli_wins(k, c)) {
		if (k->tighten == T_AT_MOST && s->at.enforced && cur > m)
			return ab_fail(e, 0, "%s %lu: the enforced profile "
				       "(%s:%d) allows at most %lu",
				       k->cli_name, cur, s->at.file,
				       s->at.line, m);
		return 0;
	}
	if (k->fsize == sizeof(u16)) {
		u16 = (unsigned short)m;
		memcpy(field(k, c), &u16, sizeof(u16));
	} else {
		u32 = (unsigned)m;
		memcpy(field(k, c), &u32, sizeof(u32));
	}
	return 0;
}

int ab_apply_string(const struct key *k, const struct ab_profile *p,
		    struct ab_config *c, struct ab_err *e)
{
	if (snprintf(field(k, c), k->fsize, "%s", p->s[k->id].value) >=
	    (int)k->fsize)
		return ab_fail(e, 0, "profile: %s too long", k->name);
	return 0;
}

/* A path into a char[] field, "~/x" as "$HOME/x" */
int ab_apply_path(const struct key *k, const struct ab_profile *p,
		  struct ab_config *c, struct ab_err *e)
{
	const char *v = p->s[k->id].value, *home = getenv("HOME");
	int n;

	if (!strncmp(v, "~/", 2) && home && *home == '/')
		n = snprintf(field(k, c), k->fsize, "%s/%s", home, v + 2);
	else
		n = snprintf(field(k, c), k->fsize, "%s", v);
	if (n < 0 || (size_t)n >= k->fsize)
		return ab_fail(e, ENAMETOOLONG, "profile: path too long");
	return 0;
}

/* A size into an unsigned long long field */
int ab_apply_size(const struct key *k, const struct ab_profile *p,
		  struct ab_config *c, struct ab_err *e)
{
	unsigned long long n;

	if (ab_parse_size(p->s[k->id].value, &n))
		return ab_fail(e, 0, "profile: %s: not a size", k->name);
	memcpy(field(k, c), &n, sizeof(n));
	return 0;
}

int ab_apply_audit_log(const struct key *k, const struct ab_profile *p,
		       struct ab_config *c, struct ab_err *e)
{
	const char *v = p->s[k->id].value;

	c->audit_sinks = !strcmp(v, "file") ? AB_AUDIT_FILE :
			 !strcmp(v, "syslog") ? AB_AUDIT_SYSLOG :
			 !strcmp(v, "both") ? AB_AUDIT_FILE | AB_AUDIT_SYSLOG :
					      0;
	return 0;
}

/* An [egress] list or setting into c->egress, each rule with file:line */
int ab_apply_egress(const struct key *k, const struct ab_profile *p,
		    struct ab_config *c, struct ab_err *e)
{
	if (!c->egress)
		return 0;
	if (k->kind == K_SCALAR)
		return ab_egress_add(c->egress, k->name, p->s[k->id].value,
				     "", e);
	for (unsigned j = 0; j < p->l[k->id].n; j++) {
		const struct ab_item *it = &p->l[k->id].v[j];
		char at[160];

		snprintf(at, sizeof(at), "%s:%d", it->at.file, it->at.line);
		if (ab_egress_add(c->egress, k->name, it->value, at, e))
			return -1;
	}
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
	c->profile = p;
	for (size_t i = 0; i < ab_nkeys; i++) {
		const struct key *k = &ab_keys[i];

		if (!k->apply)
			continue;
		if (k->kind == K_SCALAR ? !p->s[k->id].value : !p->l[k->id].n)
			continue;
		if (k->apply(k, p, c, e))
			return -1;
	}
	return 0;
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
