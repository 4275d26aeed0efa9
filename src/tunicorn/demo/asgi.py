"""The demo's ASGI twin (FastAPI): the seed's problem as it shows up in an async app.

`/io` awaits 200 ms like a call through an async client: one worker's event loop serves
every waiting request at once. `/blocking` waits the same 200 ms with `time.sleep` inside
`async def`, as code does that calls `requests` or a sync database driver from an async
route: it blocks the event loop, so its worker serves one request at a time while the
CPU graph stays flat. `/sync-io` is the same wait in a plain `def` route, which FastAPI runs
in anyio's thread pool (40 threads per worker). `/cpu` computes about 10 ms, `/` answers at once.
"""

from __future__ import annotations

import asyncio
import time

from fastapi import FastAPI

from tunicorn.demo.app import CPU_ROUNDS, IO_WAIT_S, _spin

app = FastAPI(title="tunicorn ASGI demo", docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/")
async def index() -> dict[str, str]:
    return {"ok": "yes"}


@app.get("/io")
async def io() -> dict[str, float]:
    await asyncio.sleep(IO_WAIT_S)  # stands in for await httpx.AsyncClient().get(…)
    return {"waited_ms": IO_WAIT_S * 1000}


@app.get("/blocking")
async def blocking() -> dict[str, float]:
    time.sleep(IO_WAIT_S)  # stands in for requests.get(…) inside async def: blocks the loop
    return {"waited_ms": IO_WAIT_S * 1000}


@app.get("/sync-io")
def sync_io() -> dict[str, float]:
    time.sleep(IO_WAIT_S)  # a plain def route: FastAPI runs it in a worker thread
    return {"waited_ms": IO_WAIT_S * 1000}


@app.get("/cpu")
async def cpu() -> dict[str, int]:
    return {"result": _spin(CPU_ROUNDS)}
