#!/usr/bin/python3
"""An HTTP server that misbehaves on purpose, for the client's error handling tests.

    broken_server.py PORT_FILE

Listens on 127.0.0.1 (an ephemeral port, written to PORT_FILE) and answers by path; see
RESPONSES. Keeps connections alive between well-formed answers.
"""
import gzip
import socket
import socketserver
import struct
import sys
import time


def ok(body, extra=""):
    return (f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n").encode() + body


class Handler(socketserver.BaseRequestHandler):
    def setup(self):
        self.buffer = b""
        self.served = 0

    def read_request(self):
        while b"\r\n\r\n" not in self.buffer:
            data = self.request.recv(65536)
            if not data:
                return None
            self.buffer += data
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        while len(self.buffer) < length:
            self.buffer += self.request.recv(65536)
        self.body, self.buffer = self.buffer[:length], self.buffer[length:]
        return lines[0].split(" ")[1]

    def reset(self):
        # SO_LINGER with a zero timeout: close() sends RST.
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.request.close()

    def handle(self):
        while True:
            path = self.read_request()
            if path is None:
                return
            self.served += 1
            send = self.request.sendall
            if path == "/ok":
                send(ok(b"fine"))
            elif path == "/ignores-expect":
                # Never sends 100 Continue: read_request already waited for the body.
                send(ok(b"got " + self.body))
            elif path == "/short-body":
                send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten!!")
                return
            elif path == "/reset-mid-body":
                send(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
                time.sleep(0.05)
                self.reset()
                return
            elif path == "/bad-chunk":
                send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n")
                return
            elif path == "/chunked-cut":
                send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
                return
            elif path == "/huge-headers":
                fields = "".join(f"X-Filler-{i}: {'y' * 1000}\r\n" for i in range(200))
                send(f"HTTP/1.1 200 OK\r\n{fields}Content-Length: 2\r\n\r\nok".encode())
                return
            elif path == "/redirect-loop":
                send(b"HTTP/1.1 302 Found\r\nLocation: /redirect-loop\r\nContent-Length: 0\r\n\r\n")
            elif path == "/close-delimited":
                send(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + b"z" * 50000)
                return
            elif path == "/interim":
                send(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX-A: 1\r\n\r\n")
                time.sleep(0.02)
                send(ok(b"final"))
            elif path == "/no-response":
                return
            elif path == "/garbage":
                send(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
                return
            elif path == "/bad-status":
                send(b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n")
                return
            elif path == "/truncated-gzip":
                data = gzip.compress(b"q" * 100000)[:-20]
                send(ok(data, "Content-Encoding: gzip\r\n"))
            elif path == "/invalid-gzip":
                send(ok(b"this is not gzip at all", "Content-Encoding: gzip\r\n"))
            elif path == "/te-and-cl":
                send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
                     b"5\r\nhello\r\n0\r\n\r\n")
                return
            elif path == "/conflicting-length":
                send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 4\r\n\r\nokok")
                return
            elif path == "/slow-body":
                send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
                for _ in range(100):
                    time.sleep(0.05)
                    try:
                        send(b"s")
                    except OSError:
                        return
            elif path == "/drop-second":
                # Keep-alive on the first request of a connection; the second one on the same
                # connection is dropped unanswered, as when a server's idle timeout closes a
                # connection just as the client reuses it.
                if self.served == 1:
                    send(ok(b"first"))
                else:
                    return
            else:
                send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    server = Server(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    with open(sys.argv[1] + ".tmp", "w") as out:
        out.write(str(port))
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
