"""Settings declared once: each one's name, default, type, help and command-line flag.

In the spirit of gunicorn's `config.py` (one class per setting, generating the CLI and the
docs), but as typed frozen declarations in a tuple: `cli/options.py` turns a declaration into
a click option, the tuner's `TuneSettings` takes its defaults from here, and the settings
table in docs/settings.md is generated from the same tuple (a test keeps them equal).

What a setting is (`Setting`) is in `declare.py`; the worker classes and the rule gunicorn
applies to them silently (sync with threads > 1 runs as gthread) are in `classes.py`.
"""

from __future__ import annotations

from tunicorn.classes import CLASS_ALIASES, FRONTEND_TIMEOUT, GUNICORN_TIMEOUT, WORKER_CLASSES
from tunicorn.declare import Kind as Kind
from tunicorn.declare import Setting as Setting

# -- the plan -------------------------------------------------------------------------
PLAN: Setting[str] = Setting(
    "plan",
    "B1",
    "text",
    "App Service plan to fit (tunicorn plans lists them).",
    flag="--plan",
    commands=("tune", "recommend", "check"),
    metavar="NAME",
)
CPUS: Setting[int | None] = Setting(
    "cpus",
    None,
    "int",
    "Cores of the target machine (with --memory).",
    flag="--cpus",
    commands=("tune", "recommend"),
)
MEMORY: Setting[float | None] = Setting(
    "memory_mib",
    None,
    "size",
    "Memory of the target machine, e.g. 1.75GB, 3.5GiB.",
    flag="--memory",
    commands=("tune", "recommend"),
)
SERVER_CPUS: Setting[int | None] = Setting(
    "cpus",
    None,
    "int",
    "Pin the server to N cores and the load generator to the others (emulates a plan).",
    flag="--cpus",
    commands=("bench", "profile"),
)
# -- tune ------------------------------------------------------------------------------
SLO_P95: Setting[float | None] = Setting(
    "slo_p95_ms",
    None,
    "float",
    "Latency target: p95 in ms.",
    flag="--slo-p95",
    default_text="2.5 × one user's p95, at least 100",
    commands=("tune",),
)
BUDGET: Setting[float | None] = Setting(
    "budget_s",
    None,
    "seconds",
    "Seconds to spend in all, the profile included.",
    flag="--budget",
    default_text="derived from the profile: the opening and a short climb at this app's "
    "window lengths, 60-1200 s",
    commands=("tune",),
)
GEVENT: Setting[bool | None] = Setting(
    "gevent",
    None,
    "switch",
    "Try the gevent worker.",
    flag="--gevent/--no-gevent",
    default_text="when installed and the app mostly waits",
    commands=("tune",),
)
KEEPALIVE: Setting[bool] = Setting(
    "keepalive",
    False,
    "switch",
    "Reuse each client's connection as a pooling front end does (all opened before the run, "
    "one the server closes opened again), or open a new one per request like users who pause "
    "longer than gunicorn's 2 s keep-alive (gthread workers then share the load).",
    flag="--keep-alive/--new-connections",
    commands=("bench", "tune"),
)
MAX_THREADS: Setting[int] = Setting(
    "max_threads",
    64,
    "int",
    "Most threads per worker the search (and the model) will suggest: past this the "
    "GIL and the app's locks decide, not waiting.",
)
MAX_WORKERS_PER_CORE: Setting[int] = Setting(
    "max_workers_per_core",
    8,
    "int",
    "Most workers per core the search tries; memory usually binds first.",
)
WARMUP: Setting[float] = Setting(
    "warmup_s", 0.5, "seconds", "Load before each trial's measured window."
)
SATURATE: Setting[float] = Setting(
    "saturate_s", 2.0, "seconds", "Each trial's closed loop (one client per slot)."
)
VERIFY: Setting[float] = Setting(
    "verify_s", 2.0, "seconds", "Each SLO check (an open loop at a share of the peak)."
)
PRUNE: Setting[bool] = Setting(
    "prune", True, "flag", "Stop a trial's SLO checks once it cannot beat the best."
)
RUNOFF: Setting[bool] = Setting(
    "runoff", True, "flag", "Measure close calls again, until their intervals separate or they tie."
)
CRAWL: Setting[int | None] = Setting(
    "crawl",
    None,
    "int",
    "Follow the site's own links from / (or the --path pages), breadth-first, GET only, for up "
    "to N pages, and load those that answer 2xx; 0 never crawls.",
    flag="--crawl",
    default_text="30 pages where the router has catch-all routes or few GET routes",
    zero_ok=True,
    commands=("tune", "profile"),
)
# -- bench -----------------------------------------------------------------------------
WORKERS: Setting[int] = Setting(
    "workers",
    1,
    "int",
    "gunicorn worker processes.",
    flag="--workers",
    short="-w",
    commands=("bench", "emit"),
)
THREADS: Setting[int] = Setting(
    "threads",
    1,
    "int",
    "Threads per worker (more than 1 runs as gthread).",
    flag="--threads",
    short="-t",
    commands=("bench", "emit"),
)
WORKER_CLASS: Setting[str] = Setting(
    "worker_class",
    "sync",
    "choice",
    "gunicorn worker class (sync with --threads > 1 runs as gthread; uvicorn is "
    "uvicorn_worker.UvicornWorker, for ASGI apps).",
    flag="--worker-class",
    short="-k",
    choices=(*WORKER_CLASSES, *CLASS_ALIASES),
    commands=("bench", "emit"),
)
TIMEOUT: Setting[int] = Setting(
    "timeout",
    GUNICORN_TIMEOUT,
    "int",
    "gunicorn worker timeout, seconds.",
    flag="--timeout",
    commands=("bench",),
)
DEPLOY_TIMEOUT: Setting[int] = Setting(
    "deploy_timeout",
    FRONTEND_TIMEOUT,
    "int",
    "Worker timeout written into the deployed command: App Service's front end drops a "
    "request after 230 s, so a longer one (App Service's default 600) only keeps a worker "
    "busy on an answer nobody receives, and check warns about it.",
    flag="--timeout",
    commands=("emit",),
)
CONCURRENCY: Setting[int] = Setting(
    "concurrency",
    8,
    "int",
    "Closed loop: clients that each send the next request when one is answered.",
    flag="--concurrency",
    short="-c",
    commands=("bench",),
)
DURATION: Setting[float] = Setting(
    "duration_s",
    10.0,
    "seconds",
    "Measured seconds.",
    flag="--duration",
    short="-d",
    commands=("bench",),
)
BENCH_WARMUP: Setting[float] = Setting(
    "bench_warmup_s",
    1.0,
    "seconds",
    "Seconds of load before measuring.",
    flag="--warmup",
    commands=("bench",),
    zero_ok=True,
)
REQUEST_TIMEOUT: Setting[float] = Setting(
    "request_timeout_s",
    30.0,
    "seconds",
    "Seconds before a request counts as timed out.",
    flag="--request-timeout",
    commands=("bench",),
)
# -- what the load sends: paths, a scenario, real traffic and logins -----------------------
PATHS: Setting[tuple[str, ...]] = Setting(
    "paths",
    (),
    "text",
    "Path to load, repeatable, with an optional weight: --path /io=3 --path /cpu.",
    flag="--path",
    short="-p",
    default_text="bench: the URL's path, or /; tune, profile: every GET route",
    commands=("bench", "tune", "profile"),
    multiple=True,
    metavar="PATH[=WEIGHT]",
)
PROBE_PATH: Setting[str | None] = Setting(
    "path",
    None,
    "text",
    "Path to probe instead of the URL's own (a slow one works best).",
    flag="--path",
    short="-p",
    commands=("probe",),
)
SCENARIO: Setting[str | None] = Setting(
    "scenario",
    None,
    "file",
    "TOML file of weighted requests (see docs/workload.md).",
    flag="--scenario",
    commands=("bench", "tune", "profile"),
)
ACCESS_LOG: Setting[str | None] = Setting(
    "access_log",
    None,
    "text",
    "Load the GET paths of this access log (gunicorn's default format, common or combined as "
    "nginx and App Service write), weighted by their share of it.",
    flag="--access-log",
    commands=("bench", "tune", "profile"),
)
HAR: Setting[str | None] = Setting(
    "har",
    None,
    "text",
    "Load the same-site requests of this browser HAR export (DevTools → Save all as HAR), "
    "weighted by count; static assets and other hosts are left out.",
    flag="--har",
    commands=("bench", "tune", "profile"),
)
HEADER: Setting[tuple[str, ...]] = Setting(
    "header",
    (),
    "text",
    "'Name: value' header sent with every request of the built-in engine (repeatable); its "
    "value is never shown or written.",
    flag="--header",
    short="-H",
    commands=("bench", "tune", "profile"),
    multiple=True,
)
COOKIE: Setting[tuple[str, ...]] = Setting(
    "cookie",
    (),
    "text",
    "name=value cookie every client starts with (repeatable); each client keeps its own jar "
    "from then on. Its value is never shown or written.",
    flag="--cookie",
    commands=("bench", "tune", "profile"),
    multiple=True,
)
# -- Locust (the locust load engine) ----------------------------------------------------
LOCUSTFILE: Setting[str | None] = Setting(
    "locustfile",
    None,
    "text",
    "Load with this locustfile's users on Locust (a master and its workers, in their own "
    "processes); --concurrency is the number of users.",
    flag="--locustfile",
    commands=("bench", "tune", "profile"),
)
LOAD_PROCESSES: Setting[int | None] = Setting(
    "load_processes",
    None,
    "int",
    "Local Locust worker processes.",
    flag="--load-processes",
    default_text="the cores left after the server's",
    commands=("bench", "tune", "profile"),
)
EXPECT_WORKERS: Setting[int | None] = Setting(
    "expect_workers",
    None,
    "int",
    "Locust workers started elsewhere that the master waits for (it prints their command).",
    flag="--expect-workers",
    commands=("bench",),
)
MASTER_BIND: Setting[str | None] = Setting(
    "master_bind",
    None,
    "text",
    "HOST:PORT the Locust master listens on; another host than loopback needs --allow-remote.",
    flag="--master-bind",
    default_text="127.0.0.1:5557 with --expect-workers, else a free loopback port",
    commands=("bench",),
)
WORKER_WAIT: Setting[float] = Setting(
    "worker_wait_s",
    60.0,
    "seconds",
    "How long the Locust master waits for its workers to connect.",
    flag="--worker-wait",
    commands=("bench",),
)
# -- the model (recommend, check) ------------------------------------------------------
# A small Flask app's worker: CPython 3.11/3.12 + Flask + a few libraries, PSS after a
# few requests. Apps that import pandas, an ORM with models or an ML model take 150 MiB+.
WORKER_MEMORY: Setting[float] = Setting(
    "worker_memory_mib",
    60.0,
    "size",
    "PSS of one worker, with a unit, e.g. 150MiB.",
    flag="--worker-memory",
    commands=("recommend", "check"),
)
# What a thread adds once it has served requests: its stack pages and request buffers.
THREAD_MEMORY: Setting[float] = Setting(
    "thread_memory_mib",
    2.0,
    "size",
    "Memory one more thread adds.",
    flag="--thread-memory",
    commands=("recommend",),
)
# An I/O-bound web app: a request waits 4× as long (database, an external API) as it
# computes, e.g. 40 ms of CPU in a 200 ms request. The seed's app waited far longer.
IO_WAIT_RATIO: Setting[float] = Setting(
    "io_wait_ratio",
    4.0,
    "ratio",
    "W/C: time a request waits per unit of CPU time; 0 = CPU-bound.",
    flag="--io-wait-ratio",
    commands=("recommend",),
)

BOTH_MODELS: Setting[bool] = Setting(
    "both_models",
    True,
    "switch",
    "Measure the finalists with kept-alive connections as well as new ones, and pick what "
    "holds up under both.",
    flag="--both-client-models/--one-client-model",
    commands=("tune",),
)
SINGLE_SLOT: Setting[bool] = Setting(
    "single_slot",
    False,
    "flag",
    "Allow a pick that serves one request per core at a time (the seed's problem: one slow "
    "request, client or upstream call makes every other user wait).",
    flag="--allow-single-slot",
    commands=("tune",),
)
# -- production's waits, here -------------------------------------------------------------
UPSTREAM: Setting[tuple[str, ...]] = Setting(
    "upstream",
    (),
    "text",
    "Add a round trip in front of an upstream the app connects to, as production's network "
    "would (repeatable): VAR=+MS where VAR holds a URL or host:port, e.g. DATABASE_URL=+2ms, "
    "or HOST_VAR,PORT_VAR=+MS; the server gets VAR pointing at a delaying proxy on 127.0.0.1.",
    flag="--upstream",
    default_text="none",
    commands=("bench", "tune", "profile"),
    multiple=True,
    metavar="VAR=+MS",
)
# -- a stalled upstream (tunicorn.decide.stall; the model: model.stall_holds) ----------------------
STALL: Setting[str] = Setting(
    "stall",
    "5%:2s",
    "text",
    "A stalled upstream, FRACTION:SECONDS: that share of requests waits that long inside the "
    "app (a real wait, as on a slow API), counted apart from the others.",
    flag="--stall",
    default_text="tune: 5%:2s for the finalists' check; bench: off",
    commands=("bench", "tune"),
)
STALL_CHECK: Setting[bool] = Setting(
    "stall_check",
    True,
    "switch",
    "After the search, run the finalists at a fixed load with the stall on, and pick among "
    "those whose other requests keep p95 within the SLO.",
    flag="--stall-check/--no-stall-check",
    commands=("tune",),
)
STALL_LOAD: Setting[float] = Setting(
    "stall_load",
    0.25,
    "ratio",
    "The stall check's offered load as a share of the pick's capacity (without --expected-rps).",
)
EXPECTED_RPS: Setting[float | None] = Setting(
    "expected_rps",
    None,
    "float",
    "The load the app must carry in production, req/s: the stall check runs at it.",
    flag="--expected-rps",
    default_text="a quarter of the pick's capacity",
    commands=("tune",),
)
# -- check --rehearse --------------------------------------------------------------------
REHEARSE: Setting[bool] = Setting(
    "rehearse",
    False,
    "flag",
    "Do what App Service's build and start do, here: a fresh virtual environment, pip install, "
    "the startup command on a loopback port, one GET.",
    flag="--rehearse",
    default_text="off",
    commands=("check",),
)
APP_DIR: Setting[str | None] = Setting(
    "app_dir",
    None,
    "text",
    "The project that PATH's files are laid over (a folder from tune --emit names its own).",
    flag="--app-dir",
    commands=("check",),
)
KEEP_ENV: Setting[bool] = Setting(
    "keep_env",
    False,
    "flag",
    "Keep the rehearsal's virtual environment and logs instead of removing them.",
    flag="--keep-env",
    default_text="off",
    commands=("check",),
)
REHEARSE_PATH: Setting[str] = Setting(
    "rehearse_path",
    "/",
    "text",
    "The route the rehearsal requests once the app answers.",
    flag="--path",
    commands=("check",),
)
INSTALL_TIMEOUT: Setting[float] = Setting(
    "install_timeout_s",
    600.0,
    "seconds",
    "Seconds the rehearsal's pip install may take.",
    flag="--install-timeout",
    commands=("check",),
)
# App Service waits this long for a site to answer its warm-up request
# (WEBSITES_CONTAINER_START_TIME_LIMIT's default).
BOOT_TIMEOUT: Setting[float] = Setting(
    "boot_timeout_s",
    230.0,
    "seconds",
    "Seconds the rehearsed app has to answer (App Service gives it 230).",
    flag="--boot-timeout",
    commands=("check",),
)

# -- what a command writes --------------------------------------------------------------
JSON: Setting[str | None] = Setting(
    "json_path",
    None,
    "output",
    "Write the result as JSON to this file (report reads it again).",
    flag="--json",
    commands=("bench", "tune", "profile", "probe", "check", "recommend"),
)
HTML: Setting[str | None] = Setting(
    "html_path",
    None,
    "output",
    "Write a self-contained HTML report (works offline) to this file.",
    flag="--html",
    commands=("bench", "tune", "probe", "report"),
)
LOG_DIR: Setting[str | None] = Setting(
    "log_dir",
    None,
    "folder",
    "Folder for gunicorn's logs, kept (without it each server logs to a temporary folder, "
    "removed when it stops cleanly; a log an error names is kept).",
    flag="--log-dir",
    commands=("bench", "tune", "profile"),
)

# Every declaration above, in the order it is declared (the docs table's order).
SETTINGS: tuple[Setting[object], ...] = tuple(
    value for value in list(globals().values()) if isinstance(value, Setting)
)


def markdown() -> str:
    """The table of command-line settings in docs/settings.md, generated from SETTINGS."""
    rows = ["| option | commands | default | what it sets |", "| --- | --- | --- | --- |"]
    for s in SETTINGS:
        if not s.flag:
            continue
        shown = s.default_text or ("—" if s.default in (None, ()) else s.shown())
        rows.append(f"| `{s.flag}` | {', '.join(s.commands)} | {shown} | {s.help} |")
    return "\n".join(rows)
