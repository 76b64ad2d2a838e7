/* SPDX-License-Identifier: MIT */
/* userns.h - the user namespace: id maps, and why it could not be made. */
#ifndef AB_USERNS_H
#define AB_USERNS_H

#include <sys/types.h>

#include "err.h"

int ab_userns_write_maps(pid_t child, uid_t uid, gid_t gid, struct ab_err *e);
void ab_userns_explain(struct ab_err *e);

#endif /* AB_USERNS_H */
