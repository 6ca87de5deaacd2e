#!/usr/bin/python3
"""TCP echo benchmark: gale (io_uring and epoll) against a hand-written epoll echo server.

Every server runs pinned to CPU 0, the load generator (bench/echo_load.c) to CPU 1. Rounds
are interleaved (baseline, gale-epoll, gale-io_uring, baseline, ...) and the medians are
compared. Reported per server: round trips per second, the server's CPU share, and round
trips per server CPU-second (the figure least disturbed by a busy machine), with ratios to
the baseline.

    bench/echo.py [--build build] [--rounds 3] [--seconds 5] [--connections 64] [--size 64]
"""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def wait_for_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def run_round(name, command, environment, port, args, load):
    server = subprocess.Popen(["taskset", "-c", "0"] + command, env=environment,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        wait_for_port(port)
        before = cpu_seconds(server.pid)
        started = time.time()
        output = subprocess.run(["taskset", "-c", "1", load, str(port), str(args.connections),
                                 str(args.size), str(args.seconds), "1"],
                                capture_output=True, text=True, timeout=args.seconds + 60,
                                check=True).stdout
        elapsed = time.time() - started
        used = cpu_seconds(server.pid) - before
        result = json.loads(output)
        result["cpu_share"] = used / elapsed
        # The load measured `seconds` of the `elapsed`; the server's CPU is spread evenly.
        result["per_cpu_second"] = result["rate"] / max(result["cpu_share"], 1e-9)
        return result
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--port", type=int, default=18911)
    args = parser.parse_args()

    build = os.path.abspath(args.build)
    load = os.path.join(build, "bench", "echo_load")
    servers = [
        ("epoll baseline", [os.path.join(build, "bench", "echo_baseline"), str(args.port)], {}),
        ("gale epoll", [os.path.join(build, "demos", "echo", "echo_server"), "--port",
                        str(args.port), "--address", "127.0.0.1"], {"GALE_IO_BACKEND": "epoll"}),
        ("gale io_uring", [os.path.join(build, "demos", "echo", "echo_server"), "--port",
                           str(args.port), "--address", "127.0.0.1"],
         {"GALE_IO_BACKEND": "io_uring"}),
    ]
    results = {name: [] for name, _, _ in servers}
    for round_number in range(args.rounds):
        for name, command, extra in servers:
            environment = dict(os.environ, **extra)
            result = run_round(name, command, environment, args.port, args, load)
            results[name].append(result)
            print(f"[round {round_number + 1}] {name:15} {result['rate']:>12,.0f} msg/s  "
                  f"cpu {result['cpu_share'] * 100:5.1f}%", file=sys.stderr, flush=True)

    def median(name, key):
        return statistics.median(r[key] for r in results[name])

    base_rate = median("epoll baseline", "rate")
    base_per_cpu = median("epoll baseline", "per_cpu_second")
    print(f"\nTCP echo, {args.connections} connections, {args.size}-byte messages, "
          f"ping-pong, {args.rounds} rounds of {args.seconds:g} s (medians)\n")
    print(f"| server | messages/s | ratio | server CPU | messages per CPU-s | ratio |")
    print(f"|---|---:|---:|---:|---:|---:|")
    for name, _, _ in servers:
        rate = median(name, "rate")
        per_cpu = median(name, "per_cpu_second")
        print(f"| {name} | {rate:,.0f} | {rate / base_rate:.2f} | "
              f"{median(name, 'cpu_share') * 100:.0f}% | {per_cpu:,.0f} | "
              f"{per_cpu / base_per_cpu:.2f} |")


if __name__ == "__main__":
    main()
