#!/usr/bin/env bats
# The audit log (JSON lines, ECS names), identity and credentials on the way
# to Squid, and "agentbox log".

load helpers

setup() {
	export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
	LOG="$XDG_STATE_HOME/agentbox/audit.jsonl"
}

session_of() {	# the session id of the last session in the log
	grep '"session-start"' "$LOG" | tail -1 | sed 's/.*"session":"\([0-9a-f]*\)".*/\1/'
}

@test "the audit log has the session's start and end: command, cwd, exit status" {
	cd "$BATS_TEST_TMPDIR"
	run ab -- sh -c 'exit 3'
	[ "$status" -eq 3 ]
	[ "$(wc -l <"$LOG")" -eq 2 ]
	start=$(sed -n 1p "$LOG") end=$(sed -n 2p "$LOG")
	[[ "$start" == *'"action":"session-start"'* ]]
	[[ "$start" == *'"command_line":"sh -c exit 3"'* ]]
	[[ "$start" == *"\"working_directory\":\"$(pwd -P)\""* ]]
	[[ "$end" == *'"action":"session-end"'*'"outcome":"failure"'* ]]
	[[ "$end" == *'"exit_code":3'* ]]
	s=$(session_of)
	[ -n "$s" ]
	[ "$(grep -c "\"session\":\"$s\"" "$LOG")" -eq 2 ]
}

@test "every audit line is one JSON object with the ECS fields" {
	run ab -- curl -sS -m 20 "http://$ORIGIN/hello"
	[ "$status" -eq 0 ]
	run /usr/bin/python3 -c "
import json, sys
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line); n += 1
    for k in ('@timestamp',):
        assert k in e, k
    assert e['ecs']['version'] and e['event']['action'] and e['event']['outcome']
    assert e['user']['name'] and e['agentbox']['session']
    if e['event']['action'] == 'http-request':
        assert e['destination']['domain'] == 'origin.test'
        assert e['destination']['port'] == $ORIGIN_PORT
        assert e['url']['original'] == 'http://$ORIGIN/hello'
        assert e['http']['request']['method'] == 'GET'
        assert e['http']['response']['status_code'] == 200
        assert e['process']['name'] == 'curl' and e['process']['pid'] > 0
        assert e['process']['executable'].endswith('/curl')
        assert e['source']['bytes'] > 0 and e['destination']['bytes'] > 0
print(n)" "$LOG"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" -eq 3 ]
}

@test "the audit log cannot be read, rewritten, or moved from inside" {
	ab -- true	# the log exists
	run ab -- sh -c "
ls -A '$XDG_STATE_HOME/agentbox'
cat '$LOG' && echo READ
echo forged >>'$LOG' && echo APPENDED-SOMEWHERE
mv '$XDG_STATE_HOME/agentbox' '$XDG_STATE_HOME/moved' && echo MOVED
exit 0"
	echo "$output"
	[[ "$output" != *READ* ]]
	[[ "$output" != *MOVED* ]]
	[ -d "$XDG_STATE_HOME/agentbox" ]
	[ ! -e "$XDG_STATE_HOME/moved" ]
	! grep -q forged "$LOG"
	[ "$(grep -c session-start "$LOG")" -eq 2 ]
}

@test "the identity header reaches Squid's log (contrib/squid-agentbox.conf)" {
	run ab -- curl -sS -m 20 "http://$ORIGIN/hello"
	[ "$status" -eq 0 ]
	s=$(session_of)
	squid_logged "GET http://$ORIGIN/hello .*\"session=$s; run=$s; user=$(id -un); profile=default\""
}

@test "a forged identity header from the sandbox is replaced by ours" {
	run ab -- curl -sS -m 20 -H "X-Agentbox-Session: session=forged" \
		--cacert "$TEST_CA" "http://$ORIGIN/hello" "https://$TLS_ORIGIN/hello"
	[ "$status" -eq 0 ]
	s=$(session_of)
	squid_logged "GET http://$ORIGIN/hello .*\"session=$s; "
	squid_logged "CONNECT $TLS_ORIGIN .*\"session=$s; "
	! grep -q 'session=forged' "$SQUID_LOG"
}

@test "forwarding headers from the sandbox (a forged client address) never reach Squid" {
	run ab -- curl -sS -m 20 -H 'X-Forwarded-For: 10.9.9.9' \
		-H 'Forwarded: for=10.9.9.9' -H 'X-Real-IP: 10.9.9.9' "http://$ORIGIN/hello?xff"
	[ "$status" -eq 0 ]
	for ((i = 0; i < 40; i++)); do grep -q "hello?" "$SQUID_AUTH_LOG" && break; sleep 0.05; done
	grep -q "http://$ORIGIN/hello? .* xff=- fwd=-" "$SQUID_AUTH_LOG"
	! grep -q 10.9.9.9 "$SQUID_AUTH_LOG"
}

@test "every request on a keep-alive connection to Squid carries the identity" {
	run ab -v -- curl -sS -m 20 "http://$ORIGIN/hello" "http://$ORIGIN/echo-headers"
	echo "$output"
	[ "$status" -eq 0 ]
	s=$(session_of)
	squid_logged "GET http://$ORIGIN/hello .*\"session=$s; "
	squid_logged "GET http://$ORIGIN/echo-headers .*\"session=$s; "
	# and Squid does not pass it on to the origin
	[[ "$output" != *X-Agentbox-Session* ]]
	[ "$(grep -c '"action":"http-request"' "$LOG")" -eq 2 ]
}

@test "credentials: Squid gets them from the file; the sandbox never sees them" {
	creds="$BATS_TEST_TMPDIR/creds"
	printf 'agent:s3cr3t-pw\n' >"$creds"
	chmod 600 "$creds"
	b64=$(printf 'agent:s3cr3t-pw' | base64)
	printf '[network]\ncredentials = %s\n' "$creds" >"$BATS_TEST_TMPDIR/p.conf"
	run ab --profile "$BATS_TEST_TMPDIR/p.conf" -- sh -c "
env; cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' '\n'
cat '$creds'
curl -sS -m 20 -H 'Proxy-Authorization: Basic Zm9yZ2VkOmZvcmdlZA==' 'http://$ORIGIN/hello?creds'"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"hello from origin"* ]]
	[[ "$output" != *s3cr3t* ]]
	[[ "$output" != *"$b64"* ]]
	# (Squid's log writes the space in the value as %20)
	for ((i = 0; i < 40; i++)); do grep -q "Basic%20$b64" "$SQUID_AUTH_LOG" && break; sleep 0.05; done
	grep -q "http://$ORIGIN/hello.* Basic%20$b64" "$SQUID_AUTH_LOG"
	! grep -q Zm9yZ2VkOmZvcmdlZA "$SQUID_AUTH_LOG"
}

@test "credentials others can read are refused: 125, command not run" {
	creds="$BATS_TEST_TMPDIR/creds"
	printf 'agent:pw\n' >"$creds"
	chmod 644 "$creds"
	printf '[network]\ncredentials = %s\n' "$creds" >"$BATS_TEST_TMPDIR/p.conf"
	run ab --profile "$BATS_TEST_TMPDIR/p.conf" -- touch "$BATS_TEST_TMPDIR/ran"
	[ "$status" -eq 125 ]
	[ "$output" = "agentbox: credentials $creds: must be a regular file of yours that only you can read: Operation not permitted; hint: chmod 600 $creds" ]
	[ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "agentbox log: one line per event, filtered by session" {
	ab -- curl -sS -m 20 -o /dev/null "http://$ORIGIN/hello"
	s1=$(session_of)
	ab -- true
	run "$AGENTBOX" log
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 5 ]
	[[ "${lines[0]}" == *"$s1  START  profile=default upstream=127.0.0.1:$SQUID_PORT cwd="*"cmd: curl -sS"* ]]
	[[ "${lines[1]}" == *"$s1  ALLOW  curl["[0-9]*"] GET http://$ORIGIN/hello 200 up="* ]]
	[[ "${lines[2]}" == *"$s1  END    exit=0 after "* ]]
	run "$AGENTBOX" log -s "$s1"
	[ "${#lines[@]}" -eq 3 ]
	run "$AGENTBOX" log -n 1 --json
	[ "${#lines[@]}" -eq 1 ]
	/usr/bin/python3 -c 'import json,sys; assert json.loads(sys.argv[1])["event"]["action"] == "session-end"' "$output"
}

@test "agentbox log -f prints events as they are written" {
	ab -- true
	"$AGENTBOX" log -f >"$BATS_TEST_TMPDIR/follow" 2>&1 &
	pid=$!
	ab -- sh -c 'exit 7' || true
	for ((i = 0; i < 100; i++)); do grep -q "exit=7" "$BATS_TEST_TMPDIR/follow" && break; sleep 0.05; done
	kill "$pid"
	wait "$pid" || true
	grep -q "exit=7" "$BATS_TEST_TMPDIR/follow"
}

@test "agentbox log: a malformed line is named and skipped; control bytes are not printed" {
	ab -- true
	printf 'not json\n' >>"$LOG"
	printf '{"event":{"action":"http-request","type":["denied"]},"url":{"original":"x\\u001b[2Jy"}}\n' >>"$LOG"
	run "$AGENTBOX" log
	echo "$output"
	[[ "$output" == *"agentbox log: line 3: not a JSON object"* ]]
	[[ "$output" == *"DENY"*"x?[2Jy"* ]]
	[[ "$output" != *$'\e'* ]]
}

# Every line of the log is whole JSON
log_lines_whole() {
	/usr/bin/python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1], "rb"):
    assert line.endswith(b"\n"), "a line without its end"
    json.loads(line); n += 1
print(n)' "$LOG"
}

@test "audit log on a full disk (file size limit): a socket() flood then curl ends the session with 122, one stderr line, no cut line; the next session does not start" {
	# 1 KiB: the start line fits, the flood's first line does not (the
	# flood itself is folded: it cannot fill a disk alone); from /tmp, so
	# that the start line's cwd is the same length everywhere
	cd /tmp
	run bash -c 'ulimit -f 1; "$@"' sh "$AGENTBOX" --upstream "http://127.0.0.1:$SQUID_PORT" -- \
		sh -c '/usr/bin/python3 -c "
import socket
for i in range(5000):
    try: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    except OSError: pass
"; curl -sS -m 10 -o /dev/null "http://$1/hello"; echo after' sh "$ORIGIN"
	echo "$output" >&2
	[ "$status" -eq 122 ]
	[ "$(grep -c '^agentbox: audit log' <<<"$output")" -eq 1 ]
	[[ "$output" == "agentbox: audit log $LOG: write: File too large; the session is ended (exit 122): it could not be audited"* ]]
	[[ "$output" != *after* ]]	# the command did not go on
	n=$(log_lines_whole)
	[ "$n" -ge 1 ]
	! grep -q '"session-end"' "$LOG"	# ended abnormally: no end line
	# the disk stays full: not one byte more fits
	full=$(( $(stat -c %s "$LOG") / 1024 ))
	# (interception off: the limit would stop init writing the sandbox's
	# resolv.conf first, a file of its own)
	printf '[network]\nintercept = no\n' >"$BATS_TEST_TMPDIR/off.conf"
	run bash -c 'ulimit -f "$1"; shift; "$@"' sh "$full" "$AGENTBOX" --upstream "http://127.0.0.1:$SQUID_PORT" --profile "$BATS_TEST_TMPDIR/off.conf" -- echo ran
	[ "$status" -eq 125 ]
	[[ "$output" != *ran* ]]
	[[ "$output" == "agentbox: audit log: the session's start could not be written: File too large" ]]
	[ "$(log_lines_whole)" -eq "$n" ]
}

@test "[audit] min_free: a log on a file system below the reserve does not start a session; a bad size is refused" {
	mkdir -p "$BATS_TEST_TMPDIR/p"
	printf '[audit]\nmin_free = 1000000T\n' >"$BATS_TEST_TMPDIR/p/big.conf"
	run ab --profile "$BATS_TEST_TMPDIR/p/big.conf" -- echo ran
	[ "$status" -eq 125 ]
	[[ "$output" != *ran* ]]
	[[ "$output" == "agentbox: audit log $LOG: "*" bytes free, the reserve ([audit] min_free) is 1099511627776000000: No space left on device; hint: free space there, or put the log elsewhere with [audit] file" ]]
	printf '[audit]\nmin_free = 12Q\n' >"$BATS_TEST_TMPDIR/p/bad.conf"
	run ab --profile "$BATS_TEST_TMPDIR/p/bad.conf" -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"bad.conf:2: min_free '12Q': expected a size (a number, with K, M, G or T for powers of 1024)" ]]
}

@test "process naming: with 15,000 decoy descriptors in other processes, 20 requests are each named after their own curl" {
	run ab -- sh -c '
		ulimit -n 16000 || exit 3
		decoys=""
		for d in 1 2; do
			/usr/bin/python3 -c "
import os, time
fds = [os.open(\"/dev/null\", os.O_RDONLY) for _ in range(7500)]
time.sleep(30)" & decoys="$decoys $!"; done
		sleep 1
		for i in $(seq 20); do
			curl -sS -m 10 -o /dev/null "http://$1/hello" || exit 4
		done
		kill $decoys' sh "$ORIGIN"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	/usr/bin/python3 - "$LOG" <<'PY'
import json, sys
reqs = [e for e in map(json.loads, open(sys.argv[1]))
        if e["event"]["action"] == "http-request"]
assert len(reqs) == 20, len(reqs)
pids = set()
for e in reqs:
    assert e["process"]["name"] == "curl", e.get("process")
    assert e["process"]["executable"].endswith("/curl")
    pids.add(e["process"]["pid"])
assert len(pids) == 20, pids	# each its own process
PY
}

@test "100,000 refused socket() calls are a handful of folded lines whose counts add up to 100,000" {
	run ab -- /usr/bin/python3 -c '
import socket
for i in range(100000):
    try: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    except OSError: pass
for i in range(3):
    try: socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    except OSError: pass'
	[ "$status" -eq 0 ]
	/usr/bin/python3 - "$LOG" <<'PY'
import json, sys
udp = raw = 0
lines = 0
for e in map(json.loads, open(sys.argv[1])):
    if e["event"]["action"] != "socket-denied":
        continue
    lines += 1
    assert e["process"]["name"] == "python3"
    if e["agentbox"]["socket"]["type"] == "SOCK_DGRAM":
        udp += e["agentbox"]["count"]
    else:
        raw += e["agentbox"]["count"]
    if e["agentbox"]["count"] > 1:
        assert e["event"]["start"] <= e["event"]["end"]
assert (udp, raw) == (100000, 3), (udp, raw)
assert lines <= 40, lines	# one per kind per second, and the first at once
PY
	run "$AGENTBOX" log
	[[ "$output" == *"SOCKET python3["*"socket(AF_INET, SOCK_DGRAM, 0) is refused by the seccomp filter (x"*" until "* ]]
}

@test "every accepted connection is one line: one closed before its request is a connection, client-gone, with its process" {
	run ab -- /usr/bin/python3 -c '
import os, socket, subprocess, sys
p = os.environ["http_proxy"].split("//")[1].rstrip("/").split(":")
for i in range(5):
    socket.create_connection((p[0], int(p[1])), timeout=10).close()
for i in range(3):
    subprocess.check_call(["curl", "-sS", "-m", "10", "-o", "/dev/null", "http://%s/hello" % sys.argv[1]])
' "$ORIGIN"
	[ "$status" -eq 0 ]
	/usr/bin/python3 - "$LOG" <<'PY'
import json, sys
ev = [e for e in map(json.loads, open(sys.argv[1]))
      if e["event"]["action"] in ("connection", "http-request", "connect")]
gone = [e for e in ev if e["event"]["action"] == "connection"]
assert len(ev) == 8, [e["event"] for e in ev]
assert len(gone) == 5
for e in gone:
    assert e["event"]["reason"] == "client-gone" and e["event"]["outcome"] == "failure"
    assert e["process"]["name"] == "python3", e.get("process")
PY
}

# python: every field name of the log's lines (dotted), one a line
FIELDS='import json, sys
def walk(o, pre):
    for k, v in o.items():
        if isinstance(v, dict): walk(v, pre + k + ".")
        else: print(pre + k)
for line in open(sys.argv[1]): walk(json.loads(line), "")'

@test "every field name in the log is an ECS name from the list checked against the reference, or agentbox's own" {
	# the events there are: session start and end, a request, a tunnel,
	# a refusal, an intercepted connection, a refused lookup, a refused
	# socket() and a refused unix connect
	printf '[egress]\ndeny = *.evil.test\nports = %s\nallow_net = 127.0.0.1\n' "$ORIGIN_PORT" >"$BATS_TEST_TMPDIR/p.conf"
	run "$AGENTBOX" --upstream builtin --profile "$BATS_TEST_TMPDIR/p.conf" -- sh -c "
		curl -sS -m 20 -o /dev/null http://$ORIGIN/hello
		curl -sS -m 20 -o /dev/null http://www.evil.test:$ORIGIN_PORT/
		env -i /usr/bin/curl -sS -m 20 -o /dev/null http://$ORIGIN/hello
		env -i /usr/bin/curl -sS -m 20 -o /dev/null http://www.evil.test:$ORIGIN_PORT/
		$TRY udp; /usr/bin/python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); s.connect(\"/run/agentbox-test-none\")' 2>/dev/null
		true"
	run ab -- curl -sS -m 20 -o /dev/null --cacert "$TEST_CA" "https://$TLS_ORIGIN/hello"
	for a in session-start session-end http-request connect socket-denied dns-query; do
		grep -q "\"action\":\"$a\"" "$LOG" || { echo "no $a event"; cat "$LOG"; false; }
	done
	run /usr/bin/python3 -c "$FIELDS" "$LOG"
	[ "$status" -eq 0 ]
	bad=$(printf '%s\n' "$output" | sort -u | grep -v '^agentbox\.' |
		grep -vxF -f <(grep -v '^#' "$TESTS_DIR/integration/ecs-fields.txt") || true)
	echo "not ECS names: $bad"
	[ -z "$bad" ]
	# and the list itself catches a misspelt one
	echo '{"evnet":{"action":"x"},"process":{"parnet":{"pid":1}}}' >"$BATS_TEST_TMPDIR/bad.jsonl"
	run /usr/bin/python3 -c "$FIELDS" "$BATS_TEST_TMPDIR/bad.jsonl"
	[ "$(printf '%s\n' "$output" | grep -cvxF -f <(grep -v '^#' "$TESTS_DIR/integration/ecs-fields.txt"))" -eq 2 ]
}

@test "event.sequence counts a session's lines from 1, so a dropped line shows" {
	run ab -- sh -c "curl -sS -m 20 -o /dev/null http://$ORIGIN/hello; curl -sS -m 20 -o /dev/null http://$ORIGIN/hello; $TRY udp"
	run /usr/bin/python3 -c "
import json, sys
print(' '.join(str(json.loads(l)['event']['sequence']) for l in open(sys.argv[1])))" "$LOG"
	echo "$output"
	[ "$output" = "1 2 3 4 5" ]
}

@test "every event says which policy decided: the merged profile's sha256 (as profile show prints it) and its files" {
	printf '[egress]\nports = %s\n' "$ORIGIN_PORT" >"$BATS_TEST_TMPDIR/corp.conf"
	sha=$("$AGENTBOX" profile show "$BATS_TEST_TMPDIR/corp.conf" | sed -n 's/^# sha256 \([0-9a-f]*\) .*/\1/p')
	[ "${#sha}" -eq 64 ]
	run ab --profile "$BATS_TEST_TMPDIR/corp.conf" -- curl -sS -m 20 "http://$ORIGIN/hello"
	[ "$output" = "hello from origin" ]
	run /usr/bin/python3 -c "
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)['agentbox']
    print(e['profile'], e['policy']['sha256'], ' '.join(e['policy']['files']))" "$LOG"
	echo "$output"
	[ "${#lines[@]}" -eq 3 ]
	for l in "${lines[@]}"; do [ "$l" = "corp $sha $BATS_TEST_TMPDIR/corp.conf" ]; done
	# another value is another hash; the same values from another file, not
	printf '[egress]\nports = 9\n' >"$BATS_TEST_TMPDIR/other.conf"
	printf '# the same policy\n\n[egress]\nports = %s\n' "$ORIGIN_PORT" >"$BATS_TEST_TMPDIR/same.conf"
	[ "$("$AGENTBOX" profile show "$BATS_TEST_TMPDIR/other.conf" | sed -n 's/^# sha256 \([0-9a-f]*\) .*/\1/p')" != "$sha" ]
	[ "$("$AGENTBOX" profile show "$BATS_TEST_TMPDIR/same.conf" | sed -n 's/^# sha256 \([0-9a-f]*\) .*/\1/p')" = "$sha" ]
}

@test "the identity field names a profile given by path by its name, never the path" {
	printf '[egress]\nports = %s\n' "$ORIGIN_PORT" >"$BATS_TEST_TMPDIR/corp-team.conf"
	run ab --profile "$BATS_TEST_TMPDIR/corp-team.conf" -- curl -sS -m 20 "http://$ORIGIN/echo-headers"
	echo "$output"
	# (the test Squid keeps the field from the origin, contrib/'s snippet)
	[[ "$output" != *"$BATS_TEST_TMPDIR"* ]]
	s=$(session_of)
	squid_logged "GET http://$ORIGIN/echo-headers .*\"session=$s; .*profile=corp-team\""
}

@test "the process behind a request is named with its argv and its parent" {
	run ab -- sh -c "curl -sS -m 20 -o /dev/null http://$ORIGIN/hello?x=1"
	run /usr/bin/python3 -c "
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e['event']['action'] == 'http-request':
        p = e['process']
        print(p['args'], p['parent']['name'], p['parent']['executable'], p['parent']['pid'] > 0)" "$LOG"
	echo "$output"
	[[ "$output" == "['curl', '-sS', '-m', '20', '-o', '/dev/null', 'http://$ORIGIN/hello?x=1'] sh /usr/bin/"*" True" ]]
}
