"""The optimizer and scheduler states of a checkpoint, checked against the ones the saved
configuration builds (see `nnscratch.run.checkpoint.validate` for the other files).

The reference is real, not a hand-kept table: the configured optimizer is built over a model of
the configured shapes and takes one dry step (zero gradients), and the state it then keeps
(``step``: an int; ``exp_avg``: a tensor shaped like p; SGD's ``momentum_buffer``; ...) is what
each saved parameter's state must look like, unless it is empty (no step taken yet). So the
state of another optimizer (SGD's momentum into Adam) or of another model is an error.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from nnscratch.module import Module
from nnscratch.run import build, ranges
from nnscratch.run.checkpoint.read import corrupted
from nnscratch.run.checkpoint.state import join_optimizer
from nnscratch.run.checkpoint.validate import number
from nnscratch.run.config import TrainConfig


def same(saved: Any, fresh: Any) -> bool:
    """Equal values of the same kind (JSON lists stand for tuples; an int for an equal float)."""
    if isinstance(fresh, (list, tuple)):
        return (
            isinstance(saved, (list, tuple))
            and len(saved) == len(fresh)
            and all(same(a, b) for a, b in zip(saved, fresh, strict=True))
        )
    if number(fresh) and type(fresh) is not bool:
        return number(saved) and type(saved) is not bool and saved == fresh
    return type(saved) is type(fresh) and saved == fresh


def references(cfg: TrainConfig, model: Module) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(optimizer state dict after one dry step, fresh scheduler state dict or None)."""
    optimizer = build.build_optimizer(cfg, model.parameters())
    scheduler = build.build_scheduler(cfg, optimizer)  # sets each group's initial_lr
    fresh_scheduler = None if scheduler is None else scheduler.state_dict()
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()  # the state this optimizer keeps per parameter
    return optimizer.state_dict(), fresh_scheduler


def optimizer(
    file: Path,
    tensors: dict[str, torch.Tensor],
    plain: Any,
    fresh: dict[str, Any],
    steps: int,
) -> dict[str, Any]:
    """The optimizer state dict (`join_optimizer`), checked against ``fresh`` (`references`)."""
    n = sum(len(g["params"]) for g in fresh["param_groups"])
    if not isinstance(plain, dict) or set(plain) != {"state", "param_groups"}:
        raise corrupted(file, "the optimizer state must hold exactly 'state' and 'param_groups'")
    if not isinstance(plain["state"], dict) or not all(
        isinstance(s, dict) and re.fullmatch(r"\d+", i) and int(i) < n
        for i, s in plain["state"].items()
    ):
        raise corrupted(file, f"optimizer 'state' must map parameter indices 0..{n - 1} to objects")
    for name in tensors:
        m = re.fullmatch(r"state\.(\d+)\.(\w+)", name)
        if m is None or int(m.group(1)) >= n:
            raise corrupted(file, f"optimizer tensor {name!r} names no parameter of this model")
    groups = plain["param_groups"]
    if not isinstance(groups, list) or len(groups) != len(fresh["param_groups"]):
        raise corrupted(file, "the optimizer's parameter groups differ from the configuration's")
    for g, f in zip(groups, fresh["param_groups"], strict=True):
        if not isinstance(g, dict) or set(g) != set(f):
            raise corrupted(
                file,
                f"a parameter group with keys {sorted(g) if isinstance(g, dict) else g}; "
                f"the configured optimizer has {sorted(f)} (a state of another optimizer?)",
            )
        for key, value in g.items():
            if key == "lr":  # any learning rate a schedule can reach, as a float
                ok = number(value) and 0 <= value <= ranges.LARGEST
                g[key] = float(value) if ok else value
            else:
                ok = same(value, f[key])
            if not ok:
                raise corrupted(file, f"optimizer {key!r} is {value!r}, configured: {f[key]!r}")
    joined = join_optimizer(tensors, plain)
    for index, entries in joined["state"].items():
        _check_param_state(file, index, entries, fresh["state"].get(index, {}), steps)
    return joined


def _check_param_state(
    file: Path, index: int, entries: dict[str, Any], fresh: dict[str, Any], steps: int
) -> None:
    if not entries:
        return  # no step taken for this parameter yet
    if set(entries) != set(fresh):
        raise corrupted(
            file,
            f"parameter {index} has optimizer state {sorted(entries)}; the configured "
            f"optimizer keeps {sorted(fresh)} (a state of another optimizer?)",
        )
    for key, value in entries.items():
        want = fresh[key]
        if isinstance(want, torch.Tensor):
            ok = (
                isinstance(value, torch.Tensor)
                and value.shape == want.shape
                and value.dtype == want.dtype
                and bool(torch.isfinite(value).all())
            )
            if not ok:
                raise corrupted(
                    file,
                    f"parameter {index}'s {key!r} must be a finite {tuple(want.shape)} "
                    f"{want.dtype} tensor, like the parameter",
                )
        elif type(value) is not type(want) or (key == "step" and not 0 <= value <= steps):
            raise corrupted(file, f"parameter {index}'s {key!r} is {value!r}")


def scheduler(file: Path, value: Any, fresh: dict[str, Any] | None, epoch: int, n_groups: int):
    """None without a scheduler; else the fresh scheduler's keys and hyperparameters, stepped
    ``epoch`` times (``T_max`` may exceed the configured epochs: a resumed run that stops
    before its cosine ends keeps the original ``T_max``)."""
    if fresh is None:
        if value is not None:
            raise corrupted(file, "a scheduler state, but the configuration has --scheduler none")
        return None
    if not isinstance(value, dict) or set(value) != set(fresh):
        shown = sorted(value) if isinstance(value, dict) else value
        raise corrupted(file, f"scheduler state {shown}; the configured one has {sorted(fresh)}")
    for key, v in value.items():
        if key == "last_epoch":
            ok = type(v) is int and v == epoch
        elif key == "_last_lr":
            ok = isinstance(v, list) and len(v) == n_groups and all(number(x) for x in v)
        elif key == "T_max":
            ok = type(v) is int and v >= fresh["T_max"]
        else:
            ok = same(v, fresh[key])
        if not ok:
            raise corrupted(file, f"scheduler {key!r} is {v!r} (configured: {fresh[key]!r})")
    return value
