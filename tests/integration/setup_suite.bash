# setup_suite.bash - the real parts every integration test talks to.
#
# Started once per bats run, as the user running the tests, on loopback
# ports only, and stopped by pid in teardown_suite:
#   - Squid with a generated config ($SQUID_PORT, log in $SQUID_LOG)
#   - an HTTP origin ($ORIGIN_PORT) and an HTTPS origin ($TLS_PORT) with a
#     certificate from a CA made here ($TEST_CA)
#   - a plain TCP listener on all addresses ($OPEN_PORT): what a sandboxed
#     process must not reach directly, on loopback or the host's own address
# The origins are named origin.test, a name only Squid knows (its own
# hosts_file), as a sandboxed client sees a corporate name: $ORIGIN and
# $TLS_ORIGIN are "origin.test:PORT".
# Exported: AGENTBOX (binary under test), TRY (try-syscall), HOST_ADDR.

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
export -f free_port

wait_for_file() {	# FILE SECONDS
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

wait_for_port() {	# PORT SECONDS
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
export -f wait_for_file wait_for_port

squid_common_conf() {	# USER: what every test Squid has (loopback, no cache,
			# origins named by $FIX/hosts only, no ICMP, no DNS)
	cat <<CONF
cache deny all
cache_effective_user $1
hosts_file $FIX/hosts
dns_nameservers 127.0.0.1
netdb_filename none
pinger_enable off
shutdown_lifetime 0 seconds
buffered_logs off
http_access allow localhost
http_access deny all
CONF
}
export -f squid_common_conf

setup_suite() {
	TESTS_DIR=$(cd "${TESTS_DIR:-$BATS_TEST_DIRNAME/..}" && pwd -P)
	export TESTS_DIR
	export AGENTBOX="${AGENTBOX:?set AGENTBOX to the binary under test}"
	export TRY="${TRY:?set TRY to the try-syscall helper}"
	# Not under BATS_SUITE_TMPDIR: Squid started by root runs as 'proxy'
	# and must reach its logs
	FIX=$(mktemp -d /tmp/agentbox-fixture.XXXXXX) || return 1
	export FIX
	chmod 755 "$FIX"
	# A home outside the writable roots of the default profile (/tmp,
	# /var/tmp), for the tests of what the sandbox may not write there:
	# run-all makes one per user; as root, one is made here otherwise
	if [ -z "${TEST_HOME:-}" ] && [ "$(id -u)" = 0 ]; then
		TEST_HOME=$(mktemp -d /var/lib/agentbox-home.XXXXXX) &&
			echo "$TEST_HOME" >"$FIX/own-home"
	fi
	export TEST_HOME="${TEST_HOME:-}"
	# agentbox's audit log goes here, not to the home of the test user
	export XDG_STATE_HOME="$BATS_SUITE_TMPDIR/state"
	export AUDIT_LOG="$XDG_STATE_HOME/agentbox/audit.jsonl"
	mkdir -p "$XDG_STATE_HOME"

	# System configurations for the profile tests (root-owned when root
	# made the tree: run-all does, as it copies it for the other user)
	export SYSCONF_DIR="$TESTS_DIR/integration/sysconf"
	VENDOR_DIR=$(cd "$TESTS_DIR/../profiles" && pwd -P)
	export VENDOR_DIR
	[ -O "$SYSCONF_DIR/open/profiles/groupw.conf" ] &&
		chmod g+w "$SYSCONF_DIR/open/profiles/groupw.conf"

	# A CA and a server certificate for 127.0.0.1
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=agentbox test CA" \
		-keyout "$FIX/ca.key" -out "$FIX/ca.pem" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=origin.test" \
		-keyout "$FIX/srv.key" -out "$FIX/srv.csr" 2>/dev/null
	printf 'subjectAltName=DNS:origin.test,IP:127.0.0.1\n' >"$FIX/san.ext"
	openssl x509 -req -in "$FIX/srv.csr" -CA "$FIX/ca.pem" -CAkey "$FIX/ca.key" \
		-CAcreateserial -days 2 -extfile "$FIX/san.ext" -out "$FIX/srv.pem" 2>/dev/null
	export TEST_CA="$FIX/ca.pem"

	# static files (a git repository, a pip index) made by the tests
	export ORIGIN_ROOT="$FIX/www"
	mkdir -p "$ORIGIN_ROOT"
	/usr/bin/python3 "$TESTS_DIR/helpers/origin.py" "$FIX/origin.port" &
	echo $! >"$FIX/origin.pid"
	/usr/bin/python3 "$TESTS_DIR/helpers/origin.py" "$FIX/tls.port" \
		"$FIX/srv.pem" "$FIX/srv.key" &
	echo $! >"$FIX/tls.pid"
	wait_for_file "$FIX/origin.port" 10 && wait_for_file "$FIX/tls.port" 10 || {
		echo "origin did not start" >&2; return 1; }
	export ORIGIN_PORT=$(cat "$FIX/origin.port") TLS_PORT=$(cat "$FIX/tls.port")

	# A listener on every address: direct connections must never reach it
	/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 0)); s.listen(16)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
t = time.time()
while time.time() - t < 3600:
    c, _ = s.accept(); c.sendall(b"reached\n"); c.close()
' "$FIX/open.port" &
	echo $! >"$FIX/open.pid"
	wait_for_file "$FIX/open.port" 10 || return 1
	export OPEN_PORT=$(cat "$FIX/open.port")
	HOST_ADDR=$(ip -4 -o addr show scope global 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -1)
	export HOST_ADDR

	# Squid, as the user running the tests; also over TLS (https_port,
	# the origin's certificate: it names 127.0.0.1 too)
	export SQUID_PORT=$(free_port) SQUID_TLS_PORT=$(free_port)
	chmod 644 "$FIX/srv.key"	# a test key, for Squid as 'proxy'
	export SQUID_LOG="$FIX/access.log"
	local user
	user=$(id -un)
	[ "$(id -u)" = 0 ] && user=proxy
	{ cat <<CONF
http_port 127.0.0.1:$SQUID_PORT
https_port 127.0.0.1:$SQUID_TLS_PORT tls-cert=$FIX/srv.pem tls-key=$FIX/srv.key
pid_filename $FIX/squid.pid
include $TESTS_DIR/../contrib/squid-agentbox.conf
access_log stdio:$SQUID_LOG agentbox
logformat abauth %ru %{Proxy-Authorization}>h xff=%{X-Forwarded-For}>h fwd=%{Forwarded}>h
access_log stdio:$FIX/auth.log abauth
cache_log $FIX/cache.log
cache_store_log none
cache_mem 8 MB
coredump_dir $FIX
logfile_rotate 0
acl CONNECT method CONNECT
# a port the test proxy refuses to tunnel to (intercept.bats)
acl denied_port port 9
http_access deny CONNECT denied_port
CONF
	  squid_common_conf "$user"; } >"$FIX/squid.conf"
	# The origins' name, known to Squid only (never to DNS)
	printf '127.0.0.1 origin.test\n' >"$FIX/hosts"
	# ... and to the built-in proxy's resolver (CARES_HOSTS: test builds
	# only), with names that resolve where nothing may go
	cat >"$FIX/cares-hosts" <<HOSTS
127.0.0.1 localhost
127.0.0.1 origin.test other.test www.evil.test
127.0.0.1 rebind.test
10.1.2.3 private.test
169.254.169.254 metadata.test
::1 loopback6.test
HOSTS
	chmod 644 "$FIX/cares-hosts"
	export CARES_HOSTS="$FIX/cares-hosts"
	export ORIGIN="origin.test:$ORIGIN_PORT" TLS_ORIGIN="origin.test:$TLS_PORT"
	export SQUID_AUTH_LOG="$FIX/auth.log"
	touch "$SQUID_LOG" "$FIX/cache.log" "$SQUID_AUTH_LOG"
	[ "$user" = proxy ] && chown proxy "$SQUID_LOG" "$FIX/cache.log" "$SQUID_AUTH_LOG" "$FIX"
	# Its own service name: shared memory segments are named after it
	squid -N -n "abtest$SQUID_PORT" -f "$FIX/squid.conf" >"$FIX/squid.out" 2>&1 &
	echo $! >"$FIX/squid.runpid"
	wait_for_port "$SQUID_PORT" 20 && wait_for_port "$SQUID_TLS_PORT" 20 || {
		echo "squid did not start:" >&2; cat "$FIX/squid.out" "$FIX/cache.log" >&2; return 1; }
}

teardown_suite() {
	local f
	[ -f "$FIX/own-home" ] && rm -rf "$(cat "$FIX/own-home")"
	for f in squid.runpid origin.pid tls.pid open.pid; do
		[ -f "$FIX/$f" ] && kill "$(cat "$FIX/$f")" 2>/dev/null
	done
	# Squid -N exits on SIGTERM after shutdown_lifetime (0 s)
	for f in squid.runpid origin.pid tls.pid open.pid; do
		[ -f "$FIX/$f" ] && timeout 10 tail --pid="$(cat "$FIX/$f")" -f /dev/null 2>/dev/null
	done
	rm -rf "$FIX" /dev/shm/abtest"$SQUID_PORT"-* 2>/dev/null
	return 0
}
