"""Averaging gradients across ranks.  Replaces ``DistributedDataParallel``'s gradient all-reduce.

After ``loss.backward()`` each rank holds g_k, the gradient of the mean loss over its n_k rows of
the global batch (N rows in all). The global-batch gradient is their size-weighted mean:

    g = (1/N) Σ_k n_k · g_k

Written out, once per step, with ONE collective for all parameters:

    flat ← cat(p.grad.reshape(−1) for p in params)      (P,)   P = total number of parameters
    flat ← n_k · flat                                           this rank's weight
    flat ← all_reduce(flat, SUM)                                Σ_k n_k·g_k, identical on every rank
    flat ← flat / N
    p.grad ← flat[offset_p : offset_p + numel_p].view_as(p)     copied back, parameter by parameter

Without ``shard_size``/``batch_size`` the weights are n_k = 1, N = W (world size): the plain mean
(1/W) Σ_k g_k, which is DDP's rule (equal to the weighted one when the shards are equal).

How DDP does the same job: it registers an autograd hook on every parameter, copies each gradient
as it is produced into *buckets* (flat buffers of ~25 MB, filled in reverse parameter order), and
launches an asynchronous ``all_reduce`` per bucket as soon as the bucket is full, so communication
overlaps the rest of the backward pass; gradients are divided by W before the sum. Here there is
one bucket holding everything and it is reduced after backward, without overlap: the same
arithmetic, fewer moving parts. One call per tensor would also be correct, but each collective
pays a fixed latency, which is why both DDP and this function flatten first.

Conventions: a rank with an empty shard (n_k = 0) skips forward/backward, its ``p.grad`` is None,
and it contributes zeros; every rank must still call this function (a collective waits for all).
A parameter without a gradient gets the reduced value (zeros if no rank had one), not None.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.distributed as dist

from nnscratch.run.distributed import process_group


@torch.no_grad()
def all_reduce_gradients_(
    params: Iterable[torch.Tensor],
    shard_size: int | None = None,
    batch_size: int | None = None,
) -> torch.Tensor:
    """Replace every ``p.grad`` with the global-batch gradient; return the flat buffer ``(P,)``.

    The returned buffer is identical on every rank: check it for NaN/inf there (``loss.item()``
    on one rank's shard is not), so that all ranks stop together instead of one waiting forever.
    """
    params = list(params)
    n_k, n = _weights(shard_size, batch_size)
    _check_same_kind(params)
    grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])  # (P,)
    if n_k != 1:
        flat.mul_(n_k)  # n_k · g_k
    if process_group.is_distributed():
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)  # Σ_k n_k · g_k, one call for all tensors
    flat.div_(n)  # (1/N) Σ_k n_k · g_k
    offset = 0
    for p in params:
        view = flat[offset : offset + p.numel()].view_as(p)  # p's slice of the buffer
        if p.grad is None:
            p.grad = view.clone()
        else:
            p.grad.copy_(view)  # in place: p.grad stays the tensor zero_grad() resets
        offset += p.numel()
    return flat


def _weights(shard_size: int | None, batch_size: int | None) -> tuple[int, int]:
    """``(n_k, N)``: this rank's weight and the divisor."""
    if shard_size is None and batch_size is None:
        return 1, process_group.world_size()
    if shard_size is None or batch_size is None:
        raise ValueError(
            f"give both shard_size and batch_size or neither, got shard_size={shard_size}, "
            f"batch_size={batch_size}"
        )
    if batch_size < 1:
        raise ValueError(f"batch_size should be a positive integer, but got {batch_size}")
    if not 0 <= shard_size <= batch_size:
        raise ValueError(f"shard_size should be in [0, batch_size={batch_size}], got {shard_size}")
    return shard_size, batch_size


def _check_same_kind(params: list[torch.Tensor]) -> None:
    if not params:
        raise ValueError("all_reduce_gradients_ got an empty parameter list")
    kinds = {(p.dtype, p.device) for p in params}
    if len(kinds) > 1:
        raise ValueError(
            f"parameters must share one dtype and device to travel in one buffer, got {kinds}"
        )
