"""gunicorn itself checks every emitted configuration, and one of them serves a request.

The command is taken from the emitted text (not rebuilt from the spec), the public
0.0.0.0 binding is swapped for 127.0.0.1 before anything starts, and `gunicorn` is
run as `python -m gunicorn` so the test uses this interpreter's gunicorn.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tunicorn.deploy import emit
from tunicorn.deploy.emit import appsettings

pytestmark = pytest.mark.integration

APPS = Path(__file__).resolve().parent.parent / "apps"
SPECS = [
    emit.make_spec(3, 6, app="hello:app"),
    emit.make_spec(2, 1, "sync", app="hello:app"),
    emit.make_spec(2, 1, "gevent", app="hello:app"),
]
IDS = ["3x6-gthread", "2x1-sync", "2-gevent"]
COMMAND_FORMATS = ["azure", "az", "procfile", "dockerfile"]


def extract_argv(fmt: str, text: str, port: int) -> list[str]:
    """The gunicorn command line inside a format's text, bound to loopback."""
    if fmt == "azure":
        line = text.strip()
    elif fmt == "az":
        match = re.search(r'--startup-file "(.*)"\s*$', text)
        assert match, text
        line = match.group(1)
    elif fmt == "procfile":
        line = text.strip().removeprefix("web: ")
    elif fmt == "dockerfile":
        line = text.strip().splitlines()[-1].removeprefix("CMD exec ")
    else:
        raise AssertionError(fmt)
    line = line.replace("$PORT", str(port)).replace("${PORT:-8000}", str(port))
    argv = shlex.split(line)
    assert argv[0] == "gunicorn"
    return [sys.executable, "-m", "gunicorn", *(_loopback(a, port) for a in argv[1:])]


def _loopback(arg: str, port: int) -> str:
    if arg.startswith("--bind="):
        host_port = arg.removeprefix("--bind=")
        assert host_port.split(":")[0] == "0.0.0.0"
        return f"--bind=127.0.0.1:{port}"
    return arg


def gunicorn(*args: str, cwd: Path = APPS) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*args], cwd=cwd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


def printed(config: str) -> dict[str, str]:
    """`--print-config` output as a name → value mapping."""
    values = {}
    for line in config.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            values[name.strip()] = value.strip()
    return values


def expect(spec: emit.EmitSpec) -> dict[str, str]:
    want = {"workers": str(spec.workers), "worker_class": spec.worker_class}
    want["timeout"] = str(emit.FRONTEND_TIMEOUT)
    if spec.worker_class != "gevent":
        want["threads"] = str(spec.threads)
    return want


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("fmt", COMMAND_FORMATS)
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_command_formats_pass_gunicorn_check(fmt: str, spec: emit.EmitSpec) -> None:
    argv = extract_argv(fmt, emit.render(fmt, spec), port=8000)  # nothing starts: port unused
    check = gunicorn(*argv[:3], "--check-config", *argv[3:])
    assert check.returncode == 0, check.stderr
    config = printed(gunicorn(*argv[:3], "--print-config", *argv[3:]).stdout)
    assert {k: config[k] for k in expect(spec)} == expect(spec)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_conf_passes_gunicorn_check(spec: emit.EmitSpec, tmp_path: Path) -> None:
    path = tmp_path / "gunicorn.conf.py"
    path.write_text(emit.render("conf", spec))
    check = gunicorn(
        sys.executable, "-m", "gunicorn", "--check-config", "-c", str(path), "hello:app"
    )
    assert check.returncode == 0, check.stderr
    out = gunicorn(sys.executable, "-m", "gunicorn", "--print-config", "-c", str(path))
    config = printed(out.stdout)
    assert {k: config[k] for k in expect(spec)} == expect(spec)
    assert config["wsgi_app"] == "hello:app"


def test_appsettings_command_passes_gunicorn_check() -> None:
    spec = SPECS[0]
    argv = appsettings.platform_argv(spec)
    assert f"PYTHON_GUNICORN_CUSTOM_THREAD_NUM={spec.threads}" in emit.render("appsettings", spec)
    check = gunicorn(sys.executable, "-m", "gunicorn", "--check-config", *argv[1:])
    assert check.returncode == 0, check.stderr
    config = printed(gunicorn(sys.executable, "-m", "gunicorn", "--print-config", *argv[1:]).stdout)
    # App Service passes no worker class: gunicorn swaps sync for gthread on its own.
    assert (config["workers"], config["threads"]) == ("3", "6")


def test_a_broken_app_fails_the_check() -> None:
    # The check above is worth something only if gunicorn really loads the app.
    spec = emit.make_spec(1, 1, app="hello:missing")
    argv = extract_argv("azure", emit.render("azure", spec), port=8000)
    assert gunicorn(*argv[:3], "--check-config", *argv[3:]).returncode != 0


# --- starting emitted configurations for real --------------------------------------------


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[[list[str], int], str]]:
    """Start gunicorn in its own process group; stop the whole group afterwards."""
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(argv: list[str], port: int) -> str:
        log = tmp_path / f"gunicorn-{len(procs)}.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen(
                argv,
                cwd=APPS,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        procs.append((proc, log))
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"gunicorn exited with {proc.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return url
            except OSError:
                time.sleep(0.1)
        pytest.fail(f"gunicorn did not answer {url} within 30 s:\n{log.read_text()}")

    yield start
    for proc, _ in procs:
        _stop_group(proc)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):  # workers left behind by a dead master
        os.killpg(proc.pid, signal.SIGKILL)


def _get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        return dict(json.loads(response.read()))


def test_emitted_startup_command_serves_requests(
    start_server: Callable[[list[str], int], str],
) -> None:
    port = free_port()
    spec = emit.make_spec(2, 2, app="hello:app")
    url = start_server(extract_argv("azure", emit.render("azure", spec), port), port)
    assert _get(url)["hello"] == "world"


def test_emitted_conf_serves_requests(
    start_server: Callable[[list[str], int], str], tmp_path: Path
) -> None:
    port = free_port()
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text(emit.render("conf", emit.make_spec(1, 2, app="hello:app")))
    argv = [sys.executable, "-m", "gunicorn", "-c", str(conf), f"--bind=127.0.0.1:{port}"]
    url = start_server(argv, port)
    assert _get(url)["hello"] == "world"


# --- an ASGI app: the uvicorn worker ---------------------------------------------------------

ASGI_SPEC = emit.make_spec(2, 1, "uvicorn", app="fastapi_app:app")


@pytest.mark.parametrize("fmt", COMMAND_FORMATS)
def test_asgi_command_formats_pass_gunicorn_check(fmt: str) -> None:
    argv = extract_argv(fmt, emit.render(fmt, ASGI_SPEC), port=8000)
    check = gunicorn(*argv[:3], "--check-config", *argv[3:])
    assert check.returncode == 0, check.stderr
    config = printed(gunicorn(*argv[:3], "--print-config", *argv[3:]).stdout)
    assert (config["workers"], config["worker_class"]) == ("2", "uvicorn_worker.UvicornWorker")


def test_asgi_conf_passes_gunicorn_check(tmp_path: Path) -> None:
    path = tmp_path / "gunicorn.conf.py"
    path.write_text(emit.render("conf", ASGI_SPEC))
    check = gunicorn(sys.executable, "-m", "gunicorn", "--check-config", "-c", str(path))
    assert check.returncode == 0, check.stderr
    out = gunicorn(sys.executable, "-m", "gunicorn", "--print-config", "-c", str(path))
    config = printed(out.stdout)
    assert config["worker_class"] == "uvicorn_worker.UvicornWorker"
    assert config["wsgi_app"] == "fastapi_app:app"


@pytest.mark.parametrize("fmt", [*COMMAND_FORMATS, "conf"])
def test_emitted_asgi_configurations_serve_requests(
    fmt: str, start_server: Callable[[list[str], int], str], tmp_path: Path
) -> None:
    port = free_port()
    if fmt == "conf":
        conf = tmp_path / "gunicorn.conf.py"
        conf.write_text(emit.render("conf", ASGI_SPEC))
        argv = [sys.executable, "-m", "gunicorn", "-c", str(conf), f"--bind=127.0.0.1:{port}"]
    else:
        argv = extract_argv(fmt, emit.render(fmt, ASGI_SPEC), port)
    url = start_server(argv, port)
    assert _get(url) == {"hello": "world"}
