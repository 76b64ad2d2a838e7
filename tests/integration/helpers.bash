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

logged_in() {	# FILE PATTERN: wait (bounded) for a log to show it
	local i
	for ((i = 0; i < 40; i++)); do
		grep -q -- "$2" "$1" && return 0
		sleep 0.05
	done
	echo "not in $1: $2" >&2
	cat "$1" >&2
	return 1
}

squid_logged() {	# PATTERN: wait (bounded) for Squid's access log to show it
	logged_in "$SQUID_LOG" "$1"
}

bare_repo() {	# DIR TEXT: a bare git repository served as files, one commit
		# with a README holding TEXT
	local src
	[ -d "$1" ] && return 0
	src=$(mktemp -d "$BATS_FILE_TMPDIR/src.XXXXXX")
	git -c init.defaultBranch=main init -q "$src"
	echo "$2" >"$src/README"
	git -C "$src" add README
	git -C "$src" -c user.email=t@example.invalid -c user.name=t commit -qm one
	git clone -q --bare "$src" "$1"
	git -C "$1" update-server-info
	chmod -R a+rX "$1"
}

use_test_home() {	# HOME := a fresh directory outside every writable root
	[ -n "${TEST_HOME:-}" ] ||
		skip "no home outside /tmp for this user (make check makes one)"
	export HOME="$TEST_HOME/t$BATS_TEST_NUMBER.$$"
	mkdir -p "$HOME"
}

stop_runpids() {	# DIR NAME...: stop the servers whose pids are in
			# DIR/NAME.runpid, then wait (bounded) for each to go
	local d=$1 f
	shift
	for f in "$@"; do
		[ -f "$d/$f.runpid" ] && kill "$(cat "$d/$f.runpid")" 2>/dev/null
	done
	for f in "$@"; do
		[ -f "$d/$f.runpid" ] &&
			timeout 10 tail --pid="$(cat "$d/$f.runpid")" -f /dev/null 2>/dev/null
	done
	return 0
}

builtin_open_profile() {	# FILE: a profile that lets the built-in proxy
				# reach the loopback origins (and denies
				# *.evil.test)
	cat >"$1" <<CONF
[egress]
ports = $ORIGIN_PORT
ports = $TLS_PORT
allow_net = 127.0.0.1
deny = *.evil.test
CONF
}
