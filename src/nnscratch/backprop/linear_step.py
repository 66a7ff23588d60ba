"""Steps 1–3 of a linear model by hand, into buffers allocated once.  Replaces ``loss.backward()``.

The same formulas as `nnscratch.backprop.network` for one `Linear` layer (W: (O, F), b: (O,))
on a fixed batch X: (N, F), written so that a step allocates nothing:

    forward    z = X Wᵀ + b                              addmm(b, X, Wᵀ, out=z)      (N, O)
    mse        r = z − y,   L = rᵀr / (N·O)  (a dot)     δ = 2·r / (N·O)
    bce        L = mean(softplus(z) − y·z)               δ = (σ(z) − y) / (N·O)
    backward   ∂L/∂W = δᵀ X      (O, N)@(N, F)          addmm(δᵀ, X, alpha=…, out=gW)
               ∂L/∂b = δᵀ 1      (O,)                    addmv(δᵀ, 1, alpha=…, out=gb)

The constant of δ (2/(N·O) or 1/(N·O)) rides on the products as their ``alpha`` rather than
costing a pass of its own, and sums are products with a ones vector; the plain form of each line
is in its comment.

Why buffers: on a small problem a step is a handful of kernels of a few microseconds each, and
allocating their outputs costs as much again; with ``out=`` every kernel writes into memory it
owns already (`network.loss_and_grads` is the plain form: fresh tensors each step).

The gradients land in ``p.grad`` as the buffers themselves (``p.grad = gW``), so they are
overwritten by the next call: read them before it, or clone them. A parameter whose ``.grad`` is
not None at the call (a reset without ``set_to_none``, or accumulation on purpose) gets
``p.grad += g`` as autograd would, through a copy. The loss comes back as a 0-dim tensor.
"""

from __future__ import annotations

import torch

from nnscratch.layers import Linear
from nnscratch.losses import binary_cross_entropy_with_logits, mse_loss


class LinearStep:
    """Forward, loss and hand-derived backward of one ``Linear`` on one fixed-shape batch.

    Args:
        layer: the `Linear` (``LinearRegression`` / ``LogisticRegression``) to train.
        loss_fn: ``mse_loss`` or ``binary_cross_entropy_with_logits`` (mean reduction).

    Example::

        step = LinearStep(model, mse_loss)
        loss = step(X, y)          # fills model.weight.grad, model.bias.grad
        optimizer.step(); optimizer.zero_grad()
    """

    LOSSES = {mse_loss: "mse", binary_cross_entropy_with_logits: "bce"}

    def __init__(self, layer: Linear, loss_fn) -> None:
        if not supports(layer, loss_fn):
            raise ValueError("LinearStep: a Linear layer with mse_loss or bce_with_logits only")
        self.layer, self.kind = layer, self.LOSSES[loss_fn]
        self.shape: tuple[int, ...] | None = None

    def _allocate(self, X: torch.Tensor) -> None:
        W = self.layer.weight  # (O, F)
        n, o = X.shape[0], W.shape[0]
        self.z = X.new_empty(n, o)  # (N, O) forward output, then r = z − y in place
        self.zT, self.z_flat = self.z.T, self.z.view(-1)  # views of it, made once: (O, N), (N·O,)
        self.loss = X.new_empty(())  # L, 0-dim
        self.gW = torch.empty_like(W)  # (O, F)
        self.gb = None if self.layer.bias is None else torch.empty_like(self.layer.bias)  # (O,)
        self.ones = X.new_ones(n)  # (N,)  Σᵢ as a product
        self.scale = 1.0 / (n * o)
        self.shape = tuple(X.shape)

    @torch.no_grad()
    def __call__(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.shape != tuple(X.shape):
            self._allocate(X)
        W, b, z, c = self.layer.weight, self.layer.bias, self.z, self.scale
        for p, buffer in ((W, self.gW), (b, self.gb)):
            if p is not None and p.grad is buffer:  # last step's g, not reset: keep it
                p.grad = buffer.clone()
        if b is None:
            torch.mm(X, W.T, out=z)  # z = X Wᵀ
        else:
            torch.addmm(b, X, W.T, out=z)  # z = X Wᵀ + b                       (N, O)
        if self.kind == "mse":
            torch.sub(z, y, out=z)  # r = z − y                                 (N, O)
            r = self.z_flat  # (N·O,)
            torch.dot(r, r, out=self.loss).mul_(
                c
            )  # L = rᵀr/(N·O)  (a dot: a (1,N)@(N,1) mm is 15× slower at 1M)
            c = 2 * c  # δ = 2·r/(N·O): the factor rides on the two products below
        else:
            # L = mean(softplus(z) − y·z), the stable −[y·log σ(z) + (1 − y)·log(1 − σ(z))]
            self.loss.copy_((_softplus(z) - y * z).sum()).mul_(c)  # (allocates temporaries)
            z.sigmoid_().sub_(y)  # σ(z) − y; δ = (σ(z) − y)/(N·O)
        torch.addmm(self.gW, self.zT, X, beta=0, alpha=c, out=self.gW)  # ∂L/∂W = δᵀX  (O, F)
        _land(W, self.gW)
        if b is not None:
            torch.addmv(self.gb, self.zT, self.ones, beta=0, alpha=c, out=self.gb)  # Σᵢ δᵢ  (O,)
            _land(b, self.gb)
        return self.loss


def _softplus(z: torch.Tensor) -> torch.Tensor:
    """log(1 + eᶻ) without overflow: max(z, 0) + log1p(e^(−|z|))."""
    return z.clamp(min=0) + torch.log1p(torch.exp(-z.abs()))


def _land(p: torch.Tensor, g: torch.Tensor) -> None:
    """Autograd's AccumulateGrad with g: the buffer itself when p.grad is None, else p.grad += g."""
    if not p.requires_grad:
        return
    if p.grad is None:
        p.grad = g
    else:
        p.grad.add_(g)  # in place, as autograd accumulates


def supports(model, loss_fn) -> bool:
    """A plain `Linear` (not a subclass with its own forward) with a loss LinearStep knows."""
    return (
        isinstance(model, Linear)
        and type(model).forward is Linear.forward
        and loss_fn in LinearStep.LOSSES
    )
