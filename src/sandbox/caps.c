// SPDX-License-Identifier: MIT
/* caps.c - dropping every capability for good (libcap-ng).
 *
 * init holds every capability of the sandbox's user namespace while it
 * builds the sandbox.  Before the command starts, init locks the secure
 * bits (so that uid 0, the caller's uid when root runs agentbox, gains no
 * capability at exec), then clears the effective, permitted, inheritable,
 * bounding and ambient sets, and checks that they are empty.  The command
 * is forked from init afterwards and inherits nothing.  A nested user
 * namespace still starts with a full set of its own (Chromium's sandbox
 * needs that); it owns nothing of ours.
 */

#include <errno.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cap-ng.h>

#include "caps.h"

/**
 * caps_verify_none() - Check, from the kernel, that every set is empty
 * @e:		Error
 *
 * Asks with capget() and prctl() rather than libcap-ng's reader, which
 * parses /proc/PID/status once per set.
 *
 * Return: 0 if no capability is left, -1 with @e filled
 */
static int caps_verify_none(struct ab_err *e)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return ab_fail(e, errno, "capabilities: capget");
	for (int i = 0; i < 2; i++)
		if (data[i].effective || data[i].permitted ||
		    data[i].inheritable)
			return ab_fail(e, EPERM, "capabilities: still held "
				       "after clearing them");
	/* Past the last capability the kernel knows, both say EINVAL */
	for (unsigned long c = 0; c < 64; c++) {
		int b = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
		int a = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0);

		if (b < 0 && a < 0)
			break;
		if (b > 0 || a > 0)
			return ab_fail(e, EPERM, "capabilities: capability "
				       "%lu still in the %s set", c,
				       b > 0 ? "bounding" : "ambient");
	}
	return 0;
}

/**
 * ab_caps_drop_all() - Lock the secure bits and clear every capability set
 * @e:		Error
 *
 * Return: 0 on success, -1 with @e filled
 */
int ab_caps_drop_all(struct ab_err *e)
{
	unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
			     SECBIT_NO_SETUID_FIXUP |
			     SECBIT_NO_SETUID_FIXUP_LOCKED |
			     SECBIT_KEEP_CAPS_LOCKED |
			     SECBIT_NO_CAP_AMBIENT_RAISE |
			     SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
	int rc;

	if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0))
		return ab_fail(e, errno, "capabilities: PR_SET_SECUREBITS");

	capng_clear(CAPNG_SELECT_ALL);
	rc = capng_apply(CAPNG_SELECT_ALL);
	if (rc)
		return ab_fail(e, errno ? errno : EPERM,
			       "capabilities: capng_apply (step %d)", -rc);

	return caps_verify_none(e);
}
