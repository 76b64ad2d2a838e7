// SPDX-License-Identifier: MIT
/* profile.c - profile files: where they are, who may own them, includes.
 *
 * Theory of operation: a profile is an INI file of known sections and
 * keys (profile_keys.c holds the grammar: one descriptor per key).  Every
 * value is checked when it is read, and kept with the file and line it came
 * from, so that an error names the line and "profile show" can say where
 * each value of the merged result was set.
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

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "profile_int.h"
#include "util.h"

#ifndef AB_SYSCONFDIR
#define AB_SYSCONFDIR	"/etc"
#endif
#ifndef AB_DATADIR
#define AB_DATADIR	"/usr/local/share"
#endif

#define perr ab_perr

static int load_file(struct ctx *x, const char *path, enum trust trust);

/* profiles/default.conf, carried in the binary for a run that finds no
 * "default" in the system or vendor directory (an uninstalled binary);
 * NUL-terminated (a profile has no NUL byte) */
extern const char ab_default_profile[];
__asm__(".pushsection .rodata\n"
	".global ab_default_profile\n"
	"ab_default_profile:\n"
	".incbin \"profiles/default.conf\"\n"
	".byte 0\n"
	".popsection\n");

static size_t ab_default_profile_len(void)
{
	return strlen(ab_default_profile);
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
/* Test builds only: the integration tests that must run in a user
 * namespace of their own (Claude Code in a network namespace with only
 * lo, as the unprivileged user) see root's files as the overflow uid.
 * AGENTBOX_TEST_OVERFLOW_ROOT=1 lets that uid stand for root there. */
static bool test_root(uid_t uid)
{
#ifdef AB_TEST_PATHS
	const char *v = getenv("AGENTBOX_TEST_OVERFLOW_ROOT");

	return v && !strcmp(v, "1") && uid == 65534;
#else
	(void)uid;
	return false;
#endif
}

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
		ok_owner = st.st_uid == 0 || test_root(st.st_uid) ||
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
	int rc;

	if (!(file = ab_profile_intern_file(x->p, path))) {
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
	x->trust = trust;
	x->stack[++x->depth] = file;
	x->include = do_include;
	rc = ab_profile_parse_file(x, file);
	fclose(x->f);
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
	} else if (!strcmp(name, "enforce") || !strcmp(name, "default") ||
		   !strcmp(name, "claude_profile")) {
		char *dst = name[0] == 'e' ? sc->enforce :
			    name[0] == 'd' ? sc->default_profile :
			    sc->claude_profile;

		if (strchr(value, '/') || !*value || strlen(value) > 200)
			return perr(x, "%s '%s': expected a profile name",
				    name, value);
		snprintf(dst, 256, "%s", value);
	} else {
		static const char *const k[] = { "user_profiles", "enforce",
						 "default", "claude_profile" };
		const char *hint = ab_closest(name, k, ARRAY_SIZE(k));

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
	ab_ini_setup();
	x.sc = sc;
	x.file = sc->path;
	if (!(x.f = fopen(path, "re")))
		return ab_fail(e, errno, "system configuration %s", path);
	rc = ini_parse_stream(ab_ini_reader, &x, sysconf_handler, &x);
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
 * @name:	--profile NAME|PATH; NULL for the system configuration's
 *		default, else "default" (found as any profile is, else the
 *		copy agentbox carries); "none" for no profile but the
 *		enforced one
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
	ab_ini_setup();
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
	if (!name)
		name = sc->default_profile[0] ? sc->default_profile :
						AB_PROFILE_DEFAULT;
	p->name = strdup(name);
	p->path = strdup("");
	if (!p->name || !p->path)
		return ab_fail(e, ENOMEM, "profile");
	if (!strcmp(name, AB_PROFILE_NONE))
		return 0;
	if (resolve(name, NULL, sc->user_profiles, path, &trust, e)) {
		/* "default" not installed: the copy built into agentbox */
		if (strcmp(name, AB_PROFILE_DEFAULT) || e->code != ENOENT)
			return -1;
		*e = (struct ab_err){ 0 };
		p->builtin = true;
		return ab_profile_parse_text(p, "built-in:default",
					     ab_default_profile,
					     ab_default_profile_len(), false,
					     e);
	}
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
int ab_profile_lint(const char *path)
{
	struct ab_profile p;
	struct ab_err e = { 0 };
	struct ctx x = { .p = &p, .e = &e, .lint = true };
	char real[PATH_MAX];

	memset(&p, 0, sizeof(p));
	ab_ini_setup();
	if (!realpath(path, real)) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	load_file(&x, real, TRUST_NONE);
	ab_profile_free(&p);
	return x.errors;
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


/**
 * ab_profile_label() - A profile's name for the logs and the identity
 *			field: a path given for it becomes its file's name
 *			without ".conf"
 * @name:	What was asked for ("claude-code", "/etc/x/corp.conf")
 * @buf:	Result
 * @size:	Its size
 *
 * Return: @buf
 */
const char *ab_profile_label(const char *name, char *buf, size_t size)
{
	const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	size_t len = strlen(base);

	if (len > 5 && !strcmp(base + len - 5, ".conf"))
		len -= 5;
	snprintf(buf, size, "%.*s", (int)len, base);
	return buf;
}
