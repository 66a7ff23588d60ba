"""PyTorch's own module samples (`module_db`) with nnscratch's counterparts recorded by
nnscratch.autograd: the engine's gradients next to torch.nn's, sample by sample.

Every sample runs as in `module_db` (same constructor, same inputs, the same comparison of
output, input and parameter gradients and buffers, float64), except that ours' forward runs on
the engine: its parameters and the inputs that require grad are engine leaves
(`nnscratch.autograd.model.engine_parameters`), and the engine's backward computes their
gradients. To the comparison's ``torch.autograd.grad``, the whole of ours is one operation
(`_OnEngine`) whose backward *is* the engine's backward of Σ ∂L/∂y ⊙ y: no torch.autograd inside.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils._pytree import tree_flatten, tree_unflatten

from nnscratch.autograd import Tensor
from nnscratch.autograd.model import engine_parameters
from nnscratch.lab.verify import module_db as M
from nnscratch.lab.verify.check import Row
from nnscratch.module import Module

ORDER = 96


class _OnEngine(torch.autograd.Function):
    """ours(*inputs) on the engine, seen by torch.autograd as one op: forward records the
    engine's graph; backward runs the engine's backward and hands back the leaves' ``.grad``."""

    @staticmethod
    def forward(ctx: Any, run: dict, *tensors: torch.Tensor) -> Any:
        flat = list(run["flat"])
        leaves: list[Tensor | None] = []
        for position, t in zip(run["positions"], tensors, strict=False):
            flat[position] = Tensor(t.detach().clone(), requires_grad=True)
            leaves.append(flat[position])
        args, kwargs = tree_unflatten(flat, run["spec"])
        ours = run["ours"]
        pairs: list = []
        if isinstance(ours, Module):
            with engine_parameters(ours) as pairs:
                out = run["call"](ours, *args, **kwargs)
        else:  # a loss function: no parameters
            out = run["call"](ours, *args, **kwargs)
        by_id = {id(p): leaf for p, leaf in pairs}
        leaves += [by_id.get(id(p)) for p in run["params"]]
        out_flat, run["out_spec"] = tree_flatten(out)
        ctx.outputs, ctx.leaves = out_flat, leaves
        plain = [o.data.clone() if isinstance(o, Tensor) else o for o in out_flat]
        ctx.mark_non_differentiable(
            *[o for o in plain if isinstance(o, torch.Tensor) and not o.is_floating_point()]
        )
        return tuple(plain)

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor) -> Any:
        total = None
        for o, g in zip(ctx.outputs, grads, strict=True):
            if isinstance(o, Tensor) and o.requires_grad and g is not None:
                term = (o * g).sum()  # Σ ∂L/∂y ⊙ y, recorded by the engine
                total = term if total is None else total + term
        if total is not None:
            total.backward()
        return (None, *[leaf.grad if leaf is not None else None for leaf in ctx.leaves])


def on_engine(ours: Any, adapted: M.Adapted | None) -> M.Adapted:
    """`module_db.run_sample`'s ``wrap``: ours called through `_OnEngine`."""
    torch_call = adapted.torch_call if adapted else _call
    ours_call = adapted.ours_call if adapted else _call

    def engine_call(o: Any, *args: Any, **kwargs: Any) -> Any:
        flat, spec = tree_flatten((args, kwargs))
        positions = [
            i for i, v in enumerate(flat) if isinstance(v, torch.Tensor) and v.requires_grad
        ]
        params = [p for p in o.parameters() if p.requires_grad] if isinstance(o, Module) else []
        run = {"ours": o, "call": ours_call, "flat": flat, "spec": spec,
               "positions": positions, "params": params}  # fmt: skip
        out = _OnEngine.apply(run, *[flat[i] for i in positions], *params)
        return tree_unflatten(list(out), run["out_spec"])

    return M.Adapted(ours, torch_call, engine_call)


def _call(module: Any, *args: Any, **kwargs: Any) -> Any:
    return module(*args, **kwargs)


def run_class(info: Any) -> list[M.Outcome]:
    return M.run_class(info, wrap=on_engine)


def rows() -> Iterator[Row]:
    """One summary row per class: "module_db samples on nnscratch.autograd: n equal of n"."""
    yield from M.summary_rows(run_class, "engine: ", "module_db samples on nnscratch.autograd")
