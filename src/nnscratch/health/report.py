"""The health of a run as text (80 columns) and as JSON: the table per layer and the findings.

    JSON   {"findings": [{"id", "layer", "value", "threshold", "advice", "severity"}...],
            "layers": [{"name", "kind", "start": {...}, "end": {...}}...],
            "params": [{"name", "grad_data", "update_data"}...], "initial_loss": {...}}

The table shows each observed layer at the first and the last record (mean, std, saturated or
dead share) and each parameter's median gradient/data and update/data ratios over the run.
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path
from typing import Any

from nnscratch.errors import UserError
from nnscratch.health import findings

FILE = "health.jsonl"
KEYS = ("mean", "std", "saturated", "dead")
NO_ACTIVATIONS = (  # the hooks never fired: the forward did not call the layers
    "activations: none recorded (--backward manual and --compile compute the forward without "
    "calling the layers, so their hooks never fire): the saturated and dead-units rules had "
    "nothing to read; train with --backward autograd or engine to see them"
)


def read(run: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The records of ``RUN/health.jsonl`` and its initial-loss line (None if absent)."""
    path = Path(run) / FILE
    if not Path(run).is_dir():
        raise UserError(f"{run}: not a folder; give the --out folder of a run")
    try:
        fd = _open_nofollow(path)
        with open(fd, encoding="utf-8") as f:
            lines = [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        raise UserError(
            f"{path}: missing; train the run with --health (and --out {run}) to record it"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        raise UserError(f"{path}: cannot be read as JSON lines ({e})") from None
    if not all(isinstance(x, dict) for x in lines):
        raise UserError(f"{path}: each line must be a JSON object; the file is corrupted")
    initial = next((x["initial_loss"] for x in lines if "initial_loss" in x), None)
    records = [x for x in lines if "layers" in x and "params" in x]
    try:
        build(records, initial)  # the shape is checked once, here, with the user's file
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise UserError(f"{path}: not a health record file of nnscratch ({e!r})") from None
    return records, initial


def _open_nofollow(path: Path) -> int:
    import os

    return os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))


def build(records: list[dict[str, Any]], initial: dict[str, Any] | None) -> dict[str, Any]:
    """The JSON report of `FILE`'s records."""
    layers = []
    if records:
        first, last = records[0], records[-1]
        ends = {layer["name"]: layer for layer in last["layers"]}
        for layer in first["layers"]:
            end = ends.get(layer["name"], {})
            layers.append(
                {
                    "name": layer["name"],
                    "kind": layer["kind"],
                    "start": {k: layer[k] for k in KEYS if k in layer},
                    "end": {k: end[k] for k in KEYS if k in end},
                }
            )
    params = []
    for p in records[0]["params"] if records else []:
        values = {
            key: findings.median(findings.param_values(records, p["name"], key))
            for key in ("grad_data", "update_data")
        }
        params.append({"name": p["name"], **values})
    return {
        "findings": findings.find(records, initial),
        "layers": layers,
        "params": params,
        "initial_loss": initial,
        "records": len(records),
        "steps": [records[0]["step"], records[-1]["step"]] if records else [],
        "activations": activations_recorded(records),
    }


def activations_recorded(records: list[dict[str, Any]]) -> bool:
    """Whether a forward hook fired at all (no records: nothing to say, True)."""
    return not records or any(r["layers"] for r in records)


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    if not math.isfinite(x):
        return str(x)
    return f"{x:.3g}" if 1e-3 <= abs(x) < 1e4 or x == 0 else f"{x:.1e}"


def lines(report: dict[str, Any]) -> list[str]:
    """The report as lines of at most 80 characters."""
    from nnscratch.health.initial_loss import line as initial_line

    out = []
    if report["initial_loss"] is not None:
        out.append(initial_line(report["initial_loss"]))
    if report["steps"]:
        first, last = report["steps"]
        out.append(f"{report['records']} records, steps {first}–{last}")
    if report["layers"]:
        out += ["", f"{'layer':16}{'kind':9}{'mean':>9}{'std':>9}{'sat/dead':>10}   start → end"]
        for layer in report["layers"]:
            for when in ("start", "end"):
                s = layer[when]
                share = s.get("saturated", s.get("dead"))
                name = layer["name"][:15] if when == "start" else ""
                kind = layer["kind"] if when == "start" else ""
                out.append(
                    f"{name:16}{kind:9}{_num(s.get('mean')):>9}{_num(s.get('std')):>9}"
                    f"{_num(share):>10}   {when}"
                )
    if report["params"]:
        out += ["", f"{'parameter':28}{'grad/data':>14}{'update/data':>14}   (medians)"]
        for p in report["params"]:
            out.append(f"{p['name'][:27]:28}{_num(p['grad_data']):>14}{_num(p['update_data']):>14}")
    out += [""] + finding_lines(report["findings"], report.get("activations", True))
    return out


def finding_lines(found: list[dict[str, Any]], activations: bool = True) -> list[str]:
    """The findings, worst first, after the note that no activation was recorded if none was."""
    note = [] if activations else textwrap.wrap(NO_ACTIVATIONS, 80, break_on_hyphens=False)
    if not found:
        return [*note, "findings: none (no rule fired)"]
    out = [*note, f"findings ({len(found)}, the most severe first):"]
    for f in found:
        head = f"  {f['id']} at {f['layer']}: {_num(f['value'])} (threshold {_num(f['threshold'])})"
        out.append(head)
        out += textwrap.wrap(f["advice"], 76, initial_indent="    ", subsequent_indent="    ")
    return out
