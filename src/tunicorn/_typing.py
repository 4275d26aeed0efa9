"""`assert_never` on every Python tunicorn supports, so each stage maps a `Literal` choice to
its implementation and a choice added without one is a type error, not a silent fallthrough."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING or sys.version_info >= (3, 11):
    from typing import assert_never
else:  # pragma: no cover - Python 3.10

    def assert_never(value: object) -> NoReturn:
        raise AssertionError(f"unhandled value: {value!r}")


__all__ = ["assert_never"]
