/* SPDX-License-Identifier: MIT */
/* mounts.h - the sandbox's mount namespace. */
#ifndef AB_MOUNTS_H
#define AB_MOUNTS_H

#include "err.h"

int ab_mounts_setup(struct ab_err *e);

#endif /* AB_MOUNTS_H */
