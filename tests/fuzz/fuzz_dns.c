// SPDX-License-Identifier: MIT
/* fuzz_dns.c - libFuzzer target for the DNS query parser and the answer
 * builder (src/relay/dns.c).
 *
 * Besides the sanitizers' findings, it checks: an accepted query's name is
 * lower-case hostname characters and dots, its question lies within the
 * input, and its answer is the header, the question as it came, and at
 * most one record, within the buffer.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t addr[16] = { 0xfd, 0x61 };
	uint8_t out[AB_DNS_MAX_MSG + 64];
	struct ab_dns_query q;
	const char *why;
	int rc = ab_dns_parse_query(data, size, &q, &why);
	size_t n;

	if (rc && !why)
		abort();
	if (rc == 0) {
		if (q.question_end > size || q.question_end < AB_DNS_HEADER + 5)
			abort();
		for (const char *p = q.name; *p; p++)
			if (!(islower((unsigned char)*p) ||
			      isdigit((unsigned char)*p) || *p == '-' ||
			      *p == '_' || *p == '.'))
				abort();
	}
	n = ab_dns_answer(data, &q, rc, rc ? NULL : addr, 1, out, sizeof(out));
	if (q.have_id && !n)
		abort();
	if (n && (n < AB_DNS_HEADER || n > sizeof(out) ||
		  (q.question_end && memcmp(out + AB_DNS_HEADER,
					    data + AB_DNS_HEADER,
					    q.question_end - AB_DNS_HEADER))))
		abort();
	return 0;
}
