// SPDX-License-Identifier: MIT
/* fuzz_hook.c - libFuzzer target for the Claude Code hook (src/claude/hook.c).
 *
 *   make fuzz              builds and runs this one too, for FUZZ_TIME
 *
 * Besides the sanitizers' findings it checks the hook's promise: an answer
 * is the input's tool_input with the command wrapped, so feeding that
 * updatedInput back to the hook must find it wrapped already (the command
 * decodes to exactly one quoted bash word after our own prefix).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char prefix[] = "{\"hookSpecificOutput\":{\"hookEventName\":"
			     "\"PreToolUse\",\"updatedInput\":";
static const char again[] = "{\"hook_event_name\":\"PreToolUse\","
			    "\"tool_name\":\"Bash\",\"tool_input\":";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct ab_hook_opts o = {
		.self = "/usr/bin/agentbox", .profile = "p r'o",
	};
	struct ab_hook_out out, out2;
	enum ab_hook_result r;
	size_t ui_len, n;
	char *in2;

	r = ab_hook_claude((const char *)data, size, &o, &out);
	if (r != AB_HOOK_WRAPPED) {
		if (out.text)
			abort();
		return 0;
	}
	if (out.len < sizeof(prefix) + 3 ||
	    memcmp(out.text, prefix, sizeof(prefix) - 1) ||
	    strcmp(out.text + out.len - 3, "}}\n"))
		abort();
	ui_len = out.len - (sizeof(prefix) - 1) - 3;
	n = sizeof(again) - 1 + ui_len + 1;
	in2 = malloc(n);
	if (!in2)
		abort();
	memcpy(in2, again, sizeof(again) - 1);
	memcpy(in2 + sizeof(again) - 1, out.text + sizeof(prefix) - 1, ui_len);
	in2[n - 1] = '}';
	if (ab_hook_claude(in2, n, &o, &out2) != AB_HOOK_PASS)
		abort();
	free(in2);
	ab_hook_out_free(&out);
	return 0;
}
