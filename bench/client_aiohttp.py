#!/usr/bin/python3
"""HTTP client benchmark, aiohttp's side: one ClientSession (keep-alive pool limited to N
connections) and N coroutines fetching one URL for a fixed time. Prints the same JSON line as
client_fetch.

    client_aiohttp.py URL CONCURRENCY SECONDS
"""
import asyncio
import json
import resource
import sys
import time

import aiohttp


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def main():
    url, concurrency, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.get(url) as response:
            await response.read()
        counts = {"requests": 0, "errors": 0, "bytes": 0}
        deadline = time.monotonic() + seconds

        async def worker():
            while time.monotonic() < deadline:
                try:
                    async with session.get(url) as response:
                        body = await response.read()
                        counts["bytes"] += len(body)
                        counts["requests"] += 1
                except Exception as error:  # noqa: BLE001 - counted and reported once
                    counts["errors"] += 1
                    if counts["errors"] == 1:
                        print(f"client_aiohttp: {error}", file=sys.stderr)

        cpu_before = cpu_seconds()
        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - started
        print(json.dumps({"requests": counts["requests"], "seconds": round(elapsed, 3),
                          "cpu_seconds": round(cpu_seconds() - cpu_before, 3),
                          "errors": counts["errors"], "bytes": counts["bytes"]}))


asyncio.run(main())
