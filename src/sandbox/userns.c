// SPDX-License-Identifier: MIT
/* userns.c - the user namespace seen from the supervisor.
 *
 * The supervisor, still in the caller's user namespace, writes the child's
 * "setgroups" (deny) and maps the caller's uid and gid to themselves, as
 * bubblewrap does: files keep their owners, and nothing inside holds an id
 * the caller does not hold outside.  This works the same for root.
 *
 * When a user namespace cannot be created or used, the cause is almost
 * always one of a few settings of the machine; ab_userns_explain() looks at
 * them and adds a hint that says which one and what to do.
 */

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "userns.h"
#include "util.h"

/**
 * ab_userns_write_maps() - Map the caller's ids into the child's namespace
 * @child:	pid of init (in the supervisor's pid namespace)
 * @uid:	Caller's uid
 * @gid:	Caller's gid
 * @e:		Error
 *
 * Return: 0 on success, -1 with @e filled
 */
int ab_userns_write_maps(pid_t child, uid_t uid, gid_t gid, struct ab_err *e)
{
	char path[64], map[64];

	snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)child);
	if (ab_write_file(path, "deny", e) && e->code != ENOENT)
		goto fail;

	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)child);
	snprintf(map, sizeof(map), "%u %u 1", (unsigned)uid, (unsigned)uid);
	if (ab_write_file(path, map, e))
		goto fail;

	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)child);
	snprintf(map, sizeof(map), "%u %u 1", (unsigned)gid, (unsigned)gid);
	if (ab_write_file(path, map, e))
		goto fail;
	return 0;
fail:
	ab_userns_explain(e);
	return -1;
}

/**
 * in_container() - Guess whether we run inside a container
 *
 * Return: 1 if the usual markers are there, 0 otherwise
 */
static int in_container(void)
{
	return !access("/.dockerenv", F_OK) ||
	       !access("/run/.containerenv", F_OK);
}

/**
 * ab_userns_explain() - Add a hint naming the setting that caused @e
 * @e:		An error from creating or using the user namespace
 *
 * Leaves @e alone if it already has a hint or no known cause applies.
 */
void ab_userns_explain(struct ab_err *e)
{
	if (e->hint[0])
		return;

	if (ab_read_sysctl("/proc/sys/kernel/unprivileged_userns_clone") == 0 &&
	    getuid() != 0) {
		ab_hint(e, "unprivileged user namespaces are disabled; enable "
			"them with 'sysctl -w kernel.unprivileged_userns_clone=1'");
	} else if (ab_read_sysctl("/proc/sys/user/max_user_namespaces") == 0) {
		ab_hint(e, "user namespaces are disabled; enable them with "
			"'sysctl -w user.max_user_namespaces=15000'");
	} else if (e->code == ENOSPC) {
		ab_hint(e, "the limit of user namespaces is reached "
			"(sysctl user.max_user_namespaces)");
	} else if (ab_read_sysctl(
		   "/proc/sys/kernel/apparmor_restrict_unprivileged_userns") ==
		   1 && (e->code == EPERM || e->code == EACCES)) {
		ab_hint(e, "AppArmor restricts unprivileged user namespaces "
			"(Ubuntu 23.10+); load agentbox's AppArmor profile "
			"('make install' does) or set 'sysctl -w "
			"kernel.apparmor_restrict_unprivileged_userns=0'");
	} else if (in_container() && (e->code == EPERM || e->code == EACCES)) {
		ab_hint(e, "this looks like a container whose seccomp or "
			"AppArmor policy forbids user namespaces (docker: "
			"--security-opt seccomp=unconfined "
			"--security-opt apparmor=unconfined)");
	}
}
