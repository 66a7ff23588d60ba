"""The state of a run at an epoch boundary, in memory.  Replaces the ``torch.save({...})`` dict
of the usual PyTorch recipe (``model.state_dict()``, ``optimizer.state_dict()``, ...).

A run continues *exactly* (bit for bit, on the same machine) from a `Snapshot` because it holds
everything the next epoch reads:

    model        every parameter                            model.state_dict()
    optimizer    momentum buffers / Adam moments, step      optimizer.state_dict()
                 counts, each group's lr
    scheduler    last_epoch, base_lrs, ...                  scheduler.state_dict()
    rng          the global generator (``torch.manual_seed``'s) and the shuffle generator, whose
                 next ``randperm`` is the next epoch's batch order
    epoch, step  epochs completed, optimizer steps taken
    metrics      the mark of the run's metrics.jsonl at this epoch (`records.MetricsLog.mark`):
                 the history is appended to that file, never copied into a snapshot
    records      (loaded checkpoints only) the metrics of the epochs so far, read back

`capture` copies the state (a snapshot must not change while training goes on), at a cost
that does not grow with the epoch; `restore` loads one into
freshly built objects. `split_optimizer` / `join_optimizer` separate the tensors (for
safetensors) from the plain numbers (for JSON), so that nothing needs pickle.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import torch

from nnscratch.module import Module
from nnscratch.optim import Optimizer


@dataclass
class Snapshot:
    epoch: int  # epochs completed
    step: int  # optimizer steps taken
    elapsed: float  # seconds of training so far
    model: dict[str, torch.Tensor]  # name → parameter copy
    optimizer: dict[str, Any]  # optimizer.state_dict(), copied
    scheduler: dict[str, Any] | None  # scheduler.state_dict(), copied, or None
    rng: dict[str, torch.Tensor]  # "torch", "shuffle" (and "cuda.<i>"): uint8 states
    records: list[dict[str, Any]] = field(default_factory=list)  # one per epoch (when loaded)
    metrics: dict[str, Any] | None = None  # mark of metrics.jsonl: lines, bytes, sha256


def rng_states(generator: torch.Generator) -> dict[str, torch.Tensor]:
    states = {"torch": torch.get_rng_state(), "shuffle": generator.get_state()}  # (5056,) uint8
    if torch.cuda.is_initialized():  # (never true without CUDA)
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            states[f"cuda.{i}"] = s
    return states


def set_rng_states(states: dict[str, torch.Tensor], generator: torch.Generator) -> None:
    torch.set_rng_state(states["torch"])
    generator.set_state(states["shuffle"])
    cuda = [states[k] for k in sorted(states) if k.startswith("cuda.")]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


def capture(
    model: Module,
    optimizer: Optimizer,
    scheduler: Any,
    generator: torch.Generator,
    epoch: int,
    step: int,
    elapsed: float,
    metrics: dict[str, Any] | None = None,
    into: Snapshot | None = None,
) -> Snapshot:
    """A private copy of the run's state now (call it between epochs); ``metrics`` is the mark
    of the metrics file (a small dict), not the records: O(parameters), not O(epochs).

    ``into``: an earlier snapshot of the same model, no longer needed, whose parameter copies
    are refilled in place (``copy_``, no allocation: the run takes one every epoch)."""
    params = model.state_dict()
    if into is not None and into.model.keys() == params.keys():
        for name, value in params.items():
            into.model[name].copy_(value.detach())
        copies = into.model
    else:
        copies = {k: v.detach().clone() for k, v in params.items()}
    return Snapshot(
        epoch=epoch,
        step=step,
        elapsed=elapsed,
        model=copies,
        optimizer=optimizer.state_dict(),  # clones its tensors
        scheduler=None if scheduler is None else copy.deepcopy(scheduler.state_dict()),
        rng=rng_states(generator),
        metrics=metrics,
    )


def restore(
    snapshot: Snapshot,
    model: Module,
    optimizer: Optimizer,
    scheduler: Any,
    generator: torch.Generator,
) -> None:
    """Load ``snapshot`` into freshly built objects (the optimizer before the scheduler)."""
    model.load_state_dict(snapshot.model)
    optimizer.load_state_dict(snapshot.optimizer)
    if scheduler is not None and snapshot.scheduler is not None:
        scheduler.load_state_dict(copy.deepcopy(snapshot.scheduler))
    set_rng_states(snapshot.rng, generator)


# -- optimizer state: tensors for safetensors, the rest for JSON --------------------------------
def split_optimizer(state_dict: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``{'state.<i>.<key>': tensor}`` and a JSON-ready dict with everything else."""
    tensors: dict[str, torch.Tensor] = {}
    plain: dict[str, dict[str, Any]] = {}
    for index, entries in state_dict["state"].items():
        plain[str(index)] = {}
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                plain[str(index)][key] = value
    return tensors, {"state": plain, "param_groups": state_dict["param_groups"]}


def join_optimizer(tensors: dict[str, torch.Tensor], plain: dict[str, Any]) -> dict[str, Any]:
    """The inverse of `split_optimizer` (JSON lists in the groups become tuples again: betas)."""
    state: dict[int, dict[str, Any]] = {int(i): dict(s) for i, s in plain["state"].items()}
    for name, value in tensors.items():
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = value
    groups = [
        {k: (tuple(v) if isinstance(v, list) and k != "params" else v) for k, v in g.items()}
        for g in plain["param_groups"]
    ]
    return {"state": state, "param_groups": groups}
