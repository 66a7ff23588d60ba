"""Activations written by hand.  Replace ``torch.relu``, ``torch.tanh``, ``torch.sigmoid``,
``F.gelu`` (exact), ``F.softmax``, ``F.log_softmax`` (and ``F.logsigmoid``, used by the BCE loss).

Each function is built from elementary tensor ops (exp, expm1, log, log1p, erfc, where, max, sum)
and autograd differentiates it; none calls the torch function of the same name.

Numerical stability is the whole craft here. A formula that is right on paper overflows in
floating point: ``exp(1000)`` is ``inf`` in float64, and ``inf/inf`` is ``nan``. Two tricks keep
every value and every gradient finite wherever PyTorch's are:

* **Shift by the max** (softmax, log_softmax): softmax(x) = softmax(x − c) for any constant c;
  with c = max(x) every exponent is ≤ 0, so exp never overflows and the largest term is exactly 1.
  The shift is ``detach()``-ed: it is a constant, and its derivative would cancel anyway.
* **Work with a = |x|** (sigmoid, tanh, logsigmoid): write the function on x ≥ 0 in terms of
  e^(−a) ∈ (0, 1] and use its symmetry for x < 0. Here a = s·x with s = +1 for x ≥ 0 and −1 for
  x < 0 (``torch.abs`` would do, but its gradient at 0 is 0, which would make σ'(0) = 0).
  Both branches of the ``where`` stay finite: a ``where`` whose unused branch is ``inf`` still
  back-propagates ``0·inf = nan``.
"""

from __future__ import annotations

import math

import torch


def _sign_and_abs(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """s = +1 where x ≥ 0 else −1 (a constant);  a = s·x = |x|, with ∂a/∂x = s (= +1 at 0)."""
    s = torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))
    return s, s * x


def relu(x: torch.Tensor) -> torch.Tensor:
    """relu(x) = max(x, 0).   ≙ ``torch.relu``.

    relu'(x) = 1 for x > 0, 0 for x ≤ 0 (PyTorch's choice at the kink x = 0, kept here).
    The plain form is ``torch.where(x <= 0, 0.0, x)`` (NaN passes through, as in PyTorch). It is
    computed with ``torch.threshold(x, 0, 0)``, the generic "v if x ≤ θ else x" op, which does the
    same in one kernel forward and one backward; the plain form takes two each and made an MLP
    step 30 % slower than ``nn.ReLU`` (docs/benchmarks.md).
    """
    return torch.threshold(x, 0.0, 0.0)  # where(x <= 0, 0, x)


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """σ(x) = 1 / (1 + e^(−x)).   ≙ ``torch.sigmoid``.

    With a = |x| and e = e^(−a) ∈ (0, 1]:
        σ(x) = 1 / (1 + e)      for x ≥ 0
        σ(x) = e / (1 + e)      for x < 0      (= 1 − σ(|x|), without the cancellation)
    σ'(x) = σ(x)·(1 − σ(x)) comes out of autograd.
    """
    _, a = _sign_and_abs(x)
    e = torch.exp(-a)  # in (0, 1]: never overflows
    return torch.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def logsigmoid(x: torch.Tensor) -> torch.Tensor:
    """log σ(x) = −log(1 + e^(−x)) = −softplus(−x).   ≙ ``F.logsigmoid``.

    With a = |x|:
        log σ(x) = −log1p(e^(−a))           for x ≥ 0
        log σ(x) = x − log1p(e^(−a))        for x < 0
    i.e. log σ(x) = min(x, 0) − log1p(e^(−|x|)). Finite for x = ±1000 (≈ 0 and ≈ −1000).
    """
    _, a = _sign_and_abs(x)
    return torch.where(x >= 0, 0.0, x) - torch.log1p(torch.exp(-a))


def tanh(x: torch.Tensor) -> torch.Tensor:
    """tanh(x) = (e^x − e^(−x)) / (e^x + e^(−x)).   ≙ ``torch.tanh``.

    tanh is odd, so with s = sign(x), a = |x|:
        tanh(x) = s · (1 − e^(−2a)) / (1 + e^(−2a)) = s · −expm1(−2a) / (1 + e^(−2a))
    ``expm1`` keeps tanh(x) ≈ x accurate for tiny x, where 1 − e^(−2a) would cancel.
    tanh'(x) = 1 − tanh(x)² comes out of autograd.
    """
    s, a = _sign_and_abs(x)
    e2 = torch.exp(-2.0 * a)  # in (0, 1]
    return s * -torch.expm1(-2.0 * a) / (1.0 + e2)


def gelu(x: torch.Tensor) -> torch.Tensor:
    """GELU(x) = x·Φ(x), Φ the standard normal CDF.   ≙ ``F.gelu(x, approximate='none')``.

        Φ(x) = ½·(1 + erf(x/√2)) = ½·erfc(−x/√2)
    The erfc form is the same function; it keeps Φ accurate in the left tail, where 1 + erf(·)
    cancels to 0 (PyTorch uses the erf form, so the two differ there by < 1e-16 absolute).
    This is the exact GELU, not the tanh approximation (``approximate='tanh'``).
    """
    phi = 0.5 * torch.erfc(-x / math.sqrt(2.0))  # Φ(x)
    return x * phi


def _shifted(x: torch.Tensor, dim: int) -> torch.Tensor:
    """z = x − max(x, dim): every entry ≤ 0, the largest exactly 0 (the max is a constant)."""
    m = x.detach().amax(dim=dim, keepdim=True)  # (..., 1, ...): a constant, nothing recorded
    return x - m


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """softmax(x)ᵢ = e^(xᵢ) / Σⱼ e^(xⱼ) along ``dim``.   ≙ ``F.softmax(x, dim)``.

    Computed as e^(zᵢ) / Σⱼ e^(zⱼ) with z = x − max(x): same value, no overflow, and the
    denominator is ≥ 1. (PyTorch's ``dim`` has no default for softmax; here it is −1, the class
    dimension of an (N, C) batch.)
    """
    z = _shifted(x, dim)
    e = torch.exp(z)  # entries in [0, 1]
    return e / e.sum(dim=dim, keepdim=True)


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """log softmax(x)ᵢ = xᵢ − log Σⱼ e^(xⱼ) along ``dim``.   ≙ ``F.log_softmax(x, dim)``.

    With z = x − max(x) (log-sum-exp trick):
        log softmax(x)ᵢ = zᵢ − log Σⱼ e^(zⱼ)
    The sum is ≥ 1, so the log is finite; log(softmax(x)) instead would give log(0) = −inf for
    logits far below the max (e.g. (1000, −1000)).
    """
    z = _shifted(x, dim)
    return z - torch.log(torch.exp(z).sum(dim=dim, keepdim=True))
