/* SPDX-License-Identifier: MIT */
/* init.h - pid 1 of the sandbox. */
#ifndef AB_INIT_H
#define AB_INIT_H

#include <signal.h>

#include "options.h"

/* Signals the supervisor and init pass on to the command */
#define AB_FORWARDED_SIGNALS \
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2

void ab_fill_sigset(sigset_t *set);
int ab_wait_status_to_exit(int status);
__attribute__((noreturn))
void ab_init_main(const struct ab_config *c, int sync_fd,
		  const char *session);

#endif /* AB_INIT_H */
