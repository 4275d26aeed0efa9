"""The packages a server configuration needs where it is deployed: one table, by worker class.

tunicorn measures a configuration with whatever is installed beside it, but App Service
installs only what the project's requirements list (its image adds gunicorn alone). A
recommendation of `--worker-class gevent` therefore boots here and fails there with "class
uri 'gevent' invalid or not found" unless requirements.txt names gevent. This module says
which packages each worker class and each server needs, the version that ran here (the one
tunicorn tested), and which of them a project's requirements leave out; `check`, the
recommendation, the emitters and the rehearsal all ask it, so the rule lives once.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
import re
from collections.abc import Mapping

from tunicorn.deploy.requirements import ProjectRequirements, normalize, parse_line
from tunicorn.record import Package


@dataclasses.dataclass(frozen=True)
class Need:
    """A package a configuration needs: `module` is what gunicorn imports from it, and
    `provided_by` the requirements (`name[extra]`) that install it as a dependency."""

    name: str  # the distribution, as pip takes it
    module: str
    why: str
    provided_by: tuple[str, ...] = ()
    extra_of: str = ""  # declared by the tested gunicorn's own [extra], not by the table


GUNICORN = Need("gunicorn", "gunicorn", "the server (App Service's image has its own version)")
_GEVENT = Need("gevent", "gevent", "the gevent worker class", ("gunicorn[gevent]",))
_EVENTLET = Need("eventlet", "eventlet", "the eventlet worker class", ("gunicorn[eventlet]",))
_TORNADO = Need("tornado", "tornado", "the tornado worker class", ("gunicorn[tornado]",))
_UVICORN_WORKER = Need("uvicorn-worker", "uvicorn_worker",
                       "the uvicorn worker class (uvicorn_worker.UvicornWorker)")  # fmt: skip
_UVICORN = Need("uvicorn", "uvicorn", "the ASGI server the uvicorn worker runs",
                ("uvicorn-worker",))  # fmt: skip
_UVICORN_DEPRECATED = Need(
    "uvicorn", "uvicorn", "uvicorn.workers (deprecated since uvicorn 0.30: use uvicorn-worker)"
)

# Keyed by the worker class as a command names it (gunicorn's short names, dotted paths).
WORKER_CLASS_PACKAGES: Mapping[str, tuple[Need, ...]] = {
    "sync": (),
    "gthread": (),
    "gevent": (_GEVENT,),
    "gevent_wsgi": (_GEVENT,),
    "gevent_pywsgi": (_GEVENT,),
    "eventlet": (_EVENTLET,),
    "tornado": (_TORNADO,),
    "uvicorn": (_UVICORN_WORKER, _UVICORN),  # a short name for uvicorn_worker.UvicornWorker
    "uvicorn_worker.UvicornWorker": (_UVICORN_WORKER, _UVICORN),
    "uvicorn_worker.UvicornH11Worker": (_UVICORN_WORKER, _UVICORN),
    "uvicorn.workers.UvicornWorker": (_UVICORN_DEPRECATED,),
    "uvicorn.workers.UvicornH11Worker": (_UVICORN_DEPRECATED,),
}
# A dotted class path not in the table, by its top-level module.
_CLASS_MODULES: Mapping[str, tuple[Need, ...]] = {
    "gunicorn": (),
    "gevent": (_GEVENT,),
    "uvicorn_worker": (_UVICORN_WORKER, _UVICORN),
    "uvicorn": (_UVICORN_DEPRECATED,),
}
# Servers a startup command can start instead of gunicorn (check/commands.py's list).
SERVER_PACKAGES: Mapping[str, tuple[Need, ...]] = {
    "gunicorn": (GUNICORN,),
    "uvicorn": (Need("uvicorn", "uvicorn", "the server"),),
    "hypercorn": (Need("hypercorn", "hypercorn", "the server"),),
    "waitress-serve": (Need("waitress", "waitress", "the server"),),
    "daphne": (Need("daphne", "daphne", "the server"),),
    "uwsgi": (Need("uwsgi", "uwsgi", "the server"),),
}


def for_worker_class(worker_class: str) -> tuple[Need, ...]:
    """What gunicorn's `--worker-class NAME` imports beyond gunicorn; () when unknown (a
    project's own worker class, say): only a package tunicorn knows is ever asked for.

    A class gunicorn ships behind an extra also needs what the tested gunicorn lists under that
    extra: gunicorn 27's gevent worker imports `packaging`, named only in `gunicorn[gevent]`.
    """
    name = worker_class.strip()
    if name.startswith("gunicorn.workers.ggevent"):
        name = "gevent"
    if name in WORKER_CLASS_PACKAGES:
        needs = WORKER_CLASS_PACKAGES[name]
    else:
        needs = _CLASS_MODULES.get(name.split(".", 1)[0] if "." in name else "", ())
    for need in needs:
        for spec in need.provided_by:
            base, _, extra = spec.partition("[")
            if base == "gunicorn" and extra:
                needs += tuple(n for n in _gunicorn_extra(extra.rstrip("]"))
                               if n.name not in {m.name for m in needs})  # fmt: skip
    return needs


@functools.cache
def _gunicorn_extra(extra: str) -> tuple[Need, ...]:
    """The requirements the installed gunicorn declares for `gunicorn[extra]`."""
    try:
        declared = importlib.metadata.requires("gunicorn") or []
    except importlib.metadata.PackageNotFoundError:
        return ()
    out: list[Need] = []
    for text in declared:
        spec, _, marker = text.partition(";")
        if not re.search(rf"""extra\s*==\s*['"]{re.escape(extra)}['"]""", marker):
            continue
        req = parse_line(spec)
        if req is not None:
            out.append(Need(req.name, req.name.replace("-", "_"),
                            f"gunicorn's {extra} worker (gunicorn[{extra}] lists it)",
                            (f"gunicorn[{extra}]",), extra_of=extra))  # fmt: skip
    return tuple(out)


def applies(need: Need, project: ProjectRequirements) -> bool:
    """Whether `need` holds for the gunicorn the project installs: what an extra of the tested
    gunicorn lists may differ in another version (gunicorn 23 to 26 required `packaging`
    outright), and App Service's image brings a gunicorn of its own where none is listed."""
    if not need.extra_of:
        return True
    listed = project.find("gunicorn")
    if listed is None:
        return False
    pin = re.search(r"===?\s*([A-Za-z0-9.+!_-]+)", listed.line)
    return pin is None or pin.group(1) == tested_version("gunicorn")


def for_server(server: str, worker_class: str = "sync") -> tuple[Need, ...]:
    """Everything a command needs: the server's package, and for gunicorn its worker class's."""
    needs = SERVER_PACKAGES.get(server, ())
    if server == "gunicorn":
        needs += for_worker_class(worker_class)
    return needs


def tested_version(name: str) -> str:
    """The version installed beside tunicorn, the one a measurement ran; "" when absent."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return ""


def pinned(need: Need) -> str:
    """The line to add to requirements.txt: pinned to the version tested, where there is one."""
    version = tested_version(need.name)
    return f"{need.name}=={version}" if version else need.name


def provider(need: Need, project: ProjectRequirements) -> str:
    """The project's requirement line that installs `need` (itself, or a package that pulls it
    in), "" when none does."""
    direct = project.find(need.name)
    if direct is not None:
        return direct.line or direct.name
    for spec in need.provided_by:
        name, _, extra = spec.partition("[")
        found = project.find(name, extra.rstrip("]"))
        if found is not None:
            return found.line or found.name
    return ""


def resolve(needs: tuple[Need, ...], project: ProjectRequirements | None) -> tuple[Package, ...]:
    """The records of `needs` against a project's requirements (None: no project to compare)."""
    out: list[Package] = []
    seen: set[str] = set()
    for need in needs:
        if need.name in seen:
            continue
        seen.add(need.name)
        listed = provider(need, project) if project is not None else ""
        out.append(Package(need.name, need.why, tested_version(need.name), listed, pinned(need)))
    return tuple(out)


def to_add(packages: tuple[Package, ...]) -> tuple[str, ...]:
    """The lines a project's requirements must gain: every needed package nothing installs."""
    return tuple(p.line for p in packages if not p.listed)


def for_module(module: str) -> tuple[str, str]:
    """(distribution, version here) that provides an importable top-level `module`, for the
    line to add when a worker says "No module named 'yaml'"; the version is "" when it is not
    installed here, and the name is then the module's own (right for most packages)."""
    top = module.split(".", 1)[0]
    for needs in WORKER_CLASS_PACKAGES.values():
        for need in needs:
            if need.module == top:
                return need.name, tested_version(need.name)
    dists = importlib.metadata.packages_distributions().get(top, [])
    if dists:
        return dists[0], tested_version(dists[0])
    return normalize(top), ""
