#!/usr/bin/env python3
"""Records raw HTTP/1.1 requests byte for byte, for the SigV4 fixtures.

Usage: record.py OUTDIR PREFIX PORT  -- answers every request 200 "{}" and
writes each request to OUTDIR/PREFIX-NN.http until killed. Used by
gen_fixtures.sh; the .http files are replayed by fixtures_test.go with
http.ReadRequest, i.e. exactly as net/http's server would parse them.
"""
import os, socketserver, sys, threading

outdir, prefix, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
lock = threading.Lock()
count = [0]

class H(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                line = self.rfile.readline()
                if not line:
                    return
                head += line
            n = 0
            for l in head.split(b"\r\n"):
                k, _, v = l.partition(b":")
                if k.strip().lower() == b"content-length":
                    n = int(v.strip())
            body = self.rfile.read(n)
            with lock:
                count[0] += 1
                name = os.path.join(outdir, "%s-%02d.http" % (prefix, count[0]))
            with open(name, "wb") as f:
                f.write(head + body)
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
            self.wfile.flush()

class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

S(("127.0.0.1", port), H).serve_forever()
