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
	# without interception, GNOME's "none" leaves it no way out ...
	printf '[network]\nintercept = no\n' >"$BATS_TEST_TMPDIR/off.conf"
	run timeout 60 "$AGENTBOX" --upstream "http://127.0.0.1:$SQUID_PORT" \
		--profile "$BATS_TEST_TMPDIR/off.conf" -- \
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
	# -noreset: a desktop's X server keeps its clients; Xvfb would reset
	# (and revoke every generated cookie) when its last client leaves
	Xvfb "$DISPLAY" -auth "$XAUTHORITY" -noreset -nolisten tcp -screen 0 800x600x24 >"$BATS_TEST_TMPDIR/xvfb.log" 2>&1 &
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

# A window of a program outside on the X display: its id in $win; its
# output file gets the id, then the number of key presses it got in 8 s
host_window() {
	/usr/bin/python3 -c '
import sys, time
from Xlib import X, display
d = display.Display()
w = d.screen().root.create_window(10, 10, 200, 100, 0, d.screen().root_depth,
    event_mask=X.KeyPressMask | X.ExposureMask)
w.set_wm_name("host-window")
w.map(); d.sync()
w.set_input_focus(X.RevertToParent, X.CurrentTime); d.sync()
print(hex(w.id), flush=True)
keys, t = 0, time.time()
while time.time() - t < 8:
    while d.pending_events():
        if d.next_event().type == X.KeyPress:
            keys += 1
    time.sleep(0.05)
print(keys, flush=True)
' >"$BATS_TEST_TMPDIR/host-window.out" &
	HOSTWIN=$!
	for i in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/host-window.out" ] && break; sleep 0.05; done
	win=$(head -1 "$BATS_TEST_TMPDIR/host-window.out")
}

@test "X11 under the cursor profile: XTEST from inside types nothing into a window outside, which it cannot read either; Chromium still draws its window" {
	export AGENTBOX_TEST_SYSCONF="$SYSCONF_DIR/open" AGENTBOX_TEST_VENDOR="$VENDOR_DIR"
	start_xvfb
	host_window
	[ -n "$win" ]
	# the attack works outside: the test can tell
	xdotool key --window "$win" a b c
	run timeout 60 "$AGENTBOX" --upstream "http://127.0.0.1:$SQUID_PORT" --profile cursor -- sh -c '
		xdotool key a b c d e f g h i j 2>/dev/null && echo TYPED
		/usr/bin/python3 -c "
import sys
from Xlib import display, error
d = display.Display()
print(\"extensions:\", \" \".join(sorted(d.list_extensions())))
w = d.create_resource_object(\"window\", int(sys.argv[1], 16))
try:
    w.get_image(0, 0, 10, 10, 2, 0xffffffff); print(\"READ the window\")
except error.XError as e:
    print(\"read refused:\", type(e).__name__)
" "$1"
		grep -c . "${XAUTHORITY:-$HOME/.Xauthority}" >/dev/null && echo cookie file there
		"$2" --ozone-platform=x11 --disable-gpu --no-first-run --user-data-dir="$HOME/gui2" $3 \
			"data:text/html,<title>drawn-inside</title><h1>x</h1>" 2>/dev/null &
		for i in $(seq 100); do
			xwininfo -root -tree 2>/dev/null | grep -q drawn-inside && break
			sleep 0.1
		done
		xwininfo -root -tree | grep -o "\"drawn-inside[^\"]*\"" | head -1
		kill %1 2>/dev/null; true' sh "$win" chromium "$([ "$(id -u)" = 0 ] && echo --no-sandbox)"
	wait "$HOSTWIN"
	kill "$XVFB"
	echo "$output" >&2
	cat "$BATS_TEST_TMPDIR/host-window.out" >&2
	[ "$status" -eq 0 ]
	[[ "$output" != *TYPED* && "$output" != *"READ the window"* ]]
	[[ "$output" == *"extensions: BIG-REQUESTS XC-MISC"* ]]
	[[ "$output" == *"read refused"* ]]
	[[ "$output" == *'"drawn-inside - Chromium"'* ]]
	# the host window got the 3 keys sent outside, none from inside
	[ "$(sed -n 2p "$BATS_TEST_TMPDIR/host-window.out")" = 3 ]
}

@test "X11: an X server that admits every process of the user (xhost +SI:localuser) is refused under the cursor profile, not used as trusted" {
	export AGENTBOX_TEST_SYSCONF="$SYSCONF_DIR/open" AGENTBOX_TEST_VENDOR="$VENDOR_DIR"
	start_xvfb
	xhost "+SI:localuser:$(id -un)" >/dev/null
	run timeout 60 "$AGENTBOX" --upstream "http://127.0.0.1:$SQUID_PORT" --profile cursor -- xdpyinfo
	kill "$XVFB"
	[ "$status" -eq 125 ]
	[[ "$output" == "agentbox: X11: the X server of $DISPLAY admits every process of yours without a cookie (xhost: SI:localuser:$(id -un)), so the sandbox would be a trusted client; hint: remove that entry (xhost -SI:localuser:$(id -un)), or set [unix] x11 = trusted in the profile" ]]
}
