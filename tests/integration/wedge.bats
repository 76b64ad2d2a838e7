#!/usr/bin/env bats
# wedge.bats - the relay cannot be wedged from inside: one process's slow
# connections leave room for the others, a low descriptor limit neither
# spins the relay nor turns refusals into bare resets.

load helpers

# Inside: hold N connections to the proxy with an unfinished head, then
# run what follows on the command line while they are held
HOLD='import select, socket, subprocess, sys, time
n = int(sys.argv[1])
held, refused = [], 0
for i in range(n):
    s = socket.create_connection(("10.38.0.1", 3128), timeout=5)
    s.sendall(b"G")
    held.append(s)
# the answers come as the relay accepts: wait until 1 s passes without one
# (10 s at most)
t, quiet = time.time(), time.time()
while held and time.time() - quiet < 1 and time.time() - t < 10:
    ready, _, _ = select.select(held, [], [], 0.2)
    for s in ready:
        if s.recv(64).startswith(b"HTTP/1.1 503"):
            refused += 1
        held.remove(s)
        quiet = time.time()
print("refused", refused, flush=True)
rc = subprocess.call(sys.argv[2:])
print("other rc", rc, flush=True)'

@test "slow connections of one process take at most half of --max-conns: another process still gets through" {
	run ab --max-conns 40 -- /usr/bin/python3 -c "$HOLD" 60 \
		sh -c 'for i in 1 2 3 4 5; do curl -sS -m 10 -o /dev/null -w "%{http_code}\n" "http://$1/hello"; done' sh "$ORIGIN"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[[ "$output" == *"refused 40"* ]]	# 60 - its share of 20
	[ "$(grep -c '^200$' <<<"$output")" -eq 5 ]
	[[ "$output" == *"other rc 0"* ]]
	grep '"over-share"\|its share' "$AUDIT_LOG" | grep -q '"status_code":503'
}

@test "a descriptor limit too low for --max-conns: clamped with a warning, and the relay idles with more connections waiting than it has descriptors" {
	run bash -c 'ulimit -n 160; "$@"' sh "$AGENTBOX" --upstream "http://127.0.0.1:$SQUID_PORT" -- true
	[ "$status" -eq 0 ]
	[[ "$output" == "agentbox: max_conns 512 lowered to 16: the descriptor limit is 160 (6 per connection); raise it with ulimit -n" ]]
	# 200 connections (two processes of 100) against 16 slots and 160
	# descriptors: more than the relay could hold; they wait in the
	# backlog, and the supervisor takes no CPU while they wait (accepting
	# until EMFILE would spin on the readable listener)
	bash -c 'ulimit -n 160; exec "$@"' sh "$AGENTBOX" --upstream "http://127.0.0.1:$SQUID_PORT" -- \
		sh -c 'for i in 1 2; do /usr/bin/python3 -c "
import socket, time
held = []
for i in range(100):
    s = socket.socket(); s.setblocking(False)
    try: s.connect((\"10.38.0.1\", 3128))
    except BlockingIOError: pass
    held.append(s)
time.sleep(6)" & done; wait' 2>/dev/null &
	pid=$!
	sleep 2
	t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	sleep 3
	t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	wait "$pid"
	echo "supervisor CPU over 3 s: $((t1 - t0)) ticks" >&2
	[ $((t1 - t0)) -le 10 ]	# 0.1 s of 3: not spinning
}

@test "with three quarters of the slots taken, heads that have not come in 5 s get their 408 then (not after 60 s) until the slots are free again" {
	run ab --max-conns 8 -- /usr/bin/python3 -c '
import os, select, socket, subprocess, sys, time
t0 = time.time()
kids = []
for k in range(2):		# two processes, three slow heads each: 6 of 8
    pid = os.fork()
    if pid == 0:
        held = [socket.create_connection(("10.38.0.1", 3128), timeout=5) for _ in range(3)]
        for s in held:
            s.sendall(b"G")
        got = []
        while held and time.time() - t0 < 12:
            for s in select.select(held, [], [], 0.5)[0]:
                got.append("%s@%d" % (s.recv(64)[:12].decode().replace(" ", "_"), time.time() - t0))
                held.remove(s)
        with open(sys.argv[2] + "/kid%d" % k, "w") as f:
            f.write(" ".join(got))
        os._exit(0)
    kids.append(pid)
time.sleep(6.5)
rc = subprocess.call(["curl", "-sS", "-m", "10", "-o", "/dev/null", "http://%s/hello" % sys.argv[1]])
print("curl rc", rc, flush=True)
for pid in kids:
    os.waitpid(pid, 0)' "$ORIGIN" "$BATS_TEST_TMPDIR"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[[ "$output" == *"curl rc 0"* ]]
	# each file is one line without its newline: joined by a space
	got="$(cat "$BATS_TEST_TMPDIR/kid0") $(cat "$BATS_TEST_TMPDIR/kid1")"
	echo "408s: $got" >&2
	# at least one was let go, each at 5 to 8 s (60 s otherwise)
	[[ "$got" == *HTTP/1.1_408@* ]]
	for g in $got; do
		t=${g#*@}
		[[ "$g" == HTTP/1.1_408@* ]] && [ "$t" -ge 5 ] && [ "$t" -le 8 ]
	done
}
