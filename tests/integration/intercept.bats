#!/usr/bin/env bats
# Interception: tools that ignore the proxy variables still go through the
# proxy.  Each test clears or unsets the variables, connects by name
# (origin.test: its fake address from the relay's DNS) or by address, and
# checks Squid's log (the identity with it) and the audit log (one line,
# how it was carried).  Traffic goes only to loopback, through Squid or
# the built-in proxy, and to the sandbox's own fake addresses.

load helpers

setup_file() {
	# A TCP echo server, and an sshd that lets this user in with a key
	# made here (both on loopback, stopped by pid in teardown_file)
	local d=$BATS_FILE_TMPDIR
	/usr/bin/python3 -c '
import socket, sys, os, threading, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
def serve(c):
    c.settimeout(30)
    try:
        while True:
            b = c.recv(4096)
            if not b: break
            c.sendall(b)
    except OSError: pass
    c.close()
t = time.time()
while time.time() - t < 3600:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
' "$d/echo.port" &
	echo $! >"$d/echo.pid"
	ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
	ssh-keygen -q -t ed25519 -N '' -f "$d/user_key"
	cp "$d/user_key.pub" "$d/authorized_keys"
	chmod 600 "$d/authorized_keys"
	local sp
	sp=$(free_port)
	cat >"$d/sshd_config" <<CONF
Port $sp
ListenAddress 127.0.0.1
HostKey $d/host_key
AuthorizedKeysFile $d/authorized_keys
PidFile $d/sshd.pidfile
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $(id -un)
CONF
	[ "$(id -u)" = 0 ] && mkdir -p /run/sshd
	/usr/sbin/sshd -D -e -f "$d/sshd_config" 2>"$d/sshd.log" &
	echo $! >"$d/sshd.pid"
	echo "$sp" >"$d/ssh.port"
	wait_for_file "$d/echo.port" 10
	wait_for_port "$sp" 10
}

teardown_file() {
	local f
	for f in echo sshd; do
		[ -f "$BATS_FILE_TMPDIR/$f.pid" ] &&
			kill "$(cat "$BATS_FILE_TMPDIR/$f.pid")" 2>/dev/null
	done
	return 0
}

setup() {
	export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
	LOG="$XDG_STATE_HOME/agentbox/audit.jsonl"
	ECHO_PORT=$(cat "$BATS_FILE_TMPDIR/echo.port")
	SSH_PORT=$(cat "$BATS_FILE_TMPDIR/ssh.port")
	: >"$SQUID_LOG.mark"
	MARK=$(wc -l <"$SQUID_LOG")
	builtin_open_profile "$BATS_TEST_TMPDIR/open.conf"
}

squid_new() {	# Squid's lines since this test began
	tail -n +"$((MARK + 1))" "$SQUID_LOG"
}

events() {	# ACTION: the audit events of that action
	grep "\"action\":\"$1\"" "$LOG" || true
}

through_squid() {	# PATTERN ACTION MODE: Squid logged it with the session's
			# identity, and the audit log holds exactly one ACTION
			# event, intercepted as MODE
	squid_logged "$1" || return 1
	squid_new | grep -- "$1" | grep -q "session=" || {
		echo "no identity with $1 in Squid's log" >&2; return 1; }
	[ "$(events "$2" | wc -l)" -eq 1 ] || {
		echo "not one $2 event:" >&2; cat "$LOG" >&2; return 1; }
	events "$2" | grep -q "\"intercept\":{\"mode\":\"$3\""
}

# python: GET /hello from origin.test over a socket of its own, speaking
# HTTP itself; argv: the address family (4, 6) and the port
RAW_GET='import socket, sys
fam = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
a = socket.getaddrinfo("origin.test", int(sys.argv[2]), fam, socket.SOCK_STREAM)[0][4]
s = socket.create_connection(a[:2], timeout=20)
s.sendall(b"GET /hello HTTP/1.1\r\nHost: origin.test:%s\r\nConnection: close\r\n\r\n" % sys.argv[2].encode())
b = b""
while True:
    d = s.recv(4096)
    if not d: break
    b += d
print(b.split(b"\r\n\r\n", 1)[1].decode())'

# The proxy variables, and what agentbox sets for tools, all unset
NOPROXY="env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u all_proxy -u ALL_PROXY -u no_proxy -u NO_PROXY -u JAVA_TOOL_OPTIONS -u npm_config_proxy -u npm_config_https_proxy -u GIT_CONFIG_PARAMETERS -u GIT_CONFIG_COUNT"

@test "intercept: curl with the environment cleared reaches the origin over HTTP, through Squid, one audit line" {
	run ab -- env -i /usr/bin/curl -sS -m 20 "http://$ORIGIN/hello"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "hello from origin" ]
	squid_logged "GET http://$ORIGIN/hello"
	squid_new | grep "GET http://$ORIGIN/hello" | grep -q "session="
	run events http-request
	echo "$output"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *'"intercept":{"mode":"http","ip":"198.18.'* ]]
	[[ "$output" == *"\"port\":$ORIGIN_PORT"* ]]
	[[ "$output" == *'"name":"curl"'* ]]
	[[ "$output" == *'"domain":"origin.test"'* ]]
}

@test "intercept: curl with the environment cleared reaches the origin over HTTPS: CONNECT by the SNI, one audit line" {
	run ab -- env -i /usr/bin/curl -sS -m 20 --cacert "$TEST_CA" "https://$TLS_ORIGIN/hello"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "hello from origin" ]
	squid_logged "CONNECT $TLS_ORIGIN"
	squid_new | grep "CONNECT $TLS_ORIGIN" | grep -q "session="
	run events connect
	echo "$output"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *'"intercept":{"mode":"tls"'* ]]
	[[ "$output" == *'"tls":{"client":{"server_name":"origin.test"}}'* ]]
	[[ "$output" == *'"status_code":200'* ]]
}

@test "intercept: IPv6: a client that asks for AAAA and connects over IPv6 is carried too" {
	# (curl would not: it takes IPv6 for unusable when it cannot make
	# a UDP socket, which the filter refuses)
	run ab -- $NOPROXY /usr/bin/python3 -c "$RAW_GET" 6 "$ORIGIN_PORT"
	echo "$output"
	[ "$output" = "hello from origin" ]
	through_squid "GET http://$ORIGIN/hello" http-request http
	events http-request | grep -q '"intercept":{"mode":"http","ip":"fd61:6762:6f78::'
}

@test "intercept: Debian's Node fetch with the proxy variables unset" {
	run ab -- $NOPROXY NODE_EXTRA_CA_CERTS="$TEST_CA" node -e '
fetch(process.argv[1]).then(r => r.text()).then(t => process.stdout.write(t),
  e => { console.error(e); process.exit(1); })' "https://$TLS_ORIGIN/hello"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "hello from origin" ]
	through_squid "CONNECT $TLS_ORIGIN" connect tls
	events connect | grep -q '"name":"node"'
}

@test "intercept: a Python raw socket that speaks HTTP itself" {
	run ab -- $NOPROXY /usr/bin/python3 -c "$RAW_GET" 4 "$ORIGIN_PORT"
	echo "$output"
	[[ "$output" == "hello from origin"* ]]
	through_squid "GET http://$ORIGIN/hello" http-request http
	events http-request | grep -q '"name":"python3"'
}

@test "intercept: python3-aiohttp with its defaults (trust_env off)" {
	/usr/bin/python3 -c 'import aiohttp' 2>/dev/null || skip "python3-aiohttp is not installed (make deps)"
	run ab -- $NOPROXY /usr/bin/python3 -c "
import asyncio, aiohttp
async def main():
    async with aiohttp.ClientSession() as s:
        async with s.get('http://$ORIGIN/hello') as r:
            print(await r.text())
asyncio.run(main())"
	echo "$output"
	[[ "$output" == "hello from origin"* ]]
	through_squid "GET http://$ORIGIN/hello" http-request http
}

@test "intercept: java HttpClient without proxy properties" {
	run ab -- $NOPROXY java "$TESTS_DIR/helpers/HttpGet.java" "http://$ORIGIN/hello"
	echo "$output"
	[[ "$output" == *"hello from origin"* ]]
	through_squid "GET http://$ORIGIN/hello" http-request http
	events http-request | grep -q '"name":"java"'
}

@test "intercept: ssh to a local sshd goes through Squid's CONNECT to its port" {
	local d=$BATS_FILE_TMPDIR
	run ab -- $NOPROXY /usr/bin/ssh -F /dev/null -i "$d/user_key" \
		-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no \
		-o BatchMode=yes -o ConnectTimeout=20 -p "$SSH_PORT" \
		"$(id -un)@origin.test" echo over-ssh
	echo "$output"
	cat "$d/sshd.log"
	# the key was taken and the command ran (an account without a shell,
	# as a system user for the tests may be, says so instead)
	grep -q "Accepted publickey for $(id -un) from 127.0.0.1" "$d/sshd.log"
	[[ "$output" == *"over-ssh"* ||
	   "$output" == *"This account is currently not available"* ]]
	through_squid "CONNECT origin.test:$SSH_PORT" connect tcp
	events connect | grep -q '"name":"ssh"'
}

@test "intercept: nc to a local TCP echo server" {
	# (stdin stays open a while: Squid ends a tunnel whose client
	# half-closes, before the answer comes back)
	run ab -- $NOPROXY sh -c "(printf 'ping\n'; sleep 1) | nc -q 1 -w 20 origin.test $ECHO_PORT"
	echo "$output"
	[ "$output" = "ping" ]
	through_squid "CONNECT origin.test:$ECHO_PORT" connect tcp
	events connect | grep -q '"name":"nc"'
}

@test "intercept: a server-first client (sends nothing until the server speaks) still gets its tunnel" {
	# the echo server speaks only when spoken to, so this client waits
	# for nothing: its tunnel opens after the relay's first wait, and the
	# bytes it then sends come back
	run ab -- $NOPROXY /usr/bin/python3 -c "
import socket, time
s = socket.create_connection(('origin.test', $ECHO_PORT), timeout=20)
time.sleep(0.6)
s.sendall(b'late\n'); print(s.recv(100).decode().strip())"
	echo "$output"
	[ "$output" = "late" ]
	squid_logged "CONNECT origin.test:$ECHO_PORT"
}

@test "intercept: Squid refusing a CONNECT to a port it does not allow resets the client and is logged as such" {
	run ab -- $NOPROXY /usr/bin/python3 -c "
import socket
s = socket.create_connection(('origin.test', 9), timeout=20)
try:
    s.sendall(b'hello\n'); print('got', s.recv(100))
except OSError as e: print('reset', type(e).__name__)"
	echo "$output"
	[[ "$output" == "reset"* || "$output" == "got b''" ]]
	squid_logged "TCP_DENIED/403 .* CONNECT origin.test:9 "
	run events connect
	echo "$output"
	[[ "$output" == *'"type":["denied"]'* ]]
	[[ "$output" == *"upstream proxy refused CONNECT origin.test:9: HTTP/1.1 403 Forbidden"* ]]
	[[ "$output" == *'"status_code":403'* ]]
}

@test "intercept: a TLS client whose SNI is not the name it looked up is reset and logged" {
	run ab -- $NOPROXY /usr/bin/python3 -c "
import socket, ssl
c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE
s = socket.create_connection(('origin.test', $TLS_PORT), timeout=20)
try:
    c.wrap_socket(s, server_hostname='other.test').do_handshake(); print('handshake done')
except OSError as e:
    print('refused', type(e).__name__)"
	echo "$output"
	[[ "$output" == "refused"* ]]
	run events connect
	echo "$output"
	[[ "$output" == *'"type":["denied"]'* ]]
	[[ "$output" == *"TLS server name names other.test"* ]]
	[[ "$output" == *'"server_name":"other.test"'* ]]
	! squid_new | grep -q "CONNECT other.test"
}

@test "intercept: an HTTP request whose Host is not the name it looked up is refused (403) and logged" {
	run ab -- $NOPROXY /usr/bin/python3 -c "
import socket
s = socket.create_connection(('origin.test', $ORIGIN_PORT), timeout=20)
s.sendall(b'GET / HTTP/1.1\r\nHost: other.test\r\n\r\n')
print(s.recv(4096).decode().split('\r\n')[0])"
	echo "$output"
	[ "$output" = "HTTP/1.1 403 Forbidden" ]
	grep '"type":\["denied"\]' "$LOG" | grep -q "an HTTP request for other.test, on a connection to the address a lookup gave for origin.test"
	! squid_new | grep -q "other.test"
}

@test "intercept: the gateway itself answers only on the proxy port and DNS" {
	run ab -- $NOPROXY /usr/bin/python3 -c "
import os, socket
gw = open('/etc/resolv.conf').read().split('nameserver ')[1].split()[0]
try:
    s = socket.create_connection((gw, 22), timeout=20)
    s.sendall(b'x'); print(repr(s.recv(10)))
except OSError as e: print('reset', type(e).__name__)"
	echo "$output"
	[[ "$output" == "reset"* || "$output" == "b''" ]]
	events connection | grep -q "is the gateway itself"
}

@test "intercept: a fake address no lookup gave is refused and logged" {
	run ab -- $NOPROXY /usr/bin/curl -sS -m 20 "http://198.18.200.7:$ORIGIN_PORT/"
	echo "$output"
	[ "$status" -ne 0 ]
	grep -q "no lookup of this session gave it" "$LOG"
}

@test "intercept: DNS answers only A and AAAA; dig over UDP stays refused and audited" {
	run ab -- $NOPROXY sh -c 'getent hosts origin.test; dig +tcp +short +tries=1 +time=5 MX origin.test; echo "mx=$?"; dig +short +tries=1 +time=2 origin.test; echo "udp=$?"'
	echo "$output"
	[[ "${lines[0]}" == "fd61:6762:6f78::"*"origin.test" || "${lines[0]}" == "198.18."*"origin.test" ]]
	grep '"action":"dns-query"' "$LOG" | grep -q '"type":"MX"'
	grep '"action":"dns-query"' "$LOG" | grep -q '"response_code":"REFUSED"'
	grep '"action":"socket-denied"' "$LOG" | grep '"executable":"/usr/bin/dig"' | grep -q SOCK_DGRAM
	[[ "$output" == *"udp="[1-9]* ]]
}

@test "intercept: a malformed DNS query gets FORMERR with its reason in the audit log, and the next query on the connection is answered" {
	run ab -- $NOPROXY /usr/bin/python3 -c "
import socket, struct
gw = open('/etc/resolv.conf').read().split('nameserver ')[1].split()[0]
s = socket.create_connection((gw, 53), timeout=20)
def ask(m):
    s.sendall(struct.pack('>H', len(m)) + m)
    n = struct.unpack('>H', s.recv(2))[0]
    a = b''
    while len(a) < n: a += s.recv(n - len(a))
    return a
# two questions in one query: not what a stub resolver sends
bad = struct.pack('>HHHHHH', 7, 0x0100, 2, 0, 0, 0) + b'\x01a\x00\x00\x01\x00\x01' * 2
print('rcode', ask(bad)[3] & 15)
good = struct.pack('>HHHHHH', 8, 0x0100, 1, 0, 0, 0) + b'\x06origin\x04test\x00\x00\x01\x00\x01'
r = ask(good)
print('rcode', r[3] & 15, 'answers', struct.unpack('>H', r[6:8])[0], 'addr', socket.inet_ntoa(r[-4:]))"
	echo "$output"
	[ "${lines[0]}" = "rcode 1" ]
	[[ "${lines[1]}" == "rcode 0 answers 1 addr 198.18."* ]]
	run events dns-query
	echo "$output"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *'"response_code":"FORMERR"'* ]]
	[[ "$output" == *'"name":"python3"'* ]]
}

@test "intercept: a malformed TLS ClientHello is reset, with its reason in the audit log, and nothing reaches Squid" {
	run ab -- $NOPROXY /usr/bin/python3 -c "
import socket
s = socket.create_connection(('origin.test', $TLS_PORT), timeout=20)
# a handshake record that holds a ServerHello: no client sends that
s.sendall(bytes([22, 3, 1, 0, 4, 2, 0, 0, 0]))
try: print('got', s.recv(100))
except OSError as e: print('reset', type(e).__name__)"
	echo "$output"
	[[ "$output" == "reset"* || "$output" == "got b''" ]]
	grep '"type":\["denied"\]' "$LOG" | grep -q "began with a malformed TLS ClientHello"
	! squid_new | grep -q "CONNECT origin.test:$TLS_PORT"
}

@test "intercept: built-in: curl with the environment cleared reaches an allowed name, over HTTP and HTTPS" {
	run "$AGENTBOX" --upstream builtin --profile "$BATS_TEST_TMPDIR/open.conf" -- \
		env -i /usr/bin/curl -sS -m 20 --cacert "$TEST_CA" "http://$ORIGIN/hello" "https://$TLS_ORIGIN/hello"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "hello from origin" ]
	[ "${lines[1]}" = "hello from origin" ]
	events http-request | grep -q '"intercept":{"mode":"http"'
	events connect | grep -q '"intercept":{"mode":"tls"'
	# the built-in proxy resolved the name itself: nothing went to Squid
	! squid_new | grep -q origin.test
}

@test "intercept: built-in: a name the policy denies gets NXDOMAIN, with its rule in the audit log" {
	run "$AGENTBOX" --upstream builtin --profile "$BATS_TEST_TMPDIR/open.conf" -- \
		env -i /usr/bin/curl -sS -m 20 "http://www.evil.test:$ORIGIN_PORT/"
	echo "$output"
	[[ "$output" == *"Could not resolve host: www.evil.test"* ]]
	run events dns-query
	echo "$output"
	[[ "$output" == *'"response_code":"NXDOMAIN"'* ]]
	[[ "$output" == *"www.evil.test is denied by 'deny = *.evil.test'"* ]]
}

@test "intercept: built-in: an IP literal with ip_literals = no is refused, with its rule" {
	# (192.0.2.10 is refused in the relay: nothing is sent there)
	printf 'ip_literals = no\n' >>"$BATS_TEST_TMPDIR/open.conf"
	run "$AGENTBOX" --upstream builtin --profile "$BATS_TEST_TMPDIR/open.conf" -- \
		env -i /usr/bin/curl -sS -m 20 "http://192.0.2.10:$ORIGIN_PORT/hello"
	echo "$output"
	[ "$output" != "hello from origin" ]
	run events http-request
	echo "$output"
	[[ "$output" == *'"type":["denied"]'* ]]
	[[ "$output" == *"IP literals are not allowed (ip_literals)"* ]]
}

@test "intercept: built-in: a connection to the host's own address is refused, with its rule" {
	[ -n "$HOST_ADDR" ] || skip "this host has no global IPv4 address"
	printf 'ports = %s\n' "$OPEN_PORT" >>"$BATS_TEST_TMPDIR/open.conf"
	run "$AGENTBOX" --upstream builtin --profile "$BATS_TEST_TMPDIR/open.conf" -- \
		env -i /usr/bin/curl --http0.9 -sS -m 20 "http://$HOST_ADDR:$OPEN_PORT/"
	echo "$output"
	[[ "$output" != *reached* ]]
	run events http-request
	echo "$output"
	[[ "$output" == *'"type":["denied"]'* ]]
	[[ "$output" == *"$HOST_ADDR"* ]]
}

@test "intercept: intercept = no gives the closed sandbox of before: no route, no answer, nothing reached" {
	printf '[network]\nintercept = no\n' >"$BATS_TEST_TMPDIR/off.conf"
	run ab --profile "$BATS_TEST_TMPDIR/off.conf" -- env -i /usr/bin/curl -sS -m 10 "http://$ORIGIN/hello"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Could not resolve host"* ]]
	run ab --profile "$BATS_TEST_TMPDIR/off.conf" -- env -i /usr/bin/curl -sS -m 10 "http://198.18.0.1:$ORIGIN_PORT/hello"
	echo "$output"
	[[ "$output" == *"Couldn't connect"* ]]
	! squid_new | grep -q "$ORIGIN_PORT"
	# and the proxy still works
	run ab --profile "$BATS_TEST_TMPDIR/off.conf" -- curl -sS -m 10 "http://$ORIGIN/hello"
	[ "$output" = "hello from origin" ]
}

@test "intercept: where nftables cannot redirect, one warning names the cause and the sandbox stays closed" {
	AGENTBOX_TEST_NO_NFT=1 run ab -- sh -c "ip route show default; env -i /usr/bin/curl -sS -m 10 http://$ORIGIN/hello; curl -sS -m 10 http://$ORIGIN/hello"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^agentbox: ' <<<"$output")" -eq 1 ]
	[[ "${lines[0]}" == "agentbox: interception: nftables transaction (nat redirect in the gateway netns): Operation not supported; interception is off (tools that ignore the proxy variables fail closed); 'agentbox doctor' says why" ]]
	[[ "$output" == *"Could not resolve host: origin.test"* ]]
	# the proxy still works, and is the only way out
	[ "${lines[-1]}" = "hello from origin" ]
}
