"""Starting every rank from the same parameters.  Replaces the broadcast in
``DistributedDataParallel.__init__`` (``_sync_module_states``).

Data-parallel training keeps W copies of the model that must stay equal: they start equal, and
each step applies the same averaged gradient, so they stay equal. DDP makes the start equal by
broadcasting rank 0's parameters when it wraps the model; here, in one flat buffer:

    flat ← cat(p.reshape(−1) for p in params)     (P,)   on every rank
    flat ← broadcast(flat, src)                           now rank src's values everywhere
    p ← flat[offset_p : offset_p + numel_p]               copied in place, p stays a leaf

`ranks_agree` checks the invariant: it gathers every rank's flat tensors and compares them.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.distributed as dist

from nnscratch.run.distributed import process_group


@torch.no_grad()
def broadcast_parameters_(params: Iterable[torch.Tensor], src: int = 0) -> None:
    """Overwrite every rank's parameters, in place, with rank ``src``'s."""
    params = list(params)
    world = process_group.world_size()
    if not 0 <= src < world:
        raise ValueError(f"src should be a rank in [0, {world}), but got {src}")
    if not process_group.is_distributed():
        return
    flat = torch.cat([p.detach().reshape(-1) for p in params])  # (P,)
    dist.broadcast(flat, src=src)
    offset = 0
    for p in params:
        p.copy_(flat[offset : offset + p.numel()].view_as(p))  # in place: p stays the same leaf
        offset += p.numel()


@torch.no_grad()
def ranks_agree(tensors: Iterable[torch.Tensor]) -> bool:
    """True when every rank holds bit-identical ``tensors`` (same on all ranks; one all-gather)."""
    flat = torch.cat([t.detach().reshape(-1) for t in tensors])  # (P,)
    if not process_group.is_distributed():
        return True
    everyone = [torch.empty_like(flat) for _ in range(process_group.world_size())]
    dist.all_gather(everyone, flat)  # W × (P,)
    return all(torch.equal(everyone[0], other) for other in everyone[1:])
