/* SPDX-License-Identifier: MIT */
/* secrets.h - the upstream's credentials and bearer token (secrets.c). */
#ifndef AB_SECRETS_H
#define AB_SECRETS_H

#include "err.h"
#include "options.h"

int ab_read_credentials(struct ab_config *c, struct ab_err *e);
int ab_read_token(struct ab_config *c, struct ab_err *e);

#endif /* AB_SECRETS_H */
