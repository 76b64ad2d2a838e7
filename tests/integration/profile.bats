#!/usr/bin/env bats
# profile.bats - profiles: errors with file:line, lint, show, list, the
# ownership rule, enforcement, and what the sandbox may not touch:
# read-only and hidden paths, host unix sockets, the environment.

load helpers

setup() {
	export HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$HOME"
	export AGENTBOX_TEST_SYSCONF="$SYSCONF_DIR/open"
	export AGENTBOX_TEST_VENDOR="$VENDOR_DIR"
	P="$(cd "$BATS_TEST_TMPDIR" && pwd -P)/p"
	mkdir -p "$P"
}

teardown() {
	[ -n "${DAEMON_PID:-}" ] && kill "$DAEMON_PID" 2>/dev/null
	return 0
}

@test "lint: every kind of mistake is reported with file:line" {
	cat >"$P/bad.conf" <<'CONF'
[unix]
alow = /tmp/x
[network]
upstream = ftp://proxy:3128
max_conns = 0
verbose = 1
verbose = 2
[filesystem]
readonly = relative/path
missing = maybe
[env]
set = HTTPS_PROXY=http://elsewhere:1
[netwrk]
verbose = 1
[profile]
readonly = /etc
CONF
	run "$AGENTBOX" profile lint "$P/bad.conf"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$P/bad.conf:2: unknown key 'alow' in [unix] (did you mean 'allow'?)"* ]]
	[[ "$output" == *"$P/bad.conf:4: upstream 'ftp://proxy:3128': only http://, https://, ws:// and wss:// proxies are supported"* ]]
	[[ "$output" == *"$P/bad.conf:5: max_conns '0': expected a number from 1 to 65536"* ]]
	[[ "$output" == *"$P/bad.conf:7: duplicate key 'verbose' (first set at line 6)"* ]]
	[[ "$output" == *"$P/bad.conf:9: readonly 'relative/path': a path must be absolute"* ]]
	[[ "$output" == *"$P/bad.conf:10: missing 'maybe': expected 'skip' or 'stub'"* ]]
	[[ "$output" == *"$P/bad.conf:12: set 'HTTPS_PROXY=http://elsewhere:1': HTTPS_PROXY is agentbox's own"* ]]
	[[ "$output" == *"$P/bad.conf:14: unknown section [netwrk] (did you mean [network]?)"* ]]
	[[ "$output" == *"$P/bad.conf:16: key 'readonly' belongs in [filesystem], not [profile]"* ]]
	[[ "$output" == *"9 errors"* ]]
}

@test "lint: the shipped profiles are clean" {
	run "$AGENTBOX" profile lint "$VENDOR_DIR"/*.conf
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "a profile error stops the run: exit 125, one line, nothing started" {
	printf '[filesystem]\nreadonly = ~/.bashrc\nhidee = ~/.ssh\n' >"$P/typo.conf"
	run ab --profile "$P/typo.conf" -- touch "$BATS_TEST_TMPDIR/ran"
	[ "$status" -eq 125 ]
	[ "$output" = "agentbox: $P/typo.conf:3: unknown key 'hidee' in [filesystem] (did you mean 'hide'?)" ]
	[ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "an include loop is an error, at run time and in lint" {
	printf '[profile]\ninclude = ./b.conf\n' >"$P/a.conf"
	printf '[profile]\ninclude = ./a.conf\n' >"$P/b.conf"
	run ab --profile "$P/a.conf" -- touch "$BATS_TEST_TMPDIR/ran"
	[ "$status" -eq 125 ]
	[[ "$output" == "agentbox: $P/b.conf:2: include './a.conf': include loop ($P/a.conf is already being read)" ]]
	[ ! -e "$BATS_TEST_TMPDIR/ran" ]
	run "$AGENTBOX" profile lint "$P/a.conf"
	[ "$status" -eq 1 ]
	[[ "$output" == *"include loop"* ]]
}

@test "a group-writable system profile is refused, naming the file" {
	run ab --profile groupw -- true
	[ "$status" -eq 125 ]
	[[ "$output" == "agentbox: profile $SYSCONF_DIR/open/profiles/groupw.conf refused: $SYSCONF_DIR/open/profiles/groupw.conf is writable by its group" ]]
}

@test "a user profile in a directory others can write is refused" {
	mkdir -m 0777 "$P/shared" && chmod 0777 "$P/shared"
	printf '[network]\nverbose = 1\n' >"$P/shared/x.conf"
	run ab --profile "$P/shared/x.conf" -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"refused: $P/shared is writable by everyone" ]]
}

@test "user profiles turned off: a profile outside the system directories is refused" {
	export AGENTBOX_TEST_SYSCONF="$SYSCONF_DIR/nouser"
	printf '[network]\nverbose = 1\n' >"$P/mine.conf"
	run ab --profile "$P/mine.conf" -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"refused: user profiles are turned off by the system configuration" ]]
}

@test "profile show: the merged profile, each value with the file:line it came from" {
	run "$AGENTBOX" profile show claude-code
	[ "$status" -eq 0 ]
	[[ "$output" == *"# agentbox profile 'claude-code' ($VENDOR_DIR"*"/claude-code.conf)"* ]] ||
	[[ "$output" == *"# agentbox profile 'claude-code' ("*"/profiles/claude-code.conf)"* ]]
	[[ "$output" == *"readonly = !~/.bashrc # "*"/default.conf:"* ]]
	[[ "$output" == *"readonly = !~/.claude/ # "*"/claude-code.conf:"* ]]
	[[ "$output" == *"unset = SSH_AUTH_SOCK # "*"/default.conf:"* ]]
}

@test "profile list: system before vendor, shadowed names marked" {
	run "$AGENTBOX" profile list
	[ "$status" -eq 0 ]
	[[ "$output" == *"default        system  $SYSCONF_DIR/open/profiles/default.conf"* ]]
	[[ "$output" == *"default        vendor  "*"default.conf (shadowed)"* ]]
	[[ "$output" == *"claude-code    vendor  "* ]]
}

@test "enforced profile: a different --upstream is refused, its own is used" {
	export AGENTBOX_TEST_SYSCONF="$SYSCONF_DIR/enforce"
	run ab -- touch "$BATS_TEST_TMPDIR/ran"
	[ "$status" -eq 125 ]
	[[ "$output" == "agentbox: --upstream: the upstream is enforced as 'http://127.0.0.1:9' by $SYSCONF_DIR/enforce/profiles/corp.conf:3" ]]
	# the enforced one (where nothing listens): the request gets its 502
	run "$AGENTBOX" -- curl -sS -m 20 -D - -o /dev/null "http://$ORIGIN/hello"
	echo "$output"
	[[ "$output" == *"X-Agentbox-Reason: upstream proxy 127.0.0.1:9 unreachable: Connection refused"* ]]
}

@test "enforced profile: a user profile may tighten it but not loosen it" {
	export AGENTBOX_TEST_SYSCONF="$SYSCONF_DIR/enforce"
	printf '[network]\nmax_conns = 4\n[unix]\nallow = /tmp/*\n' >"$P/loose.conf"
	run "$AGENTBOX" --profile "$P/loose.conf" -- true
	[ "$status" -eq 125 ]
	[[ "$output" == "agentbox: $P/loose.conf:4: allow '/tmp/*': the enforced profile"*"does not allow this socket, and a profile may only tighten it" ]]
	printf '[env]\nset = CORP_TOKEN=x\n' >"$P/set.conf"
	run "$AGENTBOX" --profile "$P/set.conf" -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"set 'CORP_TOKEN=x': the enforced profile unsets CORP_TOKEN"* ]]
	run "$AGENTBOX" --max-conns 100 -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"--max-conns 100: the enforced profile"*"allows at most 8" ]]
}

@test "enforced profile: egress and audit rules may only be tightened" {
	export AGENTBOX_TEST_SYSCONF="$SYSCONF_DIR/enforce"
	printf '[egress]\nallow = evil.example\n' >"$P/e1.conf"
	run "$AGENTBOX" profile show "$P/e1.conf"
	[ "$status" -ne 0 ]
	[[ "$output" == *"e1.conf:2: allow 'evil.example': the enforced profile"*"allows only its own list, and a profile may only tighten it"* ]]
	printf '[egress]\nports = 22\n' >"$P/e2.conf"
	run "$AGENTBOX" profile show "$P/e2.conf"
	[ "$status" -ne 0 ]
	[[ "$output" == *"e2.conf:2: ports '22': the enforced profile"* ]]
	printf '[audit]\nlog = none\n' >"$P/e3.conf"
	run "$AGENTBOX" profile show "$P/e3.conf"
	[ "$status" -ne 0 ]
	[[ "$output" == *"e3.conf:2: log: enforced as 'file' by $SYSCONF_DIR/enforce/profiles/corp.conf:"* ]]
	# a deny, or repeating the enforced allow, tightens: accepted
	printf '[egress]\ndeny = build.corp.example\nallow = *.corp.example\n' >"$P/ok.conf"
	run "$AGENTBOX" profile show "$P/ok.conf"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"deny = build.corp.example # $P/ok.conf:2"* ]]
	[[ "$output" == *"ports = 443 # $SYSCONF_DIR/enforce/profiles/corp.conf:"*"(enforced)"* ]]
}

# A daemon outside that binds SOCK after DELAY seconds and answers every
# connection with "daemon reached", for 20 s
unix_daemon() {	# SOCK DELAY
	/usr/bin/python3 -c '
import socket, sys, time
time.sleep(float(sys.argv[2]))
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4); s.settimeout(20)
t = time.time()
while time.time() - t < 20:
    try: c, _ = s.accept()
    except OSError: break
    c.sendall(b"daemon reached\n"); c.close()
' "$1" "$2" &
	DAEMON_PID=$!
}

@test "host daemon's unix socket: unreachable inside unless the profile allows it" {
	sock="$BATS_TEST_TMPDIR/daemon.sock"
	unix_daemon "$sock" 0
	for i in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
	client="import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print(s.recv(64).decode().strip())"
	# reachable outside: the test daemon works
	run /usr/bin/python3 -c "$client" "$sock"
	[ "$output" = "daemon reached" ]
	run ab -- /usr/bin/python3 -c "$client" "$sock"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Error"* ]]
	[[ "$output" != *"daemon reached"* ]]
	printf '[unix]\nallow = %s/*.sock\n' "$BATS_TEST_TMPDIR" >"$P/allow.conf"
	run ab --profile "$P/allow.conf" -- /usr/bin/python3 -c "$client" "$sock"
	[ "$status" -eq 0 ]
	[ "$output" = "daemon reached" ]
}

# the sandbox connects at 3 s, to each path given
LATE_CLIENT='import socket, sys, time
time.sleep(3)
for p in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(p); print(p, s.recv(64).decode().strip())
    except OSError as e:
        print(p, "refused", e.errno)'

@test "host daemon's unix socket bound 2 s after the start (an ssh-agent started mid-session): refused, also through a symlink, and audited" {
	sock="$BATS_TEST_TMPDIR/late.sock"
	unix_daemon "$sock" 2
	run ab -- sh -c 'ln -s "$1" "$2"; exec /usr/bin/python3 -c "$3" "$1" "$2"' sh \
		"$sock" "$BATS_TEST_TMPDIR/link.sock" "$LATE_CLIENT"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[[ "$output" != *"daemon reached"* ]]
	[[ "$output" == *"$sock refused 111"* ]]
	[[ "$output" == *"link.sock refused 111"* ]]
	# the daemon was there: reachable outside
	run /usr/bin/python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print(s.recv(64).decode().strip())' "$sock"
	[ "$output" = "daemon reached" ]
	grep '"unix-denied"' "$AUDIT_LOG" | grep -q "\"path\":\"$sock\""
	grep '"unix-denied"' "$AUDIT_LOG" | grep -q '"name":"python3"'
}

@test "a host socket that [unix] allow names is reachable when bound after the start (a display started later)" {
	sock="$BATS_TEST_TMPDIR/late-allowed.sock"
	unix_daemon "$sock" 2
	printf '[unix]\nallow = %s/late-*.sock\n' "$BATS_TEST_TMPDIR" >"$P/late.conf"
	run ab --profile "$P/late.conf" -- /usr/bin/python3 -c "$LATE_CLIENT" "$sock"
	[ "$status" -eq 0 ]
	[ "$output" = "$sock daemon reached" ]
}

@test "unix datagram sockets are refused and audited (sendmsg could name a host socket bound later)" {
	run ab -- /usr/bin/python3 -c '
import socket
for f in (lambda: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM),
          lambda: socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)):
    try: f(); print("made")
    except OSError as e: print("refused", e.errno)
socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET); print("seqpacket ok")'
	[ "$status" -eq 0 ]
	[ "$output" = "refused 1
refused 1
seqpacket ok" ]
	grep '"socket-denied"' "$AUDIT_LOG" | grep -q '"family":"AF_UNIX","type":"SOCK_DGRAM"'
}

@test "unix sockets the sandbox creates itself keep working" {
	run ab -- /usr/bin/python3 -c '
import socket, sys
p = sys.argv[1]
s = socket.socket(socket.AF_UNIX); s.bind(p); s.listen(1)
c = socket.socket(socket.AF_UNIX); c.connect(p); a, _ = s.accept(); a.sendall(b"own")
print(c.recv(8).decode())' "$BATS_TEST_TMPDIR/own.sock"
	[ "$status" -eq 0 ]
	[ "$output" = "own" ]
}

# A home and a git repository with every file claude-code protects
make_tree() {
	mkdir -p "$HOME/.claude" "$HOME/.config/agentbox" "$HOME/proj/.claude"
	for f in .bashrc .profile .claude/settings.json .claude.json \
		.config/agentbox/note proj/.claude/settings.json; do
		echo "original $f" >"$HOME/$f"
	done
	printf '[user]\n\tname = original\n' >"$HOME/.gitconfig"
	git -C "$HOME/proj" init -q
	echo '#!/bin/sh' >"$HOME/proj/.git/hooks/pre-commit"
	cp "$HOME/proj/.git/config" "$BATS_TEST_TMPDIR/git-config.orig"
}

@test "persistence: writing each protected path fails inside and the file is unchanged outside" {
	make_tree
	cd "$HOME/proj"
	for f in "$HOME/.bashrc" "$HOME/.profile" "$HOME/.gitconfig" \
		"$HOME/.claude/settings.json" "$HOME/.claude.json" \
		"$HOME/.config/agentbox/note" "$HOME/proj/.claude/settings.json" \
		"$HOME/proj/.git/hooks/pre-commit" "$HOME/proj/.git/config"; do
		run ab --profile claude-code -- sh -c 'echo "evil" >> "$1"' sh "$f"
		[ "$status" -ne 0 ]
		[[ "$output" == *"Read-only file system"* ]]
		run grep -q evil "$f"
		[ "$status" -eq 1 ]
	done
	run ab --profile claude-code -- git config core.fsmonitor /tmp/evil
	[ "$status" -ne 0 ]
	cmp "$HOME/proj/.git/config" "$BATS_TEST_TMPDIR/git-config.orig"
	# a new hook cannot be created either
	run ab --profile claude-code -- sh -c 'echo x > .git/hooks/post-checkout'
	[ "$status" -ne 0 ]
	[ ! -e "$HOME/proj/.git/hooks/post-checkout" ]
	# the rest of the project stays writable
	run ab --profile claude-code -- sh -c 'echo work > src.txt'
	[ "$status" -eq 0 ]
	[ "$(cat "$HOME/proj/src.txt")" = work ]
}

@test "persistence: moving a protected path's directory away to replace it fails" {
	make_tree
	run ab --profile claude-code -- sh -c 'mv ~/.claude ~/.claude.old && mkdir ~/.claude && echo evil > ~/.claude/settings.json'
	[ "$status" -ne 0 ]
	[[ "$output" == *"busy"* ]]
	[ -d "$HOME/.claude" ] && [ ! -e "$HOME/.claude.old" ]
	grep -q original "$HOME/.claude/settings.json"
	run ab --profile claude-code -- sh -c 'rm -f ~/.bashrc; mv ~/.profile ~/x'
	[ "$status" -ne 0 ]
	grep -q original "$HOME/.bashrc"
	grep -q original "$HOME/.profile"
}

@test "persistence: a missing protected path is created as a stub, or skipped with '?'" {
	printf '[filesystem]\nreadonly = ~/.newrc\nreadonly = ?~/.skipped\nreadonly = ~/newdir/\n' >"$P/stub.conf"
	run ab --profile "$P/stub.conf" -- sh -c 'echo evil > ~/.newrc'
	[ "$status" -ne 0 ]
	run ab --profile "$P/stub.conf" -- touch "$HOME/newdir/x"
	[ "$status" -ne 0 ]
	run ab --profile "$P/stub.conf" -- sh -c 'echo ok > ~/.skipped'
	[ "$status" -eq 0 ]
	[ -f "$HOME/.newrc" ] && [ ! -s "$HOME/.newrc" ]
	[ -d "$HOME/newdir" ] && [ ! -e "$HOME/newdir/x" ]
	[ "$(cat "$HOME/.skipped")" = ok ]
}

@test "hidden paths: strict hides ~/.ssh, and the hiding cannot be written through" {
	mkdir -p "$HOME/.ssh" && echo secret >"$HOME/.ssh/id_ed25519"
	run ab --profile strict -- sh -c 'ls -A ~/.ssh; cat ~/.ssh/id_ed25519'
	[ "$status" -ne 0 ]
	[[ "$output" != *secret* ]]
	[[ "$output" == *"No such file"* ]]
	run ab --profile strict -- sh -c 'echo k > ~/.ssh/authorized_keys'
	[ "$status" -ne 0 ]
	[ ! -e "$HOME/.ssh/authorized_keys" ]
}

@test "nested user namespace: unshare -Urm cannot uncover a read-only or hidden path" {
	make_tree
	mkdir -p "$HOME/.ssh" && echo secret >"$HOME/.ssh/id"
	if [ "$(id -u)" = 0 ]; then
		# the kernel refuses root's nested user namespace outright
		# (mapping uid 0 needs CAP_SETFCAP): nothing to uncover from
		run ab --profile strict -- unshare -Urm true
		[ "$status" -ne 0 ]
		return 0
	fi
	run ab --profile strict -- unshare -Urm sh -c '
		umount ~/.bashrc 2>/dev/null && echo UNMOUNTED
		umount -l ~/.ssh 2>/dev/null && echo UNMOUNTED
		mount -o remount,bind,rw ~/.bashrc 2>/dev/null && echo REMOUNTED
		mkdir -p /tmp/ab-uncover.$$ && mount --bind ~ /tmp/ab-uncover.$$ 2>/dev/null && echo BOUND
		{ echo evil >> ~/.bashrc; } 2>/dev/null && echo WROTE
		cat ~/.ssh/id 2>/dev/null
		echo done'
	[ "$status" -eq 0 ]
	echo "$output" >&2
	[ "$output" = done ]
	grep -q original "$HOME/.bashrc"
}

@test "environment: the profile's unset, set and pass lists" {
	printf '[env]\nunset = SECRET_*\nset = GREETING=hello world\n' >"$P/env.conf"
	run env SECRET_A=1 KEEP=2 "$AGENTBOX" --upstream "http://127.0.0.1:$SQUID_PORT" \
		--profile "$P/env.conf" -- sh -c 'echo "${SECRET_A:-unset} $KEEP $GREETING $HTTPS_PROXY"'
	[ "$status" -eq 0 ]
	[ "$output" = "unset 2 hello world http://10.38.0.1:3128" ]
	printf '[env]\npass = PATH\npass = KEEP\n' >"$P/pass.conf"
	run env SECRET_A=1 KEEP=2 "$AGENTBOX" --upstream "http://127.0.0.1:$SQUID_PORT" \
		--profile "$P/pass.conf" -- sh -c 'echo "${SECRET_A:-unset} ${HOME:-nohome} $KEEP $AGENTBOX"'
	[ "$status" -eq 0 ]
	[ "$output" = "unset nohome 2 1" ]
}

@test "a profile's upstream is used, and the command line overrides it when nothing is enforced" {
	printf '[network]\nupstream = http://127.0.0.1:%s\n' "$SQUID_PORT" >"$P/up.conf"
	run env -u HTTPS_PROXY -u https_proxy -u HTTP_PROXY -u http_proxy \
		"$AGENTBOX" --profile "$P/up.conf" -- curl -sS "http://$ORIGIN/hello"
	[ "$status" -eq 0 ]
	[ "$output" = "hello from origin" ]
	# (nothing listens there: the request names it in its 502)
	run "$AGENTBOX" --profile "$P/up.conf" --upstream http://127.0.0.1:9 -- \
		curl -sS -D - -o /dev/null "http://$ORIGIN/hello"
	[[ "$output" == *"X-Agentbox-Reason: upstream proxy 127.0.0.1:9 unreachable"* ]]
}
