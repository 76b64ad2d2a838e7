#!/usr/bin/env bats
# upstream = wss://HOST[:PORT]/PATH: a proxy reached only through an L7
# ingress.  setup_file starts, on loopback ports, what a cloud container
# would find: nginx (TLS with the test CA's certificate, proxying only
# HTTP and WebSocket, checking a bearer token, as an ingress does) in front
# of websockify (Debian's WebSocket-to-TCP bridge) in front of the test
# Squid.  Each relayed connection is one WebSocket carrying the ordinary
# proxy conversation; all are stopped by pid in teardown_file.

load helpers

setup_file() {
	command -v websockify >/dev/null && [ -x /usr/sbin/nginx ] ||
		skip "websockify or nginx is missing (make deps)"
	local d wp np token
	# not under BATS_FILE_TMPDIR: nginx started by root runs its worker
	# as 'nobody', which must reach its temporary directories
	d=$(mktemp -d /tmp/agentbox-ws.XXXXXX) || return 1
	echo "$d" >"$BATS_FILE_TMPDIR/dir"
	chmod 755 "$d"
	wp=$(free_port)
	np=$(free_port)
	echo "$np" >"$BATS_FILE_TMPDIR/nginx.port"
	echo "$wp" >"$BATS_FILE_TMPDIR/websockify.port"
	head -c 8388608 /dev/urandom >"$ORIGIN_ROOT/ws-big.bin"
	# the bridge: each WebSocket becomes a TCP connection to Squid
	websockify "127.0.0.1:$wp" "127.0.0.1:$SQUID_PORT" >"$d/websockify.log" 2>&1 &
	echo $! >"$d/websockify.runpid"
	# the ingress, from the snippet the docs give (contrib/)
	token="tok-$$-$RANDOM"
	echo "$token" >"$BATS_FILE_TMPDIR/token"
	chmod 600 "$BATS_FILE_TMPDIR/token"
	"$TESTS_DIR/helpers/ingress-conf" "$d" "$np" "$wp" "$FIX/srv.pem" \
		"$FIX/srv.key" "$token" >"$d/nginx.conf"
	/usr/sbin/nginx -e "$d/error.log" -p "$d" -c "$d/nginx.conf" -g "daemon off;" >"$d/nginx.out" 2>&1 &
	echo $! >"$d/nginx.runpid"
	wait_for_port "$wp" 20 && wait_for_port "$np" 20 || {
		echo "nginx or websockify did not start:" >&2
		cat "$d"/*.log "$d/nginx.out" "$d/nginx.conf" >&2; return 1; }
}

teardown_file() {
	local d
	[ -f "$BATS_FILE_TMPDIR/dir" ] || return 0
	d=$(cat "$BATS_FILE_TMPDIR/dir")
	stop_runpids "$d" nginx websockify
	rm -rf "$d"
	return 0
}

setup() {
	export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
	LOG="$XDG_STATE_HOME/agentbox/audit.jsonl"
	D=$(cat "$BATS_FILE_TMPDIR/dir")
	WS_UP="wss://127.0.0.1:$(cat "$BATS_FILE_TMPDIR/nginx.port")/agentbox"
	printf '[network]\nupstream_ca = %s\nupstream_token = %s\n' "$TEST_CA" \
		"$BATS_FILE_TMPDIR/token" >"$BATS_TEST_TMPDIR/ws.conf"
}

abw() {	# agentbox through the ingress, with the token
	"$AGENTBOX" --upstream "$WS_UP" --profile "$BATS_TEST_TMPDIR/ws.conf" "$@"
}

session_of_log() {
	grep '"session-start"' "$LOG" | sed 's/.*"session":"\([0-9a-f]*\)".*/\1/'
}

@test "websocket upstream: curl over HTTP and HTTPS, git clone and an intercepted client go through nginx and websockify to Squid, with the identity" {
	bare_repo "$ORIGIN_ROOT/ws-repo.git" "through a WebSocket to the proxy"
	before=$(grep -c ' 101 ' "$D/access.log" || true)
	run abw -- sh -c "cd '$BATS_TEST_TMPDIR' && curl -sS -m 20 http://$ORIGIN/hello; curl -sS -m 20 --cacert $TEST_CA https://$TLS_ORIGIN/hello; GIT_SSL_CAINFO='$TEST_CA' git clone -q https://$TLS_ORIGIN/files/ws-repo.git c 2>&1; echo clone=\$?; cat c/README; env -i /usr/bin/curl -sS -m 20 http://$ORIGIN/hello?intercepted"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "hello from origin" ]
	[ "${lines[1]}" = "hello from origin" ]
	[[ "$output" == *"clone=0"* ]]
	[[ "$output" == *"through a WebSocket to the proxy"* ]]
	[ "${lines[-1]}" = "hello from origin" ]
	s=$(session_of_log)
	squid_logged "GET http://$ORIGIN/hello .*\"session=$s; "
	squid_logged "CONNECT $TLS_ORIGIN .*\"session=$s; "
	squid_logged "GET http://$ORIGIN/hello? .*\"session=$s; "	# (Squid strips the query)
	grep -q '"intercept":{"mode":"http"' "$LOG"
	# each went through the ingress as a WebSocket upgrade (101)
	[ "$(grep -c '"GET /agentbox HTTP/1.1" 101 ' "$D/access.log")" -gt "$before" ]
}

@test "websocket upstream: the test ingress, like a real one, refuses a proxy's CONNECT: only the WebSocket gets through" {
	printf '[network]\nupstream_ca = %s\n' "$TEST_CA" >"$BATS_TEST_TMPDIR/ca.conf"
	before=$(wc -l <"$SQUID_LOG")
	run "$AGENTBOX" --upstream "https://127.0.0.1:$(cat "$BATS_FILE_TMPDIR/nginx.port")" \
		--profile "$BATS_TEST_TMPDIR/ca.conf" -- \
		curl -sS -m 20 --cacert "$TEST_CA" "https://$TLS_ORIGIN/hello?via-connect"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" != *"hello from origin"* ]]
	sleep 0.3
	! tail -n +"$((before + 1))" "$SQUID_LOG" | grep -q "CONNECT $TLS_ORIGIN"
	run abw -- curl -sS -m 20 --cacert "$TEST_CA" "https://$TLS_ORIGIN/hello"
	[ "$output" = "hello from origin" ]
}

@test "websocket upstream: commands that make no request open no WebSocket: Squid and the ingress log only the one request" {
	sq=$(wc -l <"$SQUID_LOG")
	ng=$(wc -l <"$D/access.log")
	for i in 1 2 3 4 5; do
		abw -- true
	done
	run abw -- curl -sS -m 20 "http://$ORIGIN/hello?one"
	[ "$output" = "hello from origin" ]
	squid_logged "GET http://$ORIGIN/hello?"
	sleep 0.3
	[ "$(($(wc -l <"$SQUID_LOG") - sq))" -eq 1 ]
	[ "$(($(wc -l <"$D/access.log") - ng))" -eq 1 ]
}

@test "websocket upstream: a wss:// page in Chromium works through the WebSocket tunnel" {
	command -v chromium >/dev/null || skip "no chromium"
	export HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$HOME/.pki/nssdb"
	certutil -d "sql:$HOME/.pki/nssdb" -N --empty-password
	certutil -d "sql:$HOME/.pki/nssdb" -A -t "C,," -n "agentbox test CA" -i "$TEST_CA"
	chrome=(chromium --headless --disable-gpu --no-first-run --user-data-dir="$HOME/profile")
	[ "$(id -u)" = 0 ] && chrome+=(--no-sandbox)
	run timeout 60 "$AGENTBOX" --upstream "$WS_UP" --profile "$BATS_TEST_TMPDIR/ws.conf" -- \
		"${chrome[@]}" --dump-dom "https://$TLS_ORIGIN/ws-page"
	echo "$output" | grep -v dbus | tail -3
	[ "$status" -eq 0 ]
	[[ "$output" == *"<p id=\"r\">ws echo: ping</p>"* ]]
	s=$(session_of_log)
	squid_logged "CONNECT $TLS_ORIGIN .*\"session=$s; "
}

@test "websocket upstream: a bad token gets the ingress's 401; the request is a 502 naming it, audited, and nothing reaches Squid" {
	echo "not-the-token" >"$BATS_TEST_TMPDIR/bad-token"
	chmod 600 "$BATS_TEST_TMPDIR/bad-token"
	printf '[network]\nupstream_ca = %s\nupstream_token = %s\n' "$TEST_CA" \
		"$BATS_TEST_TMPDIR/bad-token" >"$BATS_TEST_TMPDIR/bad.conf"
	before=$(wc -l <"$SQUID_LOG")
	run "$AGENTBOX" --upstream "$WS_UP" --profile "$BATS_TEST_TMPDIR/bad.conf" -- \
		curl -sS -m 20 -D - -o /dev/null "http://$ORIGIN/hello?bad-token"
	echo "$output"
	[[ "$output" == *"HTTP/1.1 502 Bad Gateway"* ]]
	[[ "$output" == *"X-Agentbox-Reason: WebSocket to upstream proxy 127.0.0.1:"*": the upgrade was refused: 401 Unauthorized (the upstream_token was not accepted)"* ]]
	grep '"outcome":"failure"' "$LOG" | grep -q '401 Unauthorized'
	grep -q '"GET /agentbox HTTP/1.1" 401 ' "$D/access.log"
	sleep 0.3
	! tail -n +"$((before + 1))" "$SQUID_LOG" | grep -q "bad-token"
	# no token at all: the same, saying so
	printf '[network]\nupstream_ca = %s\n' "$TEST_CA" >"$BATS_TEST_TMPDIR/none.conf"
	run "$AGENTBOX" --upstream "$WS_UP" --profile "$BATS_TEST_TMPDIR/none.conf" -- \
		curl -sS -m 20 -D - -o /dev/null "http://$ORIGIN/hello"
	[[ "$output" == *"401 Unauthorized (no upstream_token was sent)"* ]]
}

@test "websocket upstream: the token file cannot be read inside the sandbox, and the token is on no command line or environment there" {
	token=$(cat "$BATS_FILE_TMPDIR/token")
	# (the token comes in on stdin, so that no command line holds it)
	run abw -- sh -c "cat '$BATS_FILE_TMPDIR/token'; cat /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' >'$BATS_TEST_TMPDIR/procs'; grep -c -F -f - '$BATS_TEST_TMPDIR/procs'; curl -sS -m 20 http://$ORIGIN/hello" <<<"$token"
	echo "$output"
	[[ "$output" != *"$token"* ]]
	[ "${lines[-1]}" = "hello from origin" ]
	[ "${lines[-2]}" = "0" ]
}

@test "websocket upstream: a dropped WebSocket fails that connection only; the next one in the same sandbox works" {
	wsp=$(cat "$D/websockify.runpid")
	# a slow download (more than the sockets' buffers hold), whose bridge
	# process is killed in the middle
	abw -- sh -c "curl -sS -m 30 --limit-rate 1M -o /dev/null http://$ORIGIN/bytes/100000000; echo first=\$?; curl -sS -m 20 http://$ORIGIN/hello" \
		>"$BATS_TEST_TMPDIR/out" 2>&1 &
	runner=$!
	kids=
	for i in $(seq 200); do
		kids=$(pgrep -P "$wsp") && break
		sleep 0.05
	done
	[ -n "$kids" ]
	sleep 0.5
	kill -9 $kids
	st=0
	wait "$runner" || st=$?
	cat "$BATS_TEST_TMPDIR/out"
	[ "$st" -eq 0 ]
	grep -q '^first=\(18\|56\)$' "$BATS_TEST_TMPDIR/out"
	[ "$(tail -1 "$BATS_TEST_TMPDIR/out")" = "hello from origin" ]
	grep '"outcome":"failure"' "$LOG" | grep -q 'the WebSocket dropped (the bridge closed the connection without a close frame)'
}

@test "websocket upstream: a kept WebSocket that drops after its response was sent does not cut the client still reading it" {
	want=$(sha256sum <"$ORIGIN_ROOT/ws-big.bin" | cut -d' ' -f1)
	wsp=$(cat "$D/websockify.runpid")
	# a client that reads slowly (about 2 MB/s): the relay hands it the
	# whole response, which waits in the sockets' buffers, and keeps the
	# WebSocket for the next request
	abw -- /usr/bin/python3 -c '
import hashlib, os, socket, sys, time
from urllib.parse import urlparse
px = urlparse(os.environ["http_proxy"])
s = socket.create_connection((px.hostname, px.port))
s.sendall(("GET http://%s/files/ws-big.bin HTTP/1.1\r\nHost: %s\r\n\r\n"
           % (sys.argv[1], sys.argv[1])).encode())
got = b""
s.settimeout(20)
while b"\r\n\r\n" not in got or len(got.split(b"\r\n\r\n", 1)[1]) < 8388608:
    b = s.recv(32768)
    if not b:
        break
    got += b
    time.sleep(0.015)
print(hashlib.sha256(got.split(b"\r\n\r\n", 1)[1]).hexdigest())
' "$ORIGIN" >"$BATS_TEST_TMPDIR/out" 2>&1 &
	runner=$!
	for i in $(seq 200); do	# the exchange is over for the relay
		grep -qs '"url":{"original":"http://'"$ORIGIN"'/files/ws-big.bin"' "$LOG" && break
		sleep 0.05
	done
	grep -q '"url":{"original":"http://'"$ORIGIN"'/files/ws-big.bin"' "$LOG"
	kids=$(pgrep -P "$wsp")
	[ -n "$kids" ]
	kill -9 $kids
	st=0
	wait "$runner" || st=$?
	cat "$BATS_TEST_TMPDIR/out"
	[ "$st" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "$want" ]
}

@test "websocket upstream: a bridge that is down behind the ingress: 502 naming the ingress's answer" {
	up="wss://127.0.0.1:$(cat "$BATS_FILE_TMPDIR/nginx.port")/down"
	run "$AGENTBOX" --upstream "$up" --profile "$BATS_TEST_TMPDIR/ws.conf" -- \
		curl -sS -m 20 -D - -o /dev/null "http://$ORIGIN/hello"
	echo "$output"
	[[ "$output" == *"HTTP/1.1 502 Bad Gateway"* ]]
	[[ "$output" == *"the upgrade was refused: 502 Bad Gateway"* ]]
}

@test "websocket upstream: bad settings are setup failures (125) naming the cause, and the command does not run" {
	cp "$BATS_FILE_TMPDIR/token" "$BATS_TEST_TMPDIR/open-token"
	chmod 644 "$BATS_TEST_TMPDIR/open-token"
	printf 'a token with spaces\n' >"$BATS_TEST_TMPDIR/spaces"
	chmod 600 "$BATS_TEST_TMPDIR/spaces"
	for f in open-token spaces; do
		printf '[network]\nupstream_token = %s\n' "$BATS_TEST_TMPDIR/$f" >"$BATS_TEST_TMPDIR/$f.conf"
	done
	run "$AGENTBOX" --upstream "$WS_UP" --profile "$BATS_TEST_TMPDIR/open-token.conf" -- touch "$BATS_TEST_TMPDIR/ran"
	[ "$status" -eq 125 ]
	[[ "$output" == "agentbox: upstream_token $BATS_TEST_TMPDIR/open-token: must be a regular file of yours that only you can read"* ]]
	run "$AGENTBOX" --upstream "$WS_UP" --profile "$BATS_TEST_TMPDIR/spaces.conf" -- touch "$BATS_TEST_TMPDIR/ran"
	[ "$status" -eq 125 ]
	[[ "$output" == *"expected one line, a bearer token"* ]]
	# a token with a proxy URL would never be sent
	run "$AGENTBOX" --upstream "http://127.0.0.1:$SQUID_PORT" --profile "$BATS_TEST_TMPDIR/ws.conf" -- touch "$BATS_TEST_TMPDIR/ran"
	[ "$status" -eq 125 ]
	[[ "$output" == *"only a ws:// or wss:// upstream takes a bearer token"* ]]
	run "$AGENTBOX" --upstream "wss://127.0.0.1:1/a b" -- touch "$BATS_TEST_TMPDIR/ran"
	[ "$status" -eq 125 ]
	[[ "$output" == *"the path may hold only visible ASCII characters"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "websocket upstream: doctor makes the upgrade, and names a refused one with the fix" {
	run "$AGENTBOX" doctor --upstream "$WS_UP" --profile "$BATS_TEST_TMPDIR/ws.conf"
	echo "$output"
	[[ "$output" == *"ok    upstream 127.0.0.1:"*"answers over TLS with a certificate that verifies, and its WebSocket bridge at /agentbox accepts the upgrade with the token"* ]]
	printf '[network]\nupstream_ca = %s\n' "$TEST_CA" >"$BATS_TEST_TMPDIR/none.conf"
	run "$AGENTBOX" doctor --upstream "$WS_UP" --profile "$BATS_TEST_TMPDIR/none.conf"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"FAIL  upstream 127.0.0.1:"*"WebSocket upgrade to /agentbox: the upgrade was refused: 401 Unauthorized"* ]]
	[[ "$output" == *"fix: the ingress wants a bearer token: name its file as [network] upstream_token"* ]]
}

@test "websocket upstream: 8 MiB through a tunnel arrive whole, each way, and a plain ws:// bridge works too" {
	want=$(sha256sum <"$ORIGIN_ROOT/ws-big.bin" | cut -d' ' -f1)
	run abw -- sh -c "curl -sS -m 60 --cacert $TEST_CA https://$TLS_ORIGIN/files/ws-big.bin | sha256sum"
	[ "$status" -eq 0 ]
	[ "${output%% *}" = "$want" ]
	# and up: the sandbox's bytes become masked binary messages
	run abw -- curl -sS -m 60 --cacert "$TEST_CA" --data-binary "@$ORIGIN_ROOT/ws-big.bin" "https://$TLS_ORIGIN/echo-body"
	echo "${output:0:40}"
	[[ "$output" == "got 8388608 bytes: "* ]]
	# ws:// straight to websockify (no ingress, no TLS)
	run "$AGENTBOX" --upstream "ws://127.0.0.1:$(cat "$BATS_FILE_TMPDIR/websockify.port")" -- \
		sh -c "curl -sS -m 60 http://$ORIGIN/files/ws-big.bin | sha256sum"
	[ "$status" -eq 0 ]
	[ "${output%% *}" = "$want" ]
}
