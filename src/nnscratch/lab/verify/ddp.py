"""Mapping-table rows for data-parallel training: `nnscratch.run.distributed` ↔ DistributedDataParallel.

The row spawns two processes (gloo on 127.0.0.1, a free port). Each trains the same MLP twice on
the same global batches, each rank on its half of every batch (equal shards, so DDP's mean of the
ranks' means equals the size-weighted mean that `all_reduce_gradients_` computes):

    manual     shard → backward → all_reduce_gradients_ (one flat buffer) → SGD.step
    reference  DistributedDataParallel(nn.Sequential) → backward (bucketed all-reduce) → optim.SGD

Both start from a different seed on each rank, so the first row also checks that
`broadcast_parameters_` does what DDP's constructor does: every rank takes rank 0's values.
"""

from __future__ import annotations

import gc
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn, optim
from torch.nn.parallel import DistributedDataParallel

from nnscratch.data.batches import batches
from nnscratch.lab.verify.check import Row, compare
from nnscratch.lab.verify.models import reference_mlp
from nnscratch.losses import mse_loss
from nnscratch.models import MLP
from nnscratch.optim import SGD
from nnscratch.run import distributed as ddp

ORDER = 95
F64 = torch.float64
WORLD = 2
N, BATCH, EPOCHS = 64, 16, 3  # 4 steps per epoch, shards of 8 rows
FAILED = (float("inf"), 1e-10, 1e-10, False)  # max_diff, atol, rtol, passed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, port: int, out: str) -> None:
    """One rank: the manual data-parallel loop, then DDP's, from the same seeds and batches."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank))
    os.environ.update(WORLD_SIZE=str(WORLD), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    ddp.init_from_env()
    g = torch.Generator().manual_seed(1)
    X = torch.randn(N, 4, generator=g, dtype=F64)  # (N, 4)
    y = torch.randn(N, 1, generator=g, dtype=F64)  # (N, 1)

    torch.manual_seed(10 + rank)  # ranks differ until the broadcast
    manual = MLP(4, [8, 6], 1, dtype=F64)
    torch.manual_seed(10 + rank)
    reference = reference_mlp(4, [8, 6], 1, "relu", dtype=F64)

    params = list(manual.parameters())
    ddp.broadcast_parameters_(params)
    wrapped = DistributedDataParallel(reference)  # broadcasts rank 0's parameters too
    start = (
        [p.detach().clone() for p in params],
        [p.detach().clone() for p in wrapped.parameters()],
    )

    sgd = SGD(params, lr=0.05, momentum=0.9)
    generator = torch.Generator().manual_seed(3)
    for _ in range(EPOCHS):
        for xb, yb in batches(X, y, BATCH, shuffle=True, generator=generator):
            xs, ys = ddp.shard(xb, yb)  # (8, 4), (8, 1)
            mse_loss(manual(xs), ys).backward()
            ddp.all_reduce_gradients_(params, xs.shape[0], xb.shape[0])
            sgd.step()
            sgd.zero_grad()

    torch_sgd = optim.SGD(wrapped.parameters(), lr=0.05, momentum=0.9)
    generator = torch.Generator().manual_seed(3)
    for _ in range(EPOCHS):
        for xb, yb in batches(X, y, BATCH, shuffle=True, generator=generator):
            xs, ys = torch.tensor_split(xb, WORLD)[rank], torch.tensor_split(yb, WORLD)[rank]
            nn.MSELoss()(wrapped(xs), ys).backward()  # DDP averages the ranks' gradients here
            torch_sgd.step()
            torch_sgd.zero_grad()

    result = {
        "start": start,
        "manual": [p.detach().clone() for p in params],
        "reference": [p.detach().clone() for p in wrapped.parameters()],
    }
    result["agree"] = ddp.ranks_agree(result["manual"]) and ddp.ranks_agree(result["reference"])
    torch.save(result, Path(out) / f"rank{rank}.pt")
    del wrapped, torch_sgd, reference  # DDP's reducer holds gloo work: release it first
    _leave()


def _leave() -> None:
    """Tear the group down in an order that cannot abort, then end the process without finalizers.

    The caller has dropped DDP's reducer; a barrier makes sure no rank still talks to the other,
    then the group is destroyed. `os._exit` skips the C++ static destructors of interpreter
    shutdown, where a gloo/TCPStore thread left joinable once aborted a CI run ("terminate called
    without an active exception", SIGABRT). The result file is already saved and closed.
    """
    gc.collect()
    dist.barrier()
    ddp.cleanup()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def run() -> list[dict]:
    """Both ranks' results from one 2-process gloo run."""
    with tempfile.TemporaryDirectory() as out:
        mp.spawn(_worker, args=(_free_port(), out), nprocs=WORLD, join=True)
        return [torch.load(Path(out) / f"rank{k}.pt", weights_only=True) for k in range(WORLD)]


def run_with_one_relaunch() -> tuple[list[dict], str]:
    """`run`, launched once more if a rank was killed by a signal; the second note says so.

    A rank that dies by a signal (SIGABRT in gloo's teardown was seen once in CI) tells nothing
    about the numbers; one relaunch keeps the table about them. A second death, any Python
    exception in a rank, or a numeric mismatch is still a FAIL.
    """
    try:
        return run(), ""
    except mp.ProcessExitedException as error:
        if not error.signal_name:
            raise
        return run(), f" (relaunched once: a rank ended with {error.signal_name})"


def rows() -> Iterator[Row]:
    try:
        ranks, relaunched = run_with_one_relaunch()
    except Exception as error:  # a failed launch is a failed row, not a crashed table
        reason = f"{type(error).__name__}: {error}".splitlines()[0][:120]
        yield Row("nnscratch.run.distributed", "DistributedDataParallel", reason, *FAILED)
        return
    last = ranks[-1]
    yield compare(
        "broadcast_parameters_(src=0)",
        "DistributedDataParallel(model) initial broadcast",
        f"rank {WORLD - 1}'s MLP after the broadcast (ranks seeded differently)",
        last["start"][0],
        last["start"][1],
        atol=0.0,
    )
    steps = EPOCHS * N // BATCH
    yield compare(
        "shard + all_reduce_gradients_ (one flat buffer)",
        "DistributedDataParallel + optim.SGD",
        f"MLP params after {steps} SGD-momentum steps, {WORLD} ranks (gloo); ranks agree"
        + relaunched,
        ranks[0]["manual"],
        ranks[0]["reference"],
        atol=1e-10,
        rtol=1e-10,
        extra_ok=all(r["agree"] for r in ranks),
    )
