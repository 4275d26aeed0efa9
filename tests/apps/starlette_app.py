"""A Starlette app: async and plain endpoints, a mounted router, a path parameter, a WebSocket."""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket


async def index(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def io(request: Request) -> PlainTextResponse:
    await asyncio.sleep(0.05)
    return PlainTextResponse("waited")


def plain(request: Request) -> PlainTextResponse:
    return PlainTextResponse("plain")


async def user(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.path_params["name"])


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.close()


app = Starlette(
    routes=[
        Route("/", index),
        Route("/io", io),
        Mount("/api", routes=[Route("/plain", plain), Route("/users/{name}", user)]),
        WebSocketRoute("/ws", echo),
    ]
)
