"""Steps 1–3 of a linear model by hand, into buffers allocated once.  Replaces ``loss.backward()``.

The same formulas as `nnscratch.backprop.network` for one `Linear` layer (W: (O, F), b: (O,))
on a fixed batch X: (N, F), y: (N, O), with c = 1/(N·O) (the mean):

    forward    z = X Wᵀ + b                                                      (N, O)
    mse        L = c · Σ (z − y)²               δ = ∂L/∂z = 2c · (z − y)
    bce        L = c · Σ softplus(z) − y·z      δ = ∂L/∂z = c · (σ(z) − y)
    backward   ∂L/∂W = δᵀ X    (O, F)           ∂L/∂b = Σᵢ δᵢ    (O,)

written so that a step allocates nothing and launches as few kernels as it can:

- every output goes into a buffer the step owns (``out=``): on a small problem a step is a
  handful of kernels of a microsecond or two, and allocating their outputs costs as much again
  (`network.loss_and_grads` is the plain form: fresh tensors each step);
- for mse the forward computes δ itself: z ← 2c·(X Wᵀ + b) − 2c·y is one ``addmm`` (β = α = 2c)
  and one ``sub`` (α = 2c), so no pass is spent scaling, and L = δᵀδ / (4c) is one dot;
- scale factors that must multiply a result are 0-dim *tensors* made once (``t.mul_(tensor)``
  takes ~1 µs here, ``t.mul_(python_float)`` ~2.5 µs: the float is wrapped each call);
- Σᵢ is a ``sum``, and δᵀX with one feature and one output is a ``dot``: this BLAS runs a
  (1, N)·(N, 1) product as a strided loop (1.15 ms at N = 1,000,000 against 0.1 ms for the dot,
  and 13 µs against 2 µs for Σ at N = 10,000);
- no autograd bookkeeping at all: the parameters are read through ``detach()``ed aliases made
  once (they share memory, so the optimizer's in-place updates show through), so the step
  needs no ``torch.no_grad()`` (1.5 µs a call).

The gradients land in ``p.grad`` as the buffers themselves (``p.grad = gW``), so they are
overwritten by the next call: read them before it, or clone them. A parameter whose ``.grad`` is
not None at the call (a reset without ``set_to_none``, or accumulation on purpose) gets
``p.grad += g`` as autograd would, through a copy. The loss comes back as a 0-dim tensor, also a
buffer.
"""

from __future__ import annotations

import torch

from nnscratch.layers import Linear
from nnscratch.losses import binary_cross_entropy_with_logits, mse_loss

DOT_ROWS = 4096  # from this many rows on, δᵀX with F = O = 1 is a dot (see the module docstring)


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
        self.shape: torch.Size | None = None
        self.W = self.b = None  # the parameters the aliases below belong to

    def _allocate(self, X: torch.Tensor) -> None:
        W, b = self.layer.weight, self.layer.bias  # (O, F), (O,)
        n, o = X.shape[0], W.shape[0]
        self.W, self.b, self.shape = W, b, X.shape
        self.Wt = W.detach().T  # (F, O) alias of W: no autograd, follows in-place updates
        self.bd = None if b is None else b.detach()  # (O,) alias of b
        self.w = self.Wt.view(-1) if o == 1 else None  # (F,) alias of W's one row
        self.z = X.new_empty(n, o)  # (N, O) forward output, then δ in place
        self.zT, self.z_flat = self.z.T, self.z.view(-1)  # views made once: (O, N), (N·O,)
        self.loss = X.new_empty(())  # L, 0-dim
        self.gW = torch.empty_like(W.detach())  # (O, F)
        self.gb = None if b is None else torch.empty_like(self.bd)  # (O,)
        self.gW0 = self.gW.view(()) if self.gW.numel() == 1 else None
        self.dot = self.gW0 is not None and n >= DOT_ROWS  # δᵀX as a dot (one feature, one out)
        c = 1.0 / (n * o)
        if self.kind == "mse":
            self.s = 2 * c  # z holds δ = 2c·(z − y) straight from the forward
            self.L_of_dot = X.new_tensor(1 / (4 * c))  # L = δᵀδ / (4c)
        else:
            self.c = X.new_tensor(c)
            self.softplus = X.new_empty(n, o)  # softplus(z) − y·z, then summed
            self.softplus_flat = self.softplus.view(-1)  # (N·O,)
            self.zero = X.new_zeros(())  # softplus(z) = logaddexp(0, z), stable for any z

    def __call__(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        layer = self.layer
        if self.shape != X.shape or layer.weight is not self.W or layer.bias is not self.b:
            self._allocate(X)
        if X.requires_grad or y.requires_grad:  # data is data: no graph through it either
            X, y = X.detach(), y.detach()
        W, b, z, gW, gb = self.W, self.b, self.z, self.gW, self.gb
        if W.grad is gW:  # last step's g, not reset: keep it as the accumulated value
            W.grad = gW.clone()
        if b is not None and b.grad is gb:
            b.grad = gb.clone()
        if self.kind == "mse":  # z = 2c·(X Wᵀ + b), then δ = z − 2c·y = 2c·(X Wᵀ + b − y)
            self._forward(X, self.s)
            torch.sub(z, y, alpha=self.s, out=z)  # δ                             (N, O)
            torch.dot(self.z_flat, self.z_flat, out=self.loss).mul_(self.L_of_dot)  # L = δᵀδ/(4c)
        else:
            self._forward(X, 1.0)  # z = X Wᵀ + b                                (N, O)
            t = torch.logaddexp(self.zero, z, out=self.softplus)  # softplus(z) = log(1 + eᶻ)
            t.addcmul_(y, z, value=-1)  # softplus(z) − y·z = −[y·log σ(z) + (1 − y)·log(1 − σ(z))]
            torch.sum(self.softplus_flat, 0, out=self.loss).mul_(self.c)  # L = c·Σ
            torch.sigmoid(z, out=z).sub_(y).mul_(self.c)  # δ = c·(σ(z) − y)
        if self.dot:
            torch.dot(X.reshape(-1), self.z_flat, out=self.gW0)  # ∂L/∂W = δᵀX (one number)
        else:
            torch.mm(self.zT, X, out=gW)  # ∂L/∂W = δᵀX                          (O, F)
        _land(W, gW)
        if b is not None:
            torch.sum(z, 0, out=gb)  # ∂L/∂b = Σᵢ δᵢ                              (O,)
            _land(b, gb)
        return self.loss

    def _forward(self, X: torch.Tensor, s: float) -> None:
        """z = s·(X Wᵀ + b) into the buffer: ``addmv`` with one output (at N = 1,000,000 a
        matrix–vector product takes 0.22 ms where the (N, 1) ``addmm`` takes 0.55), else ``addmm``."""
        z, bd = self.z, self.bd
        if self.w is not None:  # one output: z = s·(X w + b)                    (N,)
            torch.addmv(
                self.z_flat if bd is None else bd,
                X,
                self.w,
                beta=0 if bd is None else s,
                alpha=s,
                out=self.z_flat,
            )
        elif bd is None:
            torch.addmm(z, X, self.Wt, beta=0, alpha=s, out=z)  # s·X Wᵀ
        else:
            torch.addmm(bd, X, self.Wt, beta=s, alpha=s, out=z)  # s·(X Wᵀ + b)    (N, O)


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
