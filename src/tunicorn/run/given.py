"""What the user named to load, checked and resolved into requests, once for every command
that loads an app (bench, tune, profile).

The user names a workload one way (`--path`, `--scenario`, `--locustfile`, `--access-log` or
`--har`) and how each client logs in (`--header`, `--cookie`, a scenario of `once` requests).
The rules that join them (one source at a time; credentials go with the built-in engine; a
login goes before whatever else is loaded) were written in each command; here they are one
function each, so that bench, tune and profile refuse and resolve the same input alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

from tunicorn.errors import UsageError
from tunicorn.load.scenario import Request, load_scenario, with_credentials
from tunicorn.run import workload as workloads
from tunicorn.run.workload import Built

if TYPE_CHECKING:
    from tunicorn.app.target import Target
    from tunicorn.load.accesslog import Traffic

Say = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class Asked:
    """The workload options as given: `paths` already parsed (`--path /io=3`), the files not
    yet read."""

    paths: tuple[Request, ...] = ()
    scenario: str | None = None
    locustfile: str | None = None
    access_log: str | None = None
    har: str | None = None
    header: tuple[str, ...] = ()
    cookie: tuple[str, ...] = ()
    crawl: int | None = None


def requests(
    asked: Asked, *, default: tuple[Request, ...] = (Request(path="/"),), say: Say
) -> tuple[Request, ...]:
    """bench's requests, as named and not checked: real traffic, a scenario, the paths, else
    `default` (GET /, or the path of the URL bench was given), logged in as asked."""
    login, scenario = _checked(asked)
    traffic = _real_traffic(asked.access_log, asked.har, say)
    if traffic is not None:
        named = traffic.requests
    else:
        named = load_scenario(scenario) if scenario else (asked.paths or default)
    return with_credentials(login + named, asked.header, asked.cookie)


def workload(
    target: Target, asked: Asked, *, log_dir: str | None = None, say: Say = lambda _: None
) -> tuple[Built, tuple[Request, ...]]:
    """tune's and profile's workload and its record: an access log's or a HAR file's requests,
    a locustfile's users or a scenario as given, else the given paths or the router's routes
    (and a crawl's pages) checked at pre-flight by the workload stage; and the requests to
    send, logged in with a scenario's once requests, --header and --cookie."""
    login, scenario = _checked(asked)
    traffic = _real_traffic(asked.access_log, asked.har, say)
    built = workloads.recorded(traffic.requests) if traffic is not None else None
    built = built or workloads.named(asked.paths, scenario, asked.locustfile)
    if built is None:
        [credentials] = with_credentials((Request(),), asked.header, asked.cookie)
        built = workloads.build(
            target, paths=asked.paths, crawl_pages=asked.crawl,
            headers=dict(credentials.headers),
            setup=with_credentials(login, asked.header, asked.cookie), log_dir=log_dir, say=say,
        )  # fmt: skip
    return built, with_credentials(login + built.requests, asked.header, asked.cookie)


def _checked(asked: Asked) -> tuple[tuple[Request, ...], str | None]:
    """The login split off the scenario (`_login`), and the rules between the options: one
    workload source at a time, credentials only with the built-in engine."""
    login, scenario = _login(asked.scenario)
    sources = (asked.paths, scenario, asked.locustfile, asked.access_log, asked.har)
    if sum(map(bool, sources)) > 1:
        raise UsageError(
            "Give one of --path, --scenario, --locustfile, --access-log and --har, not several."
        )
    if asked.locustfile and login:
        raise UsageError(
            "Give one of --scenario and --locustfile, not both: log the locustfile's users in "
            "in their on_start."
        )
    if (asked.header or asked.cookie) and asked.locustfile:
        raise UsageError(
            "--header and --cookie go with the built-in engine: with --locustfile, set them "
            "in the locustfile (self.client.headers, self.client.cookies)."
        )
    return login, scenario


def _login(scenario: str | None) -> tuple[tuple[Request, ...], str | None]:
    """A scenario of setup requests only (`once = true`: a login) goes before whatever the
    other options load (--path, --access-log, --har, the discovered routes): its requests and
    no scenario. Any other scenario is the workload itself: nothing and the scenario."""
    if not scenario:
        return (), None
    requests = load_scenario(scenario)
    if all(r.once for r in requests):
        return requests, None
    return (), scenario


def _real_traffic(access_log: str | None, har: str | None, say: Say) -> Traffic | None:
    """--access-log or --har read into a mix, its summary and table said (paths redacted);
    None when neither is given."""
    from tunicorn.load.accesslog import read_access_log
    from tunicorn.load.har import read_har

    if access_log and har:
        raise UsageError("Give one of --access-log and --har, not both.")
    if not (access_log or har):
        return None
    traffic = read_access_log(access_log) if access_log else read_har(str(har))
    say(traffic.summary())
    rows = traffic.table()
    for what, share, status in rows[:10]:
        say(f"  {share:>6}  {what}" + (f"  ({status})" if status else ""))
    if len(rows) > 10:
        say(f"  … and {len(rows) - 10} more")
    return traffic
