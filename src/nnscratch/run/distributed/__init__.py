"""Data-parallel training on ``torch.distributed``.  Replaces ``DistributedDataParallel`` and
``DistributedSampler``.

    process_group.py  init_from_env, rank, world_size, is_main, cleanup  ↔ torchrun setup
    shard.py          shard, shard_bounds, global_mean                   ↔ DistributedSampler
    gradients.py      all_reduce_gradients_ (one flat buffer per step)   ↔ DDP's bucketed all-reduce
    parameters.py     broadcast_parameters_, ranks_agree                 ↔ DDP's initial broadcast

One step on every rank, with the same global batch (xb, yb) everywhere:

    xs, ys = shard(xb, yb)                                  this rank's rows
    if len(xs): loss_fn(model(xs), ys).backward()           g_k, mean over the shard
    all_reduce_gradients_(params, len(xs), len(xb))         g = (1/N) Σ_k n_k·g_k on every rank
    optimizer.step(); optimizer.zero_grad()                 the same update everywhere
"""

from nnscratch.run.distributed.gradients import all_reduce_gradients_
from nnscratch.run.distributed.parameters import broadcast_parameters_, ranks_agree
from nnscratch.run.distributed.process_group import (
    cleanup,
    init_from_env,
    is_distributed,
    is_main,
    rank,
    world_size,
)
from nnscratch.run.distributed.shard import global_mean, shard, shard_bounds

__all__ = [
    "all_reduce_gradients_",
    "broadcast_parameters_",
    "cleanup",
    "global_mean",
    "init_from_env",
    "is_distributed",
    "is_main",
    "rank",
    "ranks_agree",
    "shard",
    "shard_bounds",
    "world_size",
]
