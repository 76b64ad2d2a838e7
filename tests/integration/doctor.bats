#!/usr/bin/env bats
# doctor.bats - agentbox doctor: every check, and what it says is wrong.

load helpers

@test "doctor: every check passes here, ending with a real sandbox" {
	run "$AGENTBOX" doctor --upstream "http://127.0.0.1:$SQUID_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"ok    seccomp filters with user notification"* ]]
	[[ "$output" == *"ok    user namespaces (user.max_user_namespaces = "* ]]
	[[ "$output" == *"ok    user, network, mount and pid namespaces and a fresh /proc can be made"* ]]
	[[ "$output" == *"ok    upstream 127.0.0.1:$SQUID_PORT (from --upstream) answers"* ]]
	[[ "$output" == *"ok    a sandbox (namespaces, veth, seccomp, relay) runs /bin/true"* ]]
	[[ "$output" == *"ok    interception: nftables nat redirect works in a user namespace's network namespace"* ]]
	# with Claude Code installed, the machine's own managed settings do
	# not set the prefix (claude.bats checks them in a mount namespace)
	if [[ "$output" == *"warn  /etc/claude-code/managed-settings.json"* ]]; then
		[ "${lines[-1]}" = "0 failed, 1 warnings" ]
	else
		[ "${lines[-1]}" = "0 failed, 0 warnings" ]
	fi
}

@test "doctor: an upstream that does not answer and a broken profile are named, with what to do" {
	port=$(free_port)
	run "$AGENTBOX" doctor --upstream "http://127.0.0.1:$port"
	[ "$status" -eq 1 ]
	[[ "$output" == *"FAIL  upstream 127.0.0.1:$port (from --upstream): connect: Connection refused"*"fix: start the proxy"* ]]
	# the sandbox itself still starts: its requests would get the 502
	[[ "$output" == *"ok    a sandbox (namespaces, veth, seccomp, relay) runs /bin/true"* ]]
	printf '[network]\nupstrem = x\n' >"$BATS_TEST_TMPDIR/bad.conf"
	run "$AGENTBOX" doctor --profile "$BATS_TEST_TMPDIR/bad.conf"
	[ "$status" -eq 1 ]
	[[ "$output" == *"FAIL  configuration: "*"bad.conf:2: unknown key 'upstrem'"* ]]
	run "$AGENTBOX" doctor --frobnicate
	[ "$status" -eq 2 ]
}

@test "doctor: AppArmor's restriction without agentbox's profile, and disabled user namespaces, say what to do" {
	fake="$BATS_TEST_TMPDIR/sys"
	mkdir -p "$fake/kernel" "$fake/user"
	echo 1 >"$fake/kernel/apparmor_restrict_unprivileged_userns"
	echo 0 >"$fake/user/max_user_namespaces"
	AGENTBOX_TEST_PROC_SYS="$fake" run "$AGENTBOX" doctor
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"FAIL  AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1) and no agentbox profile is loaded"*"fix: sudo make install (installs /etc/apparmor.d/agentbox and loads it)"* ]]
	[[ "$output" == *"FAIL  user namespaces disabled (user.max_user_namespaces = 0)"*"fix: sudo sysctl -w user.max_user_namespaces=15000"* ]]
}

@test "doctor: nftables that cannot redirect in a user namespace is a warning with the fix; intercept = no is named" {
	AGENTBOX_TEST_NO_NFT=1 run "$AGENTBOX" doctor --upstream "http://127.0.0.1:$SQUID_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"warn  interception: nftables nat redirect in a user namespace: Operation not supported; sandboxes run with interception off"* ]]
	[[ "$output" == *"modprobe -a nf_tables nft_redir nf_nat nf_conntrack"* ]]
	printf '[network]\nintercept = no\n' >"$BATS_TEST_TMPDIR/off.conf"
	run "$AGENTBOX" doctor --upstream "http://127.0.0.1:$SQUID_PORT" --profile "$BATS_TEST_TMPDIR/off.conf"
	[[ "$output" == *"ok    interception: off ([network] intercept = no)"* ]]
}
