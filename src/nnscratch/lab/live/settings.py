"""The page's settings → a validated `TrainConfig`, and back to the ``nnscratch train`` line.

The page sends ``{"field": value, ...}`` with `TrainConfig`'s own field names; each value is
checked against the field's type here, then `TrainConfig.validate` checks ranges, exactly as for
the command line. A mistake becomes `SettingError` naming the field and the reason (the server
answers HTTP 400 with both). The browser can never name a file: ``data`` is ``synthetic``,
``builtin:NAME`` or ``upload`` (the CSV uploaded in this tab, stored by the server).
"""

from __future__ import annotations

import dataclasses
import math
import re
import shlex
import typing
from typing import Any

from nnscratch.errors import UserError
from nnscratch.run.config import TrainConfig

UPLOAD = "upload"  # the value of ``data`` that means "the CSV uploaded in this tab"
REFUSED = {"device": "the lab trains on the CPU", "compile": "the lab runs without compile"}
LAB_FIELDS = {"pitfall", "speed"}  # the lab's own settings, not part of the run's config


class SettingError(ValueError):
    """A setting the page sent that cannot be used: ``field`` and a message that says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message

    def to_dict(self) -> dict[str, str]:
        return {"error": self.message, "field": self.field}


def _fields() -> dict[str, tuple[dataclasses.Field, Any]]:
    hints = typing.get_type_hints(TrainConfig)
    return {f.name: (f, hints[f.name]) for f in dataclasses.fields(TrainConfig)}


def _coerce(name: str, tp: Any, value: Any) -> Any:
    """``value`` as the field's type; `SettingError` for anything else (no eval, no paths)."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    optional = type(None) in typing.get_args(tp)
    base = args[0] if args else tp
    if value is None or value == "":
        if optional:
            return None
        raise SettingError(name, f"{name} needs a value")
    if base is bool:
        if isinstance(value, bool):
            return value
        raise SettingError(name, f"{name} must be true or false, got {_short(value)}")
    if base is int:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise SettingError(name, f"{name} must be a whole number, got {_short(value)}")
        try:
            number = float(value)
        except (ValueError, OverflowError):
            raise SettingError(
                name, f"{name} must be a whole number, got {_short(value)}"
            ) from None
        if not math.isfinite(number) or number != int(number) or abs(number) > 2**53:
            raise SettingError(name, f"{name} must be a whole number, got {_short(value)}")
        return int(number)
    if base is float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise SettingError(name, f"{name} must be a number, got {_short(value)}")
        try:
            number = float(value)
        except (ValueError, OverflowError):
            raise SettingError(name, f"{name} must be a number, got {_short(value)}") from None
        if not math.isfinite(number):
            raise SettingError(name, f"{name} must be a finite number, got {_short(value)}")
        return number
    if not isinstance(value, str) or len(value) > 200:
        raise SettingError(name, f"{name} must be a short text, got {_short(value)}")
    return value


def _short(value: Any) -> str:
    """A value as the message shows it: its repr, on one line, at most 60 characters."""
    text = repr(value).replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def _check_data(value: str, has_upload: bool) -> None:
    from nnscratch.data.datasets import BUILTINS

    if value == "synthetic" or value.startswith("builtin:") and value[8:] in BUILTINS:
        return
    if value == UPLOAD:
        if not has_upload:
            raise SettingError("data", "upload a CSV file first")
        return
    names = ", ".join(f"builtin:{n}" for n in BUILTINS)
    raise SettingError("data", f"data must be synthetic, {names} or upload, got {value!r}")


def parse(settings: Any, has_upload: bool = False) -> tuple[TrainConfig, dict[str, Any]]:
    """The page's settings as ``(config, lab options)``; `SettingError` for the first mistake."""
    if not isinstance(settings, dict):
        raise SettingError("settings", "settings must be a JSON object of field: value")
    known = _fields()
    values: dict[str, Any] = {}
    lab: dict[str, Any] = {"pitfall": "none", "speed": 0.0}
    for name, value in settings.items():
        if isinstance(value, (dict, list)):  # no field takes one: refused by type, here
            raise SettingError(str(name)[:60], f"{str(name)[:60]} takes a number or a text")
        if name in LAB_FIELDS:
            lab[name] = value
            continue
        if name not in known:
            raise SettingError(str(name)[:60], f"unknown setting {str(name)[:60]!r}")
        if name in REFUSED and value not in (None, known[name][0].default):
            raise SettingError(name, f"{name}: {REFUSED[name]}")
        fld, tp = known[name]
        values[name] = _coerce(name, tp, value)
        choices = fld.metadata.get("choices")
        if choices and values[name] is not None and values[name] not in choices:
            raise SettingError(name, f"{name} must be one of {', '.join(choices)}")
    _check_data(values.get("data") or "synthetic", has_upload)
    _check_lab(lab)
    config = TrainConfig(**values)
    try:
        config.validate()
    except UserError as e:
        raise SettingError(field_of(str(e)), str(e)) from None
    from nnscratch.lab.live import budget

    try:
        budget.check_config(config)  # before any data is made
    except budget.OverBudget as e:
        raise SettingError(e.field, str(e)) from None
    return config, lab


def _check_lab(lab: dict[str, Any]) -> None:
    from nnscratch.lab.live.pitfalls import SWITCHES

    if not isinstance(lab["pitfall"], str) or lab["pitfall"] not in SWITCHES:
        raise SettingError("pitfall", f"pitfall must be one of {', '.join(SWITCHES)}")
    speed = lab["speed"]
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not 0 <= speed <= 1000:
        raise SettingError("speed", "speed must be epochs per second in [0, 1000] (0: fastest)")


def field_of(message: str) -> str:
    """The field of the page where a `UserError` message is shown: the first flag it names, the
    one that fixes it (``--lr must ...`` → ``lr``; a CSV misread that says "skip it with
    --skip-rows 1" → ``skip_rows``, the control beside the upload), else the data."""
    match = re.search(r"--([a-z][a-z0-9-]*)", message)
    return match.group(1).replace("-", "_") if match else "data"


def command_line(config: TrainConfig, data_name: str | None = None) -> str:
    """The ``nnscratch train`` line that reproduces ``config``: one flag per non-default field.

    ``data_name`` replaces the data path of an uploaded file (the file's own name)."""
    parts = ["nnscratch", "train"]
    for fld in dataclasses.fields(TrainConfig):
        value = getattr(config, fld.name)
        if value == fld.default:
            continue
        flag = "--" + fld.name.replace("_", "-")
        if isinstance(value, bool):
            parts.append(flag if value else f"--no-{flag[2:]}")
            continue
        if fld.name == "data" and data_name is not None:
            value = data_name
        parts += [flag, repr(value) if isinstance(value, float) else str(value)]
    return shlex.join(parts)
