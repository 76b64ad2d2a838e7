#!/usr/bin/env bats
# upstream = https://HOST:PORT: TLS to the proxy itself (Squid's https_port
# with a certificate from the test's CA).  The sandbox's requests travel
# inside that TLS session, with the identity; the proxy's certificate is
# verified against upstream_ca (or the system's roots).

load helpers

setup() {
	export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
	LOG="$XDG_STATE_HOME/agentbox/audit.jsonl"
	TLS_UP="https://127.0.0.1:$SQUID_TLS_PORT"
	printf '[network]\nupstream_ca = %s\n' "$TEST_CA" >"$BATS_TEST_TMPDIR/ca.conf"
	# another CA, which did not sign the proxy's certificate
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=other CA" \
		-keyout "$BATS_TEST_TMPDIR/other.key" -out "$BATS_TEST_TMPDIR/other.pem" 2>/dev/null
	printf '[network]\nupstream_ca = %s\n' "$BATS_TEST_TMPDIR/other.pem" >"$BATS_TEST_TMPDIR/other.conf"
}

abt() {	# agentbox with the TLS upstream and the test's CA for it
	"$AGENTBOX" --upstream "$TLS_UP" --profile "$BATS_TEST_TMPDIR/ca.conf" "$@"
}

@test "https upstream: curl over HTTP and HTTPS goes through the TLS session to Squid, with the identity" {
	run abt -- sh -c "curl -sS -m 20 http://$ORIGIN/hello; curl -sS -m 20 --cacert $TEST_CA https://$TLS_ORIGIN/hello"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "hello from origin" ]
	[ "${lines[1]}" = "hello from origin" ]
	s=$(grep '"session-start"' "$LOG" | sed 's/.*"session":"\([0-9a-f]*\)".*/\1/')
	squid_logged "GET http://$ORIGIN/hello .*\"session=$s; "
	squid_logged "CONNECT $TLS_ORIGIN .*\"session=$s; "
}

@test "https upstream: git clone and an intercepted client go through it too" {
	bare_repo "$ORIGIN_ROOT/tls-repo.git" "over TLS to the proxy"
	run abt -- sh -c "cd '$BATS_TEST_TMPDIR' && GIT_SSL_CAINFO='$TEST_CA' git clone -q https://$TLS_ORIGIN/files/tls-repo.git c 2>&1; echo clone=\$?; cat c/README; env -i /usr/bin/curl -sS -m 20 http://$ORIGIN/hello"
	echo "$output"
	[[ "$output" == *"clone=0"* ]]
	[[ "$output" == *"over TLS to the proxy"* ]]
	[ "${lines[-1]}" = "hello from origin" ]
	squid_logged "CONNECT $TLS_ORIGIN"
	grep -q '"intercept":{"mode":"http"' "$LOG"
}

@test "https upstream: a proxy certificate the CA did not sign: 502 naming the verification failure, nothing reaches the origin" {
	before=$(wc -l <"$SQUID_LOG")
	run "$AGENTBOX" --upstream "$TLS_UP" --profile "$BATS_TEST_TMPDIR/other.conf" -- \
		curl -sS -m 20 -D - -o /dev/null "http://$ORIGIN/hello?bad-ca"
	echo "$output"
	[[ "$output" == *"HTTP/1.1 502 Bad Gateway"* ]]
	[[ "$output" == *"X-Agentbox-Reason: TLS to upstream proxy 127.0.0.1:$SQUID_TLS_PORT: certificate verify failed: unable to get local issuer certificate"* ]]
	grep -q '"reason":"upstream-tls"\|certificate verify failed' "$LOG"
	sleep 0.3
	! tail -n +"$((before + 1))" "$SQUID_LOG" | grep -q "bad-ca"
	# and the system's roots do not know the test CA either
	run "$AGENTBOX" --upstream "$TLS_UP" -- curl -sS -m 20 -D - -o /dev/null "http://$ORIGIN/hello"
	[[ "$output" == *"certificate verify failed"* ]]
}

@test "https upstream: a name the certificate does not carry is refused" {
	# the certificate names origin.test and 127.0.0.1, not localhost
	grep -q '^127.0.0.1.*localhost\|^::1.*localhost' /etc/hosts || skip "no localhost in /etc/hosts"
	run "$AGENTBOX" --upstream "https://localhost:$SQUID_TLS_PORT" --profile "$BATS_TEST_TMPDIR/ca.conf" -- \
		curl -sS -m 20 -D - -o /dev/null "http://$ORIGIN/hello"
	echo "$output"
	[[ "$output" == *"certificate verify failed: hostname mismatch"* ]]
}

@test "https upstream: an upstream_ca that is not a certificate is a setup failure (125) naming the file" {
	echo "not a certificate" >"$BATS_TEST_TMPDIR/junk.pem"
	printf '[network]\nupstream_ca = %s\n' "$BATS_TEST_TMPDIR/junk.pem" >"$BATS_TEST_TMPDIR/junk.conf"
	run "$AGENTBOX" --upstream "$TLS_UP" --profile "$BATS_TEST_TMPDIR/junk.conf" -- touch "$BATS_TEST_TMPDIR/ran"
	echo "$output"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "agentbox: upstream_ca $BATS_TEST_TMPDIR/junk.pem: "* ]]
	[ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "https upstream: doctor checks the handshake and names a certificate that does not verify" {
	run "$AGENTBOX" doctor --upstream "$TLS_UP" --profile "$BATS_TEST_TMPDIR/ca.conf"
	echo "$output"
	[[ "$output" == *"ok    upstream 127.0.0.1:$SQUID_TLS_PORT (from --upstream) answers, over TLS with a certificate that verifies"* ]]
	run "$AGENTBOX" doctor --upstream "$TLS_UP" --profile "$BATS_TEST_TMPDIR/other.conf"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"FAIL  upstream 127.0.0.1:$SQUID_TLS_PORT (from --upstream): TLS: certificate verify failed: unable to get local issuer certificate"* ]]
}

@test "https upstream: a 1 MiB download through a tunnel arrives whole" {
	run abt -- sh -c "curl -sS -m 30 --cacert $TEST_CA https://$TLS_ORIGIN/bytes/1048576 | wc -c"
	echo "$output"
	[ "$output" = "1048576" ]
}
