#!/usr/bin/env bats
# Every way around the proxy that the sandbox must stop, one test each.

load helpers

@test "direct TCP to host loopback with proxy variables cleared: no path" {
	run ab -- env -i /usr/bin/curl -sS -m 5 "http://127.0.0.1:$OPEN_PORT/"
	[ "$status" -ne 0 ]
	[[ "$output" != *reached* ]]
	[[ "$output" == *"Couldn't connect"* || "$output" == *"Connection refused"* ]]
}

@test "direct TCP to the host's own interface address: only through Squid, with the identity; without interception unreachable" {
	[ -n "$HOST_ADDR" ] || skip "this host has no global IPv4 address"
	# the listener answers there from outside the sandbox
	run /usr/bin/curl --noproxy '*' --http0.9 -sS -m 5 "http://$HOST_ADDR:$OPEN_PORT/"
	[[ "$output" == *reached* ]]	# the server's RST may follow
	# intercepted: Squid (the test's allows it) is the one that connects
	run ab -- env -i /usr/bin/python3 -c "
import socket
s = socket.create_connection(('$HOST_ADDR', $OPEN_PORT), timeout=5)
s.sendall(b'x'); print(s.recv(100))"
	echo "$output"
	squid_logged "CONNECT $HOST_ADDR:$OPEN_PORT"
	grep "CONNECT $HOST_ADDR:$OPEN_PORT" "$SQUID_LOG" | grep -q "session="
	run ab_closed -- env -i /usr/bin/python3 -c "
import socket
socket.create_connection(('$HOST_ADDR', $OPEN_PORT), timeout=5)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"[Errno 101] Network is unreachable"* ]]
}

@test "a TCP port other than the proxy's on the gateway: reset and audited; without interception refused" {
	export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
	run ab -- env -i /usr/bin/curl -sS -m 5 "http://10.38.0.1:22/"
	echo "$output"
	[ "$status" -ne 0 ]
	# (the reset may come before the connect's answer or after it)
	[[ "$output" == *"reset by peer"* || "$output" == *"Couldn't connect"* ]]
	grep -q '10.38.0.1 port 22 is the gateway itself' "$XDG_STATE_HOME/agentbox/audit.jsonl"
	run ab_closed -- env -i /usr/bin/curl -sS -m 5 "http://10.38.0.1:22/"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Couldn't connect"* || "$output" == *"refused"* ]]
}

@test "a UDP socket attempt is refused and audited with the process that made it" {
	export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
	run ab -- /usr/bin/python3 -c "
import socket
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
except PermissionError as e:
    print('refused', e.errno)"
	[ "$output" = "refused 1" ]
	log="$XDG_STATE_HOME/agentbox/audit.jsonl"
	[ "$(grep -c '"socket-denied"' "$log")" -eq 1 ]
	line=$(grep '"socket-denied"' "$log")
	[[ "$line" == *'"name":"python3"'* ]]
	[[ "$line" == *'"family":"AF_INET","type":"SOCK_DGRAM","protocol":0'* ]]
	[[ "$line" == *'"transport":"udp"'* ]]
	[[ "$line" =~ \"pid\":[1-9] ]]
}

@test "a seccomp listener of the sandbox's own (which could answer 'continue'): EPERM" {
	run ab -- "$TRY" seccomp-listener
	[ "$output" = "seccomp-listener: EPERM" ]
	# filters without a listener stay allowed (Chromium's sandbox)
	run ab -- "$TRY" seccomp-filter
	[ "$output" = "seccomp-filter: ok" ]
	# and do not undo ours
	run ab -- sh -c "'$TRY' seccomp-filter >/dev/null; '$TRY' udp"
	[ "$output" = "udp: EPERM" ]
}

@test "UDP socket: EPERM (python, as in the bug report)" {
	run ab -- /usr/bin/python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)'
	[ "$status" -ne 0 ]
	[[ "$output" == *"PermissionError: [Errno 1] Operation not permitted"* ]]
}

@test "UDP, UDP6, UDP with SOCK_NONBLOCK: EPERM" {
	for p in udp udp6 udp-nonblock; do
		run ab -- "$TRY" $p
		[ "$output" = "$p: EPERM" ]
	done
}

@test "ICMP and raw sockets: EPERM" {
	run ab -- "$TRY" icmp
	[ "$output" = "icmp: EPERM" ]
	run ab -- "$TRY" raw
	[ "$output" = "raw: EPERM" ]
}

@test "SCTP and MPTCP stream sockets: EPERM" {
	run ab -- "$TRY" sctp
	[ "$output" = "sctp: EPERM" ]
	run ab -- "$TRY" mptcp
	[ "$output" = "mptcp: EPERM" ]
}

@test "AF_PACKET and AF_VSOCK: EAFNOSUPPORT" {
	run ab -- "$TRY" packet
	[ "$output" = "packet: EAFNOSUPPORT" ]
	run ab -- "$TRY" vsock
	[ "$output" = "vsock: EAFNOSUPPORT" ]
}

@test "socket family with garbage in the high 32 bits: refused" {
	run ab -- "$TRY" udp-highbits
	[ "$output" = "udp-highbits: EAFNOSUPPORT" ]
}

@test "netlink other than NETLINK_ROUTE, unix datagrams: EPERM; NETLINK_ROUTE, TCP, unix streams: allowed" {
	run ab -- "$TRY" netlink-audit
	[ "$output" = "netlink-audit: EPERM" ]
	run ab -- "$TRY" unix-dgram
	[ "$output" = "unix-dgram: EPERM" ]
	for p in netlink-route tcp tcp6 unix-stream unix-seqpacket; do
		run ab -- "$TRY" $p
		[ "$output" = "$p: ok" ]
	done
}

@test "socketpair of a family other than AF_UNIX: refused" {
	run ab -- "$TRY" socketpair-inet
	[ "$output" = "socketpair-inet: EAFNOSUPPORT" ]
}

@test "io_uring (socket ops unseen by seccomp): ENOSYS" {
	run ab -- "$TRY" io_uring
	[ "$output" = "io_uring: ENOSYS" ]
}

@test "i386 ABI socket() via int 0x80: process killed" {
	run ab -- "$TRY" i386-socket
	[ "$status" -eq 159 ]	# 128 + SIGSYS
	[ "$output" = "" ]
}

@test "x32 ABI socket(): process killed" {
	run ab -- "$TRY" x32-socket
	[ "$status" -eq 159 ]
}

@test "TIOCSTI (CVE-2017-5226 style terminal injection): EPERM, also with high bits" {
	run script -qec "$AGENTBOX --upstream http://127.0.0.1:$SQUID_PORT -- $TRY tiocsti" /dev/null
	[[ "$output" == *"tiocsti: EPERM"* ]]
	run script -qec "$AGENTBOX --upstream http://127.0.0.1:$SQUID_PORT -- $TRY tiocsti-highbits" /dev/null
	[[ "$output" == *"tiocsti-highbits: EPERM"* ]]
	run script -qec "$AGENTBOX --upstream http://127.0.0.1:$SQUID_PORT -- $TRY tioclinux" /dev/null
	[[ "$output" == *"tioclinux: EPERM"* ]]
}

@test "signalling a process outside: not visible (pid namespace)" {
	sleep 60 &
	victim=$!
	run ab -- sh -c "kill -9 $victim; $TRY kill $victim"
	[[ "$output" == *"kill: ESRCH"* ]]
	kill -0 $victim
	kill $victim
}

@test "ptracing a process outside: not visible (pid namespace)" {
	sleep 60 &
	victim=$!
	run ab -- "$TRY" ptrace $victim
	[ "$output" = "ptrace: ESRCH" ]
	kill $victim
}

@test "the host's processes are not in /proc" {
	run ab -- sh -c 'ls /proc | grep -c "^[0-9]"'
	[ "$output" -le 4 ]
	run ab -- cat /proc/1/cmdline
	[[ "$output" == agentbox* || "$output" == *agentbox* ]]
}

@test "an inherited socket descriptor is closed before exec" {
	exec 7<>"/dev/tcp/127.0.0.1/$OPEN_PORT"
	run ab -- "$TRY" fd 7
	exec 7>&-
	[ "$output" = "fd: EBADF" ]
}

@test "--pass-fd keeps a named descriptor open" {
	exec 7</dev/null
	run ab --pass-fd 7 -- "$TRY" fd 7
	exec 7<&-
	[ "$output" = "fd: ok" ]
}

@test "adding a route or an address: not permitted" {
	run ab -- ip route add default via 10.38.0.1
	[ "$status" -ne 0 ]
	[[ "$output" == *"Operation not permitted"* ]]
	run ab -- ip addr add 10.9.9.9/32 dev ab0
	[ "$status" -ne 0 ]
}

@test "routes: the default ones lead to the gateway only; without interception none, and no IPv6 address" {
	run ab -- ip route show default
	[ "$output" = "default via 10.38.0.1 dev ab0 proto static " ]
	run ab -- ip -6 route show default
	[[ "$output" == "default via fd61:6762:6f78:1::1 dev ab0 "* ]]
	run ab -- ip -6 -o addr show dev ab0
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"fd61:6762:6f78:1::2/64"* ]]
	run ab_closed -- ip route show default
	[ "$output" = "" ]
	run ab_closed -- ip -6 addr show dev ab0
	[ "$output" = "" ]
}

@test "no capabilities at all, in every set" {
	run ab -- grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status
	[ "${#lines[@]}" -eq 5 ]
	for l in "${lines[@]}"; do [[ "$l" == *0000000000000000 ]]; done
	run ab -- grep NoNewPrivs /proc/self/status
	[[ "$output" == *1 ]]
	run ab -- grep Seccomp: /proc/self/status
	[[ "$output" == *2 ]]
}

@test "nested user namespace works (Chromium needs it) but reaches nothing" {
	run ab -- unshare -U sh -c 'echo nested'
	[ "$status" -eq 0 ]
	[ "$output" = "nested" ]
	# same network inside: without interception only the proxy
	# listener answers
	run ab_closed -- unshare -U sh -c "env -i /usr/bin/curl --http0.9 -sS -m 5 http://$HOST_ADDR:$OPEN_PORT/ http://127.0.0.1:$OPEN_PORT/"
	[ "$status" -ne 0 ]
	[[ "$output" != *reached* ]]
	# with it, its connections go through Squid like the others
	run ab -- unshare -U sh -c "env -i /usr/bin/curl -sS -m 10 http://$ORIGIN/hello"
	[ "$output" = "hello from origin" ]
	squid_logged "GET http://$ORIGIN/hello"
	run ab -- unshare -U "$TRY" udp
	[ "$output" = "udp: EPERM" ]
}

@test "nested unshare -Ur: works for a user; for root the kernel refuses uid 0 -> 0" {
	run ab -- unshare -Ur sh -c 'id -u; env -i /usr/bin/curl -sS -m 5 http://127.0.0.1:'"$OPEN_PORT"'/ || echo unreachable'
	if [ "$(id -u)" = 0 ]; then
		# Linux >= 5.12 wants CAP_SETFCAP to map uid 0 onto uid 0, and
		# the sandbox holds no capability
		[[ "$output" == *"write failed /proc/self/uid_map: Operation not permitted"* ]]
	else
		[ "${lines[0]}" = "0" ]
		[ "${lines[-1]}" = "unreachable" ]
	fi
	run ab -- unshare -Urn sh -c 'echo in-new-netns' 
	[ "$(id -u)" = 0 ] || [ "$output" = "in-new-netns" ]
}

@test "a nested user namespace cannot remount /proc to see the host" {
	run ab -- unshare -Urm sh -c 'umount -l /proc 2>&1; ls /proc | grep -c "^[0-9]"'
	[[ "$output" == *"Invalid argument"* || "$output" == *"not permitted"* || "${lines[-1]}" -le 6 ]]
}

@test "connect() with an oversized unix address (the supervisor copies it): EINVAL as from the kernel, and the session goes on" {
	run ab -- /usr/bin/python3 -c '
import ctypes, socket, struct
libc = ctypes.CDLL(None, use_errno=True)
for n in (121, 200, 10000):
    s = socket.socket(socket.AF_UNIX)
    addr = struct.pack("H", socket.AF_UNIX) + b"/tmp/" + b"A" * n
    r = libc.connect(s.fileno(), addr, len(addr))
    print(r, ctypes.get_errno())
print("still here")'
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[ "$output" = "-1 22
-1 22
-1 22
still here" ]
}
