/* SPDX-License-Identifier: MIT */
/* x11.h - the display a sandbox may use: Wayland, or X11 as untrusted. */
#ifndef AB_X11_H
#define AB_X11_H

#include "err.h"
#include "policy.h"

int ab_x11_settle(const char *mode, const struct ab_strv *allow,
		  struct ab_strv *sockets, struct ab_strv *unset,
		  struct ab_file_over *xauth, struct ab_err *e);

#endif /* AB_X11_H */
