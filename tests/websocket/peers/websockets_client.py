"""A `websockets` (asyncio, Debian's 10.x) client run against gale's server by interop_test.

    websockets_client.py URL on|off close=CODE[:REASON] | wait

Offers permessage-deflate when "on"; echoes text and binary messages of every size in
common.SIZES and a fragmented message, pings, then closes with CODE (and REASON), or, with
"wait", prints "waiting" and waits for the server to close. Prints what it saw."""

import asyncio
import sys

import websockets

from common import SIZES, binary_payload, describe_close, fail, report, text_payload


async def echo(ws, kind, payload):
    await ws.send(payload)
    answer = await ws.recv()
    same = type(answer) is type(payload) and answer == payload
    report(kind, len(payload), "ok" if same else "bad")


async def session(url, compression, ending):
    ws = await websockets.connect(url, compression="deflate" if compression else None,
                                  max_size=None, open_timeout=20, close_timeout=20)
    report("extensions", ws.response_headers.get("Sec-WebSocket-Extensions", "-"))
    for size in SIZES:
        await echo(ws, "text", text_payload(size))
        await echo(ws, "binary", binary_payload(size))
    # An iterable makes `send` fragment the message: one frame per item.
    fragments = ["frag", "mented ", text_payload(70000)]
    await ws.send(fragments)
    answer = await ws.recv()
    report("fragmented", "ok" if answer == "".join(fragments) else "bad")
    pong = await ws.ping(b"interop")
    await asyncio.wait_for(pong, 20)
    report("pong", "ok")
    if ending == "wait":
        report("waiting")
        await ws.wait_closed()
    else:
        code, _, reason = ending.partition(":")
        await ws.close(int(code), reason)
    report("closed", *describe_close(ws.close_code, ws.close_reason))


def main():
    if len(sys.argv) != 4 or not sys.argv[3].startswith(("close=", "wait")):
        fail("usage: websockets_client.py URL on|off close=CODE[:REASON]|wait")
    ending = sys.argv[3].removeprefix("close=")
    try:
        asyncio.run(asyncio.wait_for(session(sys.argv[1], sys.argv[2] == "on", ending), 60))
    except Exception as error:  # reported for the test's failure message
        fail(repr(error))


main()
