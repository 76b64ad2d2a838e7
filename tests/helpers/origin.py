#!/usr/bin/python3
"""origin.py - a local HTTP or HTTPS origin for the integration tests.

Usage: origin.py PORTFILE [CERT KEY]
Binds 127.0.0.1 on a free port, writes the port to PORTFILE, serves:
  /hello        "hello from origin"
  /bytes/N      N bytes (streamed, for throughput tests)
  /echo-headers the request head it received, as the body
  /chunked      a body in three chunks (Transfer-Encoding: chunked)
  POST /echo-body  "got N bytes: " and the first 64 (Content-Length or
                chunked request bodies)
  /ws-page      a page whose script opens a websocket to /ws on the same
                origin, sends "ping" and shows the answer
  /ws           a websocket that answers each text message with "echo: "
                and the message (one frame each way, no extensions)
  /files/PATH   the file PATH under $ORIGIN_ROOT, if that is set (a git
                repository for dumb HTTP, a pip index); a directory
                gives its index.html
Runs until killed.  Traffic: loopback only.
"""
import base64
import hashlib
import http.server
import os
import struct
import threading
import time
import ssl
import sys

ROOT = os.environ.get("ORIGIN_ROOT")
WS_DONE = threading.Condition()
WS_COUNT = [0]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # head and body go out in two writes: without this, Nagle holds the
    # body until the peer's delayed ACK (40 ms per small response)
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/hello":
            body = b"hello from origin\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif path.startswith("/bytes/"):
            n = int(path[7:])
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            chunk = b"x" * 65536
            while n > 0:
                k = min(n, len(chunk))
                self.wfile.write(chunk[:k])
                n -= k
        elif path == "/echo-headers":
            body = str(self.headers).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"one ", b"two ", b"three\n"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/ws-page":
            # The page ends only after its websocket has been answered
            # (or 10 s): its load event, after which a headless browser
            # dumps the DOM, then comes after the echo
            head = (b"<html><body><p id=r>waiting</p><script>"
                    b"const w = new WebSocket((location.protocol == 'https:' ?"
                    b" 'wss://' : 'ws://') + location.host + '/ws');"
                    b"w.onopen = () => w.send('ping');"
                    b"w.onmessage = (m) => { document.getElementById('r')"
                    b".textContent = 'ws ' + m.data; };"
                    b"w.onerror = () => { document.getElementById('r')"
                    b".textContent = 'ws error'; };"
                    b"</script>")
            tail = b"</body></html>"
            with WS_DONE:
                seen = WS_COUNT[0]
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(head) + len(tail)))
            self.end_headers()
            self.wfile.write(head)
            self.wfile.flush()
            with WS_DONE:
                WS_DONE.wait_for(lambda: WS_COUNT[0] > seen, timeout=10)
            time.sleep(0.2)
            self.wfile.write(tail)
        elif path == "/ws":
            self.websocket()
        elif path.startswith("/files/") and ROOT:
            self.send_file(path[7:])
        else:
            self.send_error(404)

    def websocket(self):
        key = self.headers.get("Sec-WebSocket-Key", "")
        acc = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", acc.decode())
        self.end_headers()
        self.wfile.flush()
        for _ in range(100):
            hdr = self.rfile.read(2)
            if len(hdr) < 2 or hdr[0] & 0x0f == 8:	# closed, or close frame
                break
            n = hdr[1] & 0x7f
            if n == 126:
                n = struct.unpack(">H", self.rfile.read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self.rfile.read(8))[0]
            mask = self.rfile.read(4) if hdr[1] & 0x80 else b"\0\0\0\0"
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(n)))
            out = b"echo: " + data
            self.wfile.write(bytes([0x81, len(out)]) + out if len(out) < 126
                             else bytes([0x81, 126]) + struct.pack(">H", len(out)) + out)
            self.wfile.flush()
            with WS_DONE:
                WS_COUNT[0] += 1
                WS_DONE.notify_all()
        self.close_connection = True

    def send_file(self, rel):
        parts = [p for p in rel.split("/") if p]
        if any(p in (".", "..") for p in parts):
            self.send_error(403)
            return
        full = os.path.join(ROOT, *parts)
        if os.path.isdir(full):
            full = os.path.join(full, "index.html")
        try:
            with open(full, "rb") as f:
                body = f.read()
        except OSError:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html" if full.endswith(
            ".html") else "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            for _ in range(100000):
                n = int(self.rfile.readline().split(b";")[0], 16)
                if n == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                data += self.rfile.read(n)
                self.rfile.readline()
        else:
            data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"got %d bytes: " % len(data) + data[:64]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    if len(sys.argv) > 3:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    srv.serve_forever()


if __name__ == "__main__":
    main()
