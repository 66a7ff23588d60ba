"""Joining the process group.  Replaces the setup that ``torchrun`` examples do around
``torch.distributed.init_process_group`` (and the rank bookkeeping DDP users write by hand).

``torchrun --nproc_per_node=N script.py`` starts N copies of the script and tells each who it is
through environment variables:

    RANK          this process's index in the whole job, 0 … WORLD_SIZE − 1
    WORLD_SIZE    how many processes train together
    LOCAL_RANK    index on this host (picks the GPU: cuda:LOCAL_RANK)
    MASTER_ADDR, MASTER_PORT   where rank 0 listens; every rank meets there

`init_from_env` reads them and joins the group (``init_method="env://"``): backend ``gloo`` for CPU
tensors, ``nccl`` for CUDA tensors (NCCL only moves GPU memory). Without ``RANK``/``WORLD_SIZE`` in
the environment the script was started as one plain process, and nothing is joined: `rank` is 0,
`world_size` is 1, `is_main` is True, so the same training code runs either way.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

from nnscratch.errors import UserError

ENV = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def init_from_env(device: torch.device | str = "cpu", backend: str | None = None) -> torch.device:
    """Join the group torchrun describes in the environment; return the device this rank uses.

    ``device="cuda"`` becomes ``cuda:LOCAL_RANK`` (one GPU per process) and selects ``nccl``;
    ``"cpu"`` selects ``gloo``. ``backend`` overrides the choice. Calling it again, or calling it
    without torchrun's variables, joins nothing.
    """
    device = torch.device(device)
    present = [k for k in ENV if k in os.environ]
    if "RANK" not in os.environ and "WORLD_SIZE" not in os.environ:
        return device  # a single plain process
    missing = [k for k in ENV if k not in present]
    if missing:
        raise UserError(
            f"distributed environment is incomplete: {', '.join(missing)} not set; "
            "start with `torchrun --nproc_per_node=N ...`, which sets them all"
        )
    rank_, world = _int_env("RANK"), _int_env("WORLD_SIZE")
    if world < 1 or not 0 <= rank_ < world:
        raise UserError(f"RANK={rank_} must be in [0, WORLD_SIZE={world}) with WORLD_SIZE >= 1")
    if device.type == "cuda":
        device = torch.device("cuda", _int_env("LOCAL_RANK", "0"))
        torch.cuda.set_device(device)
    if backend is None:
        backend = "nccl" if device.type == "cuda" else "gloo"
    if not is_distributed():
        dist.init_process_group(backend, init_method="env://", rank=rank_, world_size=world)
    return device


def _int_env(name: str, default: str | None = None) -> int:
    value = os.environ.get(name, default)
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UserError(f"environment variable {name}={value!r} is not an integer") from None


def is_distributed() -> bool:
    """True once this process has joined a process group."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's index (``dist.get_rank()``); 0 in a single process."""
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """How many processes train together (``dist.get_world_size()``); 1 in a single process."""
    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    """True on rank 0: the one process that logs, writes checkpoints and prints."""
    return rank() == 0


def cleanup() -> None:
    """Leave the group (``dist.destroy_process_group()``); nothing to do in a single process."""
    if is_distributed():
        dist.destroy_process_group()
