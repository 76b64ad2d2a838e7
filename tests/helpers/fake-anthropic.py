#!/usr/bin/python3
# fake-anthropic.py - a small stand-in for the Messages API, on loopback,
# that drives Claude Code through scripted tool calls.
#
#   fake-anthropic.py PORTFILE SCRIPT RECORDDIR
#
# SCRIPT is JSON: {"conversations": [{"match": TEXT, "turns": [TURN...]}]}.
# A request belongs to the conversation whose "match" occurs in its first
# user message; its turn is the number of tool results it carries.  A TURN
# is {"tool": NAME, "input": {...}}, or {"text": "..."}; past the last turn
# the answer is "done".  Requests of no conversation (titles, summaries,
# checks of Claude Code's own) get a short text answer.
#
# RECORDDIR gets results.jsonl (one line per tool_result: its tool, input,
# text, is_error, and the microseconds from sending the tool_use to
# receiving its result), requests.jsonl (one line per request: path,
# conversation, turn, the last user text, the tools offered, the headers
# that say where it came from) and the port in PORTFILE once listening.
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

portfile, scriptfile, rec = sys.argv[1], sys.argv[2], sys.argv[3]
with open(scriptfile) as f:
    script = json.load(f)
lock = threading.Lock()
sent = {}       # tool_use id -> (time sent, tool, input)
counter = [0]


def record(name, obj):
    with lock, open(os.path.join(rec, name), "a") as f:
        f.write(json.dumps(obj) + "\n")


def text_of(content):
    if isinstance(content, str):
        return content
    out = []
    for b in content or []:
        if isinstance(b, dict):
            if b.get("type") == "text":
                out.append(b.get("text", ""))
            elif b.get("type") == "tool_result":
                out.append(text_of(b.get("content")))
    return "\n".join(out)


def conversation(body):
    msgs = body.get("messages") or []
    first = ""
    for m in msgs:
        if m.get("role") == "user":
            first = text_of(m.get("content"))
            break
    for c in script["conversations"]:
        if c["match"] in first:
            return c
    return None


def tool_results(body):
    now = time.monotonic()
    n = 0
    for m in body.get("messages") or []:
        if m.get("role") != "user" or isinstance(m.get("content"), str):
            continue
        for b in m["content"]:
            if isinstance(b, dict) and b.get("type") == "tool_result":
                n += 1
                tid = b.get("tool_use_id")
                with lock:
                    s = sent.pop(tid, None)
                if s:
                    record("results.jsonl", {
                        "tool": s[1], "input": s[2],
                        "text": text_of(b.get("content")),
                        "is_error": bool(b.get("is_error")),
                        "us": int((now - s[0]) * 1e6)})
    return n


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.reply(200, {"data": [], "has_more": False})

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_POST(self):
        n = int(self.headers.get("content-length") or 0)
        try:
            body = json.loads(self.rfile.read(n) or b"{}")
        except ValueError:
            body = {}
        if not self.path.startswith("/v1/messages") or \
                self.path.startswith("/v1/messages/count_tokens"):
            self.reply(200, {"input_tokens": 1})
            return
        conv = conversation(body)
        turn = tool_results(body)
        last = ""
        for m in body.get("messages") or []:
            if m.get("role") == "user":
                last = text_of(m.get("content"))
        record("requests.jsonl", {
            "path": self.path, "conv": conv and conv["match"], "turn": turn,
            "last": last[-200:],
            "tools": [t.get("name") for t in body.get("tools") or []],
            "via": self.headers.get("via"),
            "forwarded": self.headers.get("x-forwarded-for")})
        block = {"text": "ok"}
        if conv:
            turns = conv["turns"]
            block = turns[turn] if turn < len(turns) else {"text": "done"}
        with lock:
            counter[0] += 1
            tid = "toolu_%06d" % counter[0]
        if "tool" in block:
            content = {"type": "tool_use", "id": tid, "name": block["tool"],
                       "input": {}}
            delta = {"type": "input_json_delta",
                     "partial_json": json.dumps(block["input"])}
            stop = "tool_use"
        else:
            content = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
            stop = "end_turn"
        model = body.get("model", "claude-fake")
        usage = {"input_tokens": 1, "output_tokens": 1}
        if not body.get("stream"):
            if "tool" in block:
                content["input"] = block["input"]
                with lock:
                    sent[tid] = (time.monotonic(), block["tool"],
                                 block["input"])
            else:
                content["text"] = block["text"]
            self.reply(200, {"id": "msg_" + tid, "type": "message",
                             "role": "assistant", "model": model,
                             "content": [content], "stop_reason": stop,
                             "stop_sequence": None, "usage": usage})
            return
        events = [
            ("message_start", {"type": "message_start", "message": {
                "id": "msg_" + tid, "type": "message", "role": "assistant",
                "model": model, "content": [], "stop_reason": None,
                "stop_sequence": None, "usage": usage}}),
            ("content_block_start", {"type": "content_block_start",
                                     "index": 0, "content_block": content}),
            ("content_block_delta", {"type": "content_block_delta",
                                     "index": 0, "delta": delta}),
            ("content_block_stop", {"type": "content_block_stop",
                                    "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {
                "stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": 1}}),
            ("message_stop", {"type": "message_stop"}),
        ]
        data = "".join("event: %s\ndata: %s\n\n" % (e, json.dumps(d))
                       for e, d in events).encode()
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if "tool" in block:
            with lock:
                sent[tid] = (time.monotonic(), block["tool"], block["input"])
        self.wfile.write(data)


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
