"""App Service's rules for a Python app, as Oryx's startup script generator applies them.

The seed's app was slow because nobody could see that App Service started gunicorn with
1 worker × 1 thread. These are the rules that decide it (microsoft/Oryx,
src/startupscriptgenerator/src/python/): which command runs (the site's Startup Command, a
custom container's CMD, or the generated default), which module it names, and which app
settings change it. Written down here once, so the findings can say why, not just what.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import shlex
from collections.abc import Mapping
from pathlib import Path

from tunicorn.app.find import parse, read, top_level_names
from tunicorn.classes import APP_SERVICE_TIMEOUT, FRONTEND_TIMEOUT
from tunicorn.deploy.check.commands import Gunicorn, read_conf, resolve_gunicorn, split
from tunicorn.record import Finding

# Oryx's generated command (scriptgenerator.go, buildGunicornCommandForModule).
ORYX_BASE_ARGS = f"--timeout {APP_SERVICE_TIMEOUT} --access-logfile '-' --error-logfile '-'"
ORYX_BIND = "--bind=0.0.0.0:8000"
ORYX_CHDIR = "--chdir=/home/site/wwwroot"
FRONTEND_TIMEOUT_S = FRONTEND_TIMEOUT  # the App Service front end drops a request after 230 s

MULTIWORKERS = "PYTHON_ENABLE_GUNICORN_MULTIWORKERS"
WORKER_NUM = "PYTHON_GUNICORN_CUSTOM_WORKER_NUM"
THREAD_NUM = "PYTHON_GUNICORN_CUSTOM_THREAD_NUM"
CONFIG_PATH = "PYTHON_GUNICORN_CONFIG_PATH"

# Go's strconv.ParseBool, which Oryx uses: any other value makes script generation panic.
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


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


def multiworkers(env: Mapping[str, str], findings: list[Finding]) -> bool:
    """Whether MULTIWORKERS is on, as Go reads it; the custom numbers mean nothing without it."""
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


def startup_command(
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
        text = read(startup_txt).strip()
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


def procfile_command(root: Path) -> str:
    """The Procfile's web: command ("" without one): App Service ignores it, but the hosts that
    run it install from requirements.txt too, and check suggests copying it."""
    for line in read(root / "Procfile").splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() == "web":
            return command.strip()
    return ""


def _expand_script(root: Path, command: str) -> str:
    """A Startup Command that names a file in the app folder runs that file (Oryx chmods it)."""
    first = command.split()[0] if command.split() else ""
    if len(command.split()) == 1 and (root / first).is_file() and not first.endswith(".py"):
        return read(root / first).strip() or command
    return command


def _dockerfile_command(path: Path) -> str:
    entry: list[str] = []
    cmd: list[str] = []
    lines = read(path).replace("\\\n", " ").splitlines()
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


def default_command(
    root: Path,
    env: Mapping[str, str],
    multi: bool,
    cores: int | None,
    module: str,
    findings: list[Finding],
) -> tuple[str, Gunicorn]:
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
    gun = resolve_gunicorn(root, [], env, split(args), findings)
    conf = root / "gunicorn.conf.py"
    if not config_arg and conf.is_file() and "timeout" in read_conf(conf).values:
        findings.append(Finding("info", "config-timeout-overridden",
            f"gunicorn.conf.py sets timeout, but App Service's GUNICORN_CMD_ARGS sets "
            f"--timeout {APP_SERVICE_TIMEOUT}, which wins; only a startup command can change it."))
    return command, dataclasses.replace(gun, app=module, timeout_from_user=False)


def check_app_object(root: Path, module: str, findings: list[Finding]) -> None:
    """Oryx always passes `module:app` for Flask-style apps; a missing `app` fails at boot."""
    name, _, attr = module.partition(":")
    path = root / (name.replace(".", "/") + ".py")
    tree = parse(path)
    if tree is None or attr != "app":
        return
    star = any(
        isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names)
        for node in tree.body
    )
    if star:
        return  # a star import may bring `app`; do not guess
    if "app" not in top_level_names(tree):
        findings.append(Finding("error", "no-app-object",
            f"{path.name} has no top-level `app`, but App Service starts {module}: gunicorn "
            "fails with \"Failed to find attribute 'app'\". Name the WSGI object app, or set a "
            f"startup command naming it (e.g. gunicorn {name}:application)."))
