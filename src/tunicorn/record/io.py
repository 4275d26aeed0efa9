"""The records' JSON round trip (save, to_json, from_json, load_kind) and the schema version
every record carries.

msgspec encodes the frozen dataclasses as they are; decoding rebuilds them by their type
hints, so an unknown key from a newer version is ignored rather than refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import msgspec

SCHEMA_VERSION = 1


T = TypeVar("T")


def to_builtins(record: Any) -> Any:
    """A record as JSON-ready dicts and lists (properties are not included)."""
    return msgspec.to_builtins(record)


def to_json(record: Any, *, indent: int = 2) -> str:
    data = msgspec.json.encode(record)
    return msgspec.json.format(data, indent=indent).decode()


def from_json(text: str | bytes, cls: type[T]) -> T:
    """Rebuild a record of `cls`; unknown keys (from newer versions) are ignored."""
    return msgspec.json.decode(text, type=cls)


def from_builtins(data: Any, cls: type[T]) -> T:
    return msgspec.convert(data, type=cls)


def save(record: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_json(record) + "\n", encoding="utf-8")
    return path


def load_kind(path: str | Path) -> str:
    """The `kind` of a saved run ("bench", "tune", "probe", …) without decoding it whole."""
    data = msgspec.json.decode(Path(path).read_bytes())
    if not isinstance(data, dict) or "kind" not in data:
        raise ValueError(f"{path} is not a tunicorn run (no 'kind' key)")
    return str(data["kind"])
