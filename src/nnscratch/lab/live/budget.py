"""What one tab's run may cost, estimated before anything is allocated; refused above the budget.

One request must not take the machine: the page's settings are checked here before the data is
made and before the run starts, against ``MAX_BYTES`` per run.

    data     ``synthetic``: N·(F + 1) numbers, kept `DATA_COPIES` times (checked before `prepare`;
             the built-in sets have fixed sizes, an upload is limited by the server)
    run      the run's own model and optimizer, built by `nnscratch.run.build` on PyTorch's
             ``meta`` device (shapes, no memory), and one full-batch step run there (step mode
             traces one) with the run's ``--backward`` (the hand-derived chain rule unfolds a
             convolution's input: ~14× autograd's tensors for a CNN; the engine ~1.4×; the loss
             stood in for by a sum, or for manual by mse, whose formula it has): every tensor
             the forward, the backward and the update create (the
             optimizer's state, Adam's m and v, included) is counted once, never freed; plus
             the parameters, the copy of the gradients the page's graph shows, and one metrics
             record per epoch (kept twice: by `train` and by the page's run)
    views    bounded by `views` itself, whatever the sizes: a fixed number of units per layer, the
             grid evaluated in chunks, a coarser grid for a large model

Any model family that `build_model` builds is budgeted the same way: nothing here lists layers.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from nnscratch.run.config import TrainConfig
from nnscratch.run.prepare import Prepared

MAX_BYTES = 512 * 2**20  # one run of one tab
DATA_COPIES = 3  # the generated set, its training part, the page's copy of the points
RECORD_BYTES = 512  # one epoch's metrics record (~350 bytes measured), kept twice
SIZE_FIELD = {"mlp": "hidden", "cnn": "channels", "transformer": "n_embd"}


class OverBudget(ValueError):
    """The run would need more than the budget: ``field`` to change and a message saying why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def megabytes(n: float) -> str:
    return f"{n / 2**20:,.0f} MB"


def check_config(config: TrainConfig, limit: int = MAX_BYTES) -> None:
    """Before the data is made: a generated set's size."""
    if config.data != "synthetic":
        return
    need = config.n_samples * (config.n_features + 1) * 8 * DATA_COPIES
    if need > limit:
        raise OverBudget(
            "n_samples",
            f"{config.n_samples:,} samples × {config.n_features} features would take about "
            f"{megabytes(need)}, more than the lab's {megabytes(limit)} per run; use fewer",
        )


class _Counter(TorchDispatchMode):
    """Adds up the bytes of every tensor an operation returns."""

    def __init__(self) -> None:
        super().__init__()
        self.bytes = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.bytes += t.numel() * t.element_size()
        return out


def step_bytes(data: Prepared) -> tuple[int, int]:
    """(parameters, bytes) of one full-batch step of ``data``'s run, on the meta device."""
    from nnscratch.run import build

    config = data.config
    dtype = getattr(torch, config.dtype)
    shape = data.train.extra.get("image_shape")
    model = build.build_model(
        config, data.train.n_features, data.out_features, dtype, "meta", shape
    )
    from nnscratch.steps import check_supported

    check_supported(config.backward, model, build.build_loss(config))  # a 400 at its field
    params = list(model.parameters())
    n_params = sum(p.numel() for p in params)
    param_bytes = sum(p.numel() * p.element_size() for p in params)
    X = data.train.X[:1]  # one row: its shape and type
    rows = max(len(data.train), len(data.val), len(data.test))
    batch = torch.empty((rows, *X.shape[1:]), dtype=X.dtype, device="meta")
    counter = _Counter()
    try:
        optimizer = build.build_optimizer(config, params)
        target = None  # manual: mse's target, of the output's shape (not counted)
        if config.backward == "manual":
            with torch.no_grad():
                target = torch.empty_like(model(batch))
        with counter:
            out = _forward_and_backward(model, batch, config.backward, target)  # (rows, ...)
            optimizer.step()
        step = counter.bytes + 4 * out.numel() * out.element_size()
    except (RuntimeError, NotImplementedError):  # an operation meta cannot run: the parameters
        step = 3 * param_bytes  # gradient and two optimizer buffers
    return n_params, 2 * param_bytes + step  # the parameters, the page's copy of the gradients


def _forward_and_backward(
    model: Any, batch: torch.Tensor, backward: str, target: torch.Tensor | None
) -> torch.Tensor:
    """Steps 1–3 on the meta device as ``backward`` takes them; the output."""
    if backward == "engine":
        from nnscratch.autograd.graph import backward as engine_backward
        from nnscratch.autograd.model import engine_parameters, write_grads

        with engine_parameters(model) as pairs:
            out = model(batch)  # an engine Tensor
        engine_backward(out.float().sum())
        write_grads(pairs)
        return out.data
    if backward == "manual":
        from nnscratch.backprop import loss_and_grads
        from nnscratch.losses import mse_loss

        assert target is not None
        loss_and_grads(model, mse_loss, batch, target)  # its own forward, then the chain rule
        return target
    out = model(batch)
    out.float().sum().backward()  # the loss's own cost is a few times the output's
    return out


def warm() -> None:
    """Run the meta device once (its first use loads PyTorch's meta kernels: ~2 s), so that the
    first tab's settings are answered at once; the server calls it in the background at start."""
    model = torch.zeros(2, 2, device="meta", requires_grad=True)
    with _Counter():
        (model @ model).sum().backward()


def check_run(data: Prepared, limit: int = MAX_BYTES) -> None:
    """Before the run starts: its model, optimizer, one step and its records."""
    config = data.config
    n_params, need = step_bytes(data)
    records = (config.epochs or 0) * RECORD_BYTES * 2
    if records > limit:
        raise OverBudget(
            "epochs",
            f"{config.epochs:,} epochs keep about {megabytes(records)} of metrics, more than the "
            f"lab's {megabytes(limit)} per run; use fewer epochs (or nnscratch train)",
        )
    if need + records > limit:
        field = SIZE_FIELD.get(config.model, "model")
        raise OverBudget(
            field,
            f"this run would need about {megabytes(need + records)} (the {config.model} model's "
            f"{n_params:,} parameters, their gradients and optimizer state, and one step on all "
            f"{len(data.train):,} training rows), more than the lab's {megabytes(limit)} per "
            f"run; use a smaller --{field.replace('_', '-')} (or nnscratch train)",
        )
