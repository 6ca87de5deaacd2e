#!/usr/bin/env bash
# WebSocket benchmark: gale's testbed (io_uring and epoll) against the shared peer harness's
# WebSocket servers (Boost.Beast coroutines, Python Tornado, ...) in one run:
#   ws_echo       64 clients, 32-byte text messages, ping-pong
#   ws_broadcast  1 sender, 1000 subscribers on /broadcast, window 16
# Server on CPU 0, the load client (the harness's ws_load) on CPU 1; prints msgs/s, p50/p99,
# server peak RSS, "per server CPU-second" and ratios.
#
#   bench/ws.sh [--runs N] [peer ...]       (default peers: beast_coro tornado)
#
# Needs `scripts/setup --bench` and a release build of the testbed
# (`scripts/build release testbed`; GALE_BUILD_DIR selects another build directory).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
harness=${GALE_BENCH_HARNESS:-$here/../shared/bench/ws.sh}
build=${GALE_BUILD_DIR:-$here/build}
case "$build" in /*) ;; *) build="$here/$build" ;; esac
runs=2
if [[ "${1:-}" == "--runs" ]]; then
  runs=$2
  shift 2
fi
peers=("$@")
((${#peers[@]})) || peers=(beast_coro tornado)

testbed="$build/demos/testbed/testbed"
[[ -x "$testbed" ]] || { echo "missing $testbed: run scripts/build release testbed" >&2; exit 1; }
quiet="GALE_LOG_LEVEL=warning"
exec "$harness" --runs "$runs" --ref beast_coro "${peers[@]}" \
  --custom gale_uring 18210 "env GALE_IO_BACKEND=io_uring $quiet $testbed --port 18210" \
  --custom gale_epoll 18211 "env GALE_IO_BACKEND=epoll $quiet $testbed --port 18211"
