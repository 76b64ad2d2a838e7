/* SPDX-License-Identifier: MIT */
/* caps.h - giving up every capability. */
#ifndef AB_CAPS_H
#define AB_CAPS_H

#include "err.h"

int ab_caps_drop_all(struct ab_err *e);

#endif /* AB_CAPS_H */
