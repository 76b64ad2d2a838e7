// SPDX-License-Identifier: MIT
/* mounts.c - the sandbox's mount namespace (run by init).
 *
 * "/" is made recursively a slave, so that nothing mounted inside reaches
 * the host while the host's own mounts (a USB stick, a new NFS share) still
 * appear inside.  A fresh procfs is mounted on /proc for the new pid
 * namespace: the host's /proc would show every process of the user outside,
 * and /proc/PID/mem of a dumpable one is writable by the same uid.  Mounts
 * inherited from the host become locked in a namespace owned by a less
 * privileged user namespace, so nothing inside can unmount /proc to see the
 * host's again (not even from a nested user namespace).
 */

#include <errno.h>
#include <sys/mount.h>

#include "mounts.h"

/**
 * ab_mounts_setup() - Make / a slave and mount a fresh /proc
 * @e:		Error
 *
 * Return: 0 on success, -1 with @e filled
 */
int ab_mounts_setup(struct ab_err *e)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL))
		return ab_fail_ns(e, errno, "mount /: make rslave");

	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL)) {
		int err = errno;

		ab_fail(e, err, "mount proc on /proc");
		if (err == EPERM || err == EACCES)
			ab_hint(e, "/proc is not fully visible here (a "
				"container masks parts of it), and the kernel "
				"then refuses a new procfs; run the container "
				"with an unmasked /proc (docker: "
				"--security-opt systempaths=unconfined)");
		return -1;
	}
	return 0;
}
