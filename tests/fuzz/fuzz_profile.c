// SPDX-License-Identifier: MIT
/* fuzz_profile.c - libFuzzer target for the profile grammar
 * (src/policy/profile_keys.c), on text in memory.
 *
 * The first byte chooses whether the rest is read as an ordinary profile
 * or after an enforced one (so the tightening rules run too).  Besides the
 * sanitizers' findings, it checks the grammar's promises: a refused text
 * has a message naming its line, an accepted one keeps every value with a
 * line within the text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char corp[] =
	"[network]\nupstream = http://proxy.corp:3128\nmax_conns = 64\n"
	"[egress]\nallow = *.corp.example\n[filesystem]\nwritable = /tmp\n"
	"[unix]\nallow = /run/x.sock\n[env]\nunset = SECRET_*\npass = HOME\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ab_profile p;
	struct ab_err e = { 0 };
	size_t lines = 1;
	int rc;

	if (!size)
		return 0;
	memset(&p, 0, sizeof(p));
	if ((data[0] & 1) &&
	    ab_profile_parse_text(&p, "corp", corp, sizeof(corp) - 1, true, &e))
		abort();
	for (size_t i = 1; i < size; i++)
		lines += data[i] == '\n';
	rc = ab_profile_parse_text(&p, "fuzz", (const char *)data + 1,
				   size - 1, false, &e);
	if (rc && !strstr(e.msg, "fuzz"))
		abort();	/* an error always names the text and line */
	for (int k = 0; !rc && k < AB_P_NLISTS; k++)
		for (unsigned i = 0; i < p.l[k].n; i++)
			if (!p.l[k].v[i].at.enforced &&
			    (p.l[k].v[i].at.line < 1 ||
			     (size_t)p.l[k].v[i].at.line > lines))
				abort();
	ab_profile_free(&p);
	return 0;
}
