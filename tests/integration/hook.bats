#!/usr/bin/env bats
# hook.bats - agentbox hook claude-code: Claude Code's Bash calls run inside
# agentbox, with every byte of the command and every field kept.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	export AGENTBOX_TEST_SYSCONF="$SYSCONF_DIR/open"
	export AGENTBOX_TEST_VENDOR="$VENDOR_DIR"
	# the claude-code profile stubs files under $HOME: a home of our own
	export HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$HOME"
	cd "$BATS_TEST_TMPDIR"
	LOG="$AUDIT_LOG"
	SID=5e2a1c9d-0b7a-4c55-9d2f-1c3b5a7e9f00
}

hook() {	# hook claude-code with stdin
	"$AGENTBOX" hook claude-code "$@"
}

bash_input() {	# COMMAND: a PreToolUse input for Bash, as Claude Code writes it
	/usr/bin/python3 -c 'import json, sys; print(json.dumps({
  "session_id": sys.argv[2], "transcript_path": "/tmp/t.jsonl", "cwd": "/tmp",
  "permission_mode": "default", "hook_event_name": "PreToolUse",
  "tool_name": "Bash", "tool_input": {"command": sys.argv[1], "timeout": 5000,
  "description": "test"}}))' "$1" "$SID"
}

wrapped_of() {	# JSON answer on stdin: the wrapped command
	/usr/bin/python3 -c 'import json, sys
print(json.load(sys.stdin)["hookSpecificOutput"]["updatedInput"]["command"], end="")'
}

@test "hook: quotes, newlines, \$(), heredocs and non-UTF-8 bytes run exactly as the original, inside agentbox" {
	run /usr/bin/python3 "$TESTS_DIR/helpers/hook-roundtrip.py" "$AGENTBOX" claude-code
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"all 12 cases ok, and inside agentbox"* ]]
}

@test "hook: tools other than Bash pass untouched (exit 0, no output)" {
	for tool in Read Write Edit WebFetch mcp__x__y; do
		run hook <<<"{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"$tool\",\"tool_input\":{\"command\":\"id\",\"file_path\":\"/etc/passwd\"}}"
		[ "$status" -eq 0 ]
		[ -z "$output" ]
	done
}

@test "hook: malformed input blocks the call: exit 2 and one line naming the fault" {
	check() {	# INPUT EXPECTED-TEXT
		run --separate-stderr hook <<<"$1"
		[ "$status" -eq 2 ] || { echo "status $status for $1"; return 1; }
		[ -z "$output" ]
		[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
		[[ "$stderr" == "agentbox hook claude-code: "*"$2"* ]] ||
			{ echo "stderr: $stderr"; return 1; }
	}
	check '' 'empty input'
	check 'not json' 'expected a JSON object'
	check '{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"}' "expected ',' or '}'"
	check '{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls","command":"curl x"}}' 'tool_input.command given twice'
	check '{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"cmd":"ls"}}' 'tool_input.command missing'
	check '{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":"ls"}' 'tool_input missing or not an object'
	check '{"hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"ls"}}' 'called for "PostToolUse"'
	check '{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"a\u0000b"}}' 'NUL character'
	check '{"hook_event_name":"PreToolUse","tool_name":"Bash","session_id":"x;y","tool_input":{"command":"ls"}}' 'session_id'
	run --separate-stderr hook --profile
	[ "$status" -eq 2 ]
	run --separate-stderr "$AGENTBOX" hook codex
	[ "$status" -eq 2 ]
}

@test "hook: the wrapped call has no direct way out, goes through Squid, and is logged with Claude's session id" {
	bash_input "curl -sS -m 5 http://127.0.0.1:$OPEN_PORT/; echo direct=\$?; curl -sS -m 20 http://$ORIGIN/hello" >in.json
	hook <in.json >out.json
	cmd=$(wrapped_of <out.json)
	run env HTTP_PROXY="http://127.0.0.1:$SQUID_PORT" /bin/bash -c "$cmd"
	echo "$output"
	[[ "$output" == *"direct=7"* ]]
	[[ "$output" != *reached* ]]
	[[ "$output" == *"hello from origin"* ]]
	squid_logged "GET http://$ORIGIN/hello .*\"session=$SID; run=[0-9a-f]*; user=$(id -un); profile=claude-code\""
	start=$(grep '"session-start"' "$LOG" | tail -1)
	[[ "$start" == *"\"session\":\"$SID\""* ]]
	[[ "$start" == *'"run":"'[0-9a-f]*'"'* ]]
	[[ "$start" == *'"profile":"claude-code"'* ]]
	run "$AGENTBOX" log -s "$SID"
	[[ "$output" == *"$SID/"*START* ]]
	[[ "$output" == *"ALLOW"*"http://$ORIGIN/hello"* ]]
}

@test "hook: its own wrapper is not wrapped again, a command that only starts like it is" {
	bash_input 'echo once' | hook >out.json
	cmd=$(wrapped_of <out.json)
	bash_input "$cmd" >again.json
	run hook <again.json
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# the same text with a command after it would run that command
	# outside: it is wrapped, and the tail runs inside
	bash_input "$cmd"'; echo "tail=$AGENTBOX"' | hook >out2.json
	cmd2=$(wrapped_of <out2.json)
	[[ "$cmd2" == "$AGENTBOX --profile claude-code --session $SID -- /bin/bash -c '"* ]]
	run /bin/bash -c "$cmd2"
	[[ "$output" == *"already inside agentbox"* ]]
	[[ "$output" == *"tail=1"* ]]
}

@test "hook: inside agentbox it passes every call; a forged AGENTBOX=1 outside does not" {
	bash_input 'id' >in.json
	run "$AGENTBOX" -- sh -c '"$0" hook claude-code <"$1"; echo "rc=$?"' "$AGENTBOX" "$PWD/in.json"
	[ "$output" = "rc=0" ]
	run env AGENTBOX=1 "$AGENTBOX" hook claude-code <in.json
	[ "$status" -eq 0 ]
	[[ "$output" == *'"updatedInput"'* ]]
}

@test "hook --print-settings: a settings.json fragment whose command answers a real call" {
	run --separate-stderr "$AGENTBOX" hook claude-code --print-settings
	[ "$status" -eq 0 ]
	printf '%s' "$output" >settings.json
	/usr/bin/python3 - settings.json <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
(entry,) = s["hooks"]["PreToolUse"]
assert entry["matcher"] == "Bash|Monitor", entry
(h,) = entry["hooks"]
assert h["type"] == "command" and h["onFailure"] == "block", h
open("hookcmd", "w").write(h["command"])
PY
	[ "$(cat hookcmd)" = "$AGENTBOX hook claude-code --profile claude-code" ]
	bash_input 'echo hi' >in.json
	run /bin/bash -c "$(cat hookcmd) <in.json"
	[ "$status" -eq 0 ]
	[[ "$output" == *'/bin/bash -c '\''echo hi'\''"'* ]]
	# a profile that does not exist is refused here, not at every call
	run --separate-stderr "$AGENTBOX" hook claude-code --profile nosuch --print-settings
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"profile 'nosuch'"* ]]
}
