# helpers.bash - shared by the integration tests.

ab() {	# agentbox with the test Squid as upstream
	"$AGENTBOX" --upstream "http://127.0.0.1:$SQUID_PORT" "$@"
}

ab_closed() {	# agentbox with the test Squid, interception off ([network]
		# intercept = no): the sandbox of the explicit proxy alone
	printf '[network]\nintercept = no\n' >"$BATS_TEST_TMPDIR/intercept-off.conf"
	"$AGENTBOX" --upstream "http://127.0.0.1:$SQUID_PORT" \
		--profile "$BATS_TEST_TMPDIR/intercept-off.conf" "$@"
}

squid_logged() {	# PATTERN: wait (bounded) for Squid's access log to show it
	local i
	for ((i = 0; i < 40; i++)); do
		grep -q -- "$1" "$SQUID_LOG" && return 0
		sleep 0.05
	done
	echo "not in Squid's access log: $1" >&2
	cat "$SQUID_LOG" >&2
	return 1
}

use_test_home() {	# HOME := a fresh directory outside every writable root
	[ -n "${TEST_HOME:-}" ] ||
		skip "no home outside /tmp for this user (make check makes one)"
	export HOME="$TEST_HOME/t$BATS_TEST_NUMBER.$$"
	mkdir -p "$HOME"
}
