#!/usr/bin/env bats
# writable.bats - nothing the agent plants runs later outside: the
# filesystem is read-only but the writable roots (the project, temp,
# caches), the project's code-running files stay read-only, the stubs are
# made only where the sandbox could have made the path, IPC is private.

load helpers

setup() {
	# the shipped profiles, no system configuration
	mkdir -p "$BATS_TEST_TMPDIR/sysconf"
	export AGENTBOX_TEST_SYSCONF="$BATS_TEST_TMPDIR/sysconf"
	export AGENTBOX_TEST_VENDOR="$VENDOR_DIR"
	PROJ="$(cd "$BATS_TEST_TMPDIR" && pwd -P)/proj"
	mkdir -p "$PROJ/sub"
	git -C "$PROJ" init -q
	git -C "$PROJ" config user.email t@example.test
	git -C "$PROJ" config user.name t
}

teardown() {
	[ -n "${QID:-}" ] && ipcrm -q "$QID" 2>/dev/null
	[ -n "${MID:-}" ] && ipcrm -m "$MID" 2>/dev/null
	[ -n "${SHMF:-}" ] && rm -f "$SHMF"
	return 0
}

# Files of the home that a program outside runs, or that name a program
# it runs: shell start-up, PATH, Python start-up, session environment,
# credential helpers, tool configuration, editors, X session, autostart
home_files() {
	local site
	site=$(HOME="$HOME" /usr/bin/python3 -c 'import site; print(site.getusersitepackages())')
	printf '%s\n' "$HOME/.bash_aliases" "$HOME/.local/bin/git" \
		"$site/evil.pth" "$HOME/.config/environment.d/evil.conf" \
		"$HOME/.aws/config" "$HOME/.kube/config" \
		"$HOME/.docker/config.json" "$HOME/.npmrc" \
		"$HOME/.cargo/config.toml" "$HOME/.gradle/init.d/evil.gradle" \
		"$HOME/.inputrc" "$HOME/.tmux.conf" "$HOME/.vimrc" \
		"$HOME/.config/nvim/init.lua" "$HOME/.config/gh/config.yml" \
		"$HOME/.xprofile" "$HOME/.xsessionrc" \
		"$HOME/.config/autostart/evil.desktop" "$HOME/.bashrc" \
		"$HOME/.profile" "$HOME/.gitconfig" \
		"$HOME/.ssh/authorized_keys" "$HOME/.config/systemd/user/x.service" \
		"$PROJ/.vscode/tasks.json"
}

# Inside: try each file (and its directory); print WROTE for any that works
PLANT='for f in "$@"; do
	mkdir -p "${f%/*}" 2>/dev/null
	{ printf evil >>"$f"; } 2>/dev/null && echo "WROTE $f"
done; echo planted'

assert_nothing_planted() {
	local f
	[ "$status" -eq 0 ]
	[[ "$output" != *WROTE* ]]
	[[ "$output" == *planted* ]]
	while read -r f; do
		if [ -e "$f" ] && grep -q evil "$f" 2>/dev/null; then
			echo "planted outside: $f" >&2
			return 1
		fi
	done < <(home_files)
}

@test "persistence: the 24 home and project files run later outside are read-only (claude-code, default)" {
	use_test_home
	echo original >"$HOME/.bashrc"
	mapfile -t files < <(home_files)
	[ "${#files[@]}" -eq 24 ]
	cd "$PROJ/sub"
	for prof in "--profile claude-code" ""; do
		# shellcheck disable=SC2086
		run ab $prof -- sh -c "$PLANT" sh "${files[@]}"
		echo "$output" >&2
		assert_nothing_planted
	done
	[ "$(cat "$HOME/.bashrc")" = original ]
	# the directories the writes needed were not made either
	[ ! -e "$HOME/.config/autostart" ] && [ ! -e "$HOME/.local/bin" ]
}

@test "persistence: a nested unshare -Urm cannot remount, unmount or rebind its way to a write" {
	[ "$(id -u)" != 0 ] || skip "the kernel refuses root's nested user namespace (uid 0 -> 0 needs CAP_SETFCAP)"
	use_test_home
	echo original >"$HOME/.bashrc"
	mkdir -p "$PROJ/.claude" && echo original >"$PROJ/.claude/settings.json"
	mapfile -t files < <(home_files)
	cd "$PROJ"
	run ab -- unshare -Urm sh -c '
		mount -o remount,rw / 2>/dev/null && echo REMOUNTED /
		mount -o remount,bind,rw "$HOME" 2>/dev/null && echo REMOUNTED home
		umount "$PWD/.claude" 2>/dev/null && echo UNMOUNTED
		umount -l "$PWD/.claude" 2>/dev/null && echo UNMOUNTED
		mkdir -p /tmp/ab-rebind.$$ &&
			mount --bind "$HOME" /tmp/ab-rebind.$$ 2>/dev/null &&
			mount -o remount,bind,rw /tmp/ab-rebind.$$ 2>/dev/null &&
			echo REBOUND
		{ echo evil >> .claude/settings.json; } 2>/dev/null && echo WROTE settings
		'"$PLANT" sh "${files[@]}"
	echo "$output" >&2
	assert_nothing_planted
	[[ "$output" != *REMOUNTED* && "$output" != *UNMOUNTED* && "$output" != *REBOUND* ]]
	grep -q original "$PROJ/.claude/settings.json"
}

@test "persistence: the project and its parents cannot be renamed to put a writable copy in place" {
	use_test_home
	mkdir -p "$PROJ/.claude" && echo original >"$PROJ/.claude/settings.json"
	cd "$PROJ"
	run ab -- sh -c 'mv .claude .claude.old; mv "$PWD" "$PWD.moved"; mv "$HOME" "$HOME.moved"; echo done'
	[ "$status" -eq 0 ]
	[[ "$output" == *"Device or resource busy"* ]]
	[ -d "$PROJ" ] && [ -d "$HOME" ] && [ ! -e "$PROJ/.claude.old" ]
	grep -q original "$PROJ/.claude/settings.json"
}

@test "writable roots: the project, /tmp and the caches are written; make, a venv with pip and npm install build in the project" {
	use_test_home
	mkdir -p "$HOME/.npm"	# a user of npm has its cache
	cd "$PROJ"
	printf 'all: out.txt\nout.txt: in.txt\n\tcp in.txt out.txt\n' >Makefile
	echo built >in.txt
	# a local wheel and a local npm tarball: no network
	/usr/bin/python3 - "$BATS_TEST_TMPDIR" <<'PY'
import sys, zipfile, hashlib, base64
d = sys.argv[1]
files = {"demo_pkg/__init__.py": b"VALUE = 42\n",
         "demo_pkg-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n",
         "demo_pkg-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
rec = ""
for n, b in files.items():
    h = base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
    rec += f"{n},sha256={h},{len(b)}\n"
rec += "demo_pkg-1.0.dist-info/RECORD,,\n"
with zipfile.ZipFile(f"{d}/demo_pkg-1.0-py3-none-any.whl", "w") as z:
    for n, b in files.items():
        z.writestr(n, b)
    z.writestr("demo_pkg-1.0.dist-info/RECORD", rec)
PY
	mkdir -p "$BATS_TEST_TMPDIR/npmpkg"
	printf '{"name":"demo-npm","version":"1.0.0","main":"index.js"}\n' >"$BATS_TEST_TMPDIR/npmpkg/package.json"
	echo 'module.exports = 7;' >"$BATS_TEST_TMPDIR/npmpkg/index.js"
	(cd "$BATS_TEST_TMPDIR" && npm pack --silent ./npmpkg >/dev/null)
	run ab -- sh -c '
		set -e
		make -s
		/usr/bin/python3 -m venv .venv
		.venv/bin/pip install -q --no-index "$1"/demo_pkg-1.0-py3-none-any.whl
		.venv/bin/python -c "import demo_pkg; print(demo_pkg.VALUE)"
		npm install --offline --no-audit --no-fund --silent "$1"/demo-npm-1.0.0.tgz
		node -e "console.log(require(\"demo-npm\"))"
		echo t > /tmp/ab-writable.$$ && rm /tmp/ab-writable.$$
		echo c > ~/.cache/ab-cache-test
		git add Makefile in.txt && git commit -qm build && echo committed' sh "$BATS_TEST_TMPDIR"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[ "$(cat out.txt)" = built ]
	[[ "$output" == *42* && "$output" == *7* && "$output" == *committed* ]]
	[ -f "$HOME/.cache/ab-cache-test" ]
	[ -d "$HOME/.npm/_cacache" ]
}

@test "project root: from a subdirectory, the root's .claude, .mcp.json, .vscode, git hooks and config stay read-only" {
	mkdir -p "$PROJ/.claude"
	echo '{}' >"$PROJ/.claude/settings.json"
	echo '{}' >"$PROJ/.mcp.json"
	cp "$PROJ/.git/config" "$BATS_TEST_TMPDIR/config.orig"
	cd "$PROJ/sub"
	run ab --profile claude-code -- sh -c '
		for f in ../.claude/settings.json ../.mcp.json ../.vscode/tasks.json \
			../.idea/workspace.xml ../.devcontainer/devcontainer.json \
			../.git/hooks/pre-commit ../.git/config; do
			{ echo evil >> "$f"; } 2>/dev/null && echo "WROTE $f"
		done
		git config core.fsmonitor /tmp/evil 2>/dev/null && echo WROTE fsmonitor
		echo work > ../work.txt && echo done'
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[[ "$output" != *WROTE* ]]
	[ "$(cat "$PROJ/.claude/settings.json")" = '{}' ]
	cmp "$PROJ/.git/config" "$BATS_TEST_TMPDIR/config.orig"
	[ ! -e "$PROJ/.git/hooks/pre-commit" ]
	[ "$(cat "$PROJ/work.txt")" = work ]
}

@test "project root: core.hooksPath inside the work tree (husky) is read-only too" {
	mkdir -p "$PROJ/.husky"
	git -C "$PROJ" config core.hooksPath .husky
	cd "$PROJ/sub"
	run ab -- sh -c '{ echo evil > ../.husky/pre-commit; } 2>/dev/null && echo WROTE; echo done'
	[ "$status" -eq 0 ]
	[ "$output" = done ]
	[ ! -e "$PROJ/.husky/pre-commit" ]
}

@test "project root: a worktree commits into the main repository, whose hooks and config stay read-only" {
	cd "$PROJ"
	echo a >a && git add a && git commit -qm a
	git worktree add -q "$BATS_TEST_TMPDIR/wt"
	cd "$BATS_TEST_TMPDIR/wt"
	run ab -- sh -c 'echo b > b && git add b && git commit -qm b && echo committed
		{ echo evil >> "$(git rev-parse --git-common-dir)/config"; } 2>/dev/null && echo WROTE
		{ echo evil > "$(git rev-parse --git-common-dir)/hooks/post-commit"; } 2>/dev/null && echo WROTE
		echo end'
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[ "$output" = "committed
end" ]
	[ "$(git -C "$PROJ" log -1 --format=%s wt)" = b ]
}

@test "stubs: in a directory the user cannot write, the run works, makes no stub and gives no namespace hint" {
	if [ "$(id -u)" = 0 ]; then
		dir="$BATS_TEST_TMPDIR/notmine"
		mkdir -p "$dir" && chown 65534:65534 "$dir" && chmod 755 "$dir"
	else
		dir=/usr/share	# root's
	fi
	cd "$dir"
	run ab --profile claude-code -- sh -c 'echo ran'
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[ "$output" = ran ]
	[ ! -e "$dir/.claude" ] && [ ! -e "$dir/.mcp.json" ] && [ ! -e "$dir/.vscode" ]
}

@test "stubs: a missing protected path in the project is a stub only there, and never outside the writable roots" {
	use_test_home
	cd "$PROJ"
	run ab -- true
	[ "$status" -eq 0 ]
	[ -d "$PROJ/.claude" ] && [ -f "$PROJ/.mcp.json" ] && [ ! -s "$PROJ/.mcp.json" ]
	[ ! -e "$PROJ/.envrc" ]		# direnv runs only an allowed one
	# the home is read-only: its protected paths need no stub
	[ ! -e "$HOME/.bashrc" ] && [ ! -e "$HOME/.gitconfig" ]
}

@test "IPC: a host process's SysV message queue and shm segment are out of reach, /dev/shm is private" {
	# msgsnd and shmat by id, as a process that knows the ids would
	IPC_PROBE="$BATS_TEST_TMPDIR/ipc-probe"
	cat >"$IPC_PROBE" <<'PY'
#!/usr/bin/python3
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
msg = ctypes.create_string_buffer(b"\x01" + b"\x00" * 7 + b"hi")
q = libc.msgsnd(int(sys.argv[1]), msg, 2, 0o4000) == 0
m = libc.shmat(int(sys.argv[2]), None, 0) not in (None, ctypes.c_void_p(-1).value)
print("QUEUE" if q else "", "SHM" if m else "")
PY
	chmod +x "$IPC_PROBE"
	QID=$(ipcmk -Q | sed -n 's/.*: *//p')
	MID=$(ipcmk -M 4096 | sed -n 's/.*: *//p')
	SHMF=/dev/shm/ab-test-$$
	echo host >"$SHMF"
	[ -n "$QID" ] && [ -n "$MID" ]
	# the probe reaches them outside, so it can tell
	run "$IPC_PROBE" "$QID" "$MID"
	[ "$output" = "QUEUE SHM" ]
	run ab -- sh -c "\"\$1\" $QID $MID; cat $SHMF 2>/dev/null
		echo inside > /dev/shm/ab-inside-$$ && echo done" sh "$IPC_PROBE"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[ "$output" = " 
done" ]
	[ ! -e "/dev/shm/ab-inside-$$" ]
}

@test "--profile none: the old model, the home is writable" {
	use_test_home
	run ab --profile none -- sh -c 'echo x > ~/.none-test && echo ok'
	[ "$status" -eq 0 ]
	[ -f "$HOME/.none-test" ]
}

@test "no --profile and no installed default: the copy of 'default' in the binary applies" {
	use_test_home
	export AGENTBOX_TEST_VENDOR="$BATS_TEST_TMPDIR/no-vendor"
	run ab -- sh -c 'echo x > ~/.bash_aliases'
	[ "$status" -ne 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	[ ! -e "$HOME/.bash_aliases" ]
	run "$AGENTBOX" profile show
	[ "$status" -eq 0 ]
	[[ "$output" == *"profile 'default' (the copy built into agentbox"* ]]
	[[ "$output" == *"writable = !\$AGENTBOX_PROJECT # built-in:default:"* ]]
}

@test "enforced writable roots can only shrink: a root outside them is refused, one below is taken" {
	use_test_home
	export AGENTBOX_TEST_SYSCONF="$SYSCONF_DIR/enforcefs"
	P="$BATS_TEST_TMPDIR/p"
	mkdir -p "$P"
	printf '[filesystem]\nwritable = ~/\n' >"$P/wide.conf"
	printf '[filesystem]\nwritable = /tmp/ab-sub\n' >"$P/narrow.conf"
	run ab --profile "$P/wide.conf" -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"wide.conf:2: writable '~/': the enforced profile"*"allows only its own list, and a profile may only tighten it" ]]
	run ab --profile "$P/narrow.conf" -- true
	[ "$status" -eq 0 ]
	# without a profile the enforced roots still apply: the home is read-only
	run ab --profile none -- sh -c 'echo x > ~/.enforced-test'
	[ "$status" -ne 0 ]
	[ ! -e "$HOME/.enforced-test" ]
}

@test "a writable root that does not exist is skipped with ?, and nothing is made for it" {
	P="$BATS_TEST_TMPDIR/p"
	mkdir -p "$P"
	printf '[filesystem]\nwritable = ?/nonexistent/ab\nwritable = $AGENTBOX_PROJECT\n' >"$P/opt.conf"
	cd "$PROJ"
	run ab --profile "$P/opt.conf" -- sh -c 'echo ok > x && cat x'
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
	[ ! -e /nonexistent ]
}

@test "private: a directory of the sandbox's own, writable inside, discarded after; the host's stays as it was" {
	use_test_home
	mkdir -p "$HOME/state"
	echo host >"$HOME/state/kept"
	cat >"$BATS_TEST_TMPDIR/p.conf" <<'PROF'
[profile]
include = default
[filesystem]
writable = ~/state
private = ~/state/snap/
private = ~/state/kept-dir/
[env]
set = AB_STATE=~/state
PROF
	mkdir -p "$HOME/state/kept-dir"
	echo outside >"$HOME/state/kept-dir/f"
	cd "$PROJ"
	run ab --profile "$BATS_TEST_TMPDIR/p.conf" -- /bin/sh -c \
		'echo "$AB_STATE"; echo in >"$AB_STATE/snap/s" && cat "$AB_STATE/snap/s"; ls -A "$AB_STATE/kept-dir"; echo planted >"$AB_STATE/kept-dir/f"; stat -c %a "$AB_STATE/snap"'
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "${lines[0]}" = "$HOME/state" ]
	[ "${lines[1]}" = in ]
	[ "${lines[2]}" = 700 ]
	# made as a stub where missing, empty on the host after
	[ -d "$HOME/state/snap" ] && [ -z "$(ls -A "$HOME/state/snap")" ]
	[ "$(cat "$HOME/state/kept-dir/f")" = outside ]
}
