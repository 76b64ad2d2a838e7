// SPDX-License-Identifier: MIT
/* profilecmd.c - "agentbox profile list|show [NAME]|lint PATH...".
 *
 * list: every profile of the system, vendor and user directories, the
 * shadowed and the enforced marked; show: the merged profile, each value
 * with the file and line it came from; lint: every mistake of the files
 * named, as FILE:LINE: message, without the ownership rule.
 */

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile_int.h"
#include "util.h"

static void show_origin(const struct ab_origin *at)
{
	printf(" # %s:%d%s\n", at->file, at->line,
	       at->enforced ? " (enforced)" : "");
}

static void show_value(void *arg, const char *section, const char *key,
		       const char *value, const struct ab_origin *at)
{
	const char **last = arg;

	if (*last != section) {
		printf("\n[%s]\n", section);
		*last = section;
	}
	printf("%s = %s", key, value);
	show_origin(at);
}

static void profile_show(const struct ab_profile *p)
{
	const char *path = p->path ? p->path : "", *last = NULL;
	char hex[65];

	printf("# agentbox profile '%s'%s%s%s%s\n", p->name ? p->name : "",
	       path[0] ? " (" : "", path, path[0] ? ")" : "",
	       p->builtin ? " (the copy built into agentbox: none is "
			    "installed)" : "");
	if (p->enforced)
		printf("# enforced by the system: %s\n", p->enforced);
	ab_profile_sha256(p, hex);
	printf("# sha256 %s (agentbox.policy.sha256 in the audit log)\n", hex);
	ab_profile_walk(p, show_value, &last);
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
