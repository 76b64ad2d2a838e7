// SPDX-License-Identifier: MIT
/* policy.c - turn the profile into concrete paths before the clone.
 *
 * Paths in a profile are patterns: "~/" is the caller's home ($HOME, else
 * the password database), "$VAR" and "${VAR}" come from agentbox's own
 * environment, "$PWD" is the working directory as the kernel knows it and
 * "$AGENTBOX_GIT_DIR" the git directory that holds the hooks and config of
 * the repository around it (the common directory of a worktree).  A rule
 * whose variable is not set is skipped.  A pattern with * ? or [ is
 * expanded with glob(3); one without is taken as it is, and when the path
 * does not exist it is created as a stub ("!", the default) or skipped
 * ("?").  A path that ends in "/" is a directory.
 *
 * Every directory above a rule's path is listed as a pin: init makes each
 * a mount point of its own, and the kernel refuses to rename or remove a
 * mount point (EBUSY).  Without that, "mv ~/.claude ~/.x; mkdir ~/.claude"
 * would put a writable settings file back where the read-only one was.
 *
 * Host unix sockets: every path-bound socket of the host's network
 * namespace (/proc/net/unix, read here in the supervisor, which is still in
 * it) that no "[unix] allow" pattern matches is listed, and init covers it
 * with an empty read-only file.  Abstract sockets need nothing: they belong
 * to a network namespace, and the sandbox has its own.
 */

#include <ctype.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "audit.h"
#include "policy.h"
#include "profile.h"
#include "util.h"
#include "x11.h"

#define MAX_SOCKETS	4096

#ifndef AB_SYSCONFDIR
#define AB_SYSCONFDIR	"/etc"
#endif

int ab_strv_add(struct ab_strv *sv, const char *s)
{
	for (unsigned i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return 0;
	if (sv->n + 1 >= sv->cap) {
		unsigned cap = sv->cap ? sv->cap * 2 : 16;
		char **nv = realloc(sv->v, cap * sizeof(*nv));

		if (!nv)
			return -1;
		sv->v = nv;
		sv->cap = cap;
	}
	if (!(sv->v[sv->n] = strdup(s)))
		return -1;
	sv->v[++sv->n] = NULL;
	return 0;
}

static void strv_free(struct ab_strv *sv)
{
	for (unsigned i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
}

static const char *home_dir(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h && h[0] == '/')
		return h;
	pw = getpwuid(getuid());
	return pw && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
}

/**
 * find_git_dir() - The git directory holding hooks and config for the cwd
 * @out:	Result
 * @size:	Its size
 * @top:	Result: the top of the work tree (where .git is), PATH_MAX
 *
 * Return: 0 if found, -1 if the working directory is not in a repository
 */
static int find_git_dir(char *out, size_t size, char *top)
{
	char dir[PATH_MAX], p[PATH_MAX + 16], buf[PATH_MAX + 16];
	struct stat st;

	if (!getcwd(dir, sizeof(dir)))
		return -1;
	for (;;) {
		char *slash;

		snprintf(p, sizeof(p), "%s/.git", strcmp(dir, "/") ? dir : "");
		snprintf(top, PATH_MAX, "%s", dir);
		if (!lstat(p, &st)) {
			if (S_ISDIR(st.st_mode))
				return realpath(p, out) && strlen(out) < size ?
					0 : -1;
			/* a worktree or submodule: "gitdir: PATH" */
			if (S_ISREG(st.st_mode) &&
			    ab_read_small_file(p, buf, sizeof(buf)) > 8 &&
			    !strncmp(buf, "gitdir: ", 8)) {
				char g[PATH_MAX * 2 + 32], *nl;

				if ((nl = strchr(buf, '\n')))
					*nl = '\0';
				snprintf(g, sizeof(g), "%s%s%s",
					 buf[8] == '/' ? "" : dir,
					 buf[8] == '/' ? "" : "/", buf + 8);
				/* the common directory of a worktree */
				snprintf(p, sizeof(p), "%.*s/commondir",
					 PATH_MAX - 1, g);
				if (ab_read_small_file(p, buf, sizeof(buf)) > 0) {
					if ((nl = strchr(buf, '\n')))
						*nl = '\0';
					if (buf[0] == '/')
						snprintf(g, sizeof(g), "%s",
							 buf);
					else
						snprintf(g + strlen(g),
							 sizeof(g) - strlen(g),
							 "/%s", buf);
				}
				return realpath(g, out) && strlen(out) < size ?
					0 : -1;
			}
		}
		if (!strcmp(dir, "/"))
			return -1;
		slash = strrchr(dir, '/');
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
}

/* What expansion needs; the repository is looked for on first use */
struct expand {
	const char *cwd;		/* $PWD */
	bool git_looked;
	bool git_found;
	char git[PATH_MAX];		/* $AGENTBOX_GIT_DIR */
	char top[PATH_MAX];		/* its work tree's top */
	char project[PATH_MAX];		/* $AGENTBOX_PROJECT, "" if none */
};

/* Whether @path is @dir or below it */
static bool path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return true;
	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

static void look_for_repo(struct expand *x)
{
	const char *home = home_dir();
	char rh[PATH_MAX];

	if (x->git_looked)
		return;
	x->git_looked = true;
	x->git_found = !find_git_dir(x->git, sizeof(x->git), x->top);
	/* The project: the work tree around the cwd, else the cwd.  Never
	 * the home directory or above it (a dotfiles repository in ~ would
	 * make all of it writable): then the cwd, if it is below home. */
	snprintf(x->project, sizeof(x->project), "%s",
		 x->git_found ? x->top : x->cwd ? x->cwd : "");
	if (!home || !realpath(home, rh))
		snprintf(rh, sizeof(rh), "%s", home ? home : "/");
	if (x->project[0] && path_within(rh, x->project))
		snprintf(x->project, sizeof(x->project), "%s",
			 x->cwd && !path_within(rh, x->cwd) ? x->cwd : "");
}

static const char *git_dir(struct expand *x)
{
	look_for_repo(x);
	return x->git_found ? x->git : NULL;
}

static const char *project_dir(struct expand *x)
{
	look_for_repo(x);
	return x->project[0] ? x->project : NULL;
}

/**
 * expand_path() - Expand ~, $VAR and ${VAR} in a path pattern
 * @x:		Expansion state ($PWD, $AGENTBOX_GIT_DIR)
 * @pattern:	As written, without a '?'/'!' prefix
 * @out:	Result
 * @size:	Its size
 *
 * Return: 0, 1 if a variable is not set (skip the rule), -1 if too long
 */
static int expand_path(struct expand *x, const char *pattern, char *out,
		       size_t size)
{
	size_t o = 0;
	const char *s = pattern;

	if (s[0] == '~' && (s[1] == '/' || !s[1])) {
		const char *h = home_dir();

		if (!h)
			return 1;
		o = (size_t)snprintf(out, size, "%s", h);
		s++;
	}
	while (*s && o < size) {
		char name[128];
		const char *val;
		size_t n = 0;

		if (*s != '$') {
			out[o++] = *s++;
			continue;
		}
		s++;
		if (*s == '{') {
			const char *end = strchr(s, '}');

			if (!end || (size_t)(end - s - 1) >= sizeof(name))
				return -1;
			n = (size_t)(end - s - 1);
			memcpy(name, s + 1, n);
			s = end + 1;
		} else {
			while ((isalnum((unsigned char)s[n]) || s[n] == '_') &&
			       n < sizeof(name) - 1)
				n++;
			memcpy(name, s, n);
			s += n;
		}
		name[n] = '\0';
		if (!strcmp(name, "AGENTBOX_GIT_DIR"))
			val = git_dir(x);
		else if (!strcmp(name, "AGENTBOX_PROJECT"))
			val = project_dir(x);
		else if (!strcmp(name, "PWD"))
			val = x->cwd;
		else
			val = getenv(name);
		if (!val || !*val)
			return 1;
		o += (size_t)snprintf(out + o, size - o, "%s", val);
	}
	if (o >= size)
		return -1;
	out[o] = '\0';
	return 0;
}

/* What a path entry of a profile asks for */
enum rule_kind { RULE_READONLY, RULE_HIDE, RULE_WRITABLE, RULE_PRIVATE };

static int add_rule(struct ab_rules *rs, const char *path, bool hide,
		    bool stub, bool dir, const char *origin)
{
	struct ab_fs_rule *r;

	for (unsigned i = 0; i < rs->n; i++)
		if (!strcmp(rs->v[i].path, path) && rs->v[i].hide == hide)
			return 0;
	if (rs->n == rs->cap) {
		unsigned cap = rs->cap ? rs->cap * 2 : 16;

		r = realloc(rs->v, cap * sizeof(*r));
		if (!r)
			return -1;
		rs->v = r;
		rs->cap = cap;
	}
	r = &rs->v[rs->n];
	if (!(r->path = strdup(path)))
		return -1;
	r->hide = hide;
	r->priv = false;
	r->stub = stub;
	r->dir = dir;
	snprintf(r->origin, sizeof(r->origin), "%s", origin);
	rs->n++;
	return 0;
}

static int add_kind(struct ab_policy *pol, enum rule_kind kind,
		    const char *path, bool stub, bool dir, const char *origin)
{
	if (kind == RULE_WRITABLE)
		return add_rule(&pol->roots, path, false, stub, true, origin);
	if (add_rule(&pol->rules, path, kind != RULE_READONLY, stub,
		     dir || kind == RULE_PRIVATE, origin))
		return -1;
	if (kind == RULE_PRIVATE)
		pol->rules.v[pol->rules.n - 1].priv = true;
	return 0;
}

/**
 * add_pattern() - One readonly, hide or writable entry: expand, glob,
 *		   resolve
 * @pol:	Policy
 * @it:		Entry: "!PATH" (stub if missing) or "?PATH" (skip)
 * @kind:	What it asks for
 * @x:		Expansion state
 * @e:		Error
 *
 * Return: 0, or -1 with @e filled
 */
static int add_pattern(struct ab_policy *pol, const struct ab_item *it,
		       enum rule_kind kind, struct expand *x, struct ab_err *e)
{
	const char *pat = it->value + (it->value[0] == '?' ||
				       it->value[0] == '!');
	bool stub = it->value[0] != '?';
	char exp[PATH_MAX], real[PATH_MAX], origin[96];
	size_t len;
	bool dir;
	int rc;

	snprintf(origin, sizeof(origin), "%s:%d", it->at.file, it->at.line);
	rc = expand_path(x, pat, exp, sizeof(exp));
	if (rc < 0)
		return ab_fail(e, ENAMETOOLONG, "%s: %s", origin, pat);
	if (rc > 0)
		return 0;	/* a variable is not set: nothing to protect */
	len = strlen(exp);
	dir = len > 1 && exp[len - 1] == '/';
	while (len > 1 && exp[len - 1] == '/')
		exp[--len] = '\0';
	if (exp[0] != '/')
		return ab_fail(e, 0, "%s: '%s' expands to '%s', which is not "
			       "an absolute path", origin, pat, exp);

	if (strpbrk(exp, "*?[")) {
		glob_t g;

		rc = glob(exp, GLOB_NOSORT, NULL, &g);
		if (rc == GLOB_NOMATCH)
			return 0;
		if (rc)
			return ab_fail(e, ENOMEM, "%s: glob '%s'", origin,
				       exp);
		for (size_t i = 0; i < g.gl_pathc; i++)
			if (realpath(g.gl_pathv[i], real) &&
			    add_kind(pol, kind, real, false, false, origin)) {
				globfree(&g);
				return ab_fail(e, ENOMEM, "policy");
			}
		globfree(&g);
		return 0;
	}
	/* An existing path is protected where it really is */
	if (realpath(exp, real))
		return add_kind(pol, kind, real, false, dir, origin) ?
			ab_fail(e, ENOMEM, "policy") : 0;
	if (errno != ENOENT || !stub)
		return 0;
	return add_kind(pol, kind, exp, true, dir, origin) ?
		ab_fail(e, ENOMEM, "policy") : 0;
}

/* [env] set = NAME=~/PATH: the home, as in the path rules */
static int set_home(struct ab_strv *set, const char *home)
{
	for (unsigned i = 0; home && i < set->n; i++) {
		char *eq = strchr(set->v[i], '='), *nv;

		if (!eq || strncmp(eq + 1, "~/", 2))
			continue;
		if (asprintf(&nv, "%.*s=%s%s", (int)(eq - set->v[i]),
			     set->v[i], home, eq + 2) < 0)
			return -1;
		free(set->v[i]);
		set->v[i] = nv;
	}
	return 0;
}

static int add_builtin(struct ab_policy *pol, const char *path)
{
	char real[PATH_MAX];

	if (!path || !realpath(path, real))
		return 0;
	return add_rule(&pol->rules, real, false, false, false, "built-in");
}

/* Hide what the supervisor keeps from the sandbox: audit log, credentials */
static int add_builtin_hide(struct ab_policy *pol, const char *path,
			    bool parent)
{
	char real[PATH_MAX], *slash;
	struct stat st;

	if (!path || !*path || !realpath(path, real))
		return 0;
	if (parent && (slash = strrchr(real, '/')) && slash != real)
		*slash = '\0';
	if (stat(real, &st))
		return 0;
	return add_rule(&pol->rules, real, true, false, S_ISDIR(st.st_mode),
			"built-in");
}

/*
 * Inside the project (and the git directory, which a worktree's commits
 * write to), the files that make a program outside run code: git's hooks
 * and config (core.fsmonitor, core.sshCommand, aliases), and the settings
 * of agents and editors, which name commands and servers they start.
 * Protected whether or not they exist; a missing one is a stub where the
 * sandbox could otherwise create it.
 */
static const char *const project_files[] = {
	"$AGENTBOX_GIT_DIR/hooks/", "$AGENTBOX_GIT_DIR/config",
	"?$AGENTBOX_GIT_DIR/config.worktree",
	"$AGENTBOX_GIT_DIR/modules/*/hooks", "$AGENTBOX_GIT_DIR/modules/*/config",
	"$AGENTBOX_GIT_DIR/worktrees/*/config.worktree",
	"$AGENTBOX_PROJECT/.claude/", "$AGENTBOX_PROJECT/.mcp.json",
	"$AGENTBOX_PROJECT/.vscode/", "$AGENTBOX_PROJECT/.idea/",
	"$AGENTBOX_PROJECT/.devcontainer/", "$AGENTBOX_PROJECT/.cursor/",
	/* direnv runs only an .envrc the user allowed, by its content */
	"?$AGENTBOX_PROJECT/.envrc",
};

/**
 * git_hooks_path() - core.hooksPath of the repository's config, if set
 * @x:		Expansion state (the repository)
 * @out:	Result, as a profile path ("!ABS/" or "~/x/")
 * @size:	Its size
 *
 * Husky, lefthook and others point git at hooks inside the work tree,
 * which the sandbox could otherwise rewrite.  Read from the config file
 * itself (a key "hookspath" in any case); the config is read-only inside.
 *
 * Return: 0 if set, -1 if not
 */
static int git_hooks_path(struct expand *x, char *out, size_t size)
{
	char cfg[PATH_MAX + 16], buf[65536], *line, *save = NULL;
	int found = -1;

	if (!git_dir(x))
		return -1;
	snprintf(cfg, sizeof(cfg), "%s/config", x->git);
	if (ab_read_small_file(cfg, buf, sizeof(buf)) <= 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *v = line + strspn(line, " \t"), *end;

		if (strncasecmp(v, "hookspath", 9))
			continue;
		v += 9 + strspn(v + 9, " \t");
		if (*v != '=')
			continue;
		v += 1 + strspn(v + 1, " \t\"");
		end = v + strlen(v);
		while (end > v && strchr(" \t\r\"", end[-1]))
			*--end = '\0';
		if (!*v || strstr(v, ".."))
			continue;
		if (v[0] == '/' || (v[0] == '~' && v[1] == '/'))
			found = snprintf(out, size, "!%s/", v) < (int)size ?
				0 : -1;
		else
			found = snprintf(out, size, "!%s/%s/", x->top, v) <
				(int)size ? 0 : -1;
	}
	return found;
}

static int add_project_files(struct ab_policy *pol, struct expand *x,
			     struct ab_err *e)
{
	struct ab_item it = { .at = { .file = "built-in (project)" } };
	char hooks[PATH_MAX + 8], v[256];

	for (size_t i = 0; i < ARRAY_SIZE(project_files); i++) {
		snprintf(v, sizeof(v), "%s%s",
			 project_files[i][0] == '?' ? "" : "!",
			 project_files[i]);
		it.value = v;
		if (add_pattern(pol, &it, RULE_READONLY, x, e))
			return -1;
	}
	if (!git_hooks_path(x, hooks, sizeof(hooks))) {
		it.value = hooks;
		if (add_pattern(pol, &it, RULE_READONLY, x, e))
			return -1;
	}
	return 0;
}

static int cmp_len(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);

	return la < lb ? -1 : la > lb;
}

static int cmp_rule(const void *a, const void *b)
{
	size_t la = strlen(((const struct ab_fs_rule *)a)->path);
	size_t lb = strlen(((const struct ab_fs_rule *)b)->path);

	return la < lb ? -1 : la > lb;
}

/* The writable root @path is in or under, or NULL */
static const struct ab_fs_rule *root_of(const struct ab_policy *pol,
					const char *path)
{
	for (unsigned i = 0; i < pol->roots.n; i++)
		if (path_within(path, pol->roots.v[i].path))
			return &pol->roots.v[i];
	return NULL;
}

/**
 * could_create() - Whether the sandbox could create the missing @path
 * @path:	Absolute path that does not exist
 *
 * The nearest directory above it that exists must be writable by the
 * caller without capabilities (the command has none, root included):
 * owner, group or other write bit, or an ACL, which is taken as allowing.
 *
 * Return: true if it could
 */
static bool could_create(const char *path)
{
	char d[PATH_MAX], *slash;
	gid_t groups[256];
	struct stat st;
	int ng;

	snprintf(d, sizeof(d), "%s", path);
	for (;;) {
		if ((slash = strrchr(d, '/')) == d)
			d[1] = '\0';
		else if (slash)
			*slash = '\0';
		if (!lstat(d, &st) || !strcmp(d, "/"))
			break;
	}
	if (!S_ISDIR(st.st_mode))
		return false;
	if (getxattr(d, "system.posix_acl_access", NULL, 0) > 0)
		return true;
	if (st.st_uid == getuid())
		return st.st_mode & S_IWUSR;
	ng = getgroups(ARRAY_SIZE(groups), groups);
	for (int i = 0; i < ng; i++)
		if (groups[i] == st.st_gid)
			return st.st_mode & S_IWGRP;
	if (st.st_gid == getgid())
		return st.st_mode & S_IWGRP;
	return st.st_mode & S_IWOTH;
}

/**
 * settle_roots() - Writable roots: shortest first, none inside another
 * @pol:	Policy
 *
 * A missing root is created only where the caller could create it; one
 * that cannot be is dropped (what the sandbox cannot create, it cannot
 * write either).
 */
static void settle_roots(struct ab_policy *pol)
{
	struct ab_rules *rs = &pol->roots;
	unsigned n = 0;

	if (rs->n)
		qsort(rs->v, rs->n, sizeof(*rs->v), cmp_rule);
	for (unsigned i = 0; i < rs->n; i++) {
		bool keep = !(rs->v[i].stub && !could_create(rs->v[i].path));

		for (unsigned j = 0; j < n && keep; j++)
			keep = !path_within(rs->v[i].path, rs->v[j].path);
		if (keep)
			rs->v[n++] = rs->v[i];
		else
			free(rs->v[i].path);
	}
	rs->n = n;
}

/**
 * settle_rules() - Drop the rules that protect nothing
 * @pol:	Policy, its roots settled
 *
 * With writable roots, a read-only rule outside them is read-only already,
 * and a missing path the sandbox could not create needs no stub (with or
 * without roots).  Stubs then appear only where the sandbox could have
 * made the path, never in a directory the caller cannot write.
 */
static void settle_rules(struct ab_policy *pol)
{
	struct ab_rules *rs = &pol->rules;
	bool roots = pol->roots.n > 0;
	unsigned n = 0;

	for (unsigned i = 0; i < rs->n; i++) {
		const struct ab_fs_rule *r = &rs->v[i];
		bool in_root = root_of(pol, r->path) != NULL;
		bool keep = true;

		if (roots && !r->hide && !in_root)
			keep = false;
		if (r->stub && (!could_create(r->path) || (roots && !in_root)))
			keep = false;
		if (keep)
			rs->v[n++] = rs->v[i];
		else
			free(rs->v[i].path);
	}
	rs->n = n;
	if (rs->n)
		qsort(rs->v, rs->n, sizeof(*rs->v), cmp_rule);
}

/*
 * The directories above each rule become mount points (pins).  With
 * writable roots only those strictly inside a root need it: the rest is
 * read-only, so nothing there can be renamed anyway.
 */
static int add_pins(struct ab_policy *pol)
{
	for (unsigned i = 0; i < pol->rules.n; i++) {
		char p[PATH_MAX], *slash;

		snprintf(p, sizeof(p), "%s", pol->rules.v[i].path);
		while ((slash = strrchr(p, '/')) && slash != p) {
			const struct ab_fs_rule *root;

			*slash = '\0';
			root = root_of(pol, p);
			if (pol->roots.n && (!root || !strcmp(root->path, p)))
				continue;
			if (ab_strv_add(&pol->pins, p))
				return -1;
		}
	}
	if (pol->pins.n)
		qsort(pol->pins.v, pol->pins.n, sizeof(char *), cmp_len);
	return 0;
}

/**
 * scan_sockets() - The host's path-bound unix sockets no pattern allows
 * @pol:	Policy
 * @allow:	Allowed patterns, as written
 * @x:		Expansion state
 * @e:		Error
 *
 * Return: 0, or -1 with @e filled
 */
static int scan_sockets(struct ab_policy *pol, const struct ab_list *allow,
			struct expand *x, struct ab_err *e)
{
	char line[PATH_MAX + 128], pats[64][PATH_MAX / 8];
	unsigned np = 0;
	FILE *f;

	for (unsigned i = 0; i < allow->n && np < ARRAY_SIZE(pats); i++)
		if (!expand_path(x, allow->v[i].value, pats[np],
				 sizeof(pats[0]))) {
			if (ab_strv_add(&pol->unix_allow, pats[np]))
				return ab_fail(e, ENOMEM, "unix allow");
			np++;
		}

	f = fopen("/proc/net/unix", "re");
	if (!f)
		return ab_fail(e, errno, "host unix sockets: open "
			       "/proc/net/unix");
	if (!fgets(line, sizeof(line), f))	/* header */
		line[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		char *path = line, *nl;
		struct stat st;
		bool allowed = false;

		/* Num RefCount Protocol Flags Type St Inode Path */
		for (int field = 0; field < 7 && path; field++) {
			path = strchr(path, ' ');
			while (path && *path == ' ')
				path++;
		}
		if (!path || path[0] != '/')
			continue;	/* unbound or abstract */
		if ((nl = strchr(path, '\n')))
			*nl = '\0';
		for (unsigned i = 0; i < np && !allowed; i++)
			allowed = !fnmatch(pats[i], path, FNM_PATHNAME);
		/* only what this mount namespace shows as a socket */
		if (allowed || lstat(path, &st) || !S_ISSOCK(st.st_mode))
			continue;
		if (pol->sockets.n == MAX_SOCKETS) {
			fclose(f);
			return ab_fail(e, E2BIG, "host unix sockets: more "
				       "than %d", MAX_SOCKETS);
		}
		if (ab_strv_add(&pol->sockets, path)) {
			fclose(f);
			return ab_fail(e, ENOMEM, "host unix sockets");
		}
	}
	fclose(f);
	return 0;
}

static int copy_list(struct ab_strv *dst, const struct ab_list *l)
{
	for (unsigned i = 0; i < l->n; i++)
		if (ab_strv_add(dst, l->v[i].value))
			return -1;
	return 0;
}

/**
 * resolv_make() - The sandbox's resolv.conf, with interception: the
 *		   gateway, asked over TCP (the relay answers, intercept.c)
 * @c:		Configuration
 * @f:		Result; data stays NULL when the system has no resolv.conf
 *		to cover (lookups then fail, as without interception)
 *
 * Return: 0, or -1 when out of memory
 */
static int resolv_make(const struct ab_config *c, struct ab_file_over *f)
{
	char gw[INET_ADDRSTRLEN];
	int n;

	if (!realpath("/etc/resolv.conf", f->target))
		return 0;
	inet_ntop(AF_INET, &c->gateway_addr, gw, sizeof(gw));
	n = asprintf(&f->data, "# agentbox: names are answered by its relay "
		     "in the gateway, over TCP\nnameserver %s\n"
		     "options use-vc\n", gw);
	if (n < 0) {
		f->data = NULL;
		return -1;
	}
	f->len = (size_t)n;
	return 0;
}

/**
 * krb5_ccache() - The file (or directory) of the user's Kerberos ticket
 *		   cache, as MIT Kerberos finds it
 * @buf:	Result
 * @size:	Its size
 *
 * KRB5CCNAME as FILE:path, DIR:path or a path, else /tmp/krb5cc_UID.  A
 * KCM cache is a host daemon's socket (the unix policy refuses it); a
 * KEYRING one has no file to hide.
 *
 * Return: the path, or NULL if there is none
 */
static const char *krb5_ccache(char *buf, size_t size)
{
	const char *v = getenv("KRB5CCNAME");

	if (!v || !*v) {
		snprintf(buf, size, "/tmp/krb5cc_%u", (unsigned)getuid());
		return buf;
	}
	if (!strncmp(v, "FILE:", 5) || !strncmp(v, "DIR:", 4))
		v = strchr(v, ':') + 1;
	if (*v != '/')
		return NULL;
	snprintf(buf, size, "%s", v);
	return buf;
}

/**
 * ab_policy_build() - Everything init needs to know of the profile
 * @c:		Configuration, with its profile (may have none)
 * @e:		Error
 *
 * Built-in rules, in every sandbox: agentbox's own binary, the system
 * configuration directory and the user's agentbox configuration are
 * read-only when they exist.
 *
 * Return: the policy, or NULL with @e filled
 */
struct ab_policy *ab_policy_build(const struct ab_config *c,
				  struct ab_err *e)
{
	static const struct ab_list none;
	const struct ab_profile *p = c->profile;
	struct ab_policy *pol = calloc(1, sizeof(*pol));
	struct expand x = { 0 };
	char buf[PATH_MAX], exp[PATH_MAX];
	const char *home = home_dir();

	if (!pol) {
		ab_fail(e, ENOMEM, "policy");
		return NULL;
	}
	if (!getcwd(pol->cwd, sizeof(pol->cwd)))
		pol->cwd[0] = '\0';
	x.cwd = pol->cwd[0] ? pol->cwd : NULL;

	if (add_builtin(pol, "/proc/self/exe") ||
	    add_builtin(pol, AB_SYSCONFDIR "/agentbox"))
		goto oom;
	if (home) {
		snprintf(buf, sizeof(buf), "%s/.config/agentbox", home);
		if (add_builtin(pol, buf))
			goto oom;
	}
	/* the audit log's own directory if it is ours, else the file */
	if (c->audit_path[0]) {
		char def[PATH_MAX];

		if (add_builtin_hide(pol, c->audit_path,
				     !ab_audit_default_path(def, sizeof(def)) &&
				     !strcmp(def, c->audit_path)))
			goto oom;
	}
	if (c->credentials[0] && add_builtin_hide(pol, c->credentials, false))
		goto oom;
	if (c->upstream_token[0] &&
	    add_builtin_hide(pol, c->upstream_token, false))
		goto oom;
	/* Negotiate: the ticket is the proxy's credential, the supervisor's
	 * alone */
	if (c->negotiate && (add_builtin_hide(pol, krb5_ccache(buf,
						sizeof(buf)), false) ||
			     ab_strv_add(&pol->unset, "KRB5CCNAME")))
		goto oom;
	if (c->ca_bundle[0] && ab_ca_build(c->ca_bundle, &pol->ca, e))
		goto fail;
	if (c->intercept && resolv_make(c, &pol->resolv))
		goto oom;
	/* sockets and the display first: the display may hide a file */
	if (scan_sockets(pol, p ? &p->l[AB_P_ALLOW_UNIX] : &none, &x, e))
		goto fail;
	if (p && (copy_list(&pol->unset, &p->l[AB_P_UNSET]) ||
		  copy_list(&pol->set, &p->l[AB_P_SET]) ||
		  copy_list(&pol->pass, &p->l[AB_P_PASS]) ||
		  set_home(&pol->set, home)))
		goto oom;
	if (ab_x11_settle(p ? p->s[AB_P_X11].value : NULL, &pol->unix_allow,
			  &pol->sockets, &pol->unset, &pol->xauth, e))
		goto fail;
	/* the trusted cookie is not to be found at the default place either */
	if (pol->xauth.data && home) {
		snprintf(buf, sizeof(buf), "%s/.Xauthority", home);
		if (!realpath(buf, exp) || strcmp(exp, pol->xauth.target))
			if (add_builtin_hide(pol, buf, false))
				goto oom;
	}
	for (unsigned i = 0; p && i < p->l[AB_P_WRITABLE].n; i++)
		if (add_pattern(pol, &p->l[AB_P_WRITABLE].v[i], RULE_WRITABLE,
				&x, e))
			goto fail;
	settle_roots(pol);
	if (pol->roots.n && add_project_files(pol, &x, e))
		goto fail;
	for (unsigned i = 0; p && i < p->l[AB_P_READONLY].n; i++)
		if (add_pattern(pol, &p->l[AB_P_READONLY].v[i], RULE_READONLY,
				&x, e))
			goto fail;
	for (unsigned i = 0; p && i < p->l[AB_P_HIDE].n; i++)
		if (add_pattern(pol, &p->l[AB_P_HIDE].v[i], RULE_HIDE, &x, e))
			goto fail;
	for (unsigned i = 0; p && i < p->l[AB_P_PRIVATE].n; i++)
		if (add_pattern(pol, &p->l[AB_P_PRIVATE].v[i], RULE_PRIVATE,
				&x, e))
			goto fail;
	settle_rules(pol);
	if (add_pins(pol))
		goto oom;
	return pol;

oom:
	ab_fail(e, ENOMEM, "policy");
fail:
	ab_policy_free(pol);
	return NULL;
}

/**
 * ab_policy_free() - Free a policy
 * @pol:	Policy, may be NULL
 */
void ab_policy_free(struct ab_policy *pol)
{
	if (!pol)
		return;
	ab_ca_free(&pol->ca);
	free(pol->resolv.data);
	if (pol->xauth.data)
		explicit_bzero(pol->xauth.data, pol->xauth.len);
	free(pol->xauth.data);
	for (unsigned i = 0; i < pol->rules.n; i++)
		free(pol->rules.v[i].path);
	free(pol->rules.v);
	for (unsigned i = 0; i < pol->roots.n; i++)
		free(pol->roots.v[i].path);
	free(pol->roots.v);
	strv_free(&pol->pins);
	strv_free(&pol->sockets);
	strv_free(&pol->unix_allow);
	strv_free(&pol->unset);
	strv_free(&pol->set);
	strv_free(&pol->pass);
	free(pol);
}
