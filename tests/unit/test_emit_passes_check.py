"""What emit writes, `tunicorn check` accepts: every format on the project it is written into.

emit and check hold the same facts (App Service's 230 s front end among them) in one place,
settings.py; this test catches the day one of them drifts, as the 600 s timeout once did.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from tunicorn.deploy import emit, packages
from tunicorn.deploy.check import check
from tunicorn.deploy.emit import folder as emit_folder
from tunicorn.record import CheckResult, Latency, Recommendation

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "check" / "clean"
SPECS = {
    "gthread": dict(workers=3, threads=4),
    "sync": dict(workers=2, threads=1, worker_class="sync"),
    "gevent": dict(workers=2, threads=1, worker_class="gevent"),
}
# App Service's default command (no startup command) keeps its own --timeout 600 whatever
# gunicorn.conf.py or the app settings say: check says so as info, and only there.
DEFAULT_COMMAND = {"appsettings", "conf"}


def project(tmp_path: Path, worker_class: str) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(FIXTURE / "app.py", root / "app.py")
    gunicorn = f"gunicorn=={packages.tested_version('gunicorn')}"
    extra = [packages.pinned(n) for n in packages.for_worker_class(worker_class)]
    needs = ["flask", gunicorn, *extra]
    (root / "requirements.txt").write_text("\n".join(needs) + "\n")
    return root


def checked(fmt: str, text: str, root: Path) -> CheckResult:
    """Check `text` the way a user deploys it: a file in the project, or the site's settings."""
    if fmt == "azure":
        (root / "startup.txt").write_text(text)
        return check(root)
    if fmt == "az":
        match = re.search(r'--startup-file "(.*)"', text)
        assert match, text
        return check(root, startup=match.group(1))
    if fmt == "appsettings":
        pairs = [ln.split("=", 1) for ln in text.splitlines() if re.match(r"^[A-Z_]+=", ln)]
        return check(root, settings={k: v for k, v in pairs})
    if fmt == "procfile":  # App Service ignores a Procfile; check says to copy its web: line
        (root / "Procfile").write_text(text)
        return check(root, startup=text.partition("web:")[2].strip())
    name = {"conf": "gunicorn.conf.py", "dockerfile": "Dockerfile"}[fmt]
    (root / name).write_text(text)
    return check(root)


# App settings refuse gevent (a UsageError, tested in test_emit), so that pair is not here.
CASES = [(f, k) for f in emit.FORMATS for k in SPECS if (f, k) != ("appsettings", "gevent")]


@pytest.mark.parametrize(("fmt", "kind"), CASES)
def test_every_emitted_format_passes_check(fmt: str, kind: str, tmp_path: Path) -> None:
    spec = emit.make_spec(**SPECS[kind])  # type: ignore[arg-type]
    result = checked(fmt, emit.render(fmt, spec), project(tmp_path, spec.worker_class))
    loud = [f"{f.level} {f.code}: {f.message}" for f in result.findings if f.level != "info"]
    assert not loud, loud
    timeouts = [f for f in result.findings if f.code == "timeout-over-frontend"]
    if fmt in DEFAULT_COMMAND:
        assert all(f.level == "info" for f in timeouts)
    else:
        assert not timeouts, timeouts
        assert result.timeout == emit.FRONTEND_TIMEOUT
    assert (result.workers, result.threads if kind != "gevent" else 1) == (
        spec.workers,
        spec.threads if kind != "gevent" else 1,
    )


def test_the_folder_tune_emits_passes_check(tmp_path: Path) -> None:
    root = project(tmp_path, "gthread")
    rec = Recommendation(
        workers=3, threads=4, worker_class="gthread", throughput_rps=1.0, capacity_rps=1.0,
        latency_ms=Latency(), pss_mib_peak=1.0, startup_command=emit.make_spec(3, 4).command(),
        app="app:app",
    )  # fmt: skip
    out = tmp_path / "deploy"
    emit_folder.write(rec, out, root)
    with emit_folder.view(out, root) as laid:
        result = check(laid)
    loud = [f"{f.level} {f.code}: {f.message}" for f in result.findings if f.level != "info"]
    assert not loud, loud
    assert result.timeout == emit.FRONTEND_TIMEOUT
    assert shlex.split((out / "startup.txt").read_text())[:4] == [
        "gunicorn", "--bind=0.0.0.0", "--timeout", str(emit.FRONTEND_TIMEOUT),
    ]  # fmt: skip
