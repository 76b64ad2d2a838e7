/* SPDX-License-Identifier: MIT */
/* uptls.h - TLS to the upstream proxy (upstream = https://HOST:PORT). */
#ifndef AB_UPTLS_H
#define AB_UPTLS_H

#include "err.h"

struct ab_uptls;

struct ab_uptls *ab_uptls_new(const char *host, const char *ca,
			      struct ab_err *e);
void ab_uptls_free(struct ab_uptls *t);
int ab_uptls_check(const struct ab_uptls *t, int fd, int timeout_ms,
		   const char *req, char *ans, size_t ans_size, char *why,
		   size_t size);

#endif /* AB_UPTLS_H */
