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
#include <linux/securebits.h>
#include <sys/prctl.h>

#include <cap-ng.h>

#include "caps.h"

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

	if (capng_get_caps_process())
		return ab_fail(e, errno, "capabilities: read back");
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE ||
	    capng_have_capabilities(CAPNG_SELECT_BOUNDS) != CAPNG_NONE)
		return ab_fail(e, EPERM, "capabilities: still held after "
			       "clearing them");
	return 0;
}
