"""The zoo's database app: the tests' pool app (tests/apps/pool_app.py: SQLAlchemy's QueuePool
over psycopg, each request holding a connection for SELECT pg_sleep(0.03)), with its query at
/work as every zoo app has it. TUNICORN_TEST_DB is the database URL (the benchmark starts
PostgreSQL itself); POOL_SIZE and MAX_OVERFLOW set the pool (SQLAlchemy's defaults are 5 and 10).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository, for tests/

from tests.apps.pool_app import app, work  # noqa: E402

app.add_url_rule("/work", "zoo_work", work)
