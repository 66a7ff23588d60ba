"""Each rank's share of a global mini-batch.  Replaces ``DistributedSampler``.

Every rank draws the *same* global batches (the same ``generator`` seed in
`nnscratch.data.batches` on every rank, so the permutations agree) and keeps one contiguous slice
of each. A batch of N rows split over W ranks, N = q·W + r:

    rank k keeps rows [start_k, start_k + n_k),   n_k = q + 1 if k < r else q,
                                                   start_k = k·q + min(k, r)

the split of ``torch.tensor_split(xb, W)``. When W does not divide N the shards differ by one row
(the last batch of an epoch, typically; a rank may even get zero rows). That is fine because the
gradients are then combined *weighted by shard size* (`all_reduce_gradients_`):

    g = (1/N) Σ_k n_k · g_k      g_k = gradient of the mean loss over rank k's n_k rows

which is exactly the gradient of the mean loss over the global batch, so data-parallel training
takes the same steps as one process on the same global batches.

Where conventions differ:
  * ``DistributedSampler`` splits the *dataset*, not each batch: rank k takes indices k, k+W, k+2W…
    of the epoch's permutation, and (``drop_last=False``) pads the index list by repeating its first
    indices until W divides it, so some samples count twice per epoch. Each rank then batches its
    own shard; the union of the ranks' i-th batches is not the i-th batch of a single process.
  * ``DistributedDataParallel`` averages the ranks' gradients with equal weight,
    g = (1/W) Σ_k g_k (a mean of means). With equal shards this is the same g; with unequal ones it
    over-weights the rows of the smaller shards. Padding is how DistributedSampler avoids the case.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from nnscratch.run.distributed import process_group


def shard_bounds(n: int, rank: int, world_size: int) -> tuple[int, int]:
    """``(start, stop)`` of rank ``rank``'s contiguous shard of ``n`` rows (tensor_split's rule)."""
    if world_size < 1:
        raise ValueError(f"world_size should be a positive integer, but got {world_size}")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank should be in [0, {world_size}), but got {rank}")
    if n < 0:
        raise ValueError(f"number of rows should be non-negative, but got {n}")
    q, r = divmod(n, world_size)
    start = rank * q + min(rank, r)
    stop = start + q + (1 if rank < r else 0)
    return start, stop


def shard(
    xb: torch.Tensor,
    yb: torch.Tensor,
    rank: int | None = None,
    world_size: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """This rank's rows of the global batch ``(xb, yb)``: views, no copy.

    ``rank``/``world_size`` default to the process group's (0 and 1 in a single process, where
    the shard is the whole batch). Pass ``xs.shape[0]`` and ``xb.shape[0]`` on to
    `all_reduce_gradients_` as ``shard_size`` and ``batch_size``.
    """
    if xb.shape[0] != yb.shape[0]:
        raise ValueError(f"xb has {xb.shape[0]} rows but yb has {yb.shape[0]}")
    rank = process_group.rank() if rank is None else rank
    world_size = process_group.world_size() if world_size is None else world_size
    start, stop = shard_bounds(xb.shape[0], rank, world_size)
    return xb[start:stop], yb[start:stop]  # (n_k, F), (n_k, ...)


def global_mean(total: float, count: int) -> float:
    """Mean over all ranks of a per-rank sum: ``Σ_k total_k / Σ_k count_k`` (one all-reduce).

    For logging: each rank sums ``loss.item() · n_k`` over an epoch; this turns the sums into the
    epoch's loss over the whole data set, the number one process would log.
    """
    if not process_group.is_distributed():
        return total / count
    t = torch.tensor([total, float(count)], dtype=torch.float64)  # (2,)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return (t[0] / t[1]).item()
