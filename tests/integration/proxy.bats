#!/usr/bin/env bats
# The one path out: sandbox -> relay -> Squid -> origin, with real clients.

load helpers

@test "curl over HTTP goes through Squid and is in its access log" {
	run ab -- curl -sS -m 20 "http://$ORIGIN/hello"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "hello from origin" ]
	squid_logged "TCP_MISS/200 .* GET http://$ORIGIN/hello "
}

@test "curl over HTTPS (CONNECT) goes through Squid and is in its access log" {
	run ab -- curl -sS -m 20 --cacert "$TEST_CA" "https://$TLS_ORIGIN/hello"
	[ "$status" -eq 0 ]
	[ "$output" = "hello from origin" ]
	squid_logged "TCP_TUNNEL/200 .* CONNECT $TLS_ORIGIN"
}

@test "python urllib uses the proxy variables and gets through" {
	run ab -- /usr/bin/python3 -c "
import urllib.request
print(urllib.request.urlopen('http://$ORIGIN/hello', timeout=20).read().decode(), end='')"
	[ "$status" -eq 0 ]
	[ "$output" = "hello from origin" ]
}

@test "-v counts the request head in the bytes sent up" {
	run ab -v -- curl -sS -m 20 -o /dev/null "http://$ORIGIN/hello"
	[[ "$output" =~ "GET http://$ORIGIN/hello status=200 up="[1-9][0-9]*" down="[1-9] ]]
}

@test "a 4 MiB download arrives whole" {
	run ab -- sh -c "curl -sS -m 60 --cacert '$TEST_CA' https://$TLS_ORIGIN/bytes/4194304 | wc -c"
	[ "$status" -eq 0 ]
	[ "$output" -eq 4194304 ]
}

@test "-v prints one line per connection: target, status, bytes, result" {
	run ab -v -- curl -sS -m 20 --cacert "$TEST_CA" -o /dev/null "https://$TLS_ORIGIN/hello"
	[ "$status" -eq 0 ]
	[[ "$output" =~ "agentbox: relay: CONNECT $TLS_ORIGIN status=200 up="[1-9][0-9]*" down="[1-9][0-9]*" time="[0-9.]+"s result=ok" ]]
}

@test "the environment points every proxy variable at the gateway" {
	run env HTTPS_PROXY=http://user:secret@corp.invalid:1 NO_PROXY=.corp "$AGENTBOX" \
		--upstream "http://127.0.0.1:$SQUID_PORT" -- env
	[ "$status" -eq 0 ]
	[[ "$output" == *"HTTPS_PROXY=http://10.38.0.1:3128"* ]]
	[[ "$output" == *"http_proxy=http://10.38.0.1:3128"* ]]
	[[ "$output" == *"ALL_PROXY=http://10.38.0.1:3128"* ]]
	[[ "$output" == *"NO_PROXY=localhost,127.0.0.1,::1"* ]]
	[[ "$output" == *"AGENTBOX=1"* ]]
	[[ "$output" =~ AGENTBOX_SESSION=[0-9a-f]{16} ]]
	[[ "$output" != *secret* ]]
	[[ "$output" != *".corp"* ]]
}

@test "the upstream is taken from HTTPS_PROXY when --upstream is not given" {
	run env -u http_proxy -u HTTP_PROXY -u https_proxy HTTPS_PROXY="http://127.0.0.1:$SQUID_PORT" \
		"$AGENTBOX" -- curl -sS -m 20 "http://$ORIGIN/hello"
	[ "$status" -eq 0 ]
	[ "$output" = "hello from origin" ]
}

@test "--subnet and --proxy-port move the gateway" {
	run ab --subnet 192.168.201.0/29 --proxy-port 8080 -- sh -c \
		"echo \$HTTP_PROXY; curl -sS -m 20 http://$ORIGIN/hello"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "http://192.168.201.1:8080" ]
	[ "${lines[1]}" = "hello from origin" ]
}

@test "upstream going down after start: the client gets 502 with the reason" {
	# A throwaway upstream that is up at start and gone when used
	port=$(free_port)
	/usr/bin/python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $port)); s.listen(4)
time.sleep(0.2)" &
	pid=$!
	wait_for_port_quiet() { for i in $(seq 100); do ss -ltn | grep -q ":$port " && return 0; sleep 0.05; done; return 1; }
	wait_for_port_quiet
	run "$AGENTBOX" --upstream "http://127.0.0.1:$port" -- sh -c \
		"sleep 1; curl -sS -m 20 -D - -o /dev/null http://$ORIGIN/hello; curl -sS -m 20 http://$ORIGIN/hello"
	kill $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
	echo "$output"
	[[ "$output" == *"HTTP/1.1 502 Bad Gateway"* ]]
	[[ "$output" == *"X-Agentbox-Reason: upstream proxy 127.0.0.1:$port unreachable: Connection refused"* ]]
	[[ "$output" == *"agentbox: upstream proxy 127.0.0.1:$port unreachable: Connection refused"* ]]
}

@test "a tunnel the upstream closes a moment after the command has exited still ends as ok, with its bytes" {
	# A proxy that answers CONNECT and one request in the tunnel, then
	# closes its side 0.15 s after the client's: the sandbox is gone by then
	port=$(free_port)
	/usr/bin/python3 -c "
import socket, threading, time
def serve(c):
    buf = b''
    while b'\r\n\r\n' not in buf:
        d = c.recv(4096)
        if not d:
            c.close(); return
        buf += d
    c.sendall(b'HTTP/1.1 200 Connection established\r\n\r\n')
    buf = buf.split(b'\r\n\r\n', 1)[1]
    while b'\r\n\r\n' not in buf:
        buf += c.recv(4096)
    c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nthrough it\r\n')
    while c.recv(4096):
        pass
    time.sleep(0.15); c.close()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $port)); s.listen(4); s.settimeout(20)
for _ in range(4):
    try:
        threading.Thread(target=serve, args=(s.accept()[0],)).start()
    except OSError:
        break" &
	pid=$!
	for i in $(seq 100); do ss -ltn | grep -q ":$port " && break; sleep 0.05; done
	run "$AGENTBOX" -v --upstream "http://127.0.0.1:$port" -- curl -sS -m 20 -p http://tunnel.test:81/x
	kill $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
	echo "$output"
	[[ "$output" == *"through it"* ]]
	[[ "$output" =~ "agentbox: relay: CONNECT tunnel.test:81 status=200 up="[1-9][0-9]*" down="[1-9][0-9]*" time="[0-9.]+"s result=ok" ]]
}

@test "a malformed request head gets 400 and never reaches Squid" {
	run ab -- /usr/bin/python3 -c "
import socket
s = socket.create_connection(('10.38.0.1', 3128), timeout=10)
s.sendall(b'GET /relative HTTP/1.1\r\nHost: x\r\n\r\n')
print(s.recv(4096).decode().splitlines()[0])"
	[ "$status" -eq 0 ]
	[ "$output" = "HTTP/1.1 400 Bad Request" ]
	sleep 0.2
	! grep -q relative "$SQUID_LOG"
}

@test "an oversized request head gets 431" {
	run ab -- /usr/bin/python3 -c "
import socket
s = socket.create_connection(('10.38.0.1', 3128), timeout=10)
s.sendall(b'GET http://a/ HTTP/1.1\r\nX: ' + b'a' * 20000)
print(s.recv(4096).decode().splitlines()[0])"
	[ "$status" -eq 0 ]
	[ "$output" = "HTTP/1.1 431 Request Header Fields Too Large" ]
}

# python: a tunnel through the sandbox's proxy to HOSTPORT whose first
# bytes are a ClientHello for NAME; prints the CONNECT's answer, then what
# came back or how the tunnel ended
FRONT="import os, socket, ssl, sys
p = os.environ['http_proxy'].split('//')[1].rstrip('/').split(':')
c = ssl.create_default_context()
i, o = ssl.MemoryBIO(), ssl.MemoryBIO()
t = c.wrap_bio(i, o, server_hostname=sys.argv[2])
try: t.do_handshake()
except ssl.SSLWantReadError: pass
s = socket.create_connection((p[0], int(p[1])), timeout=20)
s.sendall(b'CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n' % (sys.argv[1].encode(), sys.argv[1].encode()))
print(s.recv(200).split(b'\r\n')[0].decode())
s.sendall(o.read())
try: print('got', len(s.recv(100)))
except OSError as e: print('reset', e.errno)"

@test "tunnel fronting through Squid: a ClientHello for another name than the CONNECT's is reset and logged; tunnel_check = no leaves it to the proxy" {
	run ab -- /usr/bin/python3 -c "$FRONT" "$TLS_ORIGIN" www.evil.test
	echo "$output" >&2
	[ "${lines[0]}" = "HTTP/1.1 200 Connection established" ]
	[ "${lines[1]}" = "reset 104" ]
	grep '"action":"connect"' "$AUDIT_LOG" | grep '"type":\["denied"\]' |
		grep -q "TLS server name names www.evil.test"
	run ab -- /usr/bin/python3 -c "$FRONT" "$TLS_ORIGIN" origin.test
	[ "${lines[1]}" != "reset 104" ]
	printf '[network]\ntunnel_check = no\n' >"$BATS_TEST_TMPDIR/nocheck.conf"
	run ab --profile "$BATS_TEST_TMPDIR/nocheck.conf" -- /usr/bin/python3 -c "$FRONT" "$TLS_ORIGIN" www.evil.test
	echo "$output" >&2
	[[ "${lines[1]}" == "got "* ]]
}

@test "Squid's log holds exactly the sandbox's requests: ten wrapped commands that make none and one curl are one line" {
	local before i
	before=$(wc -l <"$SQUID_LOG")
	for i in $(seq 10); do
		run ab -- true
		[ "$status" -eq 0 ]
	done
	run ab -- curl -sS -m 20 "http://$ORIGIN/hello"
	[ "$output" = "hello from origin" ]
	for ((i = 0; i < 40; i++)); do
		[ "$(wc -l <"$SQUID_LOG")" -gt "$before" ] && break
		sleep 0.05
	done
	sleep 0.5	# a late line of a closed connection would be here now
	tail -n +"$((before + 1))" "$SQUID_LOG"
	[ "$(tail -n +"$((before + 1))" "$SQUID_LOG" | wc -l)" -eq 1 ]
	tail -n +"$((before + 1))" "$SQUID_LOG" | grep -q "GET http://$ORIGIN/hello .*session="
}

@test "an idle connection to the proxy serves the next client's request: three curls, one connection, no 'Connection: close' sent up" {
	local port
	port=$(free_port)
	/usr/bin/python3 -c "
import socket, sys, threading, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $port)); s.listen(8); s.settimeout(20)
conns, closes = [], []
def serve(c):
    buf = b''
    c.settimeout(20)
    try:
        while True:
            while b'\r\n\r\n' not in buf:
                d = c.recv(4096)
                if not d: return
                buf += d
            head, buf = buf.split(b'\r\n\r\n', 1)
            closes.append(b'connection: close' in head.lower())
            c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n')
    except OSError: pass
t0 = time.time()
try:
    while time.time() - t0 < 20 and len(closes) < 3:
        c, _ = s.accept(); conns.append(c)
        threading.Thread(target=serve, args=(c,), daemon=True).start()
except OSError: pass
time.sleep(0.2)
open(sys.argv[1], 'w').write('%d %d %d' % (len(conns), len(closes), sum(closes)))
" "$BATS_TEST_TMPDIR/counts" &
	pid=$!
	for i in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
	# (that probe was a connection too)
	run "$AGENTBOX" --upstream "http://127.0.0.1:$port" -- sh -c \
		"curl -sS -m 20 http://$ORIGIN/a; curl -sS -m 20 http://$ORIGIN/b; curl -sS -m 20 http://$ORIGIN/c"
	echo "$output"
	wait $pid
	cat "$BATS_TEST_TMPDIR/counts"
	[ "$output" = "$(printf 'ok\nok\nok')" ]
	# the probe's connection and one from the relay: three requests on
	# it, none with "Connection: close"
	[ "$(cat "$BATS_TEST_TMPDIR/counts")" = "2 3 0" ]
}
