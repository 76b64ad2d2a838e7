/* SPDX-License-Identifier: MIT */
/* tls.h - the server name of a TLS ClientHello (pure code, no I/O).
 *
 * For interception and for the check of a CONNECT tunnel's first bytes:
 * the name a TLS client asks for must be the name it connected to.
 */
#ifndef AB_TLS_H
#define AB_TLS_H

#include <stddef.h>
#include <stdint.h>

#define AB_TLS_MAX_HELLO	16384	/* the ClientHello we read, at most */

enum ab_tls_result {
	AB_TLS_BAD = -1,	/* not TLS, or a malformed ClientHello: why */
	AB_TLS_MORE = 0,	/* incomplete: read more */
	AB_TLS_SNI = 1,		/* name holds the server name */
	AB_TLS_NO_SNI = 2,	/* a whole ClientHello without one */
};

enum ab_tls_result ab_tls_client_hello(const uint8_t *p, size_t len,
				       char *name, size_t size,
				       const char **why);

#endif /* AB_TLS_H */
