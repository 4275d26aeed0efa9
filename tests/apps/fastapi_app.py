"""A FastAPI app like the ones people deploy: an awaiting route, a plain `def` route, a route
that blocks the event loop, and routes a bare GET cannot use (parameters, POST only)."""

from __future__ import annotations

import asyncio
import time

from fastapi import FastAPI

app = FastAPI()

WAIT_S = 0.05


@app.get("/")
async def index() -> dict[str, str]:
    return {"hello": "world"}


@app.get("/io")
async def io() -> dict[str, float]:
    await asyncio.sleep(WAIT_S)
    return {"waited_s": WAIT_S}


@app.get("/sync")
def sync_io() -> dict[str, float]:
    time.sleep(WAIT_S)  # a plain def route: FastAPI runs it in anyio's thread pool
    return {"waited_s": WAIT_S}


@app.get("/blocking")
async def blocking() -> dict[str, float]:
    time.sleep(WAIT_S)  # blocks the event loop: the worker serves one request at a time
    return {"waited_s": WAIT_S}


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, int]:
    return {"item": item_id}


@app.get("/search")
async def search(q: str) -> dict[str, str]:
    return {"q": q}


@app.get("/page")
async def page(n: int = 1) -> dict[str, int]:
    return {"page": n}


@app.post("/submit")
async def submit() -> dict[str, bool]:
    return {"ok": True}
