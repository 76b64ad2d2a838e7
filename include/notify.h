/* SPDX-License-Identifier: MIT */
/* notify.h - answering the seccomp filter's user notifications. */
#ifndef AB_NOTIFY_H
#define AB_NOTIFY_H

#include <stdint.h>

struct ab_audit;

void ab_notify_handle(int fd, struct ab_audit *audit, uint32_t events);

#endif /* AB_NOTIFY_H */
