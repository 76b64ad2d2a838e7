/* SPDX-License-Identifier: MIT */
/* negotiate.h - Kerberos (Negotiate) authentication to the upstream. */
#ifndef AB_NEGOTIATE_H
#define AB_NEGOTIATE_H

#include <stddef.h>

#include "err.h"

struct ab_negotiate;

struct ab_negotiate *ab_negotiate_new(const char *host, struct ab_err *e);
void ab_negotiate_free(struct ab_negotiate *n);
const char *ab_negotiate_principal(const struct ab_negotiate *n);
int ab_negotiate_field(struct ab_negotiate *n, char *buf, size_t size,
		       char *why, size_t wsize);

#endif /* AB_NEGOTIATE_H */
