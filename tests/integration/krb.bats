#!/usr/bin/env bats
# [network] negotiate = yes: Kerberos (Negotiate) authentication to the
# proxy with the user's ticket.  setup_file makes a real MIT KDC (krb5kdc)
# on a loopback port, a realm with a user and the proxy's HTTP/127.0.0.1
# principal, and a Squid that authenticates with negotiate_kerberos_auth
# and its keytab; all are stopped by pid in teardown_file.

load helpers

REALM=AGENTBOX.TEST

setup_file() {
	command -v krb5kdc >/dev/null && command -v kinit >/dev/null &&
		[ -x /usr/lib/squid/negotiate_kerberos_auth ] ||
		skip "krb5-kdc, krb5-user or Squid's negotiate helper is missing (make deps)"
	local d kp sp user
	# not under BATS_FILE_TMPDIR: Squid started by root runs as 'proxy'
	# and must reach its logs and the keytab
	d=$(mktemp -d /tmp/agentbox-krb.XXXXXX) || return 1
	echo "$d" >"$BATS_FILE_TMPDIR/dir"
	chmod 755 "$d"
	kp=$(free_port)
	sp=$(free_port)
	cat >"$d/krb5.conf" <<CONF
[libdefaults]
	default_realm = $REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	udp_preference_limit = 1
[realms]
	$REALM = {
		kdc = 127.0.0.1:$kp
	}
CONF
	cat >"$d/kdc.conf" <<CONF
[kdcdefaults]
	kdc_listen = 127.0.0.1:$kp
	kdc_tcp_listen = 127.0.0.1:$kp
[realms]
	$REALM = {
		database_name = $d/principal
		key_stash_file = $d/stash
		acl_file = $d/kadm5.acl
	}
[logging]
	kdc = FILE:$d/kdc.log
CONF
	export KRB5_CONFIG="$d/krb5.conf" KRB5_KDC_PROFILE="$d/kdc.conf"
	kdb5_util create -s -r "$REALM" -P "master-$$" >/dev/null 2>&1
	kadmin.local -q "addprinc -pw user-$$ alice@$REALM" >/dev/null 2>&1
	kadmin.local -q "addprinc -randkey HTTP/127.0.0.1@$REALM" >/dev/null 2>&1
	kadmin.local -q "ktadd -k $d/http.keytab HTTP/127.0.0.1@$REALM" >/dev/null 2>&1
	chmod 644 "$d/http.keytab"	# a test key, for Squid as 'proxy'
	krb5kdc -n -P "$d/kdc.pid" &
	echo $! >"$d/kdc.runpid"
	wait_for_port "$kp" 10
	user=$(id -un)
	[ "$(id -u)" = 0 ] && user=proxy
	touch "$d/access.log" "$d/cache.log"
	[ "$user" = proxy ] && chown proxy "$d/access.log" "$d/cache.log" "$d"
	cat >"$d/squid.conf" <<CONF
http_port 127.0.0.1:$sp
pid_filename $d/squid.pid
cache_log $d/cache.log
auth_param negotiate program /usr/lib/squid/negotiate_kerberos_auth -k $d/http.keytab -s HTTP/127.0.0.1@$REALM
auth_param negotiate children 2
auth_param negotiate keep_alive on
acl authed proxy_auth REQUIRED
http_access allow authed
include $TESTS_DIR/../contrib/squid-agentbox.conf
logformat kerb %ru user=%un %Ss/%03>Hs "%{X-Agentbox-Session}>h" basic=%{Proxy-Authorization}>h
access_log stdio:$d/access.log kerb
CONF
	squid_common_conf "$user" | grep -v '^http_access allow localhost' >>"$d/squid.conf"
	squid -N -n "abkrb$sp" -f "$d/squid.conf" >"$d/squid.out" 2>&1 &
	echo $! >"$d/squid.runpid"
	echo "$sp" >"$d/squid.port"
	wait_for_port "$sp" 20 || {
		echo "squid did not start:" >&2
		cat "$d/squid.out" "$d/cache.log" >&2; return 1; }
	# the user's ticket, in a cache of its own
	echo "user-$$" | KRB5CCNAME="FILE:$d/cc" kinit "alice@$REALM" >/dev/null
}

teardown_file() {
	local d
	[ -f "$BATS_FILE_TMPDIR/dir" ] || return 0
	d=$(cat "$BATS_FILE_TMPDIR/dir")
	stop_runpids "$d" squid kdc
	[ -f "$d/squid.port" ] && rm -f /dev/shm/abkrb"$(cat "$d/squid.port")"-* 2>/dev/null
	rm -rf "$d"
	return 0
}

setup() {
	D=$(cat "$BATS_FILE_TMPDIR/dir")
	export KRB5_CONFIG="$D/krb5.conf" KRB5CCNAME="FILE:$D/cc"
	export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
	KUP="http://127.0.0.1:$(cat "$D/squid.port")"
	printf '[network]\nnegotiate = yes\n' >"$BATS_TEST_TMPDIR/neg.conf"
}

kerb_logged() {	# PATTERN: in the Kerberized Squid's log, within a bound
	logged_in "$D/access.log" "$1"
}

@test "negotiate: a sandboxed request is in Squid's log under the user's Kerberos principal, with the identity" {
	run "$AGENTBOX" --upstream "$KUP" --profile "$BATS_TEST_TMPDIR/neg.conf" -- \
		sh -c "curl -sS -m 20 http://$ORIGIN/hello; env -i /usr/bin/curl -sS -m 20 --cacert $TEST_CA https://$TLS_ORIGIN/hello"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "hello from origin" ]
	[ "${lines[1]}" = "hello from origin" ]
	kerb_logged "http://$ORIGIN/hello user=alice@$REALM TCP_MISS/200 \"session="
	kerb_logged "$TLS_ORIGIN user=alice@$REALM TCP_TUNNEL/200 \"session="
}

@test "negotiate: without it the proxy wants authentication (407): the test's Squid really checks" {
	run "$AGENTBOX" --upstream "$KUP" -- curl -sS -m 20 -o /dev/null -w '%{http_code}' "http://$ORIGIN/hello"
	echo "$output"
	[ "$output" = "407" ]
}

@test "negotiate: the ticket cache is hidden inside and KRB5CCNAME unset; the sandbox's own Proxy-Authorization is replaced" {
	run "$AGENTBOX" --upstream "$KUP" --profile "$BATS_TEST_TMPDIR/neg.conf" -- sh -c \
		"echo \"ccname=\${KRB5CCNAME:-unset} size=\$(stat -c %s '$D/cc')\"; klist 2>&1 | head -1; curl -sS -m 20 --proxy-user mallory:pw -o /dev/null -w '%{http_code}\n' http://$ORIGIN/hello?forged"
	echo "$output"
	[[ "${lines[0]}" == "ccname=unset size=0" ]]
	[[ "$output" != *"alice@$REALM"* ]]
	[ "${lines[-1]}" = "200" ]
	kerb_logged "http://$ORIGIN/hello user=alice@$REALM TCP_MISS/200"
	! grep -q "mallory\|basic=Basic" "$D/access.log"
}

@test "negotiate: without a ticket agentbox names the cause and the fix (kinit), and nothing runs" {
	KRB5CCNAME="FILE:$BATS_TEST_TMPDIR/no-cache" run "$AGENTBOX" --upstream "$KUP" \
		--profile "$BATS_TEST_TMPDIR/neg.conf" -- touch "$BATS_TEST_TMPDIR/ran"
	echo "$output"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "agentbox: Negotiate to the upstream proxy: no Kerberos credentials ("*"); hint: run kinit, then agentbox again" ]]
	[ ! -e "$BATS_TEST_TMPDIR/ran" ]
}
