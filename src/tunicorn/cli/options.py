"""Option types shared by the commands: each bad value gets one sentence that says what to type."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from tunicorn import plans
from tunicorn.demo import DEMO_NAMES
from tunicorn.errors import UsageError
from tunicorn.load.scenario import Request
from tunicorn.machine import emulate, of_plan
from tunicorn.record import Machine
from tunicorn.settings import Setting

if TYPE_CHECKING:
    from tunicorn.app.target import Target

# Recent click makes ParamType generic; older releases (click>=8.1 is allowed) cannot subscript it.
if TYPE_CHECKING:
    _FloatParamType = click.ParamType[float]
    _AnyParamType = click.ParamType[Any]
else:
    _FloatParamType = _AnyParamType = click.ParamType

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)
# Azure sells plans in "GB" that are GiB (its docs say "P0v3 (1 vCPU, 4 GiB)"), so a size
# typed from the portal means the same as --plan: GB and GiB are both 2**30 bytes here.
_UNITS_MIB = {
    "b": 1 / 2**20,
    "k": 1 / 1024, "kb": 1 / 1024, "ki": 1 / 1024, "kib": 1 / 1024,
    "m": 1.0, "mb": 1.0, "mi": 1.0, "mib": 1.0,
    "g": 1024.0, "gb": 1024.0, "gi": 1024.0, "gib": 1024.0,
    "t": 2.0**20, "tb": 2.0**20, "ti": 2.0**20, "tib": 2.0**20,
}  # fmt: skip


def parse_size_mib(text: str) -> float:
    """'1.75GB', '1.75GiB', '512MiB', '3.5g' → MiB. A bare number means GiB, as plans are sold."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(
            f"{text!r} is not a memory size: use a number with a unit, "
            "e.g. 1.75GB, 3.5GiB or 512MiB"
        )
    number, unit = float(match.group(1)), (match.group(2) or "gb").lower()
    mib = number * _UNITS_MIB[unit]
    if mib <= 0:
        raise ValueError(f"{text!r} is not a memory size: it must be more than zero")
    return mib


class Size(_FloatParamType):
    name = "SIZE"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_size_mib(str(value))
        except ValueError as exc:
            self.fail(str(exc) + ".", param, ctx)


class Positive(_AnyParamType):
    """A number greater than zero (int or float), with a message that says so."""

    def __init__(self, kind: type = int, allow_zero: bool = False) -> None:
        self.kind = kind
        self.allow_zero = allow_zero
        self.name = "N" if kind is int else "NUM"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        what = "a whole number" if self.kind is int else "a number"
        try:
            number = self.kind(value)
        except (TypeError, ValueError):
            self.fail(
                f"{value!r} is not {what}; give e.g. {'4' if self.kind is int else '2.5'}.",
                param,
                ctx,
            )
        if number < 0 or (number == 0 and not self.allow_zero) or number != number:
            bound = "zero or more" if self.allow_zero else "more than zero"
            self.fail(f"{value!r} must be {bound}.", param, ctx)
        return number


POSITIVE_INT = Positive(int)
POSITIVE_FLOAT = Positive(float)
NON_NEGATIVE_FLOAT = Positive(float, allow_zero=True)
NON_NEGATIVE_INT = Positive(int, allow_zero=True)
SIZE = Size()


def parse_paths(paths: tuple[str, ...] | list[str]) -> tuple[Request, ...]:
    """`/io=3` → Request("/io", weight=3). No paths means GET /."""
    if not paths:
        return (Request(path="/"),)
    out = []
    for item in paths:
        # A path with a query string keeps its "=" (weight it with a scenario file instead).
        path, sep, weight_text = ("", "", "") if "?" in item else item.rpartition("=")
        if not sep:
            path = item
        if not path.startswith("/"):
            raise click.BadParameter(
                f"{item!r} is not a path: it must start with /, e.g. --path /io or --path /io=3.",
                param_hint="--path",
            )
        weight = 1.0
        if sep:
            try:
                weight = float(weight_text)
            except ValueError:
                weight = -1.0
            if not weight > 0:
                raise click.BadParameter(
                    f"{item!r} has weight {weight_text!r}: "
                    "a weight is a number above zero, e.g. /io=3.",
                    param_hint="--path",
                )
        out.append(Request(path=path, weight=weight))
    return tuple(out)


# -- options generated from settings.py ------------------------------------------------------

F = TypeVar("F", bound=Callable[..., Any])
_UNSET = object()


def _param_type(setting: Setting[Any]) -> _AnyParamType | None:
    kind = setting.kind
    if kind == "int":
        return NON_NEGATIVE_INT if setting.zero_ok else POSITIVE_INT
    if kind == "float":
        return POSITIVE_FLOAT
    if kind in ("seconds", "ratio"):
        return NON_NEGATIVE_FLOAT if kind == "ratio" or setting.zero_ok else POSITIVE_FLOAT
    if kind == "size":
        return SIZE
    if kind == "choice":
        return click.Choice(setting.choices)
    if kind in ("file", "output"):
        path: _AnyParamType = click.Path(dir_okay=False, writable=kind == "output")
        return path
    if kind == "folder":
        folder: _AnyParamType = click.Path(file_okay=False)
        return folder
    return None


def _shown_default(setting: Setting[Any], default: object) -> str:
    if setting.default_text:
        return setting.default_text
    if default is None and setting.default is not None:
        shown: object = setting.default  # the CLI leaves it unset and the code supplies it
    else:
        return ""
    if setting.kind == "size":
        return f"{shown:g}MiB"
    return f"{shown:g}" if isinstance(shown, float) else str(shown)


def option(
    setting: Setting[Any], *, default: object = _UNSET, help: str = "", shown: str | None = None
) -> Callable[[F], F]:
    """The click option for `setting`: its flag, type, default and help, declared once.

    The parameter is named after the setting, so a command's function takes `budget_s`,
    `slo_p95_ms`, … whatever the flag is called. `default` overrides the declared one where
    the command leaves the value unset for the code to supply (the help still shows the
    declared default, or `shown`, "" for none).
    """
    if not setting.flag:
        raise ValueError(f"setting {setting.name} has no command-line flag")
    value = setting.default if default is _UNSET else default
    text = help or setting.help
    shown = _shown_default(setting, value) if shown is None else shown
    if shown:
        text += f" [default: {shown}]"
    decls = [setting.flag, *([setting.short] if setting.short else []), setting.name]
    if setting.kind == "switch":
        return click.option(
            setting.flag, setting.name, default=value, help=text, show_default=not shown
        )
    if setting.kind == "flag":
        return click.option(*decls, is_flag=True, default=value, help=text)
    kwargs: dict[str, Any] = {"default": value, "help": text}
    if setting.multiple:
        kwargs["multiple"] = True
    if setting.metavar:
        kwargs["metavar"] = setting.metavar
    param_type = _param_type(setting)
    if param_type is not None:
        kwargs["type"] = param_type
    kwargs["show_default"] = not shown  # where the help says it already, not twice
    return click.option(*decls, **kwargs)


def machine(
    plan: str | None, cpus: int | None, memory_mib: float | None, *, default: str | None = None
) -> Machine:
    """One resolution of --plan | --cpus --memory for every command: the Machine it emulates
    here (cores, memory, budget, the server's and the load's cores), made once.

    With neither, the `default` plan is used (tune's B1), or, without one, the user is asked.
    """
    if plan and (cpus or memory_mib):
        raise UsageError("Give either --plan or --cpus with --memory, not both.")
    if cpus or memory_mib:
        if not (cpus and memory_mib):
            raise UsageError(
                "--cpus and --memory go together (e.g. --cpus 1 --memory 1.75GB), or use --plan B1."
            )
        return emulate(cpus, memory_mib)
    if not plan and default is None:
        raise UsageError(
            "Give --plan (e.g. --plan B1) or both --cpus and --memory "
            "(e.g. --cpus 1 --memory 1.75GiB)."
        )
    return of_plan(plans.get(plan or str(default)))


def demo_option(help: str) -> Callable[[F], F]:
    """`--demo` alone runs the Flask demo; `--demo fastapi` (or asgi) its ASGI twin."""
    return click.option(
        "--demo", "demo", is_flag=False, flag_value="flask", default=None,
        type=click.Choice(sorted(DEMO_NAMES)), metavar="[fastapi]", help=help,
    )  # fmt: skip


def announce(target: Target) -> None:
    """Say which app was found, where tunicorn found it rather than being told."""
    from tunicorn.app.target import describe
    from tunicorn.report import console

    if target.found:
        console.info(f"Found {describe(target)}.")
