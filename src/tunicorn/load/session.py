"""Clients with their own cookies: setup requests (a login) once per client, then the mix.

A scenario's `once = true` requests are setup: before the load starts, each client sends
them in file order on a plain blocking connection (a GET of the form page first when the
request carries a CSRF token), keeps the cookies the answers set, and only then joins the
measured mix. Setup requests are never counted in the statistics: they happen before the
warm-up, and their cost is the login's, not the app's under load. An answer of 4xx or 5xx
to a setup request stops the run with what went wrong (a wrong password, a missing CSRF
field), since every measured request after it would measure the login redirect instead.

During the load, each closed-loop client keeps its jar: Set-Cookie on any answer it gets
updates the cookies of its next requests (name=value, sent on every path of the site;
Max-Age=0 or a past Expires deletes). The engine pays for this only when a jar is in use
(a `once` request, or a Cookie header from --cookie or a HAR file): the payloads of a
client are its mix's prebuilt bytes with one Cookie line inserted, rebuilt only when its
cookies change.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import email.utils
import html.parser
import http.client
import threading
import time
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode

from tunicorn.app import redact
from tunicorn.errors import UsageError
from tunicorn.load.conn import Owner, _Conn
from tunicorn.load.scenario import Request

__all__ = ["CSRF_FIELDS", "Client", "Sessions", "fill_csrf", "form_inputs", "split"]

# The names frameworks give the hidden CSRF field of a form: Flask-WTF, Django, Symfony,
# Rails, Laravel (and the bare "_csrf" of Express's csurf).
CSRF_FIELDS = (
    "csrf_token",
    "csrfmiddlewaretoken",
    "_csrf_token",
    "authenticity_token",
    "_token",
    "_csrf",
)
PLACEHOLDERS = ("", "{csrf}")  # a body field with one of these values wants the page's token
SETUP_THREADS = 8


def split(requests: Iterable[Request]) -> tuple[list[Request], list[Request], dict[str, str]]:
    """The setup requests, the measured mix, and the cookies every jar starts with (from a
    Cookie header the requests share: --cookie, a HAR file)."""
    setup: list[Request] = []
    mix: list[Request] = []
    seeds: dict[str, str] = {}
    for req in requests:
        (setup if req.once else mix).append(req)
        for name, value in req.headers:
            if name.lower() == "cookie":
                seeds.update(_cookie_pairs(value))
    return setup, mix, seeds


def without_cookie(req: Request) -> Request:
    """The request with no Cookie header: its client's jar supplies one."""
    import dataclasses

    return dataclasses.replace(
        req, headers=tuple((k, v) for k, v in req.headers if k.lower() != "cookie")
    )


def _cookie_pairs(header: str) -> dict[str, str]:
    out = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name:
            out[name] = value
    return out


class Client:
    """One client's cookies and the payloads that carry them."""

    __slots__ = ("jar", "line", "cache")

    def __init__(self, seeds: dict[str, str]) -> None:
        self.jar = dict(seeds)
        self.line = b""
        self.cache: dict[bytes, bytes] = {}
        self._changed()

    def _changed(self) -> None:
        self.line = "; ".join(f"{k}={v}" for k, v in self.jar.items()).encode("latin-1")
        self.cache.clear()

    def payload(self, base: bytes) -> bytes:
        """`base` (a prebuilt request) with this client's Cookie line."""
        if not self.line:
            return base
        out = self.cache.get(base)
        if out is None:
            head, sep, body = base.partition(b"\r\n\r\n")
            out = head + b"\r\nCookie: " + self.line + sep + body
            self.cache[base] = out
        return out

    def set_cookie(self, header: str) -> None:
        """Apply one Set-Cookie header: name=value, or its deletion (Max-Age ≤ 0, or an
        Expires in the past)."""
        first, *attrs = header.split(";")
        name, sep, value = first.strip().partition("=")
        if not sep or not name:
            return
        value = value.strip().strip('"') if value.strip().startswith('"') else value.strip()
        gone = False
        for attr in attrs:
            key, _, arg = attr.strip().partition("=")
            key = key.lower()
            if key == "max-age":
                with contextlib.suppress(ValueError):
                    gone = int(arg) <= 0
            elif key == "expires":
                try:
                    when = email.utils.parsedate_to_datetime(arg.strip())
                    gone = gone or when.timestamp() <= time.time()
                except (TypeError, ValueError, IndexError):
                    pass
        if gone:
            if self.jar.pop(name, None) is not None:
                self._changed()
        elif self.jar.get(name) != value:
            self.jar[name] = value
            self._changed()


class _SessionConn(_Conn):
    """A connection of a client with a jar: it reads Set-Cookie (httptools calls on_header
    only on connections whose class has it, so connections without jars pay nothing)."""

    __slots__ = ("client", "owned", "sessions")

    def __init__(self, eng: Owner, sessions: Sessions) -> None:
        self.sessions = sessions
        self.client, self.owned = sessions.take()
        super().__init__(eng)

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) == 10 and name.lower() == b"set-cookie":
            self.client.set_cookie(value.decode("latin-1"))

    def close(self) -> None:
        super().close()
        if self.owned:
            self.owned = False
            self.sessions.free.append(self.client)


class Sessions:
    """The clients of one run: each set up (logged in) before the load, then lent to the
    connection that carries that client's requests (a closed-loop client whose connection
    the server closed goes on, with its cookies, on the next one)."""

    def __init__(self, clients: list[Client]) -> None:
        self.clients = clients
        self.free = list(reversed(clients))

    def take(self) -> tuple[Client, bool]:
        if self.free:
            return self.free.pop(), True
        return self.clients[0], False  # not expected: no more connections than clients

    def conn(self, eng: Owner) -> _SessionConn:
        return _SessionConn(eng, self)


# -- setup: each client's once requests, before the load -----------------------------------


class _Inputs(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "input":
            return
        a = dict(attrs)
        name = a.get("name")
        if name and name not in self.found:
            self.found[name] = a.get("value") or ""


def form_inputs(page: str) -> dict[str, str]:
    """The name → value of every <input> in an HTML page (the first of each name)."""
    parser = _Inputs()
    try:
        parser.feed(page)
        parser.close()
    except Exception:  # noqa: BLE001 - a malformed page yields what was read of it
        pass
    return parser.found


def wants_csrf(req: Request) -> bool:
    """A setup request that needs a form's token: `csrf_from` says so, or its form body has a
    field of a common CSRF name left empty (or "{csrf}")."""
    if req.csrf_from:
        return True
    if not req.body or req.method == "GET":
        return False
    fields = parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True)
    return any(k in CSRF_FIELDS and v in PLACEHOLDERS for k, v in fields)


def fill_csrf(body: bytes, inputs: dict[str, str], *, explicit: bool) -> bytes | None:
    """The body with its empty token field(s) filled from the page's inputs; with `explicit`
    (csrf_from given) a body without the field gets the page's CSRF field added. None when
    nothing could be filled."""
    fields = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    filled = False
    out = []
    for k, v in fields:
        if v in PLACEHOLDERS and k in inputs and (k in CSRF_FIELDS or explicit):
            v = inputs[k]
            filled = True
        out.append((k, v))
    if not filled and explicit:
        names = {k for k, _ in fields}
        for name in CSRF_FIELDS:
            if name in inputs and name not in names:
                out.append((name, inputs[name]))
                filled = True
                break
    return urlencode(out).encode() if filled else None


class _Setup:
    def __init__(self, host: str, port: int, base: str, host_header: str, timeout: float):
        self.host, self.port, self.base = host, port, base
        self.host_header = host_header
        self.timeout = timeout

    def send(
        self, client: Client, method: str, path: str, headers: tuple[tuple[str, str], ...],
        body: bytes,
    ) -> tuple[int, str]:  # fmt: skip
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            out = {"Host": self.host_header, "User-Agent": "tunicorn"}
            for name, value in headers:
                if name.lower() not in ("cookie", "content-length"):
                    out[name] = value
            if body and not any(k.lower() == "content-type" for k in out):
                out["Content-Type"] = "application/x-www-form-urlencoded"
            if client.line:
                out["Cookie"] = client.line.decode("latin-1")
            conn.request(method, self.base + path, body=body or None, headers=out)
            resp = conn.getresponse()
            text = resp.read(4 * 1024 * 1024).decode("utf-8", "replace")
            for value in resp.headers.get_all("Set-Cookie") or ():
                client.set_cookie(value)
            return resp.status, text
        finally:
            conn.close()

    def run(self, client: Client, n: int, setup: list[Request]) -> None:
        for req in setup:
            body = req.body
            if wants_csrf(req):
                page = req.csrf_from or req.path
                status, text = self._checked(client, n, "GET", page, req.headers, b"", req)
                filled = fill_csrf(body, form_inputs(text), explicit=bool(req.csrf_from))
                if filled is None:
                    raise UsageError(
                        f"Found no CSRF field to fill for {req.method} {redact.path(req.path)} "
                        f"in the form of {redact.path(page)} (looked for an <input> named like "
                        f"the body's empty field, or one of {', '.join(CSRF_FIELDS)}): name the "
                        "form's token field in the body with an empty value."
                    )
                body = filled
            self._checked(client, n, req.method, req.path, req.headers, body, req)

    def _checked(
        self, client: Client, n: int, method: str, path: str,
        headers: tuple[tuple[str, str], ...], body: bytes, req: Request,
    ) -> tuple[int, str]:  # fmt: skip
        what = f"{method} {redact.path(path)}"
        try:
            status, text = self.send(client, method, path, headers, body)
        except (OSError, http.client.HTTPException) as exc:
            raise UsageError(
                f"The setup request {what} of client {n} failed ({type(exc).__name__}): "
                "the server did not answer it."
            ) from None
        if status >= 400:
            hint = (
                "check the form's fields and the CSRF token"
                if req.method != "GET"
                else "check the path"
            )
            raise UsageError(
                f"The setup request {what} (once = true) answered {status} for client {n}, so "
                f"every request after it would measure a failed login: {hint}."
            )
        return status, text


def start(
    setup: list[Request], seeds: dict[str, str], clients: int, *, host: str, port: int,
    base: str, host_header: str, timeout: float, stop: threading.Event | None = None,
) -> Sessions:  # fmt: skip
    """`clients` clients, each with the seed cookies and its setup requests done."""
    made = [Client(seeds) for _ in range(clients)]
    if setup:
        runner = _Setup(host, port, base, host_header, timeout)
        with concurrent.futures.ThreadPoolExecutor(min(clients, SETUP_THREADS)) as pool:
            futures = []
            for n, client in enumerate(made, 1):
                if stop is not None and stop.is_set():
                    break
                futures.append(pool.submit(runner.run, client, n, setup))
            try:
                for future in futures:
                    future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    return Sessions(made)
