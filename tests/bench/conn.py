#!/usr/bin/python3
"""conn.py - sequential new connections through an HTTP proxy.

Usage: conn.py PROXY_HOST PROXY_PORT URL COUNT [direct]
Each round: connect to the proxy, GET URL (absolute form), read the whole
response, close.  With "direct", HOST:PORT is the origin itself and the
request is in origin form.  Prints connections per second.  Bounded by
COUNT and by 60 s.
"""
import socket
import sys
import time

host, port, url, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
target = url
if len(sys.argv) > 5 and sys.argv[5] == "direct":
    target = "/" + url.split("//", 1)[1].split("/", 1)[1]
req = ("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % target).encode()
t0 = time.monotonic()
n = 0
while n < count and time.monotonic() - t0 < 60:
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(req)
    while s.recv(65536):
        pass
    s.close()
    n += 1
print("%.1f" % (n / (time.monotonic() - t0)))
