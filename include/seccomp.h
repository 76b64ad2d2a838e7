/* SPDX-License-Identifier: MIT */
/* seccomp.h - the syscall filter of the sandbox.
 * (Included as "seccomp.h"; libseccomp's own header is <seccomp.h>, and the
 * Makefile puts include/ on the quote path only.)
 */
#ifndef AB_SECCOMP_H
#define AB_SECCOMP_H

#include "err.h"

int ab_seccomp_load(int *notify_fd, struct ab_err *e);
int ab_seccomp_export(int fd, struct ab_err *e);

#endif /* AB_SECCOMP_H */
