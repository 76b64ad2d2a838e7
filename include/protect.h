/* SPDX-License-Identifier: MIT */
/* protect.h - the policy's paths in init's mount namespace. */
#ifndef AB_PROTECT_H
#define AB_PROTECT_H

#include "err.h"

struct ab_policy;

int ab_protect_apply(const struct ab_policy *pol, struct ab_err *e);

#endif /* AB_PROTECT_H */
