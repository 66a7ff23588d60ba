"""Derive click options from a configuration dataclass, one flag per field."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from typing import Any

import click


def _click_type(tp: Any, metadata: dict[str, Any]) -> Any:
    if "choices" in metadata:
        return click.Choice(metadata["choices"])
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    base = args[0] if args else tp
    return {int: int, float: float, str: str}.get(base, str)


def config_options(cls: type) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: add ``--field-name`` for each field of ``cls`` with its default and help."""
    hints = typing.get_type_hints(cls)

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        for fld in reversed(dataclasses.fields(cls)):
            flag = "--" + fld.name.replace("_", "-")
            default = fld.default
            tp = hints[fld.name]
            if tp is bool:
                f = click.option(
                    f"{flag}/--no-{flag[2:]}",
                    fld.name,
                    default=default,
                    help=fld.metadata.get("help"),
                    show_default=True,
                )(f)
                continue
            f = click.option(
                flag,
                fld.name,
                type=_click_type(tp, fld.metadata),
                default=default,
                help=fld.metadata.get("help"),
                show_default=default is not None,
            )(f)
        return f

    return decorate


def config_from_options(cls: type, options: dict[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in options.items() if k in names})
