"""An `autobahn` (asyncio) echo server for gale's client (interop_test).

    autobahn_server.py on|off

Listens on 127.0.0.1 on a free port and prints it. Accepts permessage-deflate when "on";
echoes close codes and reasons. Paths as websockets_server.py: /extensions, /close, echo.
Exits after two minutes in any case."""

import asyncio
import sys

from autobahn.asyncio.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.compress import PerMessageDeflateOffer, PerMessageDeflateOfferAccept

from common import report


def accept_deflate(offers):
    for offer in offers:
        if isinstance(offer, PerMessageDeflateOffer):
            return PerMessageDeflateOfferAccept(offer)
    return None


class EchoProtocol(WebSocketServerProtocol):
    def onConnect(self, request):
        self.path = request.path

    def onOpen(self):
        if self.path == "/extensions":
            names = [extension.EXTENSION_NAME for extension in self.websocket_extensions_in_use]
            self.sendMessage((", ".join(names) or "none").encode(), False)

    def onMessage(self, payload, is_binary):
        if self.path == "/close":
            self.sendClose(code=4001, reason="server says bye")
        else:
            self.sendMessage(payload, is_binary)


async def serve(compression):
    factory = WebSocketServerFactory()
    factory.protocol = EchoProtocol
    options = {"echoCloseCodeReason": True, "maxMessagePayloadSize": 0,
               "maxFramePayloadSize": 0, "autoFragmentSize": 0}
    if compression:
        options["perMessageCompressionAccept"] = accept_deflate
    factory.setProtocolOptions(**options)
    server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
    report(server.sockets[0].getsockname()[1])
    await asyncio.sleep(120)
    server.close()


asyncio.run(serve(sys.argv[1] == "on"))
