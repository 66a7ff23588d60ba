"""The optimizer blocks: the update equations written out (raw) or ``torch.optim`` (nn).

The raw update uses the tensor operations `nnscratch.optim` uses (which are ``torch.optim``'s:
``p.add_(g, alpha=-lr)`` for p ← p − lr·g, one fused op whose float32 result can differ in
the last bit from ``p -= lr * g``), with the equation in a comment beside each line, so that
the script's numbers are the run's, bit for bit.
"""

from __future__ import annotations

from nnscratch.lab.export.source import call
from nnscratch.lab.export.spec import Spec

TORCH_NAMES = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop"}


def nn_optimizer(spec: Spec) -> list[str]:
    """``optimizer = torch.optim.X(model.parameters(), lr=..., <non-default arguments>)``."""
    c = spec.config
    args = ["model.parameters()", f"lr={c.lr!r}"]
    if c.optimizer == "sgd":
        args += _given(c, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False)
    elif c.optimizer in ("adam", "adamw"):
        if c.betas_pair() != (0.9, 0.999):
            args.append(f"betas={c.betas_pair()!r}")
        args += _given(c, eps=1e-8)
        # AdamW's own default weight_decay is 0.01; the run's value is always given
        args += [f"weight_decay={c.weight_decay!r}"] if c.optimizer == "adamw" else []
        args += _given(c, weight_decay=0.0) if c.optimizer == "adam" else []
    else:
        args += _given(c, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0)
    return call(f"optimizer = torch.optim.{TORCH_NAMES[c.optimizer]}", args)


def _given(config, **defaults) -> list[str]:
    return [f"{k}={getattr(config, k)!r}" for k, v in defaults.items() if getattr(config, k) != v]


def raw_state(spec: Spec) -> list[str]:
    """Hyperparameters and per-parameter state, before the loop."""
    c = spec.config
    name = TORCH_NAMES[c.optimizer]
    lines = [f"# -- optimizer: torch.optim.{name}'s update, written out (step 4 below)"]
    lines.append(f"lr = {c.lr!r}" if c.scheduler != "linear" else f"LR = {c.lr!r}")
    if c.weight_decay:
        lines.append(f"WEIGHT_DECAY = {c.weight_decay!r}")
    if c.optimizer == "sgd":
        if c.momentum:
            lines.append(f"MOMENTUM = {c.momentum!r}")
            if c.dampening:
                lines.append(f"DAMPENING = {c.dampening!r}")
            lines.append("buffers = [torch.zeros_like(p) for p in params]  # momentum b")
        return lines
    if c.optimizer in ("adam", "adamw"):
        b1, b2 = c.betas_pair()
        return lines + [
            f"BETA1, BETA2, EPS = {b1!r}, {b2!r}, {c.eps!r}",
            "m = [torch.zeros_like(p) for p in params]  # first moments (exp_avg)",
            "v = [torch.zeros_like(p) for p in params]  # second moments (exp_avg_sq)",
        ]
    lines += [
        f"ALPHA, EPS = {c.alpha!r}, {c.eps!r}",
        "v = [torch.zeros_like(p) for p in params]  # running mean of g² (square_avg)",
    ]
    if c.momentum:
        lines += [
            f"MOMENTUM = {c.momentum!r}",
            "buffers = [torch.zeros_like(p) for p in params]  # momentum b",
        ]
    return lines


def uses_step(spec: Spec) -> bool:
    """Does the update need the step count t (Adam's bias correction, SGD's first buffer)?"""
    c = spec.config
    return c.optimizer in ("adam", "adamw") or (c.optimizer == "sgd" and c.momentum != 0)


def raw_update(spec: Spec) -> list[str]:
    """The body of ``with torch.no_grad():`` (step 4)."""
    c = spec.config
    decay = ["g = p.grad.add(p, alpha=WEIGHT_DECAY)  # g + λ·p, the L2 penalty's gradient"]
    grad = decay if c.weight_decay and c.optimizer != "adamw" else ["g = p.grad"]
    if c.optimizer == "sgd":
        if not c.momentum:
            if not c.weight_decay:  # p -= lr * p.grad, as one fused op (torch.optim's)
                return ["for p in params:", "    p.add_(p.grad, alpha=-lr)  # p ← p − lr·g"]
            return ["for p in params:", *_in(grad), "    p.add_(g, alpha=-lr)  # p ← p − lr·g"]
        add = "add_(g, alpha=1 - DAMPENING)" if c.dampening else "add_(g)"
        rule = "b ← μ·b + (1 − τ)·g" if c.dampening else "b ← μ·b + g"
        body = [
            *grad,
            "if step == 1:",
            "    buf.copy_(g)  # b ← g: the buffer starts at the first gradient",
            "else:",
            f"    buf.mul_(MOMENTUM).{add}  # {rule}",
        ]
        if c.nesterov:
            body += ["p.add_(g.add(buf, alpha=MOMENTUM), alpha=-lr)  # p ← p − lr·(g + μ·b)"]
        else:
            body += ["p.add_(buf, alpha=-lr)  # p ← p − lr·b"]
        return ["for p, buf in zip(params, buffers, strict=True):", *_in(body)]
    if c.optimizer in ("adam", "adamw"):
        body = list(grad)
        if c.optimizer == "adamw" and c.weight_decay:
            body.append("p.mul_(1 - lr * WEIGHT_DECAY)  # decoupled decay: p ← p − lr·λ·p")
        body += [
            "m_p.lerp_(g, 1 - BETA1)  # m ← β₁·m + (1 − β₁)·g",
            "v_p.mul_(BETA2).addcmul_(g, g, value=1 - BETA2)  # v ← β₂·v + (1 − β₂)·g²",
            "# p ← p − lr·m̂ / (√v̂ + ε), with m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ)",
            "denom = v_p.sqrt().div_(bias_correction2**0.5).add_(EPS)  # √v̂ + ε",
            "p.addcdiv_(m_p, denom, value=-lr / bias_correction1)",
        ]
        return [
            "bias_correction1 = 1 - BETA1**step",
            "bias_correction2 = 1 - BETA2**step",
            "for p, m_p, v_p in zip(params, m, v, strict=True):",
            *_in(body),
        ]
    body = [
        *grad,
        "v_p.mul_(ALPHA).addcmul_(g, g, value=1 - ALPHA)  # v ← α·v + (1 − α)·g²",
        "d = v_p.sqrt() + EPS  # √v + ε",
    ]
    if c.momentum:
        body += [
            "buf.mul_(MOMENTUM).addcdiv_(g, d)  # b ← μ·b + g / d",
            "p.add_(buf, alpha=-lr)  # p ← p − lr·b",
        ]
        return ["for p, v_p, buf in zip(params, v, buffers, strict=True):", *_in(body)]
    body.append("p.addcdiv_(g, d, value=-lr)  # p ← p − lr·g / d")
    return ["for p, v_p in zip(params, v, strict=True):", *_in(body)]


def _in(lines: list[str]) -> list[str]:
    return ["    " + line for line in lines]
