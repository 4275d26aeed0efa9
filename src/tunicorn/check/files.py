"""Reading the project folder without ever failing on it.

`check` must work on the apps that need it most, broken ones: an unreadable file reads as
empty and a file that does not parse as None, so each rule decides what that means instead
of the whole check stopping with a traceback.
"""

from __future__ import annotations

import ast
from pathlib import Path


def read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def parse(path: Path) -> ast.Module | None:
    if not path.is_file():
        return None
    try:
        return ast.parse(read(path), filename=str(path))
    except SyntaxError:
        return None
