"""What a declared setting is: its name, default, kind, help and command-line flag.

`settings.py` declares every setting with this type; `cli/options.py` turns one into a click
option and `settings.markdown()` into a row of docs/settings.md.
"""

from __future__ import annotations

import dataclasses
from typing import Generic, Literal, TypeVar

T = TypeVar("T", covariant=True)

# "file" is a file read or written (a file name, not a folder), "output" one written (it must be
# writable where it exists already), "folder" a folder.
Kind = Literal[
    "int",
    "float",
    "seconds",
    "size",
    "ratio",
    "flag",
    "switch",
    "choice",
    "text",
    "file",
    "output",
    "folder",
]


@dataclasses.dataclass(frozen=True)
class Setting(Generic[T]):
    """One setting. `flag` is its command-line option ("" when only the API sets it); for a
    `switch` it is the on/off pair, e.g. "--keep-alive/--new-connections"."""

    name: str
    default: T
    kind: Kind
    help: str
    flag: str = ""
    short: str = ""
    choices: tuple[str, ...] = ()
    default_text: str = ""  # how the help shows a default that is computed, not fixed
    zero_ok: bool = False  # a number that may be zero (a warm-up, a ratio)
    commands: tuple[str, ...] = ()  # where the flag appears, for the generated docs
    multiple: bool = False  # the flag may be given several times (its value is a tuple)
    metavar: str = ""  # how the help names the value, where the type's name says too little

    def shown(self) -> str:
        """The default as the docs table shows it."""
        if self.kind == "switch":
            on, _, off = self.flag.partition("/")
            return on if self.default else off
        if self.kind == "size":
            return f"{self.default:g} MiB"
        if self.kind == "seconds":
            return f"{self.default:g} s"
        return str(self.default)
