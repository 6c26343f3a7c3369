#!/usr/bin/env python3
"""Holds N Server-Sent-Events subscriptions to one URL open until each stream ends.

One process with asyncio (not N curl processes), so the clients themselves cost little CPU
and the measurement shows what the subscribers cost the server.
Usage: sse_clients.py URL COUNT COOKIE  -> prints "<streams that saw a final event> <events>"
"""
import asyncio
import sys
from urllib.parse import urlsplit


async def subscribe(host, port, path, cookie, counts):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
        f"Cookie: {cookie}\r\nConnection: close\r\n\r\n".encode()
    )
    await writer.drain()
    saw_final = False
    while True:
        line = await reader.readline()
        if not line:
            break
        if line.startswith(b"event:"):
            counts["events"] += 1
            if b"done" in line:
                saw_final = True
    counts["final"] += int(saw_final)
    writer.close()


async def main():
    url, count, cookie = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    parts = urlsplit(url)
    counts = {"events": 0, "final": 0}
    await asyncio.gather(
        *(subscribe(parts.hostname, parts.port, parts.path, cookie, counts) for _ in range(count))
    )
    print(counts["final"], counts["events"])


asyncio.run(main())
