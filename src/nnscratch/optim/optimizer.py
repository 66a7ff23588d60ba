"""The optimizer base class.  Replaces ``torch.optim.Optimizer``.

An optimizer holds *parameter groups*: a list of dicts, each with its ``params`` and its own
hyperparameters (``lr``, ...), missing ones filled from the constructor's defaults. ``step()``
applies the update rule to every parameter that has a gradient; ``zero_grad()`` resets gradients;
per-parameter state (momentum buffers, Adam moments) lives in ``self.state[param]``.
``state_dict()``/``load_state_dict()`` follow torch.optim's format: parameters are referred to by
their index in the order of the groups, so a state saved from one model loads into a fresh one.
The per-parameter state uses torch.optim's key names (``momentum_buffer``, ``exp_avg``, ...), so
a state dict saved by ``torch.optim`` loads here and the other way round. One difference: the step
counter ``state["step"]`` is a Python ``int`` here (torch keeps a float32 tensor, for CUDA graphs);
a tensor step is converted on load.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

import torch

ParamsT = Iterable[torch.Tensor] | Iterable[dict[str, Any]]


class Optimizer:
    """Base class of the optimizers: parameter groups, per-parameter state, zero_grad, state_dict.
    ≙ ``torch.optim.Optimizer``.

        param_groups = [{"params": [p, ...], "lr": ..., ...}, ...]   missing keys from ``defaults``
        state[p]     = {"step": t, "momentum_buffer" | "exp_avg" | ...: tensor, ...}
        step()       the update rule, for every p with a gradient (a subclass writes it)
        zero_grad()  p.grad ← None (``set_to_none=True``, the default) or p.grad ← 0

    Args:
        params: an iterable of tensors, or of dicts (parameter groups) each with a "params" list
            and its own hyperparameters.
        defaults: the hyperparameters a group does not set (each subclass passes its own).

    Example:
        >>> class PlainSGD(Optimizer):
        ...     def step(self, closure=None):  # p ← p − lr·g for every p with a gradient
        ...         ...
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: dict[torch.Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, torch.Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {torch.typename(params)}"
            )
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        group = dict(param_group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, torch.Tensor) else list(params)
        for p in group["params"]:
            if not isinstance(p, torch.Tensor) or not p.is_leaf or not p.requires_grad:
                raise ValueError(
                    "optimizer can only optimize leaf tensors with requires_grad=True; "
                    "create parameters with nnscratch.module.parameter()"
                )
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset gradients (``optimizer.zero_grad``).

        PyTorch *accumulates* into ``.grad`` on every ``backward()``; without this reset the next
        step would use the sum of all gradients so far. ``set_to_none=True`` (the default, as in
        PyTorch ≥ 2.0) drops the tensor (``p.grad = None``); ``False`` zeroes it in place
        (``p.grad.zero_()``, the seed's form). A flat parameter (`nnscratch.optim.flat`) is always
        zeroed in place: the model's gradients are views into its buffer.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none and not getattr(p, "keeps_grad_buffer", False):
                    p.grad = None
                else:
                    p.grad.detach_()
                    p.grad.zero_()

    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """Apply the update rule once to every parameter with a gradient; return ``closure()``."""
        raise NotImplementedError(f"{type(self).__name__} must define step()")

    @staticmethod
    def _evaluate(closure: Callable[[], torch.Tensor] | None) -> torch.Tensor | None:
        """``loss = closure()`` with gradients on (``step`` itself runs under ``no_grad``)."""
        if closure is None:
            return None
        with torch.enable_grad():
            return closure()

    # -- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [index, ...]}]}``."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {
            index[id(p)]: {
                k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in s.items()
            }
            for p, s in self.state.items()
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for g, s in zip(self.param_groups, saved_groups, strict=True):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size "
                    "of optimizer's group"
                )
        params = [p for g in self.param_groups for p in g["params"]]
        saved_ids = [i for s in saved_groups for i in s["params"]]
        by_index = dict(zip(saved_ids, params, strict=True))
        self.state = {}
        for key, s in state_dict["state"].items():
            p = by_index[int(key)]
            self.state[p] = {k: _load_value(k, v, p) for k, v in s.items()}
        for g, s in zip(self.param_groups, saved_groups, strict=True):
            for k, v in s.items():
                if k != "params":
                    g[k] = copy.deepcopy(v)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines + [")"])


def _load_value(key: str, value: Any, p: torch.Tensor) -> Any:
    """A private copy of one saved state entry, cast like ``p`` (as ``torch.optim`` does).

    The copy matters: training goes on updating the loaded buffers in place, which must not
    change the state dict they came from (it may be loaded again, or saved to disk later).
    """
    if key == "step":
        return int(value.item()) if isinstance(value, torch.Tensor) else int(value)
    if isinstance(value, torch.Tensor):
        return value.detach().to(device=p.device, dtype=p.dtype, copy=True)
    return copy.deepcopy(value)
