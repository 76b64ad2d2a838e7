#!/usr/bin/env bats
# chromium.bats - the engine of Cursor and VS Code inside agentbox: headless
# Chromium loads a page from a local HTTPS origin through Squid, its own
# sandbox works nested, and a page the policy refuses fails cleanly.

load helpers

setup() {
	export HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$HOME/.pki/nssdb"
	cd "$BATS_TEST_TMPDIR"
	# Chromium trusts NSS's database, not the system bundle: the test CA
	# goes there, as a corporate CA would
	certutil -d "sql:$HOME/.pki/nssdb" -N --empty-password
	certutil -d "sql:$HOME/.pki/nssdb" -A -t "C,," -n "agentbox test CA" -i "$TEST_CA"
	CHROMIUM=(chromium --headless --disable-gpu --no-first-run
		--user-data-dir="$HOME/profile")
	# Chromium runs its sandbox only for a user other than root
	[ "$(id -u)" = 0 ] && CHROMIUM+=(--no-sandbox)
	return 0
}

@test "headless Chromium inside agentbox loads a page from a local HTTPS origin through Squid" {
	run timeout 60 "$AGENTBOX" --upstream "http://127.0.0.1:$SQUID_PORT" -- \
		"${CHROMIUM[@]}" --dump-dom "https://$TLS_ORIGIN/hello"
	echo "$output" | grep -v dbus | tail -5
	[ "$status" -eq 0 ]
	[[ "$output" == *"<pre"*"hello from origin"* ]]
	squid_logged "CONNECT $TLS_ORIGIN "
}

@test "Chromium's own sandbox works nested: renderers under seccomp, in namespaces of their own" {
	[ "$(id -u)" != 0 ] || skip "Chromium refuses its sandbox as root (the unprivileged run checks it)"
	run timeout 60 "$AGENTBOX" --upstream "http://127.0.0.1:$SQUID_PORT" -- sh -c '
		"$@" --remote-debugging-port=0 about:blank 2>/dev/null &
		for i in $(seq 100); do
			r=$(pgrep -f -- "--type=renderer" | head -1)
			[ -n "$r" ] && break
			sleep 0.1
		done
		[ -n "$r" ] || { echo "no renderer"; exit 1; }
		echo "seccomp=$(awk "/^Seccomp:/ {print \$2}" /proc/$r/status)"
		[ "$(readlink /proc/$r/ns/user)" != "$(readlink /proc/self/ns/user)" ] && echo own-userns
		[ "$(readlink /proc/$r/ns/pid)" != "$(readlink /proc/self/ns/pid)" ] && echo own-pidns
		[ "$(readlink /proc/$r/ns/net)" != "$(readlink /proc/self/ns/net)" ] && echo own-netns
		kill %1' sh "${CHROMIUM[@]}"
	echo "$output"
	[[ "$output" == *"seccomp=2"* ]]
	[[ "$output" == *own-userns*own-pidns*own-netns* ]]
}

@test "Chromium fails cleanly when the policy refuses the origin: a tunnel error, no content, the refusal logged" {
	# the port is allowed: the name is what the policy refuses
	printf '[egress]\nports = %s\ndeny = origin.test\n' "$TLS_PORT" >deny.conf
	run timeout 60 "$AGENTBOX" --upstream builtin --profile "$PWD/deny.conf" -- \
		"${CHROMIUM[@]}" --dump-dom "https://$TLS_ORIGIN/hello"
	echo "$output" | grep -v dbus | tail -5
	[ "$status" -eq 0 ]
	[[ "$output" == *"Page load failed: net::ERR_TUNNEL_CONNECTION_FAILED"* ]]
	[[ "$output" != *"hello from origin"* ]]
	grep '"action":"connect"' "$AUDIT_LOG" | tail -1 >last
	grep -q '"type":\["denied"\]' last
	grep -q "origin.test is denied by 'deny = origin.test'" last
	grep -q '"name":"chromium' last
}

@test "the cursor profile lets the IDE reach its Wayland display socket, and not the session bus next to it" {
	export AGENTBOX_TEST_SYSCONF="$SYSCONF_DIR/open" AGENTBOX_TEST_VENDOR="$VENDOR_DIR"
	export XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR/run"
	mkdir -m 700 "$XDG_RUNTIME_DIR"
	/usr/bin/python3 -c '
import os, socket, sys, threading, time
def serve(path, word):
    s = socket.socket(socket.AF_UNIX); s.bind(path); s.listen(4)
    while True:
        c, _ = s.accept(); c.sendall(word); c.close()
for p, w in (("wayland-1", b"display"), ("bus", b"bus")):
    threading.Thread(target=serve, args=(os.path.join(sys.argv[1], p), w), daemon=True).start()
time.sleep(60)' "$XDG_RUNTIME_DIR" &
	srv=$!
	for i in $(seq 100); do [ -S "$XDG_RUNTIME_DIR/bus" ] && break; sleep 0.05; done
	run "$AGENTBOX" --upstream builtin --profile cursor -- /usr/bin/python3 -c '
import os, socket
for p in ("wayland-1", "bus"):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(os.path.join(os.environ["XDG_RUNTIME_DIR"], p)); print(p, s.recv(16).decode())
    except OSError as e:
        print(p, "refused", e.errno)
print("dbus=" + os.environ.get("DBUS_SESSION_BUS_ADDRESS", "unset"))'
	kill "$srv"
	echo "$output"
	[[ "$output" == *"wayland-1 display"* ]]
	[[ "$output" == *"bus refused "* ]]
	[[ "$output" == *"dbus=unset"* ]]
}

@test "under a GNOME session Chromium takes GNOME's proxy settings (none): the cursor profile makes it use agentbox's" {
	export AGENTBOX_TEST_SYSCONF="$SYSCONF_DIR/open" AGENTBOX_TEST_VENDOR="$VENDOR_DIR"
	export XDG_CURRENT_DESKTOP=GNOME DESKTOP_SESSION=gnome
	run timeout 60 "$AGENTBOX" --upstream "http://127.0.0.1:$SQUID_PORT" -- \
		"${CHROMIUM[@]}" --dump-dom "https://$TLS_ORIGIN/hello"
	echo "$output" | grep -v dbus | tail -3
	[[ "$output" != *"hello from origin"* ]]
	run timeout 60 "$AGENTBOX" --upstream "http://127.0.0.1:$SQUID_PORT" --profile cursor -- \
		"${CHROMIUM[@]}" --dump-dom "https://$TLS_ORIGIN/hello"
	echo "$output" | grep -v dbus | tail -3
	[ "$status" -eq 0 ]
	[[ "$output" == *"hello from origin"* ]]
}

@test "a websocket (wss) from a page in Chromium goes through the proxy's CONNECT and back" {
	before=$(grep -c "CONNECT $TLS_ORIGIN " "$SQUID_LOG")
	run timeout 60 "$AGENTBOX" --upstream "http://127.0.0.1:$SQUID_PORT" -- \
		"${CHROMIUM[@]}" --dump-dom "https://$TLS_ORIGIN/ws-page"
	echo "$output" | grep -v dbus | tail -3
	[ "$status" -eq 0 ]
	[[ "$output" == *"<p id=\"r\">ws echo: ping</p>"* ]]
	# the page's tunnel and the websocket's own
	for i in $(seq 40); do
		[ "$(grep -c "CONNECT $TLS_ORIGIN " "$SQUID_LOG")" -ge $((before + 2)) ] && break
		sleep 0.05
	done
	[ "$(grep -c "CONNECT $TLS_ORIGIN " "$SQUID_LOG")" -ge $((before + 2)) ]
}

# A real X server (Xvfb) with a cookie: the cursor profile lets X clients
# reach it, agentbox without it does not
start_xvfb() {
	local n
	for n in $(seq 90 140); do
		[ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] || break
	done
	DISPLAY=":$n"
	export XAUTHORITY="$HOME/.Xauthority" DISPLAY
	xauth add "$DISPLAY" . "$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
	Xvfb "$DISPLAY" -auth "$XAUTHORITY" -nolisten tcp -screen 0 800x600x24 >"$BATS_TEST_TMPDIR/xvfb.log" 2>&1 &
	XVFB=$!
	for i in $(seq 100); do xdpyinfo >/dev/null 2>&1 && return 0; sleep 0.05; done
	cat "$BATS_TEST_TMPDIR/xvfb.log" >&2
	return 1
}

@test "X11: under the cursor profile an X client and a Chromium window reach the display (Xauthority kept); without it, not" {
	export AGENTBOX_TEST_SYSCONF="$SYSCONF_DIR/open" AGENTBOX_TEST_VENDOR="$VENDOR_DIR"
	start_xvfb
	run timeout 60 "$AGENTBOX" --upstream "http://127.0.0.1:$SQUID_PORT" -- xdpyinfo
	no_profile=$status
	run timeout 60 "$AGENTBOX" --upstream "http://127.0.0.1:$SQUID_PORT" --profile cursor -- sh -c '
		xdpyinfo | grep "^name of display"
		"$@" --ozone-platform=x11 --remote-debugging-port=0 "https://'"$TLS_ORIGIN"'/hello" 2>/dev/null &
		for i in $(seq 100); do
			xwininfo -root -tree | grep -q "hello" && break
			sleep 0.1
		done
		xwininfo -root -tree | grep -o "\"[^\"]*hello[^\"]*\"" | head -1
		kill %1' sh chromium --disable-gpu --no-first-run --user-data-dir="$HOME/gui" \
		$([ "$(id -u)" = 0 ] && echo --no-sandbox)
	kill "$XVFB"
	echo "$output"
	[ "$no_profile" -ne 0 ]
	[[ "${lines[0]}" == "name of display:    $DISPLAY"* ]]
	[[ "$output" == *'"origin.test'*'hello'* ]]
}
