#!/usr/bin/env bats
# claude.bats - the real Claude Code, driven by a fake Messages API, in
# prefix mode (CLAUDE_CODE_SHELL_PREFIX set by managed settings) and as a
# whole agent inside agentbox.
#
# Claude Code looks up its vendor's hosts when it starts: every run here
# is inside claude-net (a network namespace with only lo, and its own
# Squid, origin and fake API), never in the machine's own.
#
# As the unprivileged user, claude-net is a user namespace that maps only
# that user: root's files show as nobody there, which the test build's
# AGENTBOX_TEST_OVERFLOW_ROOT=1 lets stand for root (profiles, the system
# configuration).

bats_require_minimum_version 1.5.0
load helpers

claude_bin() { command -v claude 2>/dev/null; }

setup_file() {
	export PREFIX_BIN="$(dirname "$AGENTBOX")/agentbox-claude-shell"
	claude_bin >/dev/null || return 0
	[ -n "${TEST_HOME:-}" ] || return 0
	[ -x "$PREFIX_BIN" ] || return 0
	# not under BATS_FILE_TMPDIR: Squid started by root runs as 'proxy'
	CL=$(mktemp -d /tmp/agentbox-claude.XXXXXX) || return 1
	export CL
	chmod 755 "$CL"
	export AGENTBOX_TEST_SYSCONF="$SYSCONF_DIR/claude"
	export AGENTBOX_TEST_VENDOR="$VENDOR_DIR" AGENTBOX_TEST_OVERFLOW_ROOT=1

	# A home outside the writable roots, with the user's shell functions
	export CHOME="$TEST_HOME/claude.$$"
	rm -rf "$CHOME"
	mkdir -p "$CHOME/.claude" "$CHOME/.config/agentbox/profiles"
	cat >"$CHOME/.bashrc" <<'RC'
abfn() { echo "function-works"; }
alias abal='echo alias-works'
RC
	# what prefix mode runs: the system configuration names claude-test
	# (each run writes it with its own Squid's port: use-squid.sh)
	printf '[profile]\ninclude = claude-code\n' \
		>"$CHOME/.config/agentbox/profiles/claude-test.conf"
	cat >"$CL/use-squid.sh" <<'SH'
printf '[profile]\ninclude = claude-code\n[network]\nupstream = http://127.0.0.1:%s\n' \
	"$SQUID_PORT" >"$HOME/.config/agentbox/profiles/claude-test.conf"
SH
	# a project, with settings that try to take the prefix out
	export PROJ="$CL/proj"
	mkdir -p "$PROJ/sub" "$PROJ/.claude"
	git -C "$PROJ" init -q
	printf '{"env": {"CLAUDE_CODE_SHELL_PREFIX": ""}}\n' >"$PROJ/.claude/settings.json"
	printf '{"env": {"CLAUDE_CODE_SHELL_PREFIX": ""}, "permissions": {"deny": ["Bash(touch:*)"]}}\n' \
		>"$CHOME/.claude/settings.json"
	printf '{"env": {"CLAUDE_CODE_SHELL_PREFIX": "%s"}}\n' "$PREFIX_BIN" >"$CL/managed.json"
	# a stdio MCP server that says where it runs, then serves nothing
	printf '{"mcpServers": {"probe": {"command": "/bin/sh", "args": ["-c", "readlink /proc/self/ns/net > %s/rec/mcp.txt; exec cat >/dev/null"]}}}\n' \
		"$CL/prefix" >"$CL/mcp.json"

	cat >"$CL/prefix.json" <<'JSON'
{"conversations": [
 {"match": "MARK-MAIN", "turns": [
  {"tool": "Bash", "input": {"command": "readlink /proc/self/ns/net", "description": "netns"}},
  {"tool": "ToolSearch", "input": {"query": "select:Monitor"}},
  {"tool": "Monitor", "input": {"command": "readlink /proc/self/ns/net > @REC@/monitor.txt; echo done", "description": "netns", "timeout_ms": 5000}},
  {"tool": "Bash", "input": {"command": "readlink /proc/self/ns/net > @REC@/bg.txt", "description": "netns", "run_in_background": true}},
  {"tool": "Agent", "input": {"description": "sub", "prompt": "MARK-SUB: run one command", "subagent_type": "general-purpose"}},
  {"tool": "Bash", "input": {"command": "cd sub", "description": "cd"}},
  {"tool": "Bash", "input": {"command": "pwd", "description": "pwd"}},
  {"tool": "Bash", "input": {"command": "abfn; abal", "description": "rc"}},
  {"tool": "Bash", "input": {"command": "echo key=${ANTHROPIC_API_KEY:-unset}", "description": "key"}},
  {"tool": "Bash", "input": {"command": "curl -sS --max-time 10 http://origin.test:@ORIGIN_PORT@/hello", "description": "curl"}},
  {"tool": "Bash", "input": {"command": "touch @REC@/denied-file", "description": "denied"}}
 ]},
 {"match": "MARK-SUB", "turns": [
  {"tool": "Bash", "input": {"command": "readlink /proc/self/ns/net > @REC@/sub.txt", "description": "netns"}}
 ]}
]}
JSON
	# the prefix run: the claude-test profile sends to claude-net's Squid
	cat >"$CL/prefix.sh" <<'SH'
cd "$PROJ" || exit 1
readlink /proc/self/ns/net >"$FAKE_REC/host.txt"
. "$CL/use-squid.sh"
CLAUDE_CODE_SHELL_PREFIX= timeout 120 claude -p "MARK-MAIN go" --output-format json \
	--allowedTools Bash Monitor Agent ToolSearch --mcp-config "$CL/mcp.json" \
	>"$FAKE_REC/out.json" 2>"$FAKE_REC/err.txt"
echo $? >"$FAKE_REC/rc"
# the background command and the subagent finish on their own
for i in $(seq 100); do [ -s "$FAKE_REC/bg.txt" ] && [ -s "$FAKE_REC/sub.txt" ] && break; sleep 0.1; done
cp "$SQUID_LOG" "$FAKE_REC/access.log"
SH
	HOME="$CHOME" MANAGED="$CL/managed.json" timeout 300 \
		"$TESTS_DIR/helpers/claude-net" "$CL/prefix" "$CL/prefix.json" \
		bash "$CL/prefix.sh" >"$CL/prefix.out" 2>&1 || true
}

teardown_file() {
	[ -n "${AB_KEEP:-}" ] && return 0
	[ -n "${CL:-}" ] && rm -rf "$CL"
	[ -n "${CHOME:-}" ] && rm -rf "$CHOME"
	return 0
}

need_claude() {
	claude_bin >/dev/null || skip "Claude Code is not installed (make deps installs it)"
	[ -n "${TEST_HOME:-}" ] || skip "no home outside /tmp for this user (make check makes one)"
	[ -x "$PREFIX_BIN" ] || skip "no agentbox-claude-shell next to $AGENTBOX"
	R="$CL/prefix/rec"
	[ -s "$R/rc" ] || { cat "$CL/prefix.out" >&2; false; }
}

result() {	# COMMAND: the text of the tool result for that command
	/usr/bin/python3 - "$R/results.jsonl" "$1" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d["input"].get("command") == sys.argv[2] or d["input"].get("query") == sys.argv[2]:
        print(("ERROR " if d["is_error"] else "") + d["text"])
        break
else:
    sys.exit("no tool result for: " + sys.argv[2])
PY
}

@test "prefix: Claude Code ran the scripted session through managed settings" {
	need_claude
	[ "$(cat "$R/rc")" = 0 ] || { cat "$R/err.txt" "$CL/prefix.out" >&2; false; }
	grep -q '"is_error":false' "$R/out.json"
}

@test "prefix: Bash runs in a network namespace of its own, though user and project settings and the environment empty the prefix" {
	need_claude
	run result "readlink /proc/self/ns/net"
	[ "$status" -eq 0 ]
	[[ "$output" == net:* ]]
	[ "$output" != "$(cat "$R/host.txt")" ]
}

@test "prefix: Monitor's command runs inside (Claude's Monitor escape)" {
	need_claude
	[ -s "$R/monitor.txt" ]
	[ "$(cat "$R/monitor.txt")" != "$(cat "$R/host.txt")" ]
}

@test "prefix: a background Bash and a subagent's Bash run inside" {
	need_claude
	[ -s "$R/bg.txt" ] && [ -s "$R/sub.txt" ]
	[ "$(cat "$R/bg.txt")" != "$(cat "$R/host.txt")" ]
	[ "$(cat "$R/sub.txt")" != "$(cat "$R/host.txt")" ]
}

@test "prefix: cd carries to the next call; the user's functions and aliases work" {
	need_claude
	run result "pwd"
	[ "$output" = "$PROJ/sub" ]
	run result "abfn; abal"
	[ "${lines[0]}" = function-works ]
	[ "${lines[1]}" = alias-works ]
}

@test "prefix: Claude's API key is not in its shells' environment" {
	need_claude
	run result 'echo key=${ANTHROPIC_API_KEY:-unset}'
	[ "$output" = key=unset ]
}

@test "prefix: a deny rule blocks the command Claude sees, as the model wrote it" {
	need_claude
	run result "touch $R/denied-file"
	[[ "$output" == ERROR* ]]
	[ ! -e "$R/denied-file" ]
}

@test "prefix: curl reaches the origin through Squid, with Claude's session id in Squid's log and the audit log" {
	need_claude
	run result "curl -sS --max-time 10 http://origin.test:$(cat "$CL/prefix/origin.port")/hello"
	[ "$output" = "hello from origin" ]
	sid=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["session_id"])' "$R/out.json")
	[ -n "$sid" ]
	grep "/hello" "$R/access.log" | grep -q "session=$sid"
	grep '"action":"http-request"' "$AUDIT_LOG" | grep "/hello" |
		grep -q "\"session\":\"$sid\"" ||
		{ grep hello "$AUDIT_LOG" >&2; false; }
}

@test "prefix: Claude starts stdio MCP servers through the prefix: they run inside" {
	need_claude
	[ -s "$R/mcp.txt" ]
	[ "$(cat "$R/mcp.txt")" != "$(cat "$R/host.txt")" ]
}

@test "prefix: an allow rule runs a command without approval; without one it is refused" {
	need_claude
	local d="$CL/allow"
	cat >"$CL/allow.json" <<'JSON'
{"conversations": [{"match": "MARK-MAIN", "turns": [
  {"tool": "Bash", "input": {"command": "mkdir allowed-dir", "description": "a"}},
  {"tool": "Bash", "input": {"command": "mkdir other-dir", "description": "b"}}
]}]}
JSON
	printf '{"permissions": {"allow": ["Bash(mkdir allowed-dir)"]}}\n' >"$CL/allow-settings.json"
	cat >"$CL/allow.sh" <<'SH'
cd "$PROJ" || exit 1
. "$CL/use-squid.sh"
timeout 120 claude -p "MARK-MAIN go" --output-format json --settings "$CL/allow-settings.json" \
	>"$FAKE_REC/out.json" 2>"$FAKE_REC/err.txt"
SH
	HOME="$CHOME" MANAGED="$CL/managed.json" run timeout 300 \
		"$TESTS_DIR/helpers/claude-net" "$d" "$CL/allow.json" bash "$CL/allow.sh"
	[ "$status" -eq 0 ] || { echo "$output"; cat "$d/rec/err.txt"; false; }
	R="$d/rec"
	run result "mkdir allowed-dir"
	[[ "$output" != ERROR* ]]
	[ -d "$PROJ/allowed-dir" ]
	run result "mkdir other-dir"
	[[ "$output" == ERROR* ]]
	[ ! -e "$PROJ/other-dir" ]
}

@test "prefix: as root, a TMPDIR that root writes only with CAP_DAC_OVERRIDE still carries cd" {
	need_claude
	[ "$(id -u)" = 0 ] || skip "root only"
	id abtest >/dev/null 2>&1 || skip "no user abtest"
	local d="$CL/tmpdir" t
	t=$(mktemp -d /var/tmp/agentbox-claude-tmp.XXXXXX)
	chown abtest "$t" && chmod 700 "$t"
	cat >"$CL/tmpdir.json" <<'JSON'
{"conversations": [{"match": "MARK-MAIN", "turns": [
  {"tool": "Bash", "input": {"command": "cd sub", "description": "cd"}},
  {"tool": "Bash", "input": {"command": "pwd", "description": "pwd"}}
]}]}
JSON
	cat >"$CL/tmpdir.sh" <<'SH'
cd "$PROJ" || exit 1
. "$CL/use-squid.sh"
timeout 120 claude -p "MARK-MAIN go" --output-format json --allowedTools Bash \
	>"$FAKE_REC/out.json" 2>"$FAKE_REC/err.txt"
SH
	HOME="$CHOME" TMPDIR="$t" MANAGED="$CL/managed.json" run timeout 300 \
		"$TESTS_DIR/helpers/claude-net" "$d" "$CL/tmpdir.json" bash "$CL/tmpdir.sh"
	rm -rf "$t"
	[ "$status" -eq 0 ] || { echo "$output"; cat "$d/rec/err.txt"; false; }
	R="$d/rec"
	run result "pwd"
	[ "$output" = "$PROJ/sub" ]
}

@test "whole agent: Claude's API calls go through Squid, its transcript is saved, --resume works, no EROFS" {
	need_claude
	local d="$CL/whole" h="$TEST_HOME/claude-whole.$$"
	rm -rf "$h"
	mkdir -p "$h"
	cat >"$CL/whole.json" <<'JSON'
{"conversations": [
 {"match": "MARK-MAIN", "turns": [
  {"tool": "Bash", "input": {"command": "readlink /proc/self/ns/net", "description": "netns"}},
  {"tool": "Bash", "input": {"command": "echo planted >> ~/.claude/settings.json; echo '{\"mcpServers\":{}}' > ~/.claude/.config.json; ls ~/.claude/shell-snapshots | wc -l", "description": "plant"}}
 ]},
 {"match": "MARK-AGAIN", "turns": []}
]}
JSON
	cat >"$CL/whole.sh" <<'SH'
cd "$PROJ" || exit 1
readlink /proc/self/ns/net >"$FAKE_REC/host.txt"
ab() { timeout 120 "$AGENTBOX" --upstream "http://127.0.0.1:$SQUID_PORT" --profile claude -- "$@"; }
ab claude -p "MARK-MAIN go" --output-format json --allowedTools Bash \
	--debug-file "$FAKE_REC/debug.txt" >"$FAKE_REC/out.json" 2>"$FAKE_REC/err.txt"
sid=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["session_id"])' "$FAKE_REC/out.json")
ab claude -p "MARK-AGAIN" --resume "$sid" --output-format json \
	--debug-file "$FAKE_REC/debug2.txt" >"$FAKE_REC/out2.json" 2>>"$FAKE_REC/err.txt"
cp "$SQUID_LOG" "$FAKE_REC/access.log"
SH
	HOME="$h" run timeout 300 "$TESTS_DIR/helpers/claude-net" "$d" "$CL/whole.json" bash "$CL/whole.sh"
	[ "$status" -eq 0 ] || { echo "$output"; cat "$d/rec/err.txt"; false; }
	R="$d/rec"
	grep -q '"is_error":false' "$R/out.json" || { cat "$R/out.json" "$R/err.txt"; false; }
	grep -q '"is_error":false' "$R/out2.json" || { cat "$R/out2.json" "$R/err.txt"; false; }
	run result "readlink /proc/self/ns/net"
	[ "$output" != "$(cat "$R/host.txt")" ]
	# Claude's own requests, through agentbox and Squid, with the session
	grep 'POST http://api.test:' "$R/access.log" | grep -q 'profile=claude'
	sid=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["session_id"])' "$R/out.json")
	ls "$h"/.claude/projects/*/"$sid".jsonl
	# the resumed conversation carried the first one's messages
	grep 'MARK-AGAIN' "$R/requests.jsonl" | grep -q '"conv": "MARK-MAIN", "turn": 2'
	! grep -q EROFS "$R/debug.txt" "$R/debug2.txt"
	# what decides what a Claude outside runs stayed as it was
	[ ! -s "$h/.claude/settings.json" ]
	[ ! -s "$h/.claude/.config.json" ]
	[ -z "$(ls -A "$h/.claude/shell-snapshots")" ]
	rm -rf "$h"
}

@test "hook mode: Monitor's command is wrapped too, by the fragment --print-settings makes (Claude's Monitor escape)" {
	need_claude
	local d="$CL/hook"
	HOME="$CHOME" "$AGENTBOX" hook claude-code --profile claude-test --print-settings >"$CL/hook-settings.json"
	cat >"$CL/hook.json" <<'JSON'
{"conversations": [{"match": "MARK-MAIN", "turns": [
  {"tool": "Bash", "input": {"command": "readlink /proc/self/ns/net", "description": "netns"}},
  {"tool": "ToolSearch", "input": {"query": "select:Monitor"}},
  {"tool": "Monitor", "input": {"command": "readlink /proc/self/ns/net > @REC@/monitor.txt; echo done", "description": "netns", "timeout_ms": 5000}}
]}]}
JSON
	cat >"$CL/hook.sh" <<'SH'
cd "$PROJ" || exit 1
. "$CL/use-squid.sh"
readlink /proc/self/ns/net >"$FAKE_REC/host.txt"
timeout 120 claude -p "MARK-MAIN go" --output-format json --allowedTools Bash Monitor ToolSearch \
	--settings "$CL/hook-settings.json" >"$FAKE_REC/out.json" 2>"$FAKE_REC/err.txt"
for i in $(seq 50); do [ -s "$FAKE_REC/monitor.txt" ] && break; sleep 0.1; done
SH
	# no managed settings: the hook alone
	HOME="$CHOME" run timeout 300 "$TESTS_DIR/helpers/claude-net" "$d" "$CL/hook.json" bash "$CL/hook.sh"
	[ "$status" -eq 0 ] || { echo "$output"; cat "$d/rec/err.txt"; false; }
	R="$d/rec"
	run result "readlink /proc/self/ns/net"
	[[ "$output" == net:* ]]
	[ "$output" != "$(cat "$R/host.txt")" ]
	[ -s "$R/monitor.txt" ]
	[ "$(cat "$R/monitor.txt")" != "$(cat "$R/host.txt")" ]
}

@test "agentbox-claude-shell: any argument shape but one script is 125 with the reason" {
	[ -x "${PREFIX_BIN:-}" ] || skip "no agentbox-claude-shell next to $AGENTBOX"
	run --separate-stderr "$PREFIX_BIN"
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"expected exactly one argument"*"got 0"* ]]
	run --separate-stderr "$PREFIX_BIN" -c "true"
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"got 2"* ]]
	CLAUDE_CODE_SESSION_ID='a b' run --separate-stderr "$PREFIX_BIN" true
	[ "$status" -eq 125 ]
	[[ "$stderr" == *CLAUDE_CODE_SESSION_ID* ]]
}

@test "agentbox-claude-shell: the script is a script, never an option of the shell; a forged AGENTBOX=1 outside still runs inside" {
	[ -x "${PREFIX_BIN:-}" ] || skip "no agentbox-claude-shell next to $AGENTBOX"
	export AGENTBOX_TEST_SYSCONF="$SYSCONF_DIR/open" HOME="$BATS_TEST_TMPDIR"
	run -127 "$PREFIX_BIN" --version
	[ "$status" -eq 127 ]
	[[ "$output" != *"GNU bash"* ]]
	host=$(readlink /proc/self/ns/net)
	AGENTBOX=1 run "$PREFIX_BIN" 'readlink /proc/self/ns/net'
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ "$output" == net:* ]] && [ "$output" != "$host" ]
	# inside already, it runs the script there (a subagent's shell)
	run ab --profile claude-code -- "$PREFIX_BIN" 'echo $AGENTBOX; readlink /proc/self/ns/net'
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "${lines[0]}" = 1 ]
	[ "${lines[1]}" != "$host" ]
}

@test "agentbox claude-code --print-managed-settings: the prefix, by its absolute path next to agentbox" {
	[ -x "${PREFIX_BIN:-}" ] || skip "no agentbox-claude-shell next to $AGENTBOX"
	run --separate-stderr "$AGENTBOX" claude-code --print-managed-settings
	[ "$status" -eq 0 ]
	v=$(printf '%s' "$output" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["env"]["CLAUDE_CODE_SHELL_PREFIX"])')
	[ "$v" = "$PREFIX_BIN" ]
	run --separate-stderr "$AGENTBOX" claude-code --bogus
	[ "$status" -eq 125 ]
}

@test "doctor: Claude Code's version, and whether its managed settings set the prefix to this agentbox" {
	need_claude
	printf '{"conversations": []}\n' >"$CL/none.json"
	HOME="$CHOME" MANAGED="$CL/managed.json" run timeout 120 \
		"$TESTS_DIR/helpers/claude-net" "$CL/doc1" "$CL/none.json" "$AGENTBOX" doctor
	[[ "$output" == *"ok    Claude Code 2.1."* ]] || { echo "$output"; false; }
	[[ "$output" == *"ok    /etc/claude-code/managed-settings.json: Claude Code's shells run through $PREFIX_BIN"* ]] ||
		[[ "$output" == *"warn  CLAUDE_CODE_SHELL_PREFIX $PREFIX_BIN is not owned by root"* ]] || { echo "$output"; false; }
	# a prefix that is not this agentbox fails the check
	printf '{"env": {"CLAUDE_CODE_SHELL_PREFIX": "/bin/sh"}}\n' >"$CL/managed-bad.json"
	HOME="$CHOME" MANAGED="$CL/managed-bad.json" run timeout 120 \
		"$TESTS_DIR/helpers/claude-net" "$CL/doc2" "$CL/none.json" "$AGENTBOX" doctor
	[ "$status" -eq 1 ]
	[[ "$output" == *"FAIL  /etc/claude-code/managed-settings.json: CLAUDE_CODE_SHELL_PREFIX /bin/sh is not this agentbox"* ]] || { echo "$output"; false; }
	# a drop-in that empties it takes the prefix out (Claude reads
	# managed-settings.d after the file): doctor names it
	mkdir -p "$CL/dropin"
	printf '{"env": {"CLAUDE_CODE_SHELL_PREFIX": ""}}\n' >"$CL/dropin/50-empty.json"
	HOME="$CHOME" MANAGED="$CL/managed.json" MANAGED_D="$CL/dropin" run timeout 120 \
		"$TESTS_DIR/helpers/claude-net" "$CL/doc4" "$CL/none.json" "$AGENTBOX" doctor
	[[ "$output" == *"warn  /etc/claude-code/managed-settings.d/50-empty.json sets CLAUDE_CODE_SHELL_PREFIX empty"* ]] || { echo "$output"; false; }
	# none: Claude's shells run outside, and doctor says so
	HOME="$CHOME" run timeout 120 \
		"$TESTS_DIR/helpers/claude-net" "$CL/doc3" "$CL/none.json" "$AGENTBOX" doctor
	[[ "$output" == *"does not set CLAUDE_CODE_SHELL_PREFIX: Claude Code's shell commands run outside agentbox"* ]] || { echo "$output"; false; }
}
