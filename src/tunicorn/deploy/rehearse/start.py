"""App Service's start, done here: the startup command, bound to loopback, until one GET answers.

The command is the one `check` found (the site's Startup Command, startup.txt, a Dockerfile's
CMD, or Oryx's generated default), with three changes and no others: it binds a free port on
127.0.0.1 instead of 0.0.0.0 (a rehearsal is never reachable from elsewhere), App Service's
paths (/home/site/wwwroot) point at the project folder, and gunicorn's error log goes to a
file tunicorn reads, so that when gunicorn exits its own exit status and log say why
(`launch.gunicorn.explain_exit`). Readiness is App Service's own: any HTTP answer on its
warm-up path; then one GET of the route is timed.
"""

from __future__ import annotations

import dataclasses
import http.client
import re
import shlex
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from tunicorn.deploy import packages
from tunicorn.deploy.check.commands import server_invocation, split
from tunicorn.launch.gunicorn import explain_exit
from tunicorn.launch.interface import answers_http
from tunicorn.supervise import Group, checkpoint

WWWROOT = "/home/site/wwwroot"
WARMUP_PATH = "/robots933456.txt"  # what App Service's warm-up ping requests
FIRST_REQUEST_TIMEOUT_S = 30.0
_BIND = ("-b", "--bind")
_DROPPED = ("-D", "--daemon")  # a daemon would leave the group tunicorn stops
_NO_MODULE = re.compile(r"No module named '([^']+)'")

Say = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class Launch:
    """What to run: `argv` from the project folder (`cwd`), with `env`; `shown` is the command
    as a user would type it, and `notes` what differs from the platform's."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    shown: str
    port: int
    notes: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Booted:
    """How the start went: `stage` is where it stopped ("boot", "request") or "served"."""

    ok: bool
    stage: str
    booted_s: float | None = None
    status: int | None = None
    latency_ms: float | None = None
    error: str = ""
    action: str = ""
    log_tail: tuple[str, ...] = ()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def launch_for(
    command: str, root: Path, venv: Path, env: Mapping[str, str], port: int
) -> Launch | str:
    """The platform's command as it runs here, or why the rehearsal cannot run it."""
    inline, words, others = server_invocation(command)
    if not words:
        return f"tunicorn could not tell which server the command starts ({command!r})"
    prog, rest = Path(words[0]).name, words[1:]
    if prog.startswith("python") and rest[:2] == ["-m", "gunicorn"]:
        program, rest = [str(venv / "bin" / "python"), "-m", "gunicorn"], rest[2:]
    elif prog == "gunicorn":
        program = [str(venv / "bin" / "gunicorn")]
    else:
        what = " ".join(words[:3])
        return (
            f"the command starts {what}, not gunicorn; the rehearsal runs gunicorn commands "
            "(App Service's default and the startup commands tunicorn writes)"
        )
    cwd, notes = root, list[str]()
    for step in others:
        step_words = split(step)
        if step_words[:1] == ["cd"] and len(step_words) == 2:
            cwd = _local_dir(step_words[1], root, cwd, notes)
        else:
            notes.append(
                f"The rehearsal started the server only; it did not run the startup "
                f"script's step {step!r}."
            )
    run_env = {**env, **{k: _local(v, root) for k, v in inline.items()}}
    if "GUNICORN_CMD_ARGS" in run_env:
        run_env["GUNICORN_CMD_ARGS"] = shlex.join(_gunicorn_args(
            split(run_env["GUNICORN_CMD_ARGS"]), root, cwd, notes))  # fmt: skip
    run_env["PORT"] = str(port)
    args = _gunicorn_args(rest, root, cwd, notes)
    args += [f"--bind=127.0.0.1:{port}", "--error-logfile=-"]
    argv = program + args
    prefix = "".join(f"{_assignment(k, run_env[k])} " for k in inline)
    shown = prefix + shlex.join([Path(program[0]).name, *program[1:], *args])
    return Launch(argv, run_env, cwd, shown, port, tuple(notes))


def _assignment(key: str, value: str) -> str:
    """VAR="value" as Oryx writes GUNICORN_CMD_ARGS, where double quotes can hold the value."""
    if not any(c in value for c in '"$`\\'):
        return f'{key}="{value}"'
    return f"{key}={shlex.quote(value)}"


def _local(value: str, root: Path) -> str:
    """App Service's app folder is the project folder here."""
    return value.replace(WWWROOT, str(root))


def _local_dir(value: str, root: Path, cwd: Path, notes: list[str] | None = None) -> Path:
    """A folder of the command: App Service's paths map to the project; an absolute one that
    is not on this machine (a container's WORKDIR) is taken to be the project too."""
    path = Path(_local(value, root))
    if not path.is_absolute():
        return cwd / path  # as gunicorn resolves it; missing here means missing there
    if path.is_dir():
        return path
    if notes is not None:
        notes.append(f"{value} is not a folder here: the rehearsal ran from the project folder.")
    return root


def _gunicorn_args(args: list[str], root: Path, cwd: Path, notes: list[str]) -> list[str]:
    """gunicorn's options without the bind and the daemon switch, with App Service's paths
    pointing at the project."""
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in _BIND:  # -b ADDRESS: loopback instead, added by the caller
            i += 2
            continue
        if arg.startswith("--bind=") or (arg.startswith("-b") and not arg.startswith("--")):
            i += 1
            continue
        if arg in _DROPPED:
            notes.append(f"{arg} was left out: a daemon would escape the rehearsal's cleanup.")
        elif arg == "--chdir" and i + 1 < len(args):
            out.append(f"--chdir={_local_dir(args[i + 1], root, cwd, notes)}")
            i += 1
        elif arg.startswith("--chdir="):
            out.append(f"--chdir={_local_dir(arg.removeprefix('--chdir='), root, cwd, notes)}")
        else:
            out.append(_local(arg, root))
        i += 1
    return out


def boot(launch: Launch, log: Path, *, timeout_s: float, path: str, say: Say) -> Booted:
    """Start the command and GET `path` once it answers; everything is stopped on return."""
    server = Group(launch.argv, cwd=launch.cwd, env=launch.env, log_path=log)
    try:
        server.start()
    except OSError as exc:
        return Booted(
            False,
            "boot",
            error=f"could not run {launch.argv[0]}: {exc.strerror}",
            action="see the install's output: the environment has no such program",
        )
    with server:
        start = time.monotonic()
        while not answers_http("127.0.0.1", launch.port, WARMUP_PATH):
            code = server.poll()
            if code is not None:
                reason = explain_exit(code, server.log_text())
                error = f"{reason.meaning} ({reason.status})"
                if reason.evidence:
                    error += f": {reason.evidence}"
                return Booted(False, "boot", error=error, action=_action(reason.evidence,
                              reason.action), log_tail=_tail(server.log_text()))  # fmt: skip
            waited = time.monotonic() - start
            if waited > timeout_s:
                return Booted(
                    False,
                    "boot",
                    error=f"no answer on 127.0.0.1:{launch.port} within {timeout_s:.0f} s "
                    "(App Service gives a site 230 s to answer its warm-up request)",
                    action="make the app start faster (no slow work at import), or see its "
                    "log below for what it was doing",
                    log_tail=_tail(server.log_text()),
                )
            say(f"booting  waiting for the first answer on 127.0.0.1:{launch.port} "
                f"({waited:.0f} s)")  # fmt: skip
            checkpoint()  # a stop asked for meanwhile: no need to wait any longer
            time.sleep(0.1)
        booted = time.monotonic() - start
        say(f"booted in {booted:.1f} s: GET {path}")
        status, latency, failure = _get(launch.port, path)
        if failure:
            return Booted(
                False,
                "request",
                booted,
                error=f"GET {path}: {failure}",
                action="see the app's log below",
                log_tail=_tail(server.log_text()),
            )
        if status is not None and status >= 500:
            raised = _last_exception(server.log_text())
            return Booted(False, "request", booted, status, latency,
                error=f"GET {path} answered {status}" + (f": {raised}" if raised else ""),
                action="fix the error the route raised (its traceback is in the log below)",
                log_tail=_tail(server.log_text()))  # fmt: skip
        return Booted(True, "served", booted, status, latency)


def _get(port: int, path: str) -> tuple[int | None, float | None, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=FIRST_REQUEST_TIMEOUT_S)
    start = time.perf_counter()
    try:
        conn.request("GET", path, headers={"User-Agent": "tunicorn-rehearse"})
        response = conn.getresponse()
        response.read()
    except (OSError, http.client.HTTPException) as exc:
        return None, None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    finally:
        conn.close()
    return response.status, (time.perf_counter() - start) * 1000, ""


def _action(evidence: str, action: str) -> str:
    """A missing module that is installed here is a line missing from requirements.txt: name
    the line. One that is not (the app's own module, a typo) keeps gunicorn's advice."""
    missing = _NO_MODULE.search(evidence)
    if not missing:
        return action
    name, version = packages.for_module(missing.group(1))
    if not version:
        return action
    line = f"{name}=={version}"
    return (
        f"add {line} to requirements.txt (the version installed here) and rehearse again: "
        "App Service installs only what it lists"
    )


def _last_exception(log: str) -> str:
    """The exception line of the log's last traceback (a route that raised)."""
    lines = log.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent")]
    if not starts:
        return ""
    for line in lines[starts[-1] + 1 :]:
        if line and not line[0].isspace():
            return " ".join(line.split())[:300]
    return ""


def _tail(log: str, n: int = 12) -> tuple[str, ...]:
    """The log's last lines, without the interpreter's own frames and caret markers."""
    skip = re.compile(r'^\s*(File "<frozen [^>]*>"|[\^~ ]+$)')
    return tuple(line for line in log.splitlines() if line.strip() and not skip.match(line))[-n:]
