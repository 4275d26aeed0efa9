"""A FastAPI backend whose data routes need a bearer token (401 without it), as API backends
behind an identity provider do; / stays public. TOKEN is a module constant so the tests can
look for it in everything tunicorn writes."""

from __future__ import annotations

import asyncio

from fastapi import Depends, FastAPI, HTTPException, Request

TOKEN = "tok-5ekrit-bearer-3131"

app = FastAPI()


def bearer(request: Request) -> str:
    if request.headers.get("authorization") != f"Bearer {TOKEN}":
        raise HTTPException(status_code=401, detail="Not authenticated")
    return "alice"


@app.get("/")
async def index() -> dict[str, str]:
    return {"hello": "world"}


@app.get("/items")
async def items(user: str = Depends(bearer)) -> list[dict[str, int]]:
    await asyncio.sleep(0.005)
    return [{"id": i} for i in range(10)]


@app.get("/me")
async def me(user: str = Depends(bearer)) -> dict[str, str]:
    return {"user": user}
