/* SPDX-License-Identifier: MIT */
/* sha256.h - SHA-256, for the hash of the policy in the audit log. */
#ifndef AB_SHA256_H
#define AB_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define AB_SHA256_HEX	65	/* 64 hex digits and the NUL */

struct ab_sha256 {
	uint32_t h[8];
	uint64_t len;			/* bytes so far */
	uint8_t buf[64];
	size_t used;
};

void ab_sha256_init(struct ab_sha256 *c);
void ab_sha256_update(struct ab_sha256 *c, const void *data, size_t len);
void ab_sha256_hex(struct ab_sha256 *c, char hex[AB_SHA256_HEX]);

#endif /* AB_SHA256_H */
