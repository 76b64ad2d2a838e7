#!/usr/bin/env bats
# agentbox's own errors: one line, exit 125, and the command never runs.

load helpers

@test "upstream down: no check at start (it would be junk in the proxy's log); each request gets 502 with the reason" {
	port=$(free_port)
	run "$AGENTBOX" --upstream "http://127.0.0.1:$port" -- sh -c \
		"touch '$BATS_TEST_TMPDIR/ran'; curl -sS -m 20 -D - -o /dev/null http://$ORIGIN/hello; exit 3"
	echo "$output"
	[ "$status" -eq 3 ]
	[ -e "$BATS_TEST_TMPDIR/ran" ]
	[[ "$output" == *"HTTP/1.1 502 Bad Gateway"* ]]
	[[ "$output" == *"X-Agentbox-Reason: upstream proxy 127.0.0.1:$port unreachable: Connection refused"* ]]
}

@test "no upstream configured: the built-in proxy serves the sandbox" {
	run env -u http_proxy -u HTTP_PROXY -u https_proxy -u HTTPS_PROXY "$AGENTBOX" -- true
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	tail -1 "$AUDIT_LOG" | grep -q '"upstream":"builtin"'
}

@test "an audit log that cannot be written: 125, command not run" {
	touch "$BATS_TEST_TMPDIR/file"
	run env XDG_STATE_HOME="$BATS_TEST_TMPDIR/file" "$AGENTBOX" -- touch "$BATS_TEST_TMPDIR/ran"
	[ "$status" -eq 125 ]
	[ "$output" = "agentbox: audit log: mkdir $BATS_TEST_TMPDIR/file/agentbox: Not a directory" ]
	[ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "unresolvable upstream name: 125" {
	run "$AGENTBOX" --upstream http://no-such-host.invalid:3128 -- true
	[ "$status" -eq 125 ]
	[[ "$output" == "agentbox: upstream proxy no-such-host.invalid:3128 (from --upstream): resolve: "* ]]
}

@test "bad command line: 125 and a precise message" {
	run "$AGENTBOX" --bogus -- true
	[ "$status" -eq 125 ]
	[ "$output" = "agentbox: unknown option '--bogus' (see agentbox --help)" ]
	run "$AGENTBOX" --subnet 10.0.0.1/30 -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"did you mean 10.0.0.0/30?"* ]]
	run "$AGENTBOX" --upstream http://u:p@h:1 -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"credentials in the proxy URL are not accepted"* ]]
}

@test "--pass-fd of a closed descriptor: 125" {
	run ab --pass-fd 9 -- true
	[ "$status" -eq 125 ]
	[ "$output" = "agentbox: --pass-fd 9: Bad file descriptor" ]
}

@test "proxy port already taken in the gateway is impossible; a bad one is refused" {
	run ab --proxy-port 70000 -- true
	[ "$status" -eq 125 ]
}

@test "setup failure inside init is reported as one line: user namespaces off" {
	[ "$(id -u)" = 0 ] || skip "needs root to change the sysctl"
	[ -w /proc/sys/user/max_user_namespaces ] || skip "sysctl not writable here"
	old=$(cat /proc/sys/user/max_user_namespaces)
	echo 0 >/proc/sys/user/max_user_namespaces
	run ab -- touch "$BATS_TEST_TMPDIR/ran"
	echo "$old" >/proc/sys/user/max_user_namespaces
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "agentbox: clone user, mount, pid and network namespaces: "*"; hint: user namespaces are disabled"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "--help and --version" {
	run "$AGENTBOX" --help
	[ "$status" -eq 0 ]
	[[ "$output" == Usage:* ]]
	run "$AGENTBOX" --version
	[[ "$output" == "agentbox "* ]]
}
