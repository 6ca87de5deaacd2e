#!/usr/bin/python3
"""Server memory per idle WebSocket connection: starts gale's testbed (one thread) on each
I/O backend, opens N idle WebSocket connections to /ws from this separate process (plain
blocking sockets, upgrade only, then nothing), and reports the testbed's VmRSS before, with
the N connections open, and after closing them, and the delta per connection.

    bench/ws_idle.py [--connections 10000] [--build DIR] [--backends io_uring,epoll]
                     [--deflate]

--deflate offers permessage-deflate, so each connection also gets its zlib state.
Needs a release build of the testbed (scripts/build release testbed). Run with Debian's
/usr/bin/python3 (standard library only)."""

import argparse
import os
import resource
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, deadline):
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the testbed did not start on port %d" % port)


def upgrade(port, deflate):
    """One WebSocket upgrade; returns the open socket (nothing is read after the 101)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    extension = "Sec-WebSocket-Extensions: permessage-deflate\r\n" if deflate else ""
    sock.sendall(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  "Sec-WebSocket-Version: 13\r\n%s\r\n" % (port, extension)).encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        if not byte:
            raise RuntimeError("connection closed during the upgrade")
        head += byte
    if not head.startswith(b"HTTP/1.1 101 "):
        raise RuntimeError("upgrade refused: %r" % head[:80])
    return sock


def measure(testbed, backend, connections, deflate):
    port = free_port()
    env = dict(os.environ, GALE_IO_BACKEND=backend, GALE_LOG_LEVEL="warning")
    server = subprocess.Popen([testbed, "--port", str(port), "--address", "127.0.0.1",
                               "--threads", "1"], env=env, stdout=subprocess.DEVNULL)
    sockets = []
    try:
        wait_for_port(port, time.monotonic() + 20)
        for _ in range(50):  # what the first connections allocate once belongs to the baseline
            upgrade(port, deflate).close()
        time.sleep(0.5)
        baseline = vm_rss_kib(server.pid)
        started = time.monotonic()
        for _ in range(connections):
            sockets.append(upgrade(port, deflate))
        opening = time.monotonic() - started
        time.sleep(1)
        loaded = vm_rss_kib(server.pid)
        for sock in sockets:
            sock.close()
        sockets.clear()
        time.sleep(2)
        after = vm_rss_kib(server.pid)
    finally:
        for sock in sockets:
            sock.close()
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    per_connection = (loaded - baseline) * 1024 / connections
    print("%-9s %6d conns%s  opened in %5.2f s  VmRSS baseline %7d KiB  open %7d KiB  "
          "after close %7d KiB  -> %6.0f bytes (%.2f KiB) per idle connection"
          % (backend, connections, " deflate" if deflate else "", opening, baseline, loaded,
             after, per_connection, per_connection / 1024), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=10000)
    parser.add_argument("--build", default=os.environ.get("GALE_BUILD_DIR",
                                                          os.path.join(HERE, "..", "build")))
    parser.add_argument("--backends", default="io_uring,epoll")
    parser.add_argument("--deflate", action="store_true")
    options = parser.parse_args()
    testbed = os.path.join(options.build, "demos", "testbed", "testbed")
    if not os.access(testbed, os.X_OK):
        sys.exit("missing %s: run scripts/build release testbed" % testbed)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < options.connections + 100:
        sys.exit("RLIMIT_NOFILE hard limit %d is too low for %d connections"
                 % (hard, options.connections))
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    for backend in options.backends.split(","):
        measure(testbed, backend, options.connections, options.deflate)


main()
