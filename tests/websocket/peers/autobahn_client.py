"""An `autobahn` (asyncio) client run against gale's server by interop_test.

    autobahn_client.py URL on|off

Offers permessage-deflate when "on"; echoes text and binary messages of every size in
common.SIZES, pings, closes with 1000. Prints what it saw (the extensions in use, each echo,
the pong, the close code and whether the closing handshake was clean)."""

import asyncio
import sys
from urllib.parse import urlparse

from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol
from autobahn.websocket.compress import (PerMessageDeflateOffer, PerMessageDeflateResponse,
                                         PerMessageDeflateResponseAccept)

from common import SIZES, binary_payload, describe_close, fail, report, text_payload


def accept_deflate(response):
    if isinstance(response, PerMessageDeflateResponse):
        return PerMessageDeflateResponseAccept(response)
    return None


class Client(WebSocketClientProtocol):
    """Turns autobahn's callbacks into futures and a queue for `session`."""

    def onOpen(self):
        self.factory.opened.set_result(self)

    def onMessage(self, payload, is_binary):
        self.factory.messages.put_nowait((payload, is_binary))

    def onPong(self, payload):
        if not self.factory.pong.done():
            self.factory.pong.set_result(payload)

    def onClose(self, was_clean, code, reason):
        if not self.factory.opened.done():
            self.factory.opened.set_exception(ConnectionError(reason))
        if not self.factory.closed.done():
            self.factory.closed.set_result((was_clean, code, reason))


async def echo(ws, messages, kind, payload, is_binary):
    ws.sendMessage(payload, is_binary)
    answer, answer_binary = await messages.get()
    same = answer == payload and answer_binary == is_binary
    report(kind, len(payload), "ok" if same else "bad")


async def session(url, compression):
    loop = asyncio.get_running_loop()
    factory = WebSocketClientFactory(url)
    factory.protocol = Client
    options = {"maxMessagePayloadSize": 0, "maxFramePayloadSize": 0, "autoFragmentSize": 0}
    if compression:
        options["perMessageCompressionOffers"] = [PerMessageDeflateOffer()]
        options["perMessageCompressionAccept"] = accept_deflate
    factory.setProtocolOptions(**options)
    factory.opened, factory.pong, factory.closed = (loop.create_future() for _ in range(3))
    factory.messages = asyncio.Queue()
    address = urlparse(url)
    await loop.create_connection(factory, address.hostname, address.port)
    ws = await factory.opened
    names = [extension.EXTENSION_NAME for extension in ws.websocket_extensions_in_use]
    report("extensions", ", ".join(names) or "-")
    for size in SIZES:
        await echo(ws, factory.messages, "text", text_payload(size).encode(), False)
        await echo(ws, factory.messages, "binary", binary_payload(size), True)
    ws.sendPing(b"interop")
    report("pong", "ok" if await factory.pong == b"interop" else "bad")
    ws.sendClose(code=1000, reason="done")
    was_clean, code, reason = await factory.closed
    report("closed", *describe_close(code, reason), "clean" if was_clean else "unclean")


def main():
    if len(sys.argv) != 3:
        fail("usage: autobahn_client.py URL on|off")
    try:
        asyncio.run(asyncio.wait_for(session(sys.argv[1], sys.argv[2] == "on"), 60))
    except Exception as error:  # reported for the test's failure message
        fail(repr(error))


main()
