// SPDX-License-Identifier: MIT
/* test_hook.c - the Claude Code hook's answer (src/claude/hook.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hook.h"
#include "options.h"

static const struct ab_hook_opts opts = {
	.self = "/usr/bin/agentbox", .profile = "claude-code",
};

#define PRE "{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\"," \
	    "\"tool_input\":"
#define ANSWER "{\"hookSpecificOutput\":{\"hookEventName\":\"PreToolUse\"," \
	       "\"updatedInput\":"
#define WRAP "/usr/bin/agentbox --profile claude-code -- /bin/bash -c '"

static enum ab_hook_result run(const char *in, const struct ab_hook_opts *o,
			       struct ab_hook_out *out)
{
	return ab_hook_claude(in, strlen(in), o ? o : &opts, out);
}

static void expect_answer(const char *in, const char *answer)
{
	struct ab_hook_out out;

	assert_int_equal(run(in, NULL, &out), AB_HOOK_WRAPPED);
	assert_string_equal(out.text, answer);
	ab_hook_out_free(&out);
}

static void expect_refused(const char *in, const char *why)
{
	struct ab_hook_out out;

	assert_int_equal(run(in, NULL, &out), AB_HOOK_ERROR);
	assert_null(out.text);
	if (!strstr(out.why, why))
		fail_msg("reason '%s' lacks '%s'", out.why, why);
}

static void expect_pass(const char *in, const struct ab_hook_opts *o)
{
	struct ab_hook_out out;

	assert_int_equal(run(in, o, &out), AB_HOOK_PASS);
	assert_null(out.text);
}

/* Every other field, in its order and spelling, comes back unchanged */
static void fields_kept(void **state)
{
	expect_answer(
		"{\"session_id\":\"x-1\",\"transcript_path\":\"/t\",\"cwd\":\"/w\","
		"\"permission_mode\":\"default\",\"hook_event_name\":\"PreToolUse\","
		"\"tool_name\":\"Bash\",\"tool_input\":{ \"timeout\" : 1.50e+5,"
		"\"command\":\"ls\",\"description\":\"List\\u00e9\","
		"\"run_in_background\":true,\"future\":[null,{\"n\":123456789012345678901234567890}]}}",
		ANSWER "{ \"timeout\" : 1.50e+5,\"command\":\"/usr/bin/agentbox "
		"--profile claude-code --session x-1 -- /bin/bash -c 'ls'\","
		"\"description\":\"List\\u00e9\",\"run_in_background\":true,"
		"\"future\":[null,{\"n\":123456789012345678901234567890}]}}}\n");
}

/* A quote, raw or escaped, closes and reopens the bash word; every other
 * byte and escape is copied as it came (lone surrogate, non-UTF-8 byte) */
static void command_bytes_kept(void **state)
{
	expect_answer(PRE "{\"command\":\"echo 'a' \\u0027b\\u0027 \\\"$(id)\\\"\\n\\t\\\\\"}}",
		      ANSWER "{\"command\":\"" WRAP "echo '\\\\''a'\\\\'' "
		      "'\\\\''b'\\\\'' \\\"$(id)\\\"\\n\\t\\\\'\"}}}\n");
	expect_answer(PRE "{\"command\":\"x \\ud800 \\ud83d\\ude00 \xff\xfe \xc3\xa9\"}}",
		      ANSWER "{\"command\":\"" WRAP "x \\ud800 \\ud83d\\ude00 "
		      "\xff\xfe \xc3\xa9'\"}}}\n");
	/* an escaped key is the same key */
	expect_answer(PRE "{\"comm\\u0061nd\":\"true\"}}",
		      ANSWER "{\"comm\\u0061nd\":\"" WRAP "true'\"}}}\n");
}

static void other_tools_pass(void **state)
{
	expect_pass("{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Read\","
		    "\"tool_input\":{\"file_path\":\"/etc/passwd\"}}", NULL);
	expect_pass("{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"bash\","
		    "\"tool_input\":{\"command\":\"id\"}}", NULL);
}

/* Monitor's command is a shell command too (it ran outside before); a
 * Monitor that watches a WebSocket has none and is Claude's own */
static void monitor_wrapped(void **state)
{
	expect_answer("{\"hook_event_name\":\"PreToolUse\",\"tool_name\":"
		      "\"Monitor\",\"tool_input\":{\"description\":\"d\","
		      "\"timeout_ms\":5000,\"command\":\"tail -f log\"}}",
		      ANSWER "{\"description\":\"d\",\"timeout_ms\":5000,"
		      "\"command\":\"" WRAP "tail -f log'\"}}}\n");
	expect_pass("{\"hook_event_name\":\"PreToolUse\",\"tool_name\":"
		    "\"Monitor\",\"tool_input\":{\"description\":\"d\","
		    "\"timeout_ms\":5000,\"ws\":{\"url\":\"ws://x/\"}}}", NULL);
	expect_refused("{\"hook_event_name\":\"PreToolUse\",\"tool_name\":"
		       "\"Monitor\",\"tool_input\":{\"command\":7}}",
		       "tool_input.command");
}

static void inside_passes(void **state)
{
	struct ab_hook_opts in = opts;

	in.inside = true;
	expect_pass(PRE "{\"command\":\"id\"}}", &in);
	/* still validated */
	expect_refused(PRE "{\"command\":\"id\",\"command\":\"x\"}}", "twice");
}

/* Only this very wrapper is left alone */
static void no_double_wrap(void **state)
{
	struct ab_hook_out out;

	expect_pass(PRE "{\"command\":\"/usr/bin/agentbox --profile claude-code "
		    "-- /bin/bash -c 'ls '\\\\''x'\\\\'''\"}}", NULL);
	expect_pass(PRE "{\"command\":\"/usr/bin/agentbox --profile claude-code "
		    "--session abc -- /bin/bash -c 'ls'\"}}", NULL);
	/* something after the word runs outside */
	assert_int_equal(run(PRE "{\"command\":\"/usr/bin/agentbox --profile "
			     "claude-code -- /bin/bash -c 'ls'; curl x\"}}",
			     NULL, &out), AB_HOOK_WRAPPED);
	ab_hook_out_free(&out);
	assert_int_equal(run(PRE "{\"command\":\"/usr/bin/agentbox --profile "
			     "claude-code -- /bin/bash -c 'ls''\"}}",
			     NULL, &out), AB_HOOK_WRAPPED);
	ab_hook_out_free(&out);
	/* another profile or another binary is not ours */
	assert_int_equal(run(PRE "{\"command\":\"/usr/bin/agentbox --profile "
			     "open -- /bin/bash -c 'ls'\"}}", NULL, &out),
			 AB_HOOK_WRAPPED);
	ab_hook_out_free(&out);
	assert_int_equal(run(PRE "{\"command\":\"agentbox --profile claude-code"
			     " -- /bin/bash -c 'ls'\"}}", NULL, &out),
			 AB_HOOK_WRAPPED);
	ab_hook_out_free(&out);
	assert_int_equal(run(PRE "{\"command\":\"/usr/bin/agentbox --profile "
			     "claude-code --session a;b -- /bin/bash -c 'ls'\"}}",
			     NULL, &out), AB_HOOK_WRAPPED);
	ab_hook_out_free(&out);
}

static void malformed_refused(void **state)
{
	char deep[300] = PRE "{\"command\":\"x\",\"d\":";

	expect_refused("", "empty input");
	expect_refused("[1]", "expected a JSON object");
	expect_refused(PRE "{\"command\":\"x\"}} x", "text after");
	expect_refused(PRE "{\"command\":\"x\"}", "expected ',' or '}'");
	expect_refused(PRE "{\"command\":\"x\",\"command\":\"y\"}}",
		       "tool_input.command given twice");
	expect_refused(PRE "{\"command\":\"x\",\"comm\\u0061nd\":\"y\"}}",
		       "given twice");
	expect_refused("{\"tool_name\":\"Read\",\"tool_name\":\"Bash\","
		       "\"hook_event_name\":\"PreToolUse\"}", "tool_name given twice");
	expect_refused(PRE "{\"command\":\"a\nb\"}}", "control character");
	expect_refused(PRE "{\"command\":\"a\\x\"}}", "bad escape");
	expect_refused(PRE "{\"command\":\"a\\u12\"}}", "bad \\u escape");
	expect_refused(PRE "{\"command\":\"a\\u0000b\"}}", "NUL character");
	expect_refused(PRE "{\"command\":\"x\",\"n\":01}}", "expected ',' or '}'");
	expect_refused(PRE "{\"command\":\"x\",\"n\":-}}", "bad number");
	expect_refused(PRE "{\"command\":\"x\",\"n\":tru}}", "unexpected");
	expect_refused(PRE "{\"command\":5}}", "command missing or not a string");
	expect_refused(PRE "{}}", "command missing");
	expect_refused(PRE "\"ls\"}", "tool_input missing or not an object");
	expect_refused("{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"x\"}}",
		       "hook_event_name missing");
	expect_refused("{\"hook_event_name\":\"PostToolUse\",\"tool_name\":\"Bash\","
		       "\"tool_input\":{\"command\":\"x\"}}", "called for \"PostToolUse\"");
	expect_refused("{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\","
		       "\"session_id\":\"a b\",\"tool_input\":{\"command\":\"x\"}}",
		       "session_id");
	expect_refused("{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\","
		       "\"session_id\":\"a\\u0000\",\"tool_input\":{\"command\":\"x\"}}",
		       "session_id");
	for (int i = 0; i < 70; i++)
		strcat(deep, "[");
	expect_refused(deep, "nested too deeply");
	expect_refused("\xef\xbb\xbf{}", "expected a JSON object");
}

static void shell_quote(void **state)
{
	char buf[64];

	assert_int_equal(ab_shell_quote("/usr/bin/agentbox", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/usr/bin/agentbox");
	assert_int_equal(ab_shell_quote("a b'c", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "'a b'\\''c'");
	assert_int_equal(ab_shell_quote("", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "''");
	assert_int_equal(ab_shell_quote("$HOME", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "'$HOME'");
	assert_int_equal(ab_shell_quote("0123456789", buf, 5), -1);
}

static void session_labels(void **state)
{
	assert_true(ab_session_label_ok("0c6f-41:a_b.c", 13));
	assert_false(ab_session_label_ok("", 0));
	assert_false(ab_session_label_ok("a b", 3));
	assert_false(ab_session_label_ok("a\0b", 3));
	assert_false(ab_session_label_ok("a;b", 3));
	assert_false(ab_session_label_ok(
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		65));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fields_kept),
		cmocka_unit_test(command_bytes_kept),
		cmocka_unit_test(other_tools_pass),
		cmocka_unit_test(monitor_wrapped),
		cmocka_unit_test(inside_passes),
		cmocka_unit_test(no_double_wrap),
		cmocka_unit_test(malformed_refused),
		cmocka_unit_test(shell_quote),
		cmocka_unit_test(session_labels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
