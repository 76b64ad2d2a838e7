// SPDX-License-Identifier: MIT
/* fuzz_tls.c - libFuzzer target for the ClientHello parser
 * (src/relay/tls.c).
 *
 * Besides the sanitizers' findings, it checks the parser's promises: a
 * server name is a NUL-terminated lower-case hostname that fits its
 * buffer, a refusal has a reason, and a prefix of an input that parsed is
 * never called bad where the whole was good (the relay reads a hello in
 * pieces).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[256];
	const char *why;
	enum ab_tls_result r = ab_tls_client_hello(data, size, name,
						   sizeof(name), &why);

	if (r == AB_TLS_BAD && !why)
		abort();
	if (r == AB_TLS_SNI) {
		size_t n = strnlen(name, sizeof(name));

		if (!n || n == sizeof(name))
			abort();
		for (size_t i = 0; i < n; i++)
			if (isupper((unsigned char)name[i]))
				abort();
		for (size_t cut = 0; cut < size; cut += 1 + size / 16) {
			enum ab_tls_result p = ab_tls_client_hello(
				data, cut, name, sizeof(name), &why);

			if (p == AB_TLS_BAD)
				abort();
		}
	}
	return 0;
}
