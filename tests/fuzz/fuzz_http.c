// SPDX-License-Identifier: MIT
/* fuzz_http.c - libFuzzer target for the request/response head parsers,
 * the chunked-body walker, the head rewriter and the first-request host
 * of a tunnel (src/relay/http.c).
 *
 *   make fuzz              build build/fuzz_http and run it for FUZZ_TIME
 *
 * The first byte chooses what the rest is fed to.  Besides the sanitizers'
 * findings, the target checks the parsers' promises: a parsed head lies
 * within the input, a forwarded head fits its buffer and ends in an empty
 * line, the chunk walker never claims more bytes than it was given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data + 1;
	size_t len;

	if (!size)
		return 0;
	len = size - 1;
	switch (data[0] % 4) {
	case 0: {
		struct ab_req r;
		static char out[AB_HEAD_MAX + 1024];
		struct ab_fwd f = { .origin_form = data[0] & 4,
				    .strip = "x-agentbox-session",
				    .extra = "X-Agentbox-Session: s\r\n" };

		if (ab_http_parse_head(buf, len, &r) != AB_HEAD_OK)
			return 0;
		if (r.head_len > len || r.target_off + r.target_len > len ||
		    r.path_off + r.path_len > len)
			abort();
		long n = ab_http_forward_head(buf, &r, &f, out, sizeof(out));

		if (n < 4 || memcmp(out + n - 4, "\r\n\r\n", 4)) {
			if (n != -1)
				abort();
		}
		/* what we send on must parse the same way upstream */
		if (n > 0 && !f.origin_form) {
			struct ab_req r2;

			if (ab_http_parse_head(out, (size_t)n, &r2) !=
			    AB_HEAD_OK || r2.head_len != (size_t)n ||
			    r2.content_length != r.content_length ||
			    r2.chunked != r.chunked || r2.port != r.port ||
			    strcmp(r2.host, r.host))
				abort();
		}
		break;
	}
	case 1: {
		struct ab_resp r;

		if (ab_http_parse_resp(buf, len, &r) == AB_HEAD_OK &&
		    r.head_len > len)
			abort();
		break;
	}
	case 2: {
		struct ab_chunked c;
		const char *why;
		size_t n;

		memset(&c, 0, sizeof(c));
		n = ab_chunked_feed(&c, buf, len, &why);
		if (n > len)
			abort();
		break;
	}
	case 3: {	/* a tunnel's first request: the host it names */
		char h[256];

		if (ab_http_first_host(buf, len, h, sizeof(h)) ==
		    AB_FIRST_HOST) {
			size_t n = strnlen(h, sizeof(h));

			if (!n || n == sizeof(h))
				abort();
			for (size_t i = 0; i < n; i++)
				if (h[i] >= 'A' && h[i] <= 'Z')
					abort();
		}
		break;
	}
	}
	return 0;
}
