"""Trace the five-step loop: every number of every step, as plain data (JSON-ready dicts).

One traced step is `nnscratch.loop.fit`'s inner loop on the full batch, with a snapshot between
the phases:

    y_pred = model(X)            1. forward    record X, y, the parameters, the predictions
    loss = loss_fn(y_pred, y)    2. loss       record its value (and formula, when known)
    loss.backward()              3. backward   record p.grad (and the hand-derived ∂L/∂p beside it);
                                               check p did NOT change: backward only fills .grad
    optimizer.step()             4. update     record old → new; for plain SGD check old − lr·grad
    optimizer.zero_grad()        5. reset      record .grad before → after (None or zeros)
    loss_fn(model(X), y)            the loss with the updated parameters

``backward`` picks step 3 as ``nnscratch train --backward`` does: 'autograd' (above), 'engine'
(`nnscratch.autograd` records steps 1–2 and walks its graph; each node's incoming gradient is
kept) or 'manual' (`nnscratch.backprop.loss_and_grads` fills p.grad by hand; the predictions
shown are the model's forward from the same random state and buffers, and the column beside
p.grad is then autograd's ∂L/∂p: the hand-derived gradient checked against autograd, not
against itself).

A tensor becomes `tensor_record`: shape, norm and the flat values (all of them for parameters and
gradients; for the data, only the first few once there are more than ``full_up_to``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

from nnscratch.backprop import loss_and_grads
from nnscratch.errors import DivergenceError
from nnscratch.lab.explain.analytic import AnalyticGrads, analytic_for, formulas_for
from nnscratch.module import Module
from nnscratch.optim import SGD, Optimizer

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Record = dict[str, Any]

HEAD = 4  # values kept from a tensor larger than ``full_up_to``

LOSS_FORMULAS = {
    "mse_loss": "L = 1/N·Σ(ŷ−y)²",
    "l1_loss": "L = 1/N·Σ|ŷ−y|",
    "cross_entropy": "L = −1/N·Σ log softmax(ŷ)[y]",
}


def tensor_record(t: torch.Tensor | None, full_up_to: int | None = None) -> Record | None:
    """``{"shape", "numel", "values", "complete", "norm"}``; ``values`` is the flattened tensor,
    cut to its first `HEAD` entries when it has more than ``full_up_to`` (None: never cut)."""
    if t is None:
        return None
    flat = t.detach().reshape(-1)  # (numel,)
    complete = full_up_to is None or flat.numel() <= full_up_to
    return {
        "shape": list(t.shape),
        "numel": flat.numel(),
        "values": (flat if complete else flat[:HEAD]).tolist(),
        "complete": complete,
        "norm": torch.linalg.vector_norm(flat.double()).item(),
    }


def _snapshot(tensors: dict[str, torch.Tensor | None]) -> dict[str, torch.Tensor | None]:
    return {n: (t.detach().clone() if t is not None else None) for n, t in tensors.items()}


def _plain_sgd_lr(optimizer: Optimizer, p: torch.Tensor) -> float | None:
    """``lr`` when ``optimizer`` updates ``p`` by exactly ``p ← p − lr·p.grad``, else None."""
    if not isinstance(optimizer, SGD):
        return None
    group = next(g for g in optimizer.param_groups if any(q is p for q in g["params"]))
    plain = group["momentum"] == 0 and group["weight_decay"] == 0 and not group["maximize"]
    return group["lr"] if plain else None


def _tolerance(dtype: torch.dtype, n: int) -> float:
    """How far autograd's and the formula's rounding may drift apart (rtol and atol): 100 ulp,
    times √N for the sums over N samples that both compute in different orders."""
    return 100 * torch.finfo(dtype).eps * math.sqrt(max(n, 1))


def trace(
    model: Module,
    X: torch.Tensor,
    y: torch.Tensor,
    loss_fn: LossFn,
    optimizer: Optimizer,
    steps: int = 3,
    *,
    set_to_none: bool = True,
    analytic: AnalyticGrads | None = None,
    full_up_to: int = 8,
    backward: str = "autograd",
) -> list[Record]:
    """Run ``steps`` full-batch steps of the five-step loop and return one record per step.

    ``analytic(model, X, y)`` gives hand-derived gradients to show beside ``p.grad``; None takes
    `nnscratch.backprop`'s for this model and loss (`analytic_for`), where it has formulas. ``set_to_none`` is passed to
    ``optimizer.zero_grad``. The model and optimizer are trained in place, as by `nnscratch.fit`.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps should be a positive integer, but got {steps}")
    if full_up_to < 0:
        raise ValueError(f"full_up_to should be >= 0, but got {full_up_to}")
    engine, manual = backward == "engine", backward == "manual"
    if analytic is None:
        analytic = autograd_for(loss_fn) if manual else analytic_for(model, loss_fn)
    named = dict(model.named_parameters())
    loss_name = getattr(loss_fn, "__name__", type(loss_fn).__name__)
    records = []
    for step in range(1, steps + 1):
        before = _snapshot(named)
        grads_before = _snapshot({n: p.grad for n, p in named.items()})
        formula = analytic(model, X, y) if analytic is not None else None  # from `before`

        nodes: list[Record] = []
        if engine:
            y_pred, loss, pairs = _engine_forward(model, loss_fn, X, y)
        elif manual:
            with same_draws(model), torch.no_grad():
                y_pred = model(X)  # 1. forward, as shown (backprop runs its own)
            loss = loss_and_grads(model, loss_fn, X, y)  # 1.–3. by hand: fills p.grad
        else:
            y_pred = model(X)  # 1. forward    (N, O)
            loss = loss_fn(y_pred, y)  # 2. loss       scalar
        value = loss.item()
        if not math.isfinite(value):
            raise DivergenceError(f"loss became {value} at step {step}", step, None)
        if engine:
            _engine_backward(loss, pairs, nodes, full_up_to)  # 3. backward on the engine
        elif manual:
            pass  # 3. done above, by hand
        else:
            loss.backward()  # 3. backward   fills p.grad
        after_backward = _snapshot(named)
        grads = _snapshot({n: p.grad for n, p in named.items()})
        optimizer.step()  # 4. update     p ← p − lr·g (for plain SGD)
        after_step = _snapshot(named)
        optimizer.zero_grad(set_to_none=set_to_none)  # 5. reset
        grads_after = _snapshot({n: p.grad for n, p in named.items()})
        with torch.no_grad():
            loss_after = loss_fn(model(X), y).item()

        records.append(
            {
                "step": step,
                "forward": {
                    "X": tensor_record(X, full_up_to),
                    "y": tensor_record(y, full_up_to),
                    "parameters": {n: tensor_record(t) for n, t in before.items()},
                    "y_pred": tensor_record(getattr(y_pred, "data", y_pred), full_up_to),
                },
                "loss": {
                    "name": loss_name,
                    "formula": LOSS_FORMULAS.get(loss_name),
                    "value": value,
                },
                "backward": {
                    "grads_before": {n: tensor_record(g) for n, g in grads_before.items()},
                    "grads": {n: tensor_record(g) for n, g in grads.items()},
                    "analytic": _analytic_records(
                        formula, grads, X.shape[0], {} if manual else formulas_for(model, loss_fn)
                    ),
                    "parameters_unchanged": all(
                        torch.equal(before[n], after_backward[n]) for n in named
                    ),
                    "engine_nodes": nodes if engine else None,
                    "by": backward,  # who filled p.grad
                    "beside": "autograd" if manual else "by hand",  # the column beside it
                },
                "update": {
                    "optimizer": type(optimizer).__name__,
                    "parameters": {
                        n: _update_record(before[n], after_step[n], grads[n], optimizer, p)
                        for n, p in named.items()
                    },
                },
                "reset": {
                    "set_to_none": set_to_none,
                    "grads": {
                        n: {
                            "before": tensor_record(grads[n]),
                            "after": tensor_record(grads_after[n]),
                        }
                        for n in named
                    },
                },
                "loss_after": loss_after,
            }
        )
    return records


@contextmanager
def same_draws(model: Module) -> Iterator[None]:
    """Inside, the model may run a forward that leaves no trace: the global random state
    (dropout's masks) and the buffers (BatchNorm's running statistics) are put back after."""
    buffers = [b.clone() for b in model.buffers()]
    rng = torch.get_rng_state()
    try:
        yield
    finally:
        torch.set_rng_state(rng)
        with torch.no_grad():
            for b, saved in zip(model.buffers(), buffers, strict=True):
                b.copy_(saved)


def autograd_for(loss_fn: LossFn) -> AnalyticGrads:
    """``(model, X, y) -> {name: ∂L/∂p}`` by ``torch.autograd.grad`` (p.grad untouched, no trace
    left: `same_draws`): the column beside a hand-derived p.grad."""

    def grads(model: Module, X: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        with same_draws(model):
            loss = loss_fn(model(X), y)  # (scalar)
            values = torch.autograd.grad(loss, [p for _, p in named])
        return {n: g for (n, _), g in zip(named, values, strict=True)}

    return grads


def _engine_forward(model: Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor) -> Any:
    """Steps 1–2 recorded by `nnscratch.autograd`: (y_pred, loss, (parameter, leaf) pairs)."""
    from nnscratch.autograd.model import engine_parameters

    with engine_parameters(model) as pairs:
        y_pred = model(X)  # 1. forward    (N, O)
        loss = loss_fn(y_pred, y)  # 2. loss       scalar
    return y_pred, loss, pairs


def _engine_backward(loss: Any, pairs: Any, nodes: list[Record], full_up_to: int) -> None:
    """Step 3 on the engine, each node's incoming gradient ∂L/∂(its output) kept in ``nodes``."""
    from nnscratch.autograd.graph import backward
    from nnscratch.autograd.model import write_grads

    def visit(node: Any, g: torch.Tensor) -> None:
        nodes.append({"op": node.name, "grad": tensor_record(g, full_up_to)})

    backward(loss, visit=visit)
    write_grads(pairs)


def _analytic_records(
    formula: dict[str, torch.Tensor] | None,
    grads: dict[str, torch.Tensor | None],
    n: int,
    labels: dict[str, str],
) -> dict[str, Record] | None:
    if formula is None:
        return None
    out = {}
    for name, value in formula.items():
        grad = grads[name]
        assert grad is not None, f"backward() left {name}.grad empty"
        tol = _tolerance(grad.dtype, n)
        out[name] = {
            "formula": labels.get(name),
            "value": tensor_record(value),
            "max_abs_diff": (grad.double() - value.double()).abs().max().item(),
            "tolerance": tol,
            "agrees": torch.allclose(grad, value, rtol=tol, atol=tol),
        }
    return out


def _update_record(
    old: torch.Tensor,
    new: torch.Tensor,
    grad: torch.Tensor | None,
    optimizer: Optimizer,
    p: torch.Tensor,
) -> Record:
    """old → new; for plain SGD also ``expected = old − lr·grad`` and whether ``new`` is exactly it.

    "Exactly" means bit for bit, with the rule evaluated in one of its two floating-point forms:
    the seed's ``p - lr * g`` (``lr·g`` rounded first) or torch.optim.SGD's
    ``p.add(g, alpha=-lr)`` (one rounding). They can differ in the last bit, nowhere else.
    """
    lr = _plain_sgd_lr(optimizer, p) if grad is not None else None
    if lr is None:
        return {"old": tensor_record(old), "new": tensor_record(new), "lr": None,
                "expected": None, "exact": None, "max_abs_diff": None}  # fmt: skip
    expected = old - lr * grad  # the seed's rule, recomputed here
    fused = old.add(grad, alpha=-lr)  # the same rule as torch.optim.SGD rounds it
    return {
        "old": tensor_record(old),
        "new": tensor_record(new),
        "lr": lr,
        "expected": tensor_record(expected),
        "exact": torch.equal(new, expected) or torch.equal(new, fused),
        "max_abs_diff": (new.double() - expected.double()).abs().max().item(),
    }
