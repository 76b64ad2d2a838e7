/* SPDX-License-Identifier: MIT */
/* onbehalf.h - connect(2) of the sandbox, made by the supervisor. */
#ifndef AB_ONBEHALF_H
#define AB_ONBEHALF_H

#include <linux/seccomp.h>

#include "err.h"
#include "policy.h"

struct ab_audit;
struct ab_onbehalf;

struct ab_onbehalf *ab_onbehalf_new(int notify_fd, int diag_fd,
				    const struct ab_strv *allow,
				    struct ab_audit *audit, struct ab_err *e);
int ab_onbehalf_fd(const struct ab_onbehalf *ob);
void ab_onbehalf_connect(struct ab_onbehalf *ob,
			 const struct seccomp_notif *req);
void ab_onbehalf_pending(struct ab_onbehalf *ob);
void ab_onbehalf_free(struct ab_onbehalf *ob);

#endif /* AB_ONBEHALF_H */
