#!/usr/bin/python3
"""HTTP client benchmark: gale's AsyncHTTPClient against libcurl's multi interface, Python
Tornado's AsyncHTTPClient and aiohttp, with wrk as the ceiling, fetching a small file from a
local nginx with keep-alive (Tornado's simple client cannot keep connections alive).

nginx (one worker) runs pinned to CPU 0, every client pinned to CPU 1. Rounds are interleaved
and medians compared. The figure that matters is requests per client CPU-second (the client's
own CPU during its measured window; for wrk the whole process): nginx on the other core can
cap the raw rate. Also measured: the peak RSS of a 256-way crawl of a generated site with the
crawler demo.

    bench/client_bench.py [--build build] [--rounds 3] [--seconds 5] [--concurrency 1,64,256]
                          [--crawl-pages 5000] [--skip-crawl]
"""
import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def process_cpu(pid):
    """CPU seconds of a process and its threads, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class Nginx:
    def __init__(self, directory, port):
        self.directory, self.port = directory, port
        site = os.path.join(directory, "site")
        os.makedirs(os.path.join(directory, "temp"), exist_ok=True)
        os.makedirs(site, exist_ok=True)
        with open(os.path.join(site, "hello.txt"), "w") as out:
            out.write("Hello, World!")
        temp = os.path.join(directory, "temp")
        config = f"""
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  client_body_temp_path {temp}/body; proxy_temp_path {temp}/proxy;
  fastcgi_temp_path {temp}/fastcgi; uwsgi_temp_path {temp}/uwsgi; scgi_temp_path {temp}/scgi;
  types {{ text/plain txt; text/html html; }}
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  server {{ listen 127.0.0.1:{port} backlog=4096; root {site}; }}
}}
"""
        with open(os.path.join(directory, "nginx.conf"), "w") as out:
            out.write(config)
        self.site = site

    def start(self):
        self.process = subprocess.Popen(
            ["taskset", "-c", "0", "nginx", "-p", self.directory, "-c",
             os.path.join(self.directory, "nginx.conf"), "-e",
             os.path.join(self.directory, "error.log"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)
        time.sleep(0.2)
        children = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True,
                                  text=True).stdout.split()
        self.worker = int(children[0]) if children else self.process.pid

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


def run_client(command):
    """Runs a client pinned to CPU 1; returns its JSON result and the process's rusage."""
    process = subprocess.Popen(["taskset", "-c", "1"] + command, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    output = process.stdout.read()
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {errors.strip()}")
    return output, usage


def run_json_client(command):
    output, _ = run_client(command)
    return json.loads(output.strip().splitlines()[-1])


def run_wrk(url, concurrency, seconds):
    output, usage = run_client(["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s",
                                "--timeout", "10s", url])
    match = re.search(r"(\d+) requests in ([\d.]+)(m?s)", output)
    if not match:
        raise RuntimeError(f"cannot read wrk's output: {output}")
    elapsed = float(match.group(2)) / (1000 if match.group(3) == "ms" else 1)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"requests": int(match.group(1)), "seconds": elapsed,
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "errors": int(errors.group(1)) if errors else 0}


def build_curl_client(build):
    source = os.path.join(HERE, "client_curl_multi.c")
    target = os.path.join(build, "bench", "client_curl_multi")
    if os.path.exists(target) and os.path.getmtime(target) >= os.path.getmtime(source):
        return target
    result = subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-o", target, source, "-lcurl"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        print("libcurl client not built (install libcurl4-openssl-dev):\n" + result.stderr,
              file=sys.stderr)
        return None
    return target


def write_crawl_site(site, pages):
    for i in range(pages):
        links = [(i + 1) % pages, (i * 7 + 3) % pages, (i * 13 + 11) % pages]
        body = "".join(f'<a href="/c/{j // 100}/p{j}.html">p{j}</a>\n' for j in links)
        path = os.path.join(site, "c", str(i // 100))
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, f"p{i}.html"), "w") as out:
            out.write(f"<!DOCTYPE html><html><body>\n{body}</body></html>\n")


def crawl(build, nginx, pages):
    write_crawl_site(nginx.site, pages)
    crawler = os.path.join(build, "demos", "crawler", "crawler")
    command = ["taskset", "-c", "1", crawler, f"http://127.0.0.1:{nginx.port}/c/0/p0.html",
               "--concurrency", "256", "--max-pages", str(pages * 2), "--same-host"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    return output.strip(), usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--concurrency", default="1,64,256")
    parser.add_argument("--crawl-pages", type=int, default=5000)
    parser.add_argument("--skip-crawl", action="store_true")
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    levels = [int(level) for level in args.concurrency.split(",")]

    directory = tempfile.mkdtemp(prefix="gale-client-bench-")
    os.chmod(directory, 0o755)  # nginx workers may run as another user
    port = free_port()
    nginx = Nginx(directory, port)
    nginx.start()
    url = f"http://127.0.0.1:{port}/hello.txt"
    seconds = f"{args.seconds:g}"
    clients = [("gale", lambda c: run_json_client(
        [os.path.join(build, "bench", "client_fetch"), url, str(c), seconds]))]
    curl = build_curl_client(build)
    if curl:
        clients.append(("libcurl multi", lambda c: run_json_client([curl, url, str(c), seconds])))
    clients.append(("aiohttp", lambda c: run_json_client(
        ["/usr/bin/python3", os.path.join(HERE, "client_aiohttp.py"), url, str(c), seconds])))
    clients.append(("Tornado", lambda c: run_json_client(
        ["/usr/bin/python3", os.path.join(HERE, "client_tornado.py"), url, str(c), seconds])))
    if shutil.which("wrk"):
        clients.append(("wrk (ceiling)", lambda c: run_wrk(url, c, seconds)))

    results = {}
    try:
        for concurrency in levels:
            for round_number in range(args.rounds):
                for name, run in clients:
                    nginx_before = process_cpu(nginx.worker)
                    started = time.time()
                    result = run(concurrency)
                    result["nginx_share"] = (process_cpu(nginx.worker) - nginx_before) / (
                        time.time() - started)
                    result["rate"] = result["requests"] / result["seconds"]
                    result["per_cpu"] = result["requests"] / max(result["cpu_seconds"], 1e-9)
                    results.setdefault((concurrency, name), []).append(result)
                    print(f"[c={concurrency} round {round_number + 1}] {name:14} "
                          f"{result['rate']:>9,.0f} req/s  client CPU "
                          f"{result['cpu_seconds'] / result['seconds'] * 100:5.1f}%  "
                          f"{result['per_cpu']:>9,.0f} req/CPU-s  errors {result['errors']}",
                          file=sys.stderr, flush=True)
        crawl_result = None if args.skip_crawl else crawl(build, nginx, args.crawl_pages)
    finally:
        nginx.stop()
        shutil.rmtree(directory, ignore_errors=True)

    def median(concurrency, name, key):
        return statistics.median(r[key] for r in results[(concurrency, name)])

    print(f"\nHTTP client fetching a 13-byte file from nginx (1 worker, CPU 0), client on CPU 1, "
          f"keep-alive; {args.rounds} rounds of {args.seconds:g} s, medians\n")
    for concurrency in levels:
        gale_per_cpu = median(concurrency, "gale", "per_cpu")
        print(f"concurrency {concurrency}\n")
        print("| client | requests/s | client CPU | requests per client CPU-s | gale is × | "
              "nginx CPU |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, _ in clients:
            rate = median(concurrency, name, "rate")
            cpu_share = statistics.median(r["cpu_seconds"] / r["seconds"]
                                          for r in results[(concurrency, name)])
            per_cpu = median(concurrency, name, "per_cpu")
            print(f"| {name} | {rate:,.0f} | {cpu_share * 100:.0f}% | {per_cpu:,.0f} | "
                  f"{gale_per_cpu / per_cpu:.2f} | "
                  f"{median(concurrency, name, 'nginx_share') * 100:.0f}% |")
        print()
    if crawl_result:
        summary, rss, cpu = crawl_result
        print(f"crawler --concurrency 256 over {args.crawl_pages} pages: {summary}; "
              f"peak RSS {rss:.1f} MiB, CPU {cpu:.2f} s")


if __name__ == "__main__":
    main()
