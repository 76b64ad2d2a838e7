/* SPDX-License-Identifier: MIT */
/* util.h - small helpers shared by every part: scope cleanup, files, fds. */
#ifndef AB_UTIL_H
#define AB_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

void ab_closep(int *fd);
void ab_base64(const unsigned char *in, size_t len, char *out);
void ab_freep(void *p);
#define cleanup_fd	__attribute__((cleanup(ab_closep)))
#define cleanup_free	__attribute__((cleanup(ab_freep)))

int ab_write_file(const char *path, const char *data, struct ab_err *e);
int ab_read_small_file(const char *path, char *buf, size_t size);
long ab_read_sysctl(const char *path);
int ab_close_fds_except(int lowfd, const int *keep, unsigned n_keep);
int ab_send_fd(int sock, const void *buf, size_t len, int fd);
ssize_t ab_recv_fd(int sock, void *buf, size_t len, int *fd);
void ab_session_id(char *out, size_t size);
uint64_t ab_now_us(void);
uint64_t ab_wall_us(void);
bool ab_inside_agentbox(void);
bool ab_ip_literal(const char *host);

#endif /* AB_UTIL_H */
