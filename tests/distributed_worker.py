"""Run by tests/test_distributed.py under ``torchrun --standalone --nproc_per_node=2``.

Each rank trains the scenarios below data-parallel (shard → backward → one all-reduce → step) and
saves what the test checks to ``<out>/rank<k>.pt``. The test builds the same scenarios with
`build` and trains them in one process with `nnscratch.fit`: the oracle.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist

from nnscratch.data.batches import batches
from nnscratch.losses import cross_entropy, mse_loss
from nnscratch.models import MLP
from nnscratch.optim import SGD, Adam
from nnscratch.run import distributed as ddp

F64 = torch.float64

# name: (rows, batch_size, epochs, optimizer); every mini-batch case ends on a short last batch
SCENARIOS = {
    "sgd_nesterov_uneven": (49, 15, 3, "sgd"),  # shards 8/7 each batch; last batch 4 → 2/2
    "sgd_momentum_empty_shard": (49, 16, 3, "sgd"),  # last batch 1 row → shards 1/0
    "adam_classes_uneven": (45, 10, 3, "adam"),  # last batch 5 → shards 3/2
    "sgd_full_batch_odd": (33, None, 4, "sgd"),  # one batch of 33 → shards 17/16
}


def build(name: str):
    """Model, data, loss, optimizer, batch size, epochs and shuffling seed of one scenario."""
    n, batch_size, epochs, opt = SCENARIOS[name]
    g = torch.Generator().manual_seed(1)
    X = torch.randn(n, 4, generator=g, dtype=F64)  # (N, 4)
    torch.manual_seed(2)
    if opt == "adam":
        y = torch.randint(0, 3, (n,), generator=g)  # (N,) class indices
        model, loss_fn = MLP(4, [8], 3, activation="tanh", dtype=F64), cross_entropy
        optimizer = Adam(model.parameters(), lr=0.05)
    else:
        y = torch.randn(n, 1, generator=g, dtype=F64)  # (N, 1)
        model, loss_fn = MLP(4, [8, 6], 1, dtype=F64), mse_loss
        nesterov = name.startswith("sgd_nesterov")
        optimizer = SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=nesterov)
    return model, X, y, loss_fn, optimizer, batch_size, epochs, 3


def train_data_parallel(name: str) -> tuple[list[torch.Tensor], int]:
    """Data-parallel training of scenario ``name``; returns final parameters and the step count."""
    model, X, y, loss_fn, optimizer, batch_size, epochs, seed = build(name)
    params = list(model.parameters())
    generator = torch.Generator().manual_seed(seed)  # same seed on every rank: same batches
    ddp.broadcast_parameters_(params)
    steps = 0
    for _ in range(epochs):
        for xb, yb in batches(X, y, batch_size, shuffle=True, generator=generator):
            xs, ys = ddp.shard(xb, yb)  # this rank's rows
            if xs.shape[0] > 0:
                loss_fn(model(xs), ys).backward()
            ddp.all_reduce_gradients_(params, xs.shape[0], xb.shape[0])
            optimizer.step()
            optimizer.zero_grad()
            steps += 1
    return [p.detach().clone() for p in params], steps


def main(out: Path) -> None:
    ddp.init_from_env()
    rank = ddp.rank()
    result: dict = {"rank": rank, "world_size": ddp.world_size(), "is_main": ddp.is_main()}

    # count the collectives: one all_reduce per step, whatever the number of parameter tensors
    calls = []
    real_all_reduce = dist.all_reduce

    def counting_all_reduce(tensor, *args, **kwargs):
        calls.append(tensor.numel())
        return real_all_reduce(tensor, *args, **kwargs)

    dist.all_reduce = counting_all_reduce
    try:
        for name in SCENARIOS:
            calls.clear()
            params, steps = train_data_parallel(name)
            result[name] = {"params": params, "steps": steps, "all_reduce_numels": list(calls)}
            result[name]["agree"] = ddp.ranks_agree(params)
    finally:
        dist.all_reduce = real_all_reduce

    # broadcast: ranks start from different seeds and end with rank 0's values
    torch.manual_seed(100 + rank)
    model = MLP(4, [8], 2, dtype=F64)
    result["agree_before_broadcast"] = ddp.ranks_agree(model.parameters())
    ddp.broadcast_parameters_(model.parameters())
    result["broadcast"] = [p.detach().clone() for p in model.parameters()]
    result["broadcast_leaves"] = all(p.is_leaf and p.requires_grad for p in model.parameters())

    # one uneven batch (5 rows → 3/2): size-weighted combination vs DDP's mean of the ranks' means
    torch.manual_seed(4)
    model = MLP(4, [8], 1, dtype=F64)
    g = torch.Generator().manual_seed(5)
    xb, yb = torch.randn(5, 4, generator=g, dtype=F64), torch.randn(5, 1, generator=g, dtype=F64)
    xs, ys = ddp.shard(xb, yb)
    params = list(model.parameters())
    for weighted in (True, False):
        mse_loss(model(xs), ys).backward()
        if weighted:
            ddp.all_reduce_gradients_(params, xs.shape[0], xb.shape[0])
        else:
            ddp.all_reduce_gradients_(params)
        key = "grad_weighted" if weighted else "grad_mean_of_means"
        result[key] = [p.grad.clone() for p in params]
        model.zero_grad()
    result["global_mean"] = ddp.global_mean(10.0 + 40.0 * rank, 1 + 3 * rank)  # (10 + 50) / (1 + 4)
    ddp.cleanup()
    result["distributed_after_cleanup"] = ddp.is_distributed()
    torch.save(result, out / f"rank{rank}.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
