"""Run probe_app on Werkzeug's threaded development server: `python werkzeug_threaded.py PORT`."""

from __future__ import annotations

import sys

from probe_app import app
from werkzeug.serving import run_simple

if __name__ == "__main__":
    run_simple("127.0.0.1", int(sys.argv[1]), app, threaded=True)
