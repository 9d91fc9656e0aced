"""Refuse oversized request bodies, whether or not the client declares their length.

A declared Content-Length over the limit is refused before the body is read (the HTTP
middleware in ``api.app`` does that). A chunked body has no length up front: it is read
here, up to the limit, and refused with 413 as soon as it passes it, so no handler ever sees
an oversized body and memory stays bounded.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _declares_length(scope):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; let the app see the disconnect
            body: bytes = message.get("body", b"")
            size += len(body)
            if size > limit:
                await _too_large(send, limit)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)


def _declares_length(scope: Scope) -> bool:
    return any(name == b"content-length" for name, _ in scope.get("headers", []))


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        {"code": "PAYLOAD_TOO_LARGE", "message": f"Request body over {limit} bytes; send less."}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
