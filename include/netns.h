/* SPDX-License-Identifier: MIT */
/* netns.h - the sandbox's network: a veth to a gateway netns. */
#ifndef AB_NETNS_H
#define AB_NETNS_H

#include "err.h"
#include "options.h"

#define AB_IF_SANDBOX	"ab0"
#define AB_IF_GATEWAY	"ab1"

/* The veth's IPv6 addresses (only with interception): a ULA /64 next to
 * the fake addresses' (dns.h) */
#define AB_VETH6_GATEWAY	"fd61:6762:6f78:1::1"
#define AB_VETH6_SANDBOX	"fd61:6762:6f78:1::2"
#define AB_VETH6_PREFIX		64

/* What init makes in the gateway and hands to the supervisor */
struct ab_gw_fds {
	int proxy;			/* the explicit proxy listener */
	int icpt4, icpt6;		/* interception, -1 when it is off */
};

/* The transparent listeners' port in G (beside the proxy's) */
static inline unsigned short ab_intercept_port(const struct ab_config *c)
{
	return c->proxy_port == 65535 ? 65534 : c->proxy_port + 1;
}

int ab_netns_setup(const struct ab_config *c, struct ab_gw_fds *out,
		   struct ab_err *e);

#endif /* AB_NETNS_H */
