"""A model's parameters in one flat buffer.  The idea behind ``torch.optim.Adam(fused=True)``.

An optimizer written per tensor pays one kernel per line *per parameter*: Adam's six lines over a
model of P tensors launch 6·P kernels a step, and on a small model the launches cost more than the
arithmetic. ``fused=True`` answers in C++; the from-scratch answer is memory layout. Put every
parameter in one flat tensor and give the optimizer that one tensor: each line of the update is
then one kernel for the whole model, and the update reads exactly as before.

    flat = torch.empty(Σ numel)                    one buffer, and one for the gradients
    p.data = flat[a:b].view(shape)                 each parameter: the same leaf tensor, its
    p.grad = flat.grad[a:b].view(shape)            values and gradient now views into the buffers
    loss.backward()                                autograd adds into p.grad in place: flat.grad
    Adam([flat]).step()                            m, v, the update: flat tensors, ~6 kernels
    zero_grad()                                    flat.grad.zero_(): one kernel (never None:
                                                   the views point into it)

The numbers are those of the per-tensor form: every line of Adam (and SGD, RMSprop) is
element-wise, and an element-wise op gives each element the same result whether it runs over one
tensor or over its slice of a larger one (tested with zero tolerance). The per-tensor form stays
the default because it reads as the algorithm; this is the fast option (``--flat-parameters``).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


class FlatParameters:
    """Move ``params`` into one flat leaf tensor ``self.param``, keeping them as views into it.

    Args:
        params: the model's parameters (``model.parameters()``), all of one dtype and device.

    After construction, give the optimizer ``[flat.param]`` instead of the model's parameters.
    ``flat.param.grad`` is the flat gradient; an optimizer's ``zero_grad`` zeroes it in place
    even with ``set_to_none=True`` (it carries ``keeps_grad_buffer``), because dropping it would
    cut the parameters' gradient views loose.

    Example::

        flat = FlatParameters(model.parameters())
        optimizer = Adam([flat.param], lr=1e-3)
        fit(model, X, y, loss_fn=cross_entropy, optimizer=optimizer)
    """

    def __init__(self, params: Iterable[torch.Tensor]) -> None:
        params = [p for p in params if p.requires_grad]
        if not params:
            raise ValueError("FlatParameters needs at least one parameter with requires_grad")
        if len({(p.dtype, p.device) for p in params}) != 1:
            raise ValueError("FlatParameters needs parameters of one dtype and one device")
        p0 = params[0]
        n = sum(p.numel() for p in params)
        self.param = torch.empty(n, dtype=p0.dtype, device=p0.device, requires_grad=True)
        self.param.grad = torch.zeros_like(self.param)  # (n,) the flat gradient
        self.param.keeps_grad_buffer = True  # see `Optimizer.zero_grad`
        self.views: list[tuple[torch.Tensor, slice]] = []
        offset = 0
        with torch.no_grad():
            for p in params:
                part = slice(offset, offset + p.numel())
                self.param[part].copy_(p.reshape(-1))
                p.data = self.param.data[part].view_as(p)  # same leaf; storage in the buffer
                p.grad = self.param.grad[part].view_as(p)  # autograd accumulates into it
                self.views.append((p, part))
                offset += p.numel()

    def check(self) -> None:
        """Raise if a parameter's gradient was replaced (e.g. ``model.zero_grad()`` set it to
        None): autograd would then write a fresh tensor the flat optimizer never sees."""
        grad = self.param.grad
        for p, part in self.views:
            if p.grad is None or p.grad.data_ptr() != grad[part].data_ptr():
                raise RuntimeError(
                    "a parameter's .grad no longer points into the flat buffer; reset with the "
                    "optimizer's zero_grad(), not model.zero_grad() or p.grad = None"
                )
