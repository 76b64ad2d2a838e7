#!/usr/bin/env bats
# The built-in policy proxy: agentbox --upstream builtin.  Names resolve
# through $CARES_HOSTS (setup_suite): origin.test and other.test are the
# local origin, rebind.test is 127.0.0.1, private.test 10.1.2.3,
# metadata.test 169.254.169.254.  Refused requests never leave the relay,
# so no traffic goes to those addresses.

load helpers

setup() {
	# each test has its own audit log
	export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
	LOG="$XDG_STATE_HOME/agentbox/audit.jsonl"
	# the origins are on loopback: this profile lets the proxy reach them
	builtin_open_profile "$BATS_TEST_TMPDIR/open.conf"
	# the safe default, only the ports opened
	cat >"$BATS_TEST_TMPDIR/closed.conf" <<CONF
[egress]
ports = $ORIGIN_PORT
CONF
}

# python: s, a socket connected to the proxy the sandbox was given
RAW="import os, socket
p = os.environ['http_proxy'].split('//')[1].rstrip('/').split(':')
s = socket.create_connection((p[0], int(p[1])), timeout=20)"

abo() {	# the built-in proxy, allowed to reach the local origins
	"$AGENTBOX" --upstream builtin --profile "$BATS_TEST_TMPDIR/open.conf" "$@"
}

abc() {	# the built-in proxy with the default address rules
	"$AGENTBOX" --upstream builtin --profile "$BATS_TEST_TMPDIR/closed.conf" "$@"
}

requests() {	# how many request events the audit log holds
	grep -c '"action":"\(http-request\|connect\)"' "$LOG"
}

refused_with() {	# URL PATTERN [agentbox args]: 403, reason header, one audit line
	local url=$1 pat=$2
	shift 2
	run "$@" -- curl -sS -m 20 --noproxy '' -D - -o /dev/null "$url"
	echo "$output"
	[[ "$output" == "HTTP/1.1 403 Forbidden"* ]]
	[[ "$output" == *"X-Agentbox-Reason: "*"$pat"* ]]
	[ "$(requests)" -eq 1 ]
	grep '"action":"http-request"' "$LOG" | grep -q '"type":\["denied"\]'
	grep '"action":"http-request"' "$LOG" | grep -qF "$pat"
	# and who asked
	grep '"action":"http-request"' "$LOG" | grep -q '"name":"curl"'
}

@test "built-in: curl over HTTP reaches an allowed name; one audit line names curl" {
	run abo -- curl -sS -m 20 "http://$ORIGIN/hello"
	[ "$status" -eq 0 ]
	[ "$output" = "hello from origin" ]
	[ "$(requests)" -eq 1 ]
	line=$(grep '"action":"http-request"' "$LOG")
	[[ "$line" == *'"status_code":200'* ]]
	[[ "$line" == *'"name":"curl"'* ]]
	[[ "$line" == *"\"original\":\"http://$ORIGIN/hello\""* ]]
	[[ "$line" == *'"method":"GET"'* ]]
	[[ "$line" == *'"ip":"127.0.0.1"'* ]]
}

@test "built-in: curl over HTTPS (CONNECT) reaches an allowed name" {
	run abo -- curl -sS -m 20 --cacert "$TEST_CA" "https://$TLS_ORIGIN/hello"
	[ "$status" -eq 0 ]
	[ "$output" = "hello from origin" ]
	[ "$(requests)" -eq 1 ]
	grep '"action":"connect"' "$LOG" | grep -q '"status_code":200'
}

@test "built-in: python urllib gets through, and gets the 403 and its reason" {
	run abo -- /usr/bin/python3 -c "
import urllib.request, urllib.error
print(urllib.request.urlopen('http://$ORIGIN/hello', timeout=20).read().decode(), end='')
try:
    urllib.request.urlopen('http://www.evil.test:$ORIGIN_PORT/', timeout=20)
except urllib.error.HTTPError as e:
    print(e.code, e.headers['X-Agentbox-Reason'])"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "hello from origin"*"403 www.evil.test is denied by 'deny = *.evil.test'"* ]]
	[ "$(requests)" -eq 2 ]
}

@test "built-in refuses by name: a deny pattern" {
	refused_with "http://www.evil.test:$ORIGIN_PORT/" "deny = *.evil.test" abo
}

@test "built-in refuses by name: not in the allow list" {
	printf 'allow = origin.test\n' >>"$BATS_TEST_TMPDIR/open.conf"
	refused_with "http://other.test:$ORIGIN_PORT/" "other.test matches no 'allow' pattern" abo
}

@test "built-in refuses by port: only the allowed ports" {
	refused_with "http://origin.test:22/" "port 22 is not an allowed port" abo
}

@test "built-in refuses an IP literal" {
	refused_with "http://127.0.0.1:$ORIGIN_PORT/hello" "127.0.0.1 is an IP address, and IP literals are not allowed" abo
}

@test "built-in refuses an IPv6 literal" {
	refused_with "http://[::1]:$ORIGIN_PORT/hello" "::1 is an IP address" abo
}

@test "built-in refuses a name that resolves to 127.0.0.1 (DNS rebinding)" {
	refused_with "http://rebind.test:$ORIGIN_PORT/hello" "rebind.test resolves to 127.0.0.1 is loopback" abc
}

@test "built-in refuses a name that resolves to a private address" {
	refused_with "http://private.test:$ORIGIN_PORT/" "private.test resolves to 10.1.2.3 is private (RFC 1918)" abc
}

@test "built-in refuses the cloud metadata address" {
	refused_with "http://metadata.test:$ORIGIN_PORT/" "169.254.169.254 is the cloud metadata service" abc
}

@test "built-in refuses a CONNECT to a refused name the same way" {
	run abc -- curl -sS -m 20 --cacert "$TEST_CA" "https://rebind.test:$ORIGIN_PORT/"
	[ "$status" -ne 0 ]
	[[ "$output" == *"403"* ]]
	[ "$(requests)" -eq 1 ]
	grep '"action":"connect"' "$LOG" | grep -q 'resolves to 127.0.0.1 is loopback'
}

@test "built-in keep-alive: every request on a connection is checked, the second refused" {
	run abo -- /usr/bin/python3 -c "
import http.client, os
p = os.environ['http_proxy'].split('//')[1].rstrip('/').split(':')
c = http.client.HTTPConnection(p[0], int(p[1]), timeout=20)
c.request('GET', 'http://$ORIGIN/hello')
r = c.getresponse(); print(r.status, r.read().decode().strip())
s1 = c.sock
c.request('GET', 'http://www.evil.test:$ORIGIN_PORT/hello')
assert c.sock is s1, 'not the same connection'
r = c.getresponse(); print(r.status, r.headers['X-Agentbox-Reason'])"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "200 hello from origin" ]
	[[ "${lines[1]}" == "403 www.evil.test is denied by"* ]]
	[ "$(requests)" -eq 2 ]
}

@test "built-in pipelining: requests sent in one write are each checked in turn" {
	run abo -- /usr/bin/python3 -c "$RAW
s.sendall(b'GET http://$ORIGIN/chunked HTTP/1.1\r\n\r\n'
          b'GET http://$ORIGIN/hello HTTP/1.1\r\n\r\n'
          b'GET http://www.evil.test:$ORIGIN_PORT/ HTTP/1.1\r\n\r\n')
data = b''
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
print(data.count(b'HTTP/1.1 200'), data.count(b'HTTP/1.1 403'),
      b'three' in data, b'hello from origin' in data)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "2 1 True True" ]
	[ "$(requests)" -eq 3 ]
}

@test "built-in keep-alive: two allowed requests share one connection" {
	run abo -v -- curl -sS -m 20 "http://$ORIGIN/hello" "http://$ORIGIN/chunked"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"hello from origin"*"one two three"* ]]
	[ "$(requests)" -eq 2 ]
}

@test "built-in: request bodies (Content-Length and chunked) arrive whole" {
	run abo -- sh -c "
curl -sS -m 20 --data-binary 0123456789 'http://$ORIGIN/echo-body'; echo
printf abcdefgh | curl -sS -m 20 -H 'Transfer-Encoding: chunked' --data-binary @- 'http://$ORIGIN/echo-body'"
	echo "$output"
	[ "${lines[0]}" = "got 10 bytes: 0123456789" ]
	[ "${lines[1]}" = "got 8 bytes: abcdefgh" ]
}

@test "built-in: the origin sees the URL's Host, never the sandbox's proxy credentials" {
	run abo -- curl -sS -m 20 -H 'Host: forged.example' \
		-H 'Proxy-Authorization: Basic c2FuZGJveDpzZWNyZXQ=' "http://$ORIGIN/echo-headers"
	echo "$output"
	[[ "$output" == *"Host: $ORIGIN"* ]]
	[[ "$output" != *forged.example* ]]
	[[ "$output" != *Proxy-Authorization* ]]
}

@test "built-in: a 4 MiB download arrives whole" {
	run abo -- sh -c "curl -sS -m 60 'http://$ORIGIN/bytes/4194304' | wc -c"
	[ "$status" -eq 0 ]
	[ "$output" -eq 4194304 ]
}

@test "request smuggling: Content-Length with Transfer-Encoding gets 400, logged" {
	run abo -- /usr/bin/python3 -c "$RAW
s.sendall(b'POST http://$ORIGIN/echo-body HTTP/1.1\r\nHost: $ORIGIN\r\n'
          b'Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
          b'GET http://www.evil.test/ HTTP/1.1\r\n\r\n')
print(s.recv(4096).decode().splitlines()[0])"
	echo "$output"
	[ "$output" = "HTTP/1.1 400 Bad Request" ]
	[ "$(requests)" -eq 1 ]
	grep -q 'both Content-Length and Transfer-Encoding' "$LOG"
}

@test "request smuggling: conflicting Content-Lengths get 400" {
	run abo -- /usr/bin/python3 -c "$RAW
s.sendall(b'POST http://$ORIGIN/echo-body HTTP/1.1\r\nContent-Length: 4\r\n'
          b'Content-Length: 40\r\n\r\nabcd')
print(s.recv(4096).decode().splitlines()[0])"
	[ "$output" = "HTTP/1.1 400 Bad Request" ]
	grep -q 'conflicting Content-Length' "$LOG"
}

@test "an oversized request head through the built-in proxy gets 431, logged" {
	run abo -- /usr/bin/python3 -c "$RAW
s.sendall(b'GET http://$ORIGIN/ HTTP/1.1\r\nX: ' + b'a' * 20000)
print(s.recv(4096).decode().splitlines()[0])"
	[ "$output" = "HTTP/1.1 431 Request Header Fields Too Large" ]
	[ "$(requests)" -eq 1 ]
}

@test "a profile with a bad egress rule is refused with file:line" {
	printf '[egress]\nallow = exa mple.com\n' >"$BATS_TEST_TMPDIR/bad.conf"
	run "$AGENTBOX" --profile "$BATS_TEST_TMPDIR/bad.conf" -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"bad.conf:2: allow 'exa mple.com': one value per line"* ]]
}

# An origin outside on loopback that accepts one connection, reads, and
# resets it (SO_LINGER 0); prints its port
resetting_origin() {
	/usr/bin/python3 -c '
import socket, struct, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4); s.settimeout(20)
print(s.getsockname()[1], flush=True)
c, _ = s.accept(); c.recv(64)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()' >"$BATS_TEST_TMPDIR/rst.port" &
	DAEMON_PID=$!
	for i in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/rst.port" ] && break; sleep 0.05; done
}

@test "audit outcomes are what the client got: a tunnel reset by the origin is upstream-reset, by the client client-reset, both failures" {
	resetting_origin
	rport=$(cat "$BATS_TEST_TMPDIR/rst.port")
	printf '[egress]\nports = %s\nports = %s\nallow_net = 127.0.0.1\nip_literals = yes\n' \
		"$rport" "$ORIGIN_PORT" >"$BATS_TEST_TMPDIR/rst.conf"
	run "$AGENTBOX" --upstream builtin --profile "$BATS_TEST_TMPDIR/rst.conf" -- /usr/bin/python3 -c "$RAW"'
import struct, sys, time
s.sendall(b"CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\n" % sys.argv[1].encode())
print(s.recv(100).split(b"\r\n")[0].decode())
s.sendall(b"hello"); time.sleep(0.5)
try: print("got", s.recv(10))
except OSError as e: print("tunnel", e.errno)
c = socket.create_connection((p[0], int(p[1])), timeout=20)
c.sendall(b"CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\n" % sys.argv[2].encode())
print(c.recv(100).split(b"\r\n")[0].decode())
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close(); time.sleep(0.5)' "$rport" "$ORIGIN_PORT"
	kill "$DAEMON_PID" 2>/dev/null || true
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "HTTP/1.1 200 Connection established" ]
	/usr/bin/python3 - "$LOG" "$rport" "$ORIGIN_PORT" <<'PY'
import json, sys
ev = {e["destination"]["port"]: e for e in map(json.loads, open(sys.argv[1]))
      if e["event"]["action"] == "connect"}
up, cl = ev[int(sys.argv[2])], ev[int(sys.argv[3])]
assert up["event"]["outcome"] == "failure" and up["event"]["reason"] == "upstream-reset", up["event"]
assert cl["event"]["outcome"] == "failure" and cl["event"]["reason"] == "client-reset", cl["event"]
PY
}

@test "1,000 refused requests of one process are a few folded lines whose counts add up to 1,000" {
	run abo -- /usr/bin/python3 -c "$RAW"'
import socket
for i in range(1000):
    c = socket.create_connection((p[0], int(p[1])), timeout=20)
    c.sendall(b"CONNECT www.evil.test:443 HTTP/1.1\r\nHost: www.evil.test:443\r\n\r\n")
    assert c.recv(100).startswith(b"HTTP/1.1 403")
    c.close()'
	echo "$output" >&2
	[ "$status" -eq 0 ]
	/usr/bin/python3 - "$LOG" <<'PY'
import json, sys
lines = [e for e in map(json.loads, open(sys.argv[1]))
         if e["event"]["action"] == "connect" and e["event"]["type"] == ["denied"]]
assert sum(e["agentbox"]["count"] for e in lines) == 1000, [e["agentbox"]["count"] for e in lines]
assert len(lines) <= 30, len(lines)
for e in lines:
    assert e["destination"]["domain"] == "www.evil.test" and e["http"]["response"]["status_code"] == 403
    assert e["process"]["name"] == "python3"
    if e["agentbox"]["count"] > 1:
        assert e["event"]["start"] <= e["event"]["end"]
PY
	run "$AGENTBOX" log
	[[ "$output" == *"DENY   python3["*"CONNECT www.evil.test:443 403"*"(x"*" until "* ]]
}

# python: a ClientHello for NAME, as ssl makes it (no server needed)
HELLO="import ssl
def hello(name):
    c = ssl.create_default_context()
    i, o = ssl.MemoryBIO(), ssl.MemoryBIO()
    t = c.wrap_bio(i, o, server_hostname=name)
    try: t.do_handshake()
    except ssl.SSLWantReadError: pass
    return o.read()"

@test "tunnel fronting: a CONNECT to an allowed name whose ClientHello names a denied one is reset and logged" {
	run abo -- /usr/bin/python3 -c "$RAW
$HELLO"'
import sys
def tunnel(first):
    c = socket.create_connection((p[0], int(p[1])), timeout=20)
    c.sendall(b"CONNECT %s HTTP/1.1\r\nHost: x\r\n\r\n" % sys.argv[1].encode())
    print(c.recv(100).split(b"\r\n")[0].decode())
    c.sendall(first)
    try: print("got", len(c.recv(100)))
    except OSError as e: print("reset", e.errno)
tunnel(hello("www.evil.test"))
tunnel(hello("origin.test"))' "$TLS_ORIGIN"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "HTTP/1.1 200 Connection established" ]
	[ "${lines[1]}" = "reset 104" ]
	# the same name: the origin answers (its ServerHello)
	[ "${lines[2]}" = "HTTP/1.1 200 Connection established" ]
	[[ "${lines[3]}" == "got "* ]]
	grep '"action":"connect"' "$LOG" | grep '"type":\["denied"\]' |
		grep -q 'first bytes are another host.s (TLS server name names www.evil.test)'
	[ "$(grep '"action":"connect"' "$LOG" | grep -c '"type":\["allowed"\]')" -eq 1 ]
}

@test "tunnel fronting: a plain request inside an allowed tunnel with another Host, or two Hosts, is reset and logged" {
	run abo -- /usr/bin/python3 -c "$RAW"'
import sys
def tunnel(first):
    c = socket.create_connection((p[0], int(p[1])), timeout=20)
    c.sendall(b"CONNECT %s HTTP/1.1\r\nHost: x\r\n\r\n" % sys.argv[1].encode())
    print(c.recv(100).split(b"\r\n")[0].decode())
    for b in first:		# in pieces: the head is read whole first
        c.sendall(b); time.sleep(0.05)
    try: print(c.recv(100).split(b"\r\n")[0].decode() or "closed")
    except OSError as e: print("reset", e.errno)
import time
tunnel([b"GE", b"T /hello HTTP/1.1\r\nHost: www.evil.test\r\n\r\n"])
tunnel([b"GET /hello HTTP/1.1\r\nHost: origin.test\r\nHost: www.evil.test\r\n\r\n"])
tunnel([b"GET http://www.evil.test/hello HTTP/1.1\r\nHost: origin.test\r\n\r\n"])
tunnel([b"GET /hello HTTP/1.1\r\n", b"Host: ORIGIN.test:1\r\n\r\n"])' "$ORIGIN"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "reset 104" ]
	[ "${lines[3]}" = "reset 104" ]
	[ "${lines[5]}" = "reset 104" ]
	[ "${lines[7]}" = "HTTP/1.1 200 OK" ]
	[ "$(grep '"action":"connect"' "$LOG" | grep -c '"type":\["denied"\]')" -eq 3 ]
	grep '"action":"connect"' "$LOG" | grep -q 'HTTP request names www.evil.test'
}

@test "tunnel fronting: protocols that name no host (ssh's banner, a server that speaks first) pass the check" {
	run abo -- /usr/bin/python3 -c "$RAW"'
import sys
c = socket.create_connection((p[0], int(p[1])), timeout=20)
c.sendall(b"CONNECT %s HTTP/1.1\r\nHost: x\r\n\r\n" % sys.argv[1].encode())
print(c.recv(100).split(b"\r\n")[0].decode())
c.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
try: print("answered", len(c.recv(1000)) >= 0)
except OSError as e: print("reset", e.errno)' "$ORIGIN"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "HTTP/1.1 200 Connection established" ]
	# the origin got the banner (an HTTP server, it answers or closes)
	[ "${lines[1]}" = "answered True" ]
	grep '"action":"connect"' "$LOG" | grep -q '"type":\["allowed"\]'
	! grep -q tunnel-refused "$LOG"
}
