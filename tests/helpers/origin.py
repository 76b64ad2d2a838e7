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
  /files/PATH   the file PATH under $ORIGIN_ROOT, if that is set (a git
                repository for dumb HTTP, a pip index); a directory
                gives its index.html
Runs until killed.  Traffic: loopback only.
"""
import http.server
import os
import ssl
import sys

ROOT = os.environ.get("ORIGIN_ROOT")


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
        elif path.startswith("/files/") and ROOT:
            self.send_file(path[7:])
        else:
            self.send_error(404)

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
