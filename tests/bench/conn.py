#!/usr/bin/python3
"""conn.py - sequential new connections through an HTTP proxy.

Usage: conn.py PROXY_HOST PROXY_PORT URL COUNT [direct|connect]
Each round: connect to the proxy, GET URL (absolute form), read the whole
response, close.  With "direct", HOST:PORT is the origin itself and the
request is in origin form.  With "connect", the round is CONNECT to the
URL's host:port, the proxy's 200, then GET in origin form through the
tunnel (what an HTTPS client does, without TLS).  PROXY_HOST may be a name
(interception: origin.test, looked up once).  Prints connections per
second.  Bounded by COUNT and by 60 s.
"""
import socket
import sys
import time

host, port, url, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
target = url
if len(sys.argv) > 5 and sys.argv[5] == "direct":
    target = "/" + url.split("//", 1)[1].split("/", 1)[1]
mode = sys.argv[5] if len(sys.argv) > 5 else ""
hostport = url.split("//", 1)[1].split("/", 1)[0]
if mode == "connect":
    target = "/" + url.split("//", 1)[1].split("/", 1)[1]
# the Host a client sends: inside a tunnel it must name the CONNECT's host
req = ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
       % (target, hostport.rsplit(":", 1)[0])).encode()
creq = ("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (hostport, hostport)).encode()
# a name is looked up once, as a client with a resolver cache would
addr = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)[0][4]
t0 = time.monotonic()
n = 0
while n < count and time.monotonic() - t0 < 60:
    s = socket.create_connection(addr, timeout=10)
    if mode == "connect":
        s.sendall(creq)
        head = b""
        while b"\r\n\r\n" not in head:
            d = s.recv(4096)
            if not d:
                sys.exit("proxy closed during CONNECT")
            head += d
        if not head.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")):
            sys.exit("CONNECT refused: %r" % head[:80])
    s.sendall(req)
    while s.recv(65536):
        pass
    s.close()
    n += 1
print("%.1f" % (n / (time.monotonic() - t0)))
