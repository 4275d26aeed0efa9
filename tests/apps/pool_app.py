"""A real connection pool over a real database: SQLAlchemy's QueuePool with psycopg, each
request holding a connection for a 30 ms query (SELECT pg_sleep(0.03)).

Every gunicorn worker imports the app, so every process has its own pool: requests beyond
pool_size + max_overflow wait inside the process for a connection, which threads cannot
help. TUNICORN_TEST_DB is the database URL (the test starts PostgreSQL itself);
POOL_SIZE and MAX_OVERFLOW set the pool (SQLAlchemy's defaults are 5 and 10).
"""

import os

from flask import Flask
from sqlalchemy import create_engine, text

engine = create_engine(
    os.environ["TUNICORN_TEST_DB"],
    pool_size=int(os.environ.get("POOL_SIZE", "4")),
    max_overflow=int(os.environ.get("MAX_OVERFLOW", "0")),
    pool_timeout=30,
)
app = Flask(__name__)


@app.get("/")
def index():
    return "ok\n"


@app.get("/query")
def work():
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_sleep(0.03)"))
    return "held a pooled connection for 30 ms\n"
