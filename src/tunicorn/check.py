"""What App Service will actually run for a project folder, and what is risky in it.

The seed's app was slow because nobody could see that App Service started gunicorn with
1 worker × 1 thread. `check` reads the folder and the app settings the way Oryx's startup
script generator does (microsoft/Oryx, src/startupscriptgenerator/src/python/) and says
the exact command, then lists risks with their reasons. It never imports or runs the app:
the code heuristics read the source with `ast`, so a broken app can still be checked.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import shlex
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from tunicorn.errors import UsageError
from tunicorn.plans import Plan
from tunicorn.record import CheckResult, Finding
from tunicorn.target import APP_SERVICE_MODULES, detect_module

# Oryx's generated command (scriptgenerator.go, buildGunicornCommandForModule).
ORYX_BASE_ARGS = "--timeout 600 --access-logfile '-' --error-logfile '-'"
ORYX_BIND = "--bind=0.0.0.0:8000"
ORYX_CHDIR = "--chdir=/home/site/wwwroot"
ORYX_TIMEOUT = 600
FRONTEND_TIMEOUT_S = 230  # the App Service front end drops a request after 230 s
DEFAULT_WORKER_MIB = 60.0  # a small Flask worker's PSS; an estimate, --worker-memory overrides
HEADROOM = 0.75  # above this share of the plan's memory the instance has little left to spare

MULTIWORKERS = "PYTHON_ENABLE_GUNICORN_MULTIWORKERS"
WORKER_NUM = "PYTHON_GUNICORN_CUSTOM_WORKER_NUM"
THREAD_NUM = "PYTHON_GUNICORN_CUSTOM_THREAD_NUM"
CONFIG_PATH = "PYTHON_GUNICORN_CONFIG_PATH"

# Go's strconv.ParseBool, which Oryx uses: any other value makes script generation panic.
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})

# gunicorn flags that take no value; every other option takes one.
_NO_VALUE_FLAGS = frozenset({
    "--reload", "--preload", "-D", "--daemon", "--check-config", "--print-config",
    "--capture-output", "--enable-stdio-inheritance", "--spew", "--no-sendfile",
    "--reuse-port", "--strip-header-spaces", "--suppress-ragged-eofs", "-R",
    "--do-handshake-on-connect", "--paste-global", "--initgroups", "-v", "--version",
    "-h", "--help",
})
_ASYNC_CLASSES = ("gevent", "eventlet", "tornado", "uvicorn", "aiohttp")
_MUTATORS = frozenset({
    "append", "extend", "add", "update", "pop", "popitem", "setdefault", "clear",
    "insert", "remove", "discard", "appendleft", "popleft", "__setitem__",
})
_MUTABLE_CALLS = frozenset({
    "dict", "list", "set", "defaultdict", "Counter", "deque", "OrderedDict", "WeakValueDictionary",
})


@dataclasses.dataclass(frozen=True)
class _Gunicorn:
    """Settings gunicorn ends up with, resolved in its own order of precedence."""

    workers: int = 1
    threads: int = 1
    worker_class: str = "sync"
    timeout: int = 30
    timeout_from_user: bool = False  # False when the 600 comes from App Service itself
    app: str = ""


@dataclasses.dataclass(frozen=True)
class _Conf:
    """Literal settings read from a gunicorn config file, and the names that were computed."""

    values: Mapping[str, object]
    computed: tuple[str, ...]
    path: str


def check(
    folder: str | Path,
    *,
    settings: Mapping[str, str] | None = None,
    startup: str | None = None,
    plan: Plan | None = None,
    worker_memory_mib: float | None = None,
) -> CheckResult:
    """Read `folder` as App Service would and return the command it runs with its risks.

    `settings` are the app settings (environment of the container); `startup` is the site's
    Startup Command (`appCommandLine`), which replaces the generated default command.
    """
    root = Path(folder)
    if not root.exists():
        raise UsageError(f"{folder} does not exist: pass the project folder, e.g. tunicorn check .")
    if not root.is_dir():
        raise UsageError(f"{folder} is not a folder: pass the project folder that holds the app.")
    env = dict(settings or {})
    findings: list[Finding] = []
    cores = plan.vcpus if plan else None

    multi = _multiworkers(env, findings)
    command, source = _startup_command(root, startup, env, findings)
    detected = detect_module(root)
    module = detected[0] if detected else ""
    server = "gunicorn"

    if command is None:
        if not detected:
            names = ", ".join(f"{n}.py" for n in APP_SERVICE_MODULES)
            findings.append(Finding("error", "no-app-found",
                f"No app found: App Service looks for a Django */wsgi.py, then {names} with an "
                "object named `app`; with none of them it starts its own placeholder site. "
                "Rename the entry module or set a startup command (e.g. gunicorn mymodule:app)."))
        command, gun = _default_command(root, env, multi, cores, module, findings)
        platform_command = command
    else:
        platform_command = command
        gun, server = _custom_command(root, command, env, source, findings)
        if gun.app:
            module = gun.app if ":" in gun.app else f"{gun.app}:application"
        for key in (MULTIWORKERS, WORKER_NUM, THREAD_NUM):
            if key in env:
                findings.append(Finding("warning", "multiworkers-ignored",
                    f"{key} is set but a startup command ({source}) replaces App Service's "
                    "generated command, and only that command reads it; put --workers / "
                    "--threads in the startup command instead."))
                break

    if detected is not None and source == "default":
        _check_app_object(root, detected[0], findings)

    worker_class = _effective_class(gun.worker_class, gun.threads)
    _concurrency_findings(gun, worker_class, server, source, findings)
    _timeout_findings(gun, server, findings)
    _memory_findings(gun.workers, plan, worker_memory_mib, findings)
    if cores is None and multi and source == "default" and WORKER_NUM not in env:
        findings.append(Finding("info", "cores-assumed",
            f"{MULTIWORKERS}=true gives 2 × cores + 1 workers; with no --plan tunicorn assumed "
            "1 core (3 workers). Pass --plan (e.g. --plan B2) for the real figure."))
    _code_findings(root, module, command, source, gun, worker_class, findings)
    _requirements_findings(root, server, source, findings)

    return CheckResult(
        path=str(root),
        platform_command=platform_command,
        workers=gun.workers,
        threads=gun.threads,
        worker_class=worker_class,
        timeout=gun.timeout,
        module=module,
        startup_source=source,
        findings=tuple(_ordered(findings)),
        plan=plan.name if plan else "",
        cores=cores,
        server=server,
    )


def has_errors(result: CheckResult) -> bool:
    return any(f.level == "error" for f in result.findings)


def concurrency_line(result: CheckResult) -> str:
    """'1 worker × 1 thread: one request at a time', the seed's problem in words."""
    if result.server != "gunicorn":
        return f"{result.server} (not gunicorn): see the findings."
    w, t = result.workers, result.threads
    shape = f"{w} worker{'s' if w != 1 else ''} × {t} thread{'s' if t != 1 else ''}"
    if result.worker_class.startswith(_ASYNC_CLASSES):
        return f"{shape} ({result.worker_class}): many requests at once while they wait on I/O."
    slots = w * t
    if slots == 1:
        return f"{shape} ({result.worker_class}): one request at a time."
    return f"{shape} ({result.worker_class}): up to {slots} requests at once."


# --- settings and commands ------------------------------------------------------------------


def parse_settings_json(text: str) -> dict[str, str]:
    """Settings from `az webapp config appsettings list` ([{name, value}]) or a flat object.

    `az webapp config show` output is accepted too: its appCommandLine becomes the
    pseudo-setting `appCommandLine`, the Startup Command.
    """
    data = json.loads(text)
    if isinstance(data, dict):
        return {str(k): "" if v is None else str(v) for k, v in data.items()
                if not isinstance(v, dict | list)}
    if isinstance(data, list):
        out: dict[str, str] = {}
        for item in data:
            if not isinstance(item, dict) or "name" not in item:
                raise ValueError("each entry needs a 'name' and a 'value'")
            value = item.get("value")
            out[str(item["name"])] = "" if value is None else str(value)
        return out
    raise ValueError("expected a list of {name, value} or an object")


def _multiworkers(env: Mapping[str, str], findings: list[Finding]) -> bool:
    value = env.get(MULTIWORKERS, "")
    if value in _GO_TRUE:
        return True
    if value and value not in _GO_FALSE:
        findings.append(Finding("error", "invalid-setting",
            f"{MULTIWORKERS}={value!r} is not a boolean Oryx understands: its startup script "
            "generator stops on it. Use true or false."))
        return False
    if not value and (WORKER_NUM in env or THREAD_NUM in env):
        names = " and ".join(k for k in (WORKER_NUM, THREAD_NUM) if k in env)
        findings.append(Finding("warning", "multiworkers-ignored",
            f"{names} {'are' if ' and ' in names else 'is'} ignored: Oryx reads them only when "
            f"{MULTIWORKERS}=true. Set that too, or put --workers / --threads in a startup "
            "command."))
    elif value in _GO_FALSE and (WORKER_NUM in env or THREAD_NUM in env):
        findings.append(Finding("warning", "multiworkers-ignored",
            f"{WORKER_NUM} / {THREAD_NUM} are ignored because {MULTIWORKERS}={value}; "
            "set it to true for them to apply."))
    return False


def _startup_command(
    root: Path, startup: str | None, env: Mapping[str, str], findings: list[Finding]
) -> tuple[str | None, str]:
    """The command that replaces Oryx's default, and where it came from."""
    given = startup if startup is not None else env.get("appCommandLine")
    if given and given.strip():
        return _expand_script(root, given.strip()), "settings"
    if (root / "Dockerfile").is_file():
        cmd = _dockerfile_command(root / "Dockerfile")
        if cmd:
            findings.append(Finding("info", "custom-container",
                "A Dockerfile is present, so this reads it as a custom container: App Service "
                "runs the image's CMD/ENTRYPOINT, and Oryx's generated command and its "
                "PYTHON_* settings do not apply."))
            return _expand_script(root, cmd), "Dockerfile"
    startup_txt = root / "startup.txt"
    if startup_txt.is_file():
        text = _read(startup_txt).strip()
        if text:
            findings.append(Finding("info", "startup-file-assumed",
                "startup.txt is read as the Startup Command: App Service runs it only when the "
                "site's Startup Command names it "
                "(az webapp config set --startup-file startup.txt)."))
            return text, "startup.txt"
    procfile = root / "Procfile"
    if procfile.is_file():
        findings.append(Finding("info", "procfile-ignored",
            "App Service does not read a Procfile: it runs its default command unless the "
            "Startup Command is set. Copy the web: line into the Startup Command to use it."))
    return None, "default"


def _expand_script(root: Path, command: str) -> str:
    """A Startup Command that names a file in the app folder runs that file (Oryx chmods it)."""
    first = command.split()[0] if command.split() else ""
    if len(command.split()) == 1 and (root / first).is_file() and not first.endswith(".py"):
        return _read(root / first).strip() or command
    return command


def _dockerfile_command(path: Path) -> str:
    entry: list[str] = []
    cmd: list[str] = []
    lines = _read(path).replace("\\\n", " ").splitlines()
    for line in lines:
        stripped = line.strip()
        word, _, rest = stripped.partition(" ")
        if word.upper() == "CMD":
            cmd = _docker_args(rest)
        elif word.upper() == "ENTRYPOINT":
            entry = _docker_args(rest)
    parts = entry + cmd
    return shlex.join(parts) if parts else ""


def _docker_args(rest: str) -> list[str]:
    rest = rest.strip()
    if rest.startswith("["):
        try:
            value = json.loads(rest)
            if isinstance(value, list):
                args = [str(v) for v in value]
                if args[:2] in (["sh", "-c"], ["/bin/sh", "-c"], ["bash", "-c"]) and len(args) > 2:
                    return shlex.split(args[2])
                return args
        except (json.JSONDecodeError, ValueError):
            pass
    try:
        return shlex.split(rest)
    except ValueError:
        return rest.split()


def _default_command(
    root: Path,
    env: Mapping[str, str],
    multi: bool,
    cores: int | None,
    module: str,
    findings: list[Finding],
) -> tuple[str, _Gunicorn]:
    """Oryx's generated command and what gunicorn makes of it with the folder's config file."""
    args = ORYX_BASE_ARGS
    config_arg = env.get(CONFIG_PATH, "")
    if config_arg:
        args += f" -c {config_arg}"
    if multi:
        workers = env.get(WORKER_NUM) or str(2 * (cores or 1) + 1)
        args += f" --workers={workers}"
        if env.get(THREAD_NUM):
            args += f" --threads={env[THREAD_NUM]}"
    args += f" {ORYX_BIND} {ORYX_CHDIR}"
    oryx_module = module.removesuffix(":application") if module.endswith(".wsgi:application") \
        else module
    command = f'GUNICORN_CMD_ARGS="{args}" gunicorn {oryx_module or "application:app"}'
    gun = _resolve_gunicorn(root, [], env, _split(args), findings)
    conf = root / "gunicorn.conf.py"
    if not config_arg and conf.is_file() and "timeout" in _read_conf(conf).values:
        findings.append(Finding("info", "config-timeout-overridden",
            f"gunicorn.conf.py sets timeout, but App Service's GUNICORN_CMD_ARGS sets "
            f"--timeout {ORYX_TIMEOUT}, which wins; only a startup command can change it."))
    return command, dataclasses.replace(gun, app=module, timeout_from_user=False)


def _custom_command(
    root: Path, command: str, env: Mapping[str, str], source: str, findings: list[Finding]
) -> tuple[_Gunicorn, str]:
    """What a user's startup command runs: gunicorn's settings, or another server's name."""
    inline_env, argv = _last_server_invocation(command)
    merged = {**env, **inline_env}
    if not argv:
        findings.append(Finding("warning", "unknown-server",
            f"Could not tell which server the {source} command starts ({command!r}); "
            "tunicorn assumed 1 worker × 1 thread. Start gunicorn explicitly, e.g. "
            "gunicorn --workers 3 --threads 4 app:app."))
        return _Gunicorn(), "unknown"
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
        return _Gunicorn(), prog
    gun = _resolve_gunicorn(root, rest, merged, _split(merged.get("GUNICORN_CMD_ARGS", "")),
                            findings)
    return dataclasses.replace(gun, timeout_from_user=True), "gunicorn"


def _dev_server(findings: list[Finding], source: str, command: str, what: str) -> _Gunicorn:
    findings.append(Finding("error", "debug-server",
        f"The {source} command runs the development server ({what}): it serves one request "
        "at a time, is not built for production, and with debug on its debugger lets anyone "
        "who reaches it run code. Start gunicorn instead, e.g. gunicorn --workers 3 "
        "--threads 4 app:app."))
    return _Gunicorn()


_SERVERS = ("gunicorn", "flask", "uvicorn", "hypercorn", "waitress-serve", "daphne", "uwsgi")


def _last_server_invocation(command: str) -> tuple[dict[str, str], list[str]]:
    """The last segment of a script that starts a server, with its inline VAR=value pairs."""
    found: tuple[dict[str, str], list[str]] = ({}, [])
    exported: dict[str, str] = {}
    for segment in re.split(r"\n|&&|;|\|\|", command):
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


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def _resolve_gunicorn(
    root: Path,
    cli_args: list[str],
    env: Mapping[str, str],
    env_args: list[str],
    findings: list[Finding],
) -> _Gunicorn:
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
                                 "timeout": 30}
    config = cli.get("config") or from_env.get("config")
    conf_path = root / config if config and not config.startswith("python:") else None
    if conf_path is None and not config and (root / "gunicorn.conf.py").is_file():
        conf_path = root / "gunicorn.conf.py"
    if conf_path is not None and config and not conf_path.is_file():
        findings.append(Finding("info", "config-not-found",
            f"The command reads gunicorn config {config}, which is not in this folder; "
            "its settings are unknown here."))
    elif conf_path is not None:
        conf = _read_conf(conf_path)
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
    return _Gunicorn(
        workers=_as_int(values["workers"], "workers", 1, findings),
        threads=_as_int(values["threads"], "threads", 1, findings),
        worker_class=_short_class(str(values["worker_class"])),
        timeout=_as_int(values["timeout"], "timeout", 30, findings),
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


def _read_conf(path: Path) -> _Conf:
    """Literal assignments of a gunicorn config file; computed ones are named, not guessed."""
    try:
        tree = ast.parse(_read(path), filename=str(path))
    except SyntaxError:
        return _Conf({}, ("everything (the file does not parse)",), path.name)
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
    return _Conf(values, tuple(computed), path.name)


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


def _effective_class(worker_class: str, threads: int) -> str:
    # gunicorn swaps sync for gthread when threads > 1, without a word in its log
    return "gthread" if worker_class == "sync" and threads > 1 else worker_class


# --- findings -------------------------------------------------------------------------------


def _concurrency_findings(
    gun: _Gunicorn, worker_class: str, server: str, source: str, findings: list[Finding]
) -> None:
    if server != "gunicorn" or worker_class.startswith(_ASYNC_CLASSES):
        return
    if gun.workers * gun.threads == 1:
        where = ("App Service's default command sets no workers or threads"
                 if source == "default" else f"the {source} command sets no more")
        findings.append(Finding("warning", "single-worker-single-thread",
            f"1 worker × 1 thread: one request at a time, because {where}. One slow request "
            "(an API call, a query) makes every other user wait while CPU and memory look "
            "idle. Set workers and threads in a startup command, e.g. gunicorn --workers 3 "
            "--threads 4 app:app, or measure the best figures with tunicorn tune."))


def _timeout_findings(gun: _Gunicorn, server: str, findings: list[Finding]) -> None:
    if server != "gunicorn":
        return
    if gun.timeout == 0 or gun.timeout > FRONTEND_TIMEOUT_S:
        shown = "0 (no limit)" if gun.timeout == 0 else f"{gun.timeout} s"
        why = (f"the App Service front end drops a request after {FRONTEND_TIMEOUT_S} s, so the "
               f"user gets an error while the worker keeps working on it for up to {shown}")
        if gun.timeout_from_user:
            findings.append(Finding("warning", "timeout-over-frontend",
                f"Timeout {shown} is over the front end's limit: {why}. Set --timeout "
                f"{FRONTEND_TIMEOUT_S} or less, and move longer work to a background job."))
        else:
            findings.append(Finding("info", "timeout-over-frontend",
                f"App Service's default command sets --timeout {ORYX_TIMEOUT} (it overrides "
                f"gunicorn.conf.py): {why}. A startup command with --timeout "
                f"{FRONTEND_TIMEOUT_S} or less frees stuck workers sooner."))


def _memory_findings(
    workers: int, plan: Plan | None, worker_mib: float | None, findings: list[Finding]
) -> None:
    if plan is None:
        return
    per = worker_mib or DEFAULT_WORKER_MIB
    estimate = "given" if worker_mib else "an estimate for a small Flask worker"
    total = workers * per
    what = (f"{workers} workers × {per:.0f} MiB ({estimate}) ≈ {total:.0f} MiB against "
            f"{plan.name}'s {plan.memory_mib:.0f} MiB")
    fix = ("Use fewer workers and more threads, a larger plan, or measure the real figure "
           "with tunicorn tune.")
    if total > plan.memory_mib:
        findings.append(Finding("error", "memory-over-plan",
            f"More workers than the plan's memory allows: {what}; the instance will swap or "
            f"kill workers. {fix}"))
    elif total > HEADROOM * plan.memory_mib:
        findings.append(Finding("warning", "memory-over-plan",
            f"Little memory to spare: {what} (over {HEADROOM:.0%}), and the platform and "
            f"traffic peaks need some too. {fix}"))


def _check_app_object(root: Path, module: str, findings: list[Finding]) -> None:
    """Oryx always passes `module:app` for Flask-style apps; a missing `app` fails at boot."""
    name, _, attr = module.partition(":")
    path = root / (name.replace(".", "/") + ".py")
    tree = _parse(path)
    if tree is None or attr != "app":
        return
    bound: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return  # a star import may bring `app`; do not guess
        bound.update(_bound_names(node))
    if "app" not in bound:
        findings.append(Finding("error", "no-app-object",
            f"{path.name} has no top-level `app`, but App Service starts {module}: gunicorn "
            "fails with \"Failed to find attribute 'app'\". Name the WSGI object app, or set a "
            f"startup command naming it (e.g. gunicorn {name}:application)."))


def _bound_names(node: ast.stmt) -> Iterator[str]:
    if isinstance(node, ast.Assign):
        for target in node.targets:
            yield from (n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
        yield node.target.id
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        yield node.name
    elif isinstance(node, ast.Import | ast.ImportFrom):
        for alias in node.names:
            yield (alias.asname or alias.name).split(".")[0]
    elif isinstance(node, ast.If | ast.Try | ast.With):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                yield from _bound_names(child)


def _code_findings(
    root: Path,
    module: str,
    command: str | None,
    source: str,
    gun: _Gunicorn,
    worker_class: str,
    findings: list[Finding],
) -> None:
    files = _app_files(root, module)
    dev_started = any(f.code == "debug-server" for f in findings)
    for path in files:
        tree = _parse(path)
        if tree is None:
            continue
        rel = path.relative_to(root).as_posix()
        _run_call_findings(tree, rel, dev_started, findings)
        state = _module_state(tree)
        if not state:
            continue
        mutated = _mutations(tree, state)
        if mutated and gun.workers > 1:
            names = ", ".join(f"{n} (line {line})" for n, line in mutated[:3])
            findings.append(Finding("warning", "module-state",
                f"{rel}: module-level state {names} is changed inside functions (heuristic): "
                f"each of the {gun.workers} workers is its own process with its own copy, so "
                "users see different values depending on the worker that answers. Keep shared "
                "state in a database, Redis or the session cookie."))
        elif mutated:
            names = ", ".join(n for n, _ in mutated[:3])
            findings.append(Finding("info", "module-state",
                f"{rel}: module-level state {names} is changed inside functions (heuristic); "
                "with 1 worker that works, but more workers would each keep their own copy."))
        if gun.threads > 1 and worker_class == "gthread":
            risky = _thread_risks(tree, state)
            if risky:
                findings.append(Finding("warning", "thread-unsafe",
                    f"{rel}: {'; '.join(risky[:3])} (heuristic): with {gun.threads} threads per "
                    "worker, requests run this code at the same time. Guard it with a "
                    "threading.Lock, open connections per request, or use --threads 1 and more "
                    "workers."))


def _app_files(root: Path, module: str) -> list[Path]:
    """The entry module first, then the other top-level .py files (a small app's code)."""
    skip = {"gunicorn.conf.py", "setup.py", "conftest.py", "manage.py"}
    entry = root / (module.split(":", 1)[0].replace(".", "/") + ".py") if module else None
    files = sorted(p for p in root.glob("*.py") if p.name not in skip
                   and not p.name.startswith("test_"))
    if entry is not None and entry.is_file():
        files = [entry] + [p for p in files if p != entry]
    return files


def _run_call_findings(
    tree: ast.Module, rel: str, dev_started: bool, findings: list[Finding]
) -> None:
    """`app.run()` at import time blocks gunicorn's import; debug=True exposes the debugger."""
    for node, guarded in _top_level_calls(tree):
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr == "run"):
            continue
        debug = any(k.arg == "debug" and isinstance(k.value, ast.Constant) and k.value.value
                    for k in node.keywords)
        if not guarded:
            findings.append(Finding("error", "debug-server",
                f"{rel}:{node.lineno} calls .run() at import time: under gunicorn the import "
                "starts the development server instead of returning the app, and the worker "
                "never serves. Put it under if __name__ == \"__main__\":."))
        elif debug and not dev_started:
            findings.append(Finding("info", "debug-server",
                f"{rel}:{node.lineno} has .run(debug=True) under if __name__ == \"__main__\": "
                "gunicorn never runs it, but python app.py as a startup command would serve "
                "with the debugger on."))


def _top_level_calls(tree: ast.Module) -> Iterator[tuple[ast.Call, bool]]:
    def visit(stmts: Iterable[ast.stmt], guarded: bool) -> Iterator[tuple[ast.Call, bool]]:
        for stmt in stmts:
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
                yield stmt.value, guarded
            elif isinstance(stmt, ast.If):
                yield from visit(stmt.body, guarded or _is_main_guard(stmt.test))
                yield from visit(stmt.orelse, guarded)
            elif isinstance(stmt, ast.Try | ast.With):
                yield from visit(stmt.body, guarded)

    yield from visit(tree.body, False)


def _is_main_guard(test: ast.expr) -> bool:
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__")


def _module_state(tree: ast.Module) -> dict[str, str]:
    """Module-level names bound to mutable containers or counters: name → kind."""
    state: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = [t for t in node.targets if isinstance(t, ast.Name)]
            value: ast.expr | None = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            targets, value = [node.target], node.value
        else:
            continue
        kind = _mutable_kind(value)
        for target in targets:
            if kind:
                state[target.id] = kind
    return state


def _mutable_kind(value: ast.expr | None) -> str:
    if isinstance(value, ast.Dict | ast.DictComp):
        return "dict"
    if isinstance(value, ast.List | ast.ListComp):
        return "list"
    if isinstance(value, ast.Set | ast.SetComp):
        return "set"
    if isinstance(value, ast.Constant) and type(value.value) in (int, float):
        return "counter"
    if isinstance(value, ast.Call):
        func = value.func
        name = func.id if isinstance(func, ast.Name) else (
            func.attr if isinstance(func, ast.Attribute) else "")
        if name in _MUTABLE_CALLS:
            return name
        if name == "connect" and isinstance(func, ast.Attribute) \
                and isinstance(func.value, ast.Name) and func.value.id == "sqlite3":
            return "sqlite3"
    return ""


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _globals(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    return {n for node in ast.walk(func) if isinstance(node, ast.Global) for n in node.names}


def _mutations(tree: ast.Module, state: Mapping[str, str]) -> list[tuple[str, int]]:
    """(name, line) where a function changes module-level state, first time per name."""
    seen: dict[str, int] = {}
    for func in _functions(tree):
        declared = _globals(func)
        for node in ast.walk(func):
            name = _mutated_name(node, declared)
            if name and name in state and state[name] != "sqlite3" and name not in seen:
                seen[name] = getattr(node, "lineno", func.lineno)
    return sorted(seen.items(), key=lambda item: item[1])


def _mutated_name(node: ast.AST, declared: set[str]) -> str:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr in _MUTATORS and isinstance(node.func.value, ast.Name):
        return node.func.value.id
    if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
        targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
        for target in targets:
            if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                return target.value.id
            if isinstance(target, ast.Name) and target.id in declared:
                return target.id
    return ""


def _thread_risks(tree: ast.Module, state: Mapping[str, str]) -> list[str]:
    risks: list[str] = []
    for name, kind in state.items():
        if kind == "sqlite3":
            risks.append(f"module-level sqlite3 connection {name} is shared by all threads "
                         "(sqlite3 refuses use from another thread unless check_same_thread=False, "
                         "and sharing one is unsafe even then)")
    seen: set[str] = set()
    for func in _functions(tree):
        declared = _globals(func)
        for node in ast.walk(func):
            if isinstance(node, ast.AugAssign):
                target = node.target
                if isinstance(target, ast.Name) and target.id in declared:
                    name, what = target.id, f"`global {target.id}` {_op(node)}= in {func.name}()"
                elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) \
                        and target.value.id in state:
                    name = target.value.id
                    what = f"{name}[…] {_op(node)}= in {func.name}()"
                else:
                    continue
                if name not in seen:
                    seen.add(name)
                    risks.append(f"{what} (line {node.lineno}) is a read-modify-write that "
                                 "threads can interleave, losing updates")
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Name) and t.id in declared and t.id not in seen:
                        seen.add(t.id)
                        risks.append(f"`global {t.id}` is rebound in {func.name}() "
                                     f"(line {node.lineno}), shared by every thread")
    return risks


def _op(node: ast.AST) -> str:
    ops = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.BitOr: "|"}
    return ops.get(type(node.op), "") if isinstance(node, ast.AugAssign) else ""


def _requirements_findings(
    root: Path, server: str, source: str, findings: list[Finding]
) -> None:
    req = root / "requirements.txt"
    if not req.is_file():
        if source in ("default", "startup.txt", "settings"):
            findings.append(Finding("warning", "requirements-missing",
                "No requirements.txt: App Service's build (Oryx) installs packages from "
                "requirements.txt in the project root, so imports other than the image's "
                "own packages will fail. Add one (pip freeze > requirements.txt)."))
        return
    if server != "gunicorn":
        return
    names = _requirement_names(req, depth=0)
    if "gunicorn" in names:
        return
    if source == "Dockerfile":
        docker = _read(root / "Dockerfile")
        if re.search(r"\binstall\b[^\n]*\bgunicorn\b", docker):
            return
        findings.append(Finding("warning", "gunicorn-missing",
            "gunicorn is not in requirements.txt (nor installed in the Dockerfile), but the "
            "container's command runs it: a custom image has only what you install, so it "
            "fails to start. Add gunicorn to requirements.txt."))
    else:
        findings.append(Finding("info", "gunicorn-missing",
            "gunicorn is not in requirements.txt: App Service's Python image has it installed "
            "already, so the app starts, but with the image's version, not one you tested. "
            "Add gunicorn (pinned) to requirements.txt; other hosts and containers need it."))


def _requirement_names(path: Path, depth: int) -> set[str]:
    names: set[str] = set()
    for line in _read(path).splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(("-r ", "--requirement ")) and depth < 3:
            included = path.parent / line.split(None, 1)[1].strip()
            if included.is_file():
                names |= _requirement_names(included, depth + 1)
            continue
        if line.startswith("-"):
            continue
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if match:
            names.add(re.sub(r"[-_.]+", "-", match.group(1)).lower())
    return names


# --- helpers --------------------------------------------------------------------------------


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _parse(path: Path) -> ast.Module | None:
    if not path.is_file():
        return None
    try:
        return ast.parse(_read(path), filename=str(path))
    except SyntaxError:
        return None


_LEVELS = {"error": 0, "warning": 1, "info": 2}


def _ordered(findings: Iterable[Finding]) -> list[Finding]:
    unique = list(dict.fromkeys(findings))
    return sorted(unique, key=lambda f: _LEVELS.get(f.level, 3))
