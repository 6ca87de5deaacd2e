#!/usr/bin/env bash
# HTTP benchmark: gale's testbed (io_uring and epoll) and the bare HTTP layer (http_hello)
# against the shared peer harness's servers (nginx, Boost.Beast, Python Tornado, ...) in one
# run: plaintext and JSON at 16/64/256 connections, 16-deep pipelining, Connection: close
# churn. Server on CPU 0, wrk on CPU 1; prints req/s, p99, RSS, "per server CPU-second" and
# ratios to nginx.
#
#   bench/http.sh [--runs N] [peer ...]      (default peers: nginx beast_coro tornado)
#
# Needs `scripts/setup --bench` and a release build (`scripts/build release`).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
harness=${GALE_BENCH_HARNESS:-$here/../shared/bench/peers.sh}
build=${GALE_BUILD_DIR:-$here/build}
runs=2
if [[ "${1:-}" == "--runs" ]]; then
  runs=$2
  shift 2
fi
peers=("$@")
((${#peers[@]})) || peers=(nginx beast_coro tornado)

testbed="$build/demos/testbed/testbed"
hello="$build/bench/http_hello"
for program in "$testbed" "$hello"; do
  [[ -x "$program" ]] || { echo "missing $program: run scripts/build release" >&2; exit 1; }
done
quiet="GALE_LOG_LEVEL=warning"
exec "$harness" --runs "$runs" "${peers[@]}" \
  --custom gale_uring 18200 "env GALE_IO_BACKEND=io_uring $quiet $testbed --port 18200" \
  --custom gale_epoll 18201 "env GALE_IO_BACKEND=epoll $quiet $testbed --port 18201" \
  --custom gale_http_only 18202 "env GALE_IO_BACKEND=io_uring $quiet $hello 18202"
