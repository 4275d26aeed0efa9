"""Live progress for a load run: one redrawn line on a terminal, plain lines elsewhere."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from rich.live import Live
from rich.text import Text

from tunicorn.record import Tick, Wave
from tunicorn.report import console

if TYPE_CHECKING:
    from tunicorn.launch import Server
    from tunicorn.load import LoadSpec


class TickPrinter:
    """Subscribes to the load engine's ticks; the engine itself never prints."""

    def __init__(self, spec: LoadSpec, *, prefix: str = "") -> None:
        self.spec = spec
        self.prefix = prefix
        self.total = spec.warmup_s + spec.duration_s
        self._last: Tick | None = None
        self._live: Live | None = None
        self._plain_every = max(1.0, spec.duration_s / 5)
        self._next_plain = 0.0

    def __enter__(self) -> TickPrinter:
        if console.is_interactive():
            self._live = Live(Text(self.prefix + "starting…"), console=console.stderr,
                              refresh_per_second=8, transient=True)  # fmt: skip
            self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)
            self._live = None

    def ready(self, server: Server) -> None:
        self._show(
            f"{server.program.name} {server.config.label} ready in {server.ready_s:.1f} s "
            f"(pid {server.pid})"
        )

    def tick(self, tick: Tick) -> None:
        last = self._last
        dt = tick.t - (last.t if last else 0.0)
        rps = (tick.requests - (last.requests if last else 0)) / dt if dt > 0 else 0.0
        self._last = tick
        line = (
            f"{tick.t:5.1f}/{self.spec.duration_s:g} s  {tick.requests:>7} requests  "
            f"{rps:8.1f} req/s  p50 {tick.p50_ms:8.1f} ms  p95 {tick.p95_ms:8.1f} ms  "
            f"errors {tick.errors}"
        )
        if self._live is None and tick.t + 1e-9 < self._next_plain:
            return
        self._next_plain = tick.t + self._plain_every
        self._show(line)

    def _show(self, line: str) -> None:
        if self._live is not None:
            self._live.update(Text(self.prefix + line))
        else:
            console.plain_line(self.prefix + line)


class LiveLine:
    """One status line redrawn in place on a terminal; plain lines (rate-limited) elsewhere."""

    def __init__(self, min_interval_s: float = 2.0) -> None:
        import time

        self._clock = time.monotonic
        self._interactive = console.is_interactive()
        self._min = min_interval_s
        self._last_plain = -1e9
        self._last_text = ""

    def show(self, text: str) -> None:
        if self._interactive:
            console.stderr.file.write("\r\x1b[2K" + text[: console.stderr.width - 1])
            console.stderr.file.flush()
            return
        now = self._clock()
        # Messages (no digits changing) always print; tick lines at most every few seconds.
        if (
            text.split("  ")[0] != self._last_text.split("  ")[0]
            or now - self._last_plain >= self._min
        ):
            console.plain_line(text)
            self._last_plain = now
        self._last_text = text

    def clear(self) -> None:
        if self._interactive:
            console.stderr.file.write("\r\x1b[2K")
            console.stderr.file.flush()


def wave_done(wave: Wave) -> None:
    """One line per probe wave as it lands: on a serial server a large wave takes seconds."""
    console.info(f"  {wave.concurrency} at once: {wave.wall_ms:.0f} ms")
