/* SPDX-License-Identifier: MIT */
/* netns.h - the sandbox's network: a veth to a gateway netns. */
#ifndef AB_NETNS_H
#define AB_NETNS_H

#include "err.h"
#include "options.h"

#define AB_IF_SANDBOX	"ab0"
#define AB_IF_GATEWAY	"ab1"

int ab_netns_setup(const struct ab_config *c, int *listener,
		   struct ab_err *e);

#endif /* AB_NETNS_H */
