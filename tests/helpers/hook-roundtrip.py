#!/usr/bin/python3
"""hook-roundtrip.py AGENTBOX PROFILE - Claude Code hook inputs through
`agentbox hook claude-code`, and the wrapped commands run by bash.

For each command below, a PreToolUse input with every optional field is
written as Claude Code writes it (and, for bytes that are not UTF-8, raw in
the JSON text); the answer must parse, keep every field of tool_input but the
command, and its command, run by bash, must print exactly what the original
prints when bash runs it outside, and must run inside agentbox.  Prints one
line per case; exits 1 on the first difference.
"""
import json
import os
import subprocess
import sys

AB, PROFILE = sys.argv[1], sys.argv[2]

# What a model writes: quotes of both kinds, escapes, $(), backticks,
# newlines, heredocs, globs, non-ASCII and non-UTF-8 bytes.
CASES = [
    b"echo hello",
    b"printf '%s\\n' \"it's\" 'say \"hi\"' \"$(echo sub)\" `echo tick`",
    b"printf '%s|' 'a'\\''b' \"c\\\"d\" 'e\\f' $'g\\th' | od -An -c",
    b"for i in 1 2; do\n  echo \"line $i\"\ndone\n",
    b"cat <<'EOF'\n$HOME 'x' \"y\" \\z\nEOF",
    b"echo '''''' \"'\" ''\\''' | od -An -c",
    b"printf '%s' '\xff\xfe\x80 caf\xc3\xa9 \xe2\x82\xac' | od -An -tx1",
    b"x='$(id)'; echo \"$x\" ${#x}",
    b"echo a\\\nb; echo 'tab\there' | od -An -c",
    b"echo lead  ;  true",
    b"echo \"$((6 * 7))\" && false || echo or",
    b"printf '%s\\n' \\' \\\" \\\\ \\$ | od -An -c",
]

OTHER = {"timeout": 120000, "description": "Run \"it\"",
         "run_in_background": False, "future_field": [1, {"x": None}]}


def json_bytes(b):
    """A JSON string for bytes, the non-UTF-8 ones raw as they are."""
    out = bytearray(b'"')
    for c in b:
        if c in (0x22, 0x5c):
            out += b"\\" + bytes([c])
        elif c < 0x20:
            out += b"\\u%04x" % c
        else:
            out.append(c)
    return bytes(out + b'"')


def hook_input(cmd):
    ti = b'{"command":' + json_bytes(cmd)
    for k, v in OTHER.items():
        ti += b"," + json.dumps(k).encode() + b":" + json.dumps(v).encode()
    ti += b"}"
    return (b'{"session_id":"5e2a1c9d-0b7a-4c55-9d2f-1c3b5a7e9f00",'
            b'"transcript_path":"/tmp/t.jsonl","cwd":' +
            json.dumps(os.getcwd()).encode() +
            b',"permission_mode":"default","hook_event_name":"PreToolUse",'
            b'"tool_name":"Bash","tool_input":' + ti + b"}")


def bash(cmd):
    return subprocess.run(["/bin/bash", "-c", cmd], capture_output=True,
                          timeout=60)


def hook(cmd):
    r = subprocess.run([AB, "hook", "claude-code", "--profile", PROFILE],
                       input=hook_input(cmd), capture_output=True, timeout=20)
    if r.returncode != 0:
        sys.exit("%r: hook exited %d: %r" % (cmd, r.returncode, r.stderr))
    return json.loads(r.stdout.decode("utf-8", "surrogateescape"))


for n, cmd in enumerate(CASES):
    ans = hook(cmd)
    out = ans["hookSpecificOutput"]
    assert out == {"hookEventName": "PreToolUse",
                   "updatedInput": out["updatedInput"]}, out
    ui = dict(out["updatedInput"])
    wrapped = ui.pop("command").encode("utf-8", "surrogateescape")
    if ui != OTHER or list(out["updatedInput"]) != ["command"] + list(OTHER):
        sys.exit("case %d: fields changed: %r" % (n, out["updatedInput"]))
    if not wrapped.startswith(AB.encode() + b" --profile "):
        sys.exit("case %d: not wrapped: %r" % (n, wrapped))
    want, got = bash(cmd), bash(wrapped)
    if (got.stdout, got.returncode) != (want.stdout, want.returncode):
        sys.exit("case %d: %r\n  outside: %r %d\n  wrapped: %r %d %r" %
                 (n, cmd, want.stdout, want.returncode, got.stdout,
                  got.returncode, got.stderr))
    print("case %d ok: %d bytes out, exit %d" % (n, len(got.stdout), got.returncode))
# and the wrapped command does run inside agentbox
w = hook(b'echo "inside=$AGENTBOX"')["hookSpecificOutput"]["updatedInput"]
got = bash(w["command"])
if got.stdout != b"inside=1\n":
    sys.exit("not inside agentbox: %r %r" % (got.stdout, got.stderr))
print("all %d cases ok, and inside agentbox" % len(CASES))
