/* SPDX-License-Identifier: MIT */
/* env.h - the command's environment. */
#ifndef AB_ENV_H
#define AB_ENV_H

#include <stdbool.h>

#include "err.h"
#include "options.h"

char **ab_env_build(char *const envp[], const struct ab_config *c,
		    const char *session, struct ab_err *e);
void ab_env_free(char **env);
bool ab_env_is_own(const char *kv);

#endif /* AB_ENV_H */
