// SPDX-License-Identifier: MIT
/* seccomp-load.c - load the filter built by tools/gen-seccomp.
 *
 * The rules and why they are what they are: seccomp.c.  The program here is
 * the one libseccomp built from them when agentbox was built.
 */

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp.h"
#include "util.h"

#include "seccomp-filter.h"	/* generated: ab_seccomp_prog[] */

/**
 * ab_seccomp_load() - Load the sandbox's filter into the calling thread
 * @notify_fd:	Result: the listener for the filter's user notifications
 *		(close-on-exec), for the supervisor
 * @e:		Error
 *
 * The caller must have set PR_SET_NO_NEW_PRIVS (or hold CAP_SYS_ADMIN); the
 * filter is inherited by every descendant and cannot be removed.
 *
 * Return: 0 on success, -1 with @e filled
 */
int ab_seccomp_load(int *notify_fd, struct ab_err *e)
{
	struct sock_fprog prog = {
		.len = (unsigned short)ARRAY_SIZE(ab_seccomp_prog),
		.filter = ab_seccomp_prog,
	};

	long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			  SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);

	if (fd < 0)
		return ab_fail(e, errno, "seccomp: load filter (%u "
			       "instructions) with a listener", prog.len);
	*notify_fd = (int)fd;
	return 0;
}
