"""What a command line runs: which server, and the settings gunicorn ends up with.

gunicorn takes its settings from four places (WEB_CONCURRENCY, the config file,
GUNICORN_CMD_ARGS, the command line) and the last one wins, so reading one of them alone
gets the workers wrong. Startup commands are often small shell scripts (pip install, migrate,
then the server), so the server is the last segment that starts one.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import shlex
from collections.abc import Mapping
from pathlib import Path

from tunicorn.app.find import read
from tunicorn.classes import GUNICORN_TIMEOUT
from tunicorn.record import Finding

# gunicorn flags that take no value; every other option takes one.
_NO_VALUE_FLAGS = frozenset({
    "--reload", "--preload", "-D", "--daemon", "--check-config", "--print-config",
    "--capture-output", "--enable-stdio-inheritance", "--spew", "--no-sendfile",
    "--reuse-port", "--strip-header-spaces", "--suppress-ragged-eofs", "-R",
    "--do-handshake-on-connect", "--paste-global", "--initgroups", "-v", "--version",
    "-h", "--help",
})
_SERVERS = ("gunicorn", "flask", "uvicorn", "hypercorn", "waitress-serve", "daphne", "uwsgi")
_SEGMENT = re.compile(r"\n|&&|;|\|\|")  # the steps of a startup script


@dataclasses.dataclass(frozen=True)
class Gunicorn:
    """Settings gunicorn ends up with, resolved in its own order of precedence."""

    workers: int = 1
    threads: int = 1
    worker_class: str = "sync"
    timeout: int = GUNICORN_TIMEOUT
    timeout_from_user: bool = False  # False when the 600 comes from App Service itself
    app: str = ""


@dataclasses.dataclass(frozen=True)
class Conf:
    """Literal settings read from a gunicorn config file, and the names that were computed."""

    values: Mapping[str, object]
    computed: tuple[str, ...]
    path: str


def custom_command(
    root: Path, command: str, env: Mapping[str, str], source: str, findings: list[Finding]
) -> tuple[Gunicorn, str]:
    """What a user's startup command runs: gunicorn's settings, or another server's name."""
    inline_env, argv = _last_server_invocation(command)
    merged = {**env, **inline_env}
    if not argv:
        findings.append(Finding("warning", "unknown-server",
            f"Could not tell which server the {source} command starts ({command!r}); "
            "tunicorn assumed 1 worker × 1 thread. Start gunicorn explicitly, e.g. "
            "gunicorn --workers 3 --threads 4 app:app."))
        return Gunicorn(), "unknown"
    prog = Path(argv[0]).name
    rest = argv[1:]
    if prog.startswith("python"):
        if rest[:2] == ["-m", "gunicorn"]:
            prog, rest = "gunicorn", rest[2:]
        elif rest[:2] == ["-m", "flask"] and "run" in rest:
            return _dev_server(findings, source, command, "flask run"), "flask run"
        elif len(rest) >= 2 and Path(rest[0]).name == "manage.py" and rest[1] == "runserver":
            what = "manage.py runserver"
            return _dev_server(findings, source, command, what), what
        elif rest and rest[0].endswith(".py"):
            return _dev_server(findings, source, command, f"python {rest[0]}"), f"python {rest[0]}"
    if prog == "flask" and "run" in rest:
        return _dev_server(findings, source, command, "flask run"), "flask run"
    if prog != "gunicorn":
        findings.append(Finding("info", "not-gunicorn",
            f"The {source} command starts {prog}, not gunicorn: tunicorn reads gunicorn's "
            "options only, so workers and threads below are not measured from it."))
        return Gunicorn(), prog
    gun = resolve_gunicorn(root, rest, merged, split(merged.get("GUNICORN_CMD_ARGS", "")),
                           findings)
    return dataclasses.replace(gun, timeout_from_user=True), "gunicorn"


def _dev_server(findings: list[Finding], source: str, command: str, what: str) -> Gunicorn:
    findings.append(Finding("error", "debug-server",
        f"The {source} command runs the development server ({what}): it serves one request "
        "at a time, is not built for production, and with debug on its debugger lets anyone "
        "who reaches it run code. Start gunicorn instead, e.g. gunicorn --workers 3 "
        "--threads 4 app:app."))
    return Gunicorn()


def server_invocation(command: str) -> tuple[dict[str, str], list[str], tuple[str, ...]]:
    """The server a startup command starts (its VAR=value pairs and words) and the script's
    other steps, so a rehearsal can run the server alone and say which steps it left out."""
    env, argv = _last_server_invocation(command)
    others: list[str] = []
    for segment in _SEGMENT.split(command):
        words = split(segment.split("#", 1)[0]) if segment.strip() else []
        if not words or words[0] == "export" or (argv and words[-len(argv):] == argv):
            continue
        others.append(" ".join(segment.split()))
    return env, argv, tuple(others)


def _last_server_invocation(command: str) -> tuple[dict[str, str], list[str]]:
    """The last segment of a script that starts a server, with its inline VAR=value pairs."""
    found: tuple[dict[str, str], list[str]] = ({}, [])
    exported: dict[str, str] = {}
    for segment in _SEGMENT.split(command):
        try:
            words = shlex.split(segment, comments=True)
        except ValueError:
            words = segment.split()
        inline: dict[str, str] = {}
        if words and words[0] == "export":
            for word in words[1:]:
                key, eq, value = word.partition("=")
                if eq:
                    exported[key] = value
            continue
        while words and re.match(r"^[A-Za-z_]\w*=", words[0]):
            key, _, value = words.pop(0).partition("=")
            inline[key] = value
        while words and words[0] in ("exec", "nohup", "env"):
            words.pop(0)
        if not words:
            continue
        prog = Path(words[0]).name
        rest = words[1:]
        is_python_server = prog.startswith("python") and bool(rest) and (
            rest[0] == "-m" or rest[0].endswith(".py"))
        if prog in _SERVERS or is_python_server:
            if rest[:1] == ["-m"] and len(rest) > 1 and rest[1] in ("pip", "venv", "compileall"):
                continue
            if prog.startswith("python") and rest and Path(rest[0]).name == "manage.py" \
                    and rest[1:2] != ["runserver"]:
                continue  # migrate, collectstatic: setup steps before the server
            found = ({**exported, **inline}, words)
    return found


def split(text: str) -> list[str]:
    """Shell words, or plain words when the quoting is broken (gunicorn would still start)."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def resolve_gunicorn(
    root: Path,
    cli_args: list[str],
    env: Mapping[str, str],
    env_args: list[str],
    findings: list[Finding],
) -> Gunicorn:
    """gunicorn's precedence: defaults (WEB_CONCURRENCY) < config file < GUNICORN_CMD_ARGS < CLI."""
    cli = _parse_gunicorn_args(cli_args)
    from_env = _parse_gunicorn_args(env_args)
    workers: object = 1
    concurrency = env.get("WEB_CONCURRENCY", "")
    if concurrency:
        if concurrency.isdigit() and int(concurrency) > 0:
            workers = int(concurrency)
        else:
            findings.append(Finding("error", "invalid-setting",
                f"WEB_CONCURRENCY={concurrency!r} is not a whole number: gunicorn fails to "
                "start. Set it to the number of workers, e.g. 3."))
    values: dict[str, object] = {"workers": workers, "threads": 1, "worker_class": "sync",
                                 "timeout": GUNICORN_TIMEOUT}
    config = cli.get("config") or from_env.get("config")
    conf_path = root / config if config and not config.startswith("python:") else None
    if conf_path is None and not config and (root / "gunicorn.conf.py").is_file():
        conf_path = root / "gunicorn.conf.py"
    if conf_path is not None and config and not conf_path.is_file():
        findings.append(Finding("info", "config-not-found",
            f"The command reads gunicorn config {config}, which is not in this folder; "
            "its settings are unknown here."))
    elif conf_path is not None:
        conf = read_conf(conf_path)
        values.update(conf.values)
        if conf.computed:
            findings.append(Finding("info", "config-computed",
                f"{conf.path} computes {', '.join(conf.computed)} at start-up; tunicorn reads "
                "literal values only, so the figures below use gunicorn's defaults for those."))
    for source in (from_env, cli):
        for key in ("workers", "threads", "worker_class", "timeout"):
            if key in source:
                values[key] = source[key]
    app = cli.get("app", "") or str(values.get("wsgi_app", "") or "")
    return Gunicorn(
        workers=_as_int(values["workers"], "workers", 1, findings),
        threads=_as_int(values["threads"], "threads", 1, findings),
        worker_class=_short_class(str(values["worker_class"])),
        timeout=_as_int(values["timeout"], "timeout", GUNICORN_TIMEOUT, findings),
        timeout_from_user=True,
        app=app,
    )


def _parse_gunicorn_args(args: list[str]) -> dict[str, str]:
    names = {"-w": "workers", "--workers": "workers", "--threads": "threads",
             "-k": "worker_class", "--worker-class": "worker_class", "-t": "timeout",
             "--timeout": "timeout", "-c": "config", "--config": "config"}
    out: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--") and "=" in arg:
            key, _, value = arg.partition("=")
            if key in names:
                out[names[key]] = value
        elif arg in names:
            if i + 1 < len(args):
                out[names[arg]] = args[i + 1]
            i += 1
        elif len(arg) > 2 and arg[:2] in ("-w", "-k", "-t", "-c") and not arg.startswith("--"):
            out[names[arg[:2]]] = arg[2:]
        elif arg.startswith("-"):
            if arg not in _NO_VALUE_FLAGS and "=" not in arg:
                i += 1  # skip the option's value
        else:
            out["app"] = arg
        i += 1
    return out


def read_conf(path: Path) -> Conf:
    """Literal assignments of a gunicorn config file; computed ones are named, not guessed."""
    try:
        tree = ast.parse(read(path), filename=str(path))
    except SyntaxError:
        return Conf({}, ("everything (the file does not parse)",), path.name)
    values: dict[str, object] = {}
    computed: list[str] = []
    wanted = {"workers", "threads", "worker_class", "timeout", "wsgi_app"}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if not isinstance(target, ast.Name) or target.id not in wanted:
            continue
        try:
            values[target.id] = ast.literal_eval(value)
            if target.id in computed:
                computed.remove(target.id)
        except ValueError:
            values.pop(target.id, None)
            computed.append(target.id)
    return Conf(values, tuple(computed), path.name)


def _as_int(value: object, name: str, default: int, findings: list[Finding]) -> int:
    try:
        number = int(str(value))
    except ValueError:
        findings.append(Finding("error", "invalid-setting",
            f"{name} is {value!r}, not a whole number: gunicorn fails to start with it."))
        return default
    return number


def _short_class(name: str) -> str:
    name = name.strip()
    if name.startswith("gunicorn.workers."):
        module = name.split(".")[2]
        return {"sync": "sync", "gthread": "gthread", "ggevent": "gevent",
                "geventlet": "eventlet"}.get(module, name)
    return name or "sync"
