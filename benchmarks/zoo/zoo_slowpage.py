"""A slow CMS-like page: about 80 ms of pure-Python CPU and ten SQL queries per page.

The issue's case: a page that costs ~82 ms of CPU and makes many queries, where a trial's
window holds only tens of requests. The queries go through SQLAlchemy's pool (5 + 10
overflow, its defaults) to the PostgreSQL the benchmark starts (TUNICORN_TEST_DB); each is a
small real query, so the page waits a little on the database between bursts of CPU.
"""

import os

from _burn import burn
from flask import Flask
from sqlalchemy import create_engine, text

QUERIES = 10
engine = create_engine(
    os.environ["TUNICORN_TEST_DB"],
    pool_size=int(os.environ.get("POOL_SIZE", "5")),
    max_overflow=int(os.environ.get("MAX_OVERFLOW", "10")),
    pool_timeout=30,
)
app = Flask(__name__)


@app.get("/")
def index():
    return "ok\n"


@app.get("/work")
def work():
    rows = 0
    with engine.connect() as conn:
        for i in range(QUERIES):
            rows += conn.execute(text("SELECT count(*) FROM generate_series(1, :n)"),
                                 {"n": 200 + i}).scalar_one()  # fmt: skip
            burn(160_000)  # ~8 ms of CPU between queries, as a template renders
    return f"{rows} rows over {QUERIES} queries\n"
