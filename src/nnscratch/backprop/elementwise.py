"""Vector-Jacobian products of the elementary tensor operations, by hand.  Replace the
``grad_fn`` nodes (``AddBackward0``, ``MulBackward0``, ``SumBackward1``...) of ``loss.backward()``.

Each function takes g = ∂L/∂(output) and what the forward kept, and returns ∂L/∂(input): the
chain rule for one operation, the rules `nnscratch.autograd` applies node by node.

    z = x + y          ∂x = g                      ∂y = g
    z = x − y          ∂x = g                      ∂y = −g
    z = x ⊙ y          ∂x = g ⊙ y                  ∂y = g ⊙ x
    z = x / y          ∂x = g / y                  ∂y = −g ⊙ x / y²  = −g ⊙ z / y
    z = xʸ             ∂x = g ⊙ y·xʸ⁻¹ (0 where y = 0)     ∂y = g ⊙ z·log x (0 where x = 0, y ≥ 0)
    z = eˣ             ∂x = g ⊙ z                  z = log x       ∂x = g / x
    z = e^x − 1        ∂x = g ⊙ (z + 1)            z = log(1 + x)  ∂x = g / (1 + x)
    z = erfc x         ∂x = g ⊙ −(2/√π)·e^(−x²)    z = √x          ∂x = g / (2z)
    z = |x|            ∂x = g ⊙ sign(x)            (0 at x = 0, PyTorch's choice)
    z = where(c, x, y) ∂x = g where c, else 0      ∂y = g where not c, else 0
    z = Σ_dims x       ∂x = g broadcast back over the summed dims
    z = mean_dims x    ∂x = g / n broadcast back   (n = the number of values averaged)
    z = max_dims x     ∂x = g shared among the maxima (ties split it evenly, as in PyTorch)
    z, i = max(x, d)   ∂x = g at the index i found (the first maximum: ties do not share it)

**Broadcasting.** ``x + y`` with x: (N, F) and y: (F,) reads every y[f] N times, so y's gradient
is the sum of those N contributions: whatever dims broadcasting added or stretched (from size 1)
are summed away again, `unbroadcast`. Forgetting it gives a gradient of the wrong shape, or, for a
(1, F) operand, one that is silently N times too small (autograd sums for you; a hand-written
backward must).
"""

from __future__ import annotations

import math

import torch

TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def unbroadcast(g: torch.Tensor, shape: torch.Size | tuple[int, ...]) -> torch.Tensor:
    """Σ g over the dims broadcasting added (leading) or stretched (size 1 in ``shape``)."""
    if g.shape == shape:
        return g
    extra = g.dim() - len(shape)
    if extra > 0:
        g = g.sum(dim=tuple(range(extra)))  # the leading dims broadcasting added
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(dim=stretched, keepdim=True)  # the dims stretched from size 1
    return g


def mul_backward(g: torch.Tensor, other: torch.Tensor | float) -> torch.Tensor:
    """z = x ⊙ y:  ∂x = g ⊙ y (before unbroadcasting to x's shape)."""
    return g * other


def div_backward_denominator(
    g: torch.Tensor, z: torch.Tensor, y: torch.Tensor | float
) -> torch.Tensor:
    """z = x / y:  ∂y = −g ⊙ x/y² = −g ⊙ z / y."""
    return -g * z / y


def pow_backward(g: torch.Tensor, x: torch.Tensor, p: torch.Tensor | float) -> torch.Tensor:
    """z = xᵖ:  ∂x = g ⊙ p·xᵖ⁻¹, p a number or a tensor (broadcast with x); 0 where p = 0, as
    PyTorch (z = 1 there: 0·x⁻¹ would be NaN at x = 0).  x·2 for p = 2: one kernel, not a pow."""
    if isinstance(p, torch.Tensor):
        return torch.where(p == 0, 0.0, g * (p * x.pow(p - 1)))
    if p == 0:
        return torch.zeros_like(g)
    if p == 2:
        return g * (2.0 * x)
    return g * (p * x.pow(p - 1))


def pow_backward_exponent(
    g: torch.Tensor, x: torch.Tensor | float, y: torch.Tensor, z: torch.Tensor
) -> torch.Tensor:
    """z = xʸ = e^(y·log x):  ∂y = g ⊙ z·log x, x a tensor or a number (``2 ** y``).

    Where x = 0 and y ≥ 0, z is 0 or 1 whatever y does nearby: 0 there, as PyTorch (z·log x
    would be 0·(−∞) = NaN). Where x < 0, log x is NaN, and so is ∂y (PyTorch's choice too: xʸ
    for a real y is not differentiable in y there)."""
    x = torch.as_tensor(x, dtype=z.dtype, device=z.device)
    at_zero = (x == 0) & (y >= 0)
    return g * torch.where(at_zero, 0.0, z * x.log())


def exp_backward(g: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """z = eˣ:  ∂x = g ⊙ z."""
    return g * z


def expm1_backward(g: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """z = eˣ − 1:  ∂x = g ⊙ eˣ = g ⊙ (z + 1)."""
    return g * (z + 1.0)


def log_backward(g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """z = log x:  ∂x = g / x."""
    return g / x


def log1p_backward(g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """z = log(1 + x):  ∂x = g / (1 + x)."""
    return g / (1.0 + x)


def erfc_backward(g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """z = erfc x = 1 − (2/√π)∫₀ˣ e^(−t²) dt:  ∂x = −g ⊙ (2/√π)·e^(−x²)."""
    return g * (-TWO_OVER_SQRT_PI * torch.exp(-x * x))


def sqrt_backward(g: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """z = √x:  ∂x = g / (2√x) = g / (2z)."""
    return g / (2.0 * z)


def abs_backward(g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """z = |x|:  ∂x = g ⊙ sign(x)  (0 at x = 0)."""
    return g * x.sign()


def where_backward(g: torch.Tensor, condition: torch.Tensor, branch: bool) -> torch.Tensor:
    """z = where(c, x, y):  g flows to x where c holds (``branch`` True), to y elsewhere."""
    zero = g.new_zeros(())
    return torch.where(condition, g, zero) if branch else torch.where(condition, zero, g)


def masked_fill_backward(g: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """z = x with the masked entries replaced by a constant:  ∂x = g, 0 where masked."""
    return g.masked_fill(mask, 0.0)


def sum_backward(
    g: torch.Tensor, shape: torch.Size, dims: tuple[int, ...] | None, keepdim: bool
) -> torch.Tensor:
    """z = Σ_dims x:  every x in a sum moved z by 1, so ∂x = g copied over the summed dims
    (a broadcast view: no copy)."""
    if dims is not None and not keepdim:
        for d in sorted(d % len(shape) for d in dims):
            g = g.unsqueeze(d)  # the summed dims back, as size 1
    return g.expand(shape)


def mean_backward(
    g: torch.Tensor, shape: torch.Size, dims: tuple[int, ...] | None, keepdim: bool
) -> torch.Tensor:
    """z = (1/n) Σ_dims x:  ∂x = g / n copied over the averaged dims."""
    n = math.prod(shape) if dims is None else math.prod(shape[d] for d in dims)
    return sum_backward(g / n, shape, dims, keepdim)


def amax_backward(
    g: torch.Tensor, x: torch.Tensor, z: torch.Tensor, dims: tuple[int, ...], keepdim: bool
) -> torch.Tensor:
    """z = max_dims x:  g goes to the maxima, split evenly among ties."""
    if not keepdim:
        for d in sorted(d % x.dim() for d in dims):
            g, z = g.unsqueeze(d), z.unsqueeze(d)
    winners = (x == z).to(g.dtype)  # 1 at every maximum
    return g * winners / winners.sum(dim=dims, keepdim=True)


def max_dim_backward(
    g: torch.Tensor, shape: torch.Size, dim: int, indices: torch.Tensor, keepdim: bool
) -> torch.Tensor:
    """z, i = x.max(dim):  g goes to the one entry i points at (the first maximum), as
    PyTorch's ``max(dim)`` sends it; z = x.gather(dim, i), so this is `gather_backward`."""
    if not keepdim:
        g, indices = g.unsqueeze(dim), indices.unsqueeze(dim)
    return gather_backward(g, shape, dim, indices)


def gather_backward(
    g: torch.Tensor, shape: torch.Size, dim: int, index: torch.Tensor
) -> torch.Tensor:
    """z = x.gather(dim, index):  each read adds its g back where it was read from."""
    return g.new_zeros(shape).scatter_add_(dim, index, g)


def index_backward(g: torch.Tensor, shape: torch.Size, index: object) -> torch.Tensor:
    """z = x[index]:  the read entries get g, added up where an index repeats (an integer
    tensor on dim 0: the embedding rule, rows += with ``index_add_``); the others get 0."""
    gx = g.new_zeros(shape)
    if isinstance(index, torch.Tensor) and not index.dtype == torch.bool:
        row = shape[1:]
        return gx.index_add_(0, index.reshape(-1), g.reshape(-1, *row))
    gx[index] = g  # slices, integers, masks: no entry is read twice
    return gx
