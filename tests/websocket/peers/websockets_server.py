"""A `websockets` (asyncio, Debian's 10.x) echo server for gale's client (interop_test).

    websockets_server.py on|off

Listens on 127.0.0.1 on a free port and prints it. Accepts permessage-deflate when "on".
Paths: /extensions sends the Sec-WebSocket-Extensions it answered first, then echoes;
/close closes with 4001 "server says bye" after the first message; anything else echoes.
Exits after two minutes in any case."""

import asyncio
import sys

import websockets

from common import report


async def handler(ws):
    if ws.path == "/extensions":
        await ws.send(ws.response_headers.get("Sec-WebSocket-Extensions", "none"))
    if ws.path == "/close":
        await ws.recv()
        await ws.close(4001, "server says bye")
        return
    async for message in ws:
        await ws.send(message)


async def serve(compression):
    server = await websockets.serve(handler, "127.0.0.1", 0, max_size=None,
                                    compression="deflate" if compression else None)
    report(server.sockets[0].getsockname()[1])
    await asyncio.sleep(120)
    server.close()


asyncio.run(serve(sys.argv[1] == "on"))
