#!/usr/bin/python3
"""A small forward HTTP proxy for the client's proxy tests (asyncio, standard library only).

    forward_proxy.py PORT_FILE LOG_FILE [USER:PASSWORD]

Absolute-form requests ("GET http://host:port/path HTTP/1.1") are forwarded to the origin in
origin form, one upstream connection per request, and the answer relayed; the client's
connection stays open. CONNECT host:port opens a tunnel. With USER:PASSWORD, requests without
the matching Proxy-Authorization get 407. Every request is logged as
"<client connection number> <METHOD> <target> <status>".
"""
import asyncio
import base64
import itertools
import os
import sys

PORT_FILE, LOG_FILE = sys.argv[1], sys.argv[2]
CREDENTIALS = sys.argv[3] if len(sys.argv) > 3 else None
counter = itertools.count(1)


def log(connection, method, target, status):
    with open(LOG_FILE, "a") as out:
        out.write(f"{connection} {method} {target} {status}\n")


def authorized(headers):
    if CREDENTIALS is None:
        return True
    expected = "Basic " + base64.b64encode(CREDENTIALS.encode()).decode()
    return headers.get("proxy-authorization") == expected


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def read_body(reader, headers):
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            line = await reader.readuntil(b"\r\n")
            size = int(line.split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            body += line + chunk
            if size == 0:
                return body
    return b""


async def handle(reader, writer):
    connection = next(counter)
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await read_body(reader, headers)
            if not authorized(headers):
                log(connection, method, target, 407)
                writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                             b"Proxy-Authenticate: Basic realm=\"gale\"\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                if method == "CONNECT":
                    writer.close()
                    return
                continue
            if method == "CONNECT":
                host, port = target.rsplit(":", 1)
                up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
                log(connection, method, target, 200)
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
                await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
                return
            # Absolute form: http://host:port/path
            rest = target.split("://", 1)[1]
            authority, _, path = rest.partition("/")
            host, _, port = authority.rpartition(":")
            up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port or 80))
            forwarded = [f"{method} /{path} HTTP/1.1"]
            for line in lines[1:]:
                name = line.split(":", 1)[0].strip().lower()
                if line and name not in ("proxy-authorization", "proxy-connection", "connection"):
                    forwarded.append(line)
            forwarded.append("Connection: close")
            up_writer.write(("\r\n".join(forwarded) + "\r\n\r\n").encode("latin-1") + body)
            await up_writer.drain()
            response_head = await up_reader.readuntil(b"\r\n\r\n")
            response_lines = response_head.decode("latin-1").split("\r\n")
            status = int(response_lines[0].split(" ")[1])
            kept = [l for l in response_lines if l and not l.lower().startswith("connection:")]
            writer.write(("\r\n".join(kept) + "\r\n\r\n").encode("latin-1"))
            while data := await up_reader.read(65536):
                writer.write(data)
            await writer.drain()
            up_writer.close()
            log(connection, method, target, status)
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with open(PORT_FILE + ".tmp", "w") as out:
        out.write(str(port))
    os.rename(PORT_FILE + ".tmp", PORT_FILE)
    async with server:
        await server.serve_forever()


asyncio.run(main())
