#!/usr/bin/env bats
# Exit status, signals, and the life of the sandbox's processes.

load helpers

@test "exit status of the command is agentbox's" {
	run ab -- sh -c 'exit 42'
	[ "$status" -eq 42 ]
	run ab -- true
	[ "$status" -eq 0 ]
}

@test "a command killed by signal N gives 128+N" {
	run ab -- sh -c 'kill -TERM $$'
	[ "$status" -eq 143 ]
	run ab -- sh -c 'kill -KILL $$'
	[ "$status" -eq 137 ]
}

@test "command not found: 127; not executable: 126" {
	run -127 ab -- /nonexistent/cmd
	[ "$status" -eq 127 ]
	[[ "$output" == *"agentbox: exec /nonexistent/cmd: No such file or directory"* ]]
	printf 'not a program\n' >"$BATS_TEST_TMPDIR/data"
	chmod 644 "$BATS_TEST_TMPDIR/data"
	run ab -- "$BATS_TEST_TMPDIR/data"
	[ "$status" -eq 126 ]
	[[ "$output" == *"Permission denied"* ]]
}

@test "SIGTERM to agentbox reaches the command, which reports it" {
	"$AGENTBOX" --upstream "http://127.0.0.1:$SQUID_PORT" -- sh -c 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done' >"$BATS_TEST_TMPDIR/out" &
	pid=$!
	for i in $(seq 100); do grep -q ready "$BATS_TEST_TMPDIR/out" && break; sleep 0.05; done
	kill -TERM $pid
	wait $pid || st=$?
	[ "${st:-0}" -eq 7 ]
	grep -q got-term "$BATS_TEST_TMPDIR/out"
}

@test "SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 are forwarded" {
	for sig in INT HUP QUIT USR1 USR2; do
		"$AGENTBOX" --upstream "http://127.0.0.1:$SQUID_PORT" -- sh -c "trap 'echo got-$sig; exit 3' $sig; echo ready; while :; do sleep 0.1; done" >"$BATS_TEST_TMPDIR/out" &
		pid=$!
		for i in $(seq 100); do grep -q ready "$BATS_TEST_TMPDIR/out" && break; sleep 0.05; done
		kill -$sig $pid
		st=0; wait $pid || st=$?
		[ "$st" -eq 3 ]
		grep -q "got-$sig" "$BATS_TEST_TMPDIR/out"
	done
}

# (unusual durations: pgrep -f must not match some other "sleep 300" on the machine)
@test "killing the supervisor kills the whole sandbox" {
	"$AGENTBOX" --upstream "http://127.0.0.1:$SQUID_PORT" -- sh -c 'sleep 300.731 & echo $! >/dev/null; echo ready; exec sleep 301.731' >"$BATS_TEST_TMPDIR/out" &
	pid=$!
	for i in $(seq 100); do grep -q ready "$BATS_TEST_TMPDIR/out" && break; sleep 0.05; done
	pgrep -f "sleep 30[01]\.731"
	kill -KILL $pid
	for i in $(seq 100); do pgrep -f "sleep 30[01]\.731" >/dev/null || break; sleep 0.05; done
	run pgrep -f "sleep 30[01]\.731"
	[ "$status" -ne 0 ]
}

@test "when the command exits, no process of the sandbox survives" {
	run ab -- sh -c 'setsid sleep 302.731 </dev/null >/dev/null 2>&1 & nohup sleep 303.731 >/dev/null 2>&1 & exit 0'
	[ "$status" -eq 0 ]
	sleep 0.2
	run pgrep -f "sleep 30[23]\.731"
	[ "$status" -ne 0 ]
}

@test "orphans are reaped by init, not left as zombies" {
	run ab -- sh -c 'for i in 1 2 3; do (sleep 0.1 &) ; done; sleep 0.5; ps -eo stat= | grep -c Z || true'
	[ "${lines[-1]}" = "0" ]
}

@test "an interactive shell on a terminal: job control and window size" {
	run script -qec "stty cols 123 rows 45; $AGENTBOX --upstream http://127.0.0.1:$SQUID_PORT -- bash -ic 'tput cols; sleep 0.2 & jobs; wait; echo done'" /dev/null
	echo "$output"
	[[ "$output" == *123* ]]
	[[ "$output" == *"Running"* ]]
	[[ "$output" == *done* ]]
}
