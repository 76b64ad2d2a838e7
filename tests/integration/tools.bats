#!/usr/bin/env bats
# tools.bats - real clients inside agentbox: curl, wget, git, python, pip
# through Squid; their own configuration cannot route around the proxy; ssh's
# tunnel (agentbox connect); and a TLS-inspecting Squid (ssl-bump) whose CA
# the clients trust inside agentbox only, with [network] ca_bundle.

load helpers
bats_require_minimum_version 1.5.0

# A git repository (dumb HTTP) and a pip index under the origins' /files/,
# and a second Squid that bumps TLS with a CA made here
setup_file() {
	local w="$ORIGIN_ROOT"
	if [ ! -d "$w/repo.git" ]; then
		bare_repo "$w/repo.git" "agentbox test repository"
		/usr/bin/python3 - "$w" <<'PY'
import base64, hashlib, os, sys, zipfile
w = sys.argv[1]
os.makedirs(w + "/simple/agentbox-demo", exist_ok=True)
name = "agentbox_demo-1.0-py3-none-any.whl"
files = {
    "agentbox_demo/__init__.py": b"VERSION = '1.0'\n",
    "agentbox_demo-1.0.dist-info/METADATA":
        b"Metadata-Version: 2.1\nName: agentbox-demo\nVersion: 1.0\n",
    "agentbox_demo-1.0.dist-info/WHEEL":
        b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = ""
for k, v in files.items():
    h = base64.urlsafe_b64encode(hashlib.sha256(v).digest()).rstrip(b"=").decode()
    record += "%s,sha256=%s,%d\n" % (k, h, len(v))
record += "agentbox_demo-1.0.dist-info/RECORD,,\n"
files["agentbox_demo-1.0.dist-info/RECORD"] = record.encode()
with zipfile.ZipFile(w + "/simple/agentbox-demo/" + name, "w") as z:
    for k, v in files.items():
        z.writestr(k, v)
open(w + "/simple/agentbox-demo/index.html", "w").write(
    '<html><body><a href="%s">%s</a></body></html>\n' % (name, name))
open(w + "/simple/index.html", "w").write(
    '<html><body><a href="agentbox-demo/">agentbox-demo</a></body></html>\n')
PY
		chmod -R a+rX "$w"
	fi

	# ssl-bump Squid: its CA signs a certificate for every name it bumps
	export BUMP="$FIX/bump"
	mkdir -p "$BUMP"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=agentbox test bump CA" \
		-keyout "$BUMP/ca.key" -out "$BUMP/ca.pem" 2>/dev/null
	export BUMP_PORT=$(free_port)
	local user=$(id -un) as=()
	[ "$(id -u)" = 0 ] && { user=proxy; as=(runuser -u proxy --); chown -R proxy "$BUMP"; }
	rm -rf "$BUMP/ssl_db"
	"${as[@]}" /usr/lib/squid/security_file_certgen -c -s "$BUMP/ssl_db" -M 4MB >/dev/null
	{ cat <<CONF
http_port 127.0.0.1:$BUMP_PORT ssl-bump tls-cert=$BUMP/ca.pem tls-key=$BUMP/ca.key generate-host-certificates=on dynamic_cert_mem_cache_size=4MB
sslcrtd_program /usr/lib/squid/security_file_certgen -s $BUMP/ssl_db -M 4MB
sslcrtd_children 3 startup=1 idle=1
acl step1 at_step SslBump1
ssl_bump peek step1
ssl_bump bump all
tls_outgoing_options cafile=$TEST_CA
pid_filename $BUMP/squid.pid
access_log stdio:$BUMP/access.log
cache_log $BUMP/cache.log
CONF
	  squid_common_conf "$user"; } >"$BUMP/squid.conf"
	touch "$BUMP/access.log" "$BUMP/cache.log"
	[ "$user" = proxy ] && chown proxy "$BUMP/access.log" "$BUMP/cache.log"
	squid -N -n "abbump$BUMP_PORT" -f "$BUMP/squid.conf" >"$BUMP/out" 2>&1 &
	echo $! >"$BUMP/run.pid"
	wait_for_port "$BUMP_PORT" 20 || {
		echo "bump squid did not start" >&2; cat "$BUMP/out" "$BUMP/cache.log" >&2; return 1; }
	printf '[network]\nupstream = http://127.0.0.1:%s\nca_bundle = %s\n' \
		"$BUMP_PORT" "$BUMP/ca.pem" >"$BATS_FILE_TMPDIR/bump.conf"
	printf '[network]\nupstream = http://127.0.0.1:%s\n' \
		"$BUMP_PORT" >"$BATS_FILE_TMPDIR/bump-noca.conf"
}

teardown_file() {
	local pid
	pid=$(cat "$BUMP/run.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	timeout 10 tail --pid="$pid" -f /dev/null 2>/dev/null
	rm -rf /dev/shm/abbump"$BUMP_PORT"-* 2>/dev/null
	return 0
}

setup() {
	export HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$HOME"
	cd "$BATS_TEST_TMPDIR"
	# this machine's own settings must not help or hinder
	unset GIT_SSL_CAINFO PIP_CERT PIP_FIND_LINKS PIP_INDEX_URL SSL_CERT_FILE SSL_CERT_DIR \
		CURL_CA_BUNDLE REQUESTS_CA_BUNDLE GIT_CONFIG_COUNT
	export PIP_DISABLE_PIP_VERSION_CHECK=1
	PY_GET='import sys, ssl, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2] if len(sys.argv) > 2 else None)
print(urllib.request.urlopen(sys.argv[1], context=ctx, timeout=20).read().decode(), end="")'
}

bump_logged() {	# PATTERN in the bumping Squid's log
	logged_in "$BUMP/access.log" "$1"
}

@test "clients through Squid inside agentbox: curl, wget, git clone over https, python urllib, pip download" {
	run ab -- sh -c "
		curl -sS -m 20 --cacert '$TEST_CA' https://$TLS_ORIGIN/hello &&
		wget -q -T 20 -O- http://$ORIGIN/hello &&
		git -c http.sslCAInfo='$TEST_CA' clone -q https://$TLS_ORIGIN/files/repo.git clone &&
		cat clone/README &&
		/usr/bin/python3 -c '$PY_GET' https://$TLS_ORIGIN/hello '$TEST_CA' &&
		/usr/bin/python3 -m pip download -q --no-cache-dir --no-deps -d dl --cert '$TEST_CA' \
			--index-url https://$TLS_ORIGIN/files/simple/ agentbox-demo && ls dl"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'hello from origin' <<<"$output")" -eq 3 ]
	[[ "$output" == *"agentbox test repository"* ]]
	[[ "$output" == *"agentbox_demo-1.0-py3-none-any.whl"* ]]
	squid_logged "CONNECT $TLS_ORIGIN "
	squid_logged "GET http://$ORIGIN/hello"
}

@test "tool configuration files naming another proxy do not route around agentbox's (git, pip, npm)" {
	git config --global http.proxy http://127.0.0.1:9
	mkdir -p "$HOME/.config/pip"
	printf '[global]\nproxy = http://127.0.0.1:9\n' >"$HOME/.config/pip/pip.conf"
	printf 'proxy=http://127.0.0.1:9\nhttps-proxy=http://127.0.0.1:9\n' >"$HOME/.npmrc"
	run ab -- sh -c "
		git clone -q http://$ORIGIN/files/repo.git clone && cat clone/README &&
		/usr/bin/python3 -m pip download -q --no-cache-dir --no-deps -d dl \
			--trusted-host origin.test --index-url http://$ORIGIN/files/simple/ agentbox-demo && ls dl &&
		echo npm=\$npm_config_https_proxy java=\$JAVA_TOOL_OPTIONS"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"agentbox test repository"* ]]
	[[ "$output" == *"agentbox_demo-1.0-py3-none-any.whl"* ]]
	[[ "$output" == *"npm=http://10.38.0.1:3128 java=-Dhttp.proxyHost=10.38.0.1 -Dhttp.proxyPort=3128 "* ]]
	# the caller's own git command-line configuration is kept, ours follows
	run env GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=user.name GIT_CONFIG_VALUE_0=kept \
		"$AGENTBOX" -- sh -c 'git config user.name; git config http.proxy'
	[ "${lines[0]}" = kept ]
	[ "${lines[1]}" = http://10.38.0.1:3128 ]
}

@test "agentbox connect: ssh's tunnel through the proxy's CONNECT, refused where the proxy says no" {
	run ab -- sh -c 'echo "$GIT_SSH_COMMAND"'
	[[ "$output" == "ssh -o 'ProxyCommand=$AGENTBOX connect %h %p'" ]]
	# (ssh keeps its side open: so does this, for at most 3 s)
	run ab -- sh -c "{ printf 'GET /hello HTTP/1.0\r\n\r\n'; sleep 3; } | \"\$0\" connect origin.test $ORIGIN_PORT" "$AGENTBOX"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"hello from origin"* ]]
	squid_logged "CONNECT $ORIGIN "
	# the built-in proxy allows ports 80 and 443 unless [egress] ports says more
	run --separate-stderr "$AGENTBOX" --upstream builtin -- "$AGENTBOX" connect example.invalid 22 </dev/null
	[ "$status" -eq 1 ]
	[[ "$stderr" == "agentbox connect example.invalid:22: the proxy refused the tunnel: 403: port 22 is not an allowed port"* ]]
	run --separate-stderr "$AGENTBOX" connect 'bad host' 22
	[ "$status" -eq 1 ]
}

@test "ssl-bump: with ca_bundle, curl, wget, git, python and pip trust the proxy's CA inside agentbox" {
	run "$AGENTBOX" --profile "$BATS_FILE_TMPDIR/bump.conf" -- sh -c "
		curl -sS -m 20 https://$TLS_ORIGIN/hello &&
		wget -q -T 20 -O- https://$TLS_ORIGIN/hello &&
		git clone -q https://$TLS_ORIGIN/files/repo.git clone && cat clone/README &&
		/usr/bin/python3 -c '$PY_GET' https://$TLS_ORIGIN/hello &&
		/usr/bin/python3 -m pip download -q --no-cache-dir --no-deps -d dl \
			--index-url https://$TLS_ORIGIN/files/simple/ agentbox-demo && ls dl &&
		echo \"\$SSL_CERT_FILE \$NODE_EXTRA_CA_CERTS \$GIT_SSL_CAINFO\""
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'hello from origin' <<<"$output")" -eq 3 ]
	[[ "$output" == *"agentbox test repository"* ]]
	[[ "$output" == *"agentbox_demo-1.0-py3-none-any.whl"* ]]
	# Squid saw the requests inside the tunnels: it did inspect them
	bump_logged "GET https://$TLS_ORIGIN/hello"
	bump_logged "GET https://$TLS_ORIGIN/files/repo.git/info/refs"
	bump_logged "GET https://$TLS_ORIGIN/files/simple/agentbox-demo/"
}

@test "ssl-bump: outside agentbox, and inside without ca_bundle, the same clients refuse the proxy's certificate" {
	run curl -sS -m 20 -x "http://127.0.0.1:$BUMP_PORT" "https://$TLS_ORIGIN/hello"
	[ "$status" -eq 60 ]
	run "$AGENTBOX" --profile "$BATS_FILE_TMPDIR/bump-noca.conf" -- sh -c "
		curl -sS -m 20 https://$TLS_ORIGIN/hello; echo curl=\$?
		/usr/bin/python3 -c '$PY_GET' https://$TLS_ORIGIN/hello 2>&1 | tail -1
		git clone -q https://$TLS_ORIGIN/files/repo.git clone 2>&1; echo git=\$?"
	echo "$output"
	[[ "$output" == *"curl=60"* ]]
	[[ "$output" == *"CERTIFICATE_VERIFY_FAILED"* ]]
	[[ "$output" == *"git=128"* ]]
	[[ "$output" != *"hello from origin"* ]]
}

@test "ca_bundle: the host's bundle is untouched, the sandbox's is read-only; a key or a non-PEM file is refused (125)" {
	sys=$(readlink -f /etc/ssl/certs/ca-certificates.crt)
	before=$(sha256sum "$sys")
	run "$AGENTBOX" --profile "$BATS_FILE_TMPDIR/bump.conf" -- sh -c "
		grep -c 'BEGIN CERTIFICATE' '$sys'
		echo junk >>'$sys' || echo refused"
	[[ "$output" == *refused* ]]
	[ "${lines[0]}" -eq $(($(grep -c 'BEGIN CERTIFICATE' "$sys") + 1)) ]
	[ "$(sha256sum "$sys")" = "$before" ]
	cat "$BUMP/ca.pem" "$BUMP/ca.key" >with-key.pem
	printf '[network]\nca_bundle = %s\n' "$PWD/with-key.pem" >key.conf
	run "$AGENTBOX" --profile "$PWD/key.conf" -- echo ran
	[ "$status" -eq 125 ]
	[[ "$output" == "agentbox: ca_bundle $PWD/with-key.pem: line "*": a private key; give the CA certificate only"* ]]
	[[ "$output" != *ran* ]]
	echo "not a certificate" >bad.pem
	printf '[network]\nca_bundle = %s\n' "$PWD/bad.pem" >bad.conf
	run "$AGENTBOX" --profile "$PWD/bad.conf" -- echo ran
	[ "$status" -eq 125 ]
	[[ "$output" == *"ca_bundle $PWD/bad.pem: no PEM certificate in it"* ]]
	printf '[network]\nca_bundle = relative.pem\n' >rel.conf
	run "$AGENTBOX" --profile "$PWD/rel.conf" -- echo ran
	[ "$status" -eq 125 ]
	[[ "$output" == *"rel.conf:2: ca_bundle 'relative.pem': expected an absolute path"* ]]
}

@test "a JVM (HttpURLConnection) reaches the origin through the proxy given in JAVA_TOOL_OPTIONS; without it only by interception" {
	export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
	run ab -- java "$TESTS_DIR/helpers/Fetch.java" "http://$ORIGIN/hello"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"hello from origin"* ]]
	squid_logged "GET http://$ORIGIN/hello"
	! grep -q '"intercept"' "$XDG_STATE_HOME/agentbox/audit.jsonl"
	run ab_closed -- sh -c 'unset JAVA_TOOL_OPTIONS; exec java "$0" "$1"' \
		"$TESTS_DIR/helpers/Fetch.java" "http://$ORIGIN/hello"
	[ "$status" -ne 0 ]
	[[ "$output" != *"hello from origin"* ]]
	run ab -- sh -c 'unset JAVA_TOOL_OPTIONS; exec java "$0" "$1"' \
		"$TESTS_DIR/helpers/Fetch.java" "http://$ORIGIN/hello"
	[[ "$output" == *"hello from origin"* ]]
	grep -q '"intercept":{"mode":"http"' "$XDG_STATE_HOME/agentbox/audit.jsonl"
}
