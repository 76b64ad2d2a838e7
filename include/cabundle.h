/* SPDX-License-Identifier: MIT */
/* cabundle.h - a TLS-inspecting proxy's CA, trusted inside the sandbox only.
 *
 * ab_pem_certs() (pem.c) is pure and unit tested.  ab_ca_build() runs in
 * the supervisor before the clone (reads and checks the files, so that a
 * bad CA stops the run with 125 before anything starts); protect.c mounts
 * the result in init, in the sandbox's mount namespace.
 */
#ifndef AB_CABUNDLE_H
#define AB_CABUNDLE_H

#include <stddef.h>

#include "err.h"

#define AB_CA_MAX_FILE	(1U << 20)	/* the proxy's CA file */
#define AB_CA_MAX_SYSTEM (16U << 20)	/* the system's bundle */

struct ab_ca {
	char *pem;		/* system roots, then the proxy's CA */
	size_t len;
	char target[4096];	/* the system bundle it is mounted over */
};

int ab_pem_certs(const char *buf, size_t len, char *why, size_t why_size);
int ab_ca_build(const char *ca_file, struct ab_ca *ca, struct ab_err *e);
void ab_ca_free(struct ab_ca *ca);

#endif /* AB_CABUNDLE_H */
