/* SPDX-License-Identifier: MIT */
/* sandbox.h - the supervisor: builds the sandbox, runs the relay. */
#ifndef AB_SANDBOX_H
#define AB_SANDBOX_H

#include "options.h"

int ab_sandbox_run(const struct ab_config *c);

#endif /* AB_SANDBOX_H */
