/* SPDX-License-Identifier: MIT */
/* nft.h - the gateway's nftables rules for interception. */
#ifndef AB_NFT_H
#define AB_NFT_H

#include <netinet/in.h>
#include <stdint.h>

#include "err.h"

#define AB_GW_IFINDEX	2	/* ab1, the veth end in G (netns.c) */

int ab_nft_intercept(struct in_addr gw, uint16_t proxy_port, uint16_t to_port,
		     struct ab_err *e);

#endif /* AB_NFT_H */
