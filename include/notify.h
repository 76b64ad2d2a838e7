/* SPDX-License-Identifier: MIT */
/* notify.h - answering the seccomp filter's user notifications. */
#ifndef AB_NOTIFY_H
#define AB_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

struct ab_audit;
struct ab_onbehalf;

void ab_notify_handle(int fd, struct ab_audit *audit, struct ab_onbehalf *ob,
		      uint32_t events);
void ab_notify_flush(struct ab_audit *audit, bool all);

#endif /* AB_NOTIFY_H */
