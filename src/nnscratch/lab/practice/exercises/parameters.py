"""Exercise ``parameters``: a linear layer's parameters as leaf tensors, initialised as
``nn.Linear`` does (``nn.Parameter`` and ``reset_parameters`` by hand).

    w ~ U(−k, k), shape (out_features, in_features)        k = 1/√in_features
    b ~ U(−k, k), shape (out_features,)
    both leaves with requires_grad=True: scale first, then ``requires_grad_()``

(nn.Linear's ``kaiming_uniform_(a=√5)`` works out to the same k = 1/√fan_in.) The draws are
random, so the checks are statistics of large layers, normalised by k: max |w|/k ≈ 1,
mean |w|/k ≈ ½, std(w)·√3/k ≈ 1, within `ATOL`.
"""

from __future__ import annotations

import math

import torch

from nnscratch.lab.practice.base import Exercise, Mistake, Params, Seen, Trial, template

ATOL = 0.05  # two draws' statistics (≥ 2,000 numbers each) differ by < 0.05 (3.5 σ)

TEMPLATE = template(
    "parameters",
    "Make a linear layer's weight and bias as leaf tensors that require grad, with the\n"
    "shapes and the initialisation of nn.Linear(in_features, out_features).",
    "nnscratch pitfalls requires-grad-before-init",
    '''
def make_parameters(in_features, out_features):
    """Return (w, b) as nn.Linear(in_features, out_features) would make them.

    w has nn.Linear's weight shape, b its bias shape; both uniform in [-k, k] with
    k = 1 / sqrt(in_features), float32, leaf tensors with requires_grad=True.
    """
    raise NotImplementedError
''',
    """    torch.manual_seed(0)
    w, b = make_parameters(3, 2)
    print(w.shape, b.shape, w.is_leaf, w.requires_grad)  # (2, 3) (2,) True True
""",
)


def make_parameters(in_features, out_features):
    """The reference."""
    k = 1 / math.sqrt(in_features)
    w = (torch.rand(out_features, in_features) * 2 - 1) * k  # (out, in), U(−k, k)
    b = (torch.rand(out_features) * 2 - 1) * k  # (out,)
    return w.requires_grad_(), b.requires_grad_()  # leaves: made, then marked


def statistics(name: str, t: torch.Tensor, k: float, seen: Seen) -> None:
    t = t.detach().double()
    seen[f"{name}: max |{name}| / k"] = t.abs().max().item() / k
    seen[f"{name}: mean |{name}| / k"] = t.abs().mean().item() / k
    seen[f"{name}: std({name})·√3 / k"] = t.std().item() * math.sqrt(3) / k


def probe(fns, params: Params, seen: Seen) -> None:
    fan_in, fan_out = params["in"], params["out"]
    w, b = fns.make_parameters(fan_in, fan_out)
    seen["w shape"] = list(w.shape)
    seen["b shape"] = list(b.shape)
    seen["leaves"] = w.is_leaf and b.is_leaf
    seen["require grad"] = w.requires_grad and b.requires_grad
    seen["float32"] = w.dtype == torch.float32 and b.dtype == torch.float32
    k = 1 / math.sqrt(fan_in)
    statistics("w", w, k, seen)
    statistics("b", b, k, seen)


def transform(*changes):
    """A prediction: the reference's observations with ``changes`` (quantity test, f) applied."""

    def predict(ctx):
        def fn(q, v, params):
            for test, f in changes:
                if test(q):
                    v = f(v, params)
            return v

        return ctx.transformed(fn)

    return predict


def statistic(q: str) -> bool:
    return "/ k" in q


MISTAKES = (
    Mistake(
        "transposed-shape",
        "make_parameters",
        "w is (in_features, out_features): nn.Linear stores (out_features, in_features), so "
        "that the forward is x @ w.T.",
        "torch.rand(out_features, in_features).",
        predict=transform((lambda q: q == "w shape", lambda v, p: v[::-1])),
    ),
    Mistake(
        "not-leaf",
        "make_parameters",
        "requires_grad=True was set before scaling: the scaled tensor is the result of an "
        "operation, not a leaf, so its .grad stays None.",
        "draw, scale, then `.requires_grad_()`; see `nnscratch pitfalls "
        "requires-grad-before-init`.",
        predict=transform((lambda q: q == "leaves", lambda v, p: False)),
    ),
    Mistake(
        "no-requires-grad",
        "make_parameters",
        "the tensors do not require grad: backward would never fill their .grad.",
        "finish with `.requires_grad_()` on each.",
        predict=transform((lambda q: q == "require grad", lambda v, p: False)),
    ),
    Mistake(
        "fan-out-bound",
        "make_parameters",
        "the range is ±1/√out_features: nn.Linear's bound uses the fan-in, the number of "
        "inputs each output sums over.",
        "k = 1 / sqrt(in_features).",
        predict=transform((statistic, lambda v, p: v * math.sqrt(p["in"] / p["out"]))),
    ),
    Mistake(
        "bound-one-over-fan-in",
        "make_parameters",
        "the range is ±1/in_features: the bound is one over the *square root* of the fan-in.",
        "k = 1 / sqrt(in_features).",
        predict=transform((statistic, lambda v, p: v / math.sqrt(p["in"]))),
    ),
    Mistake(
        "zero-bias",
        "make_parameters",
        "the bias is all zeros: many tutorials do that, nn.Linear draws it from U(−k, k) too.",
        "draw b like w: uniform in [-k, k].",
        predict=transform((lambda q: q.startswith("b:"), lambda v, p: 0.0)),
    ),
    Mistake(
        "normal-init",
        "make_parameters",
        "the weights are normally distributed (torch.randn): nn.Linear draws them uniformly; "
        "for a normal, mean |w| / std(w) = √(2/π) ≈ 0.80, for a uniform √3/2 ≈ 0.87.",
        "torch.rand (uniform in [0, 1)) mapped to [-k, k]: (torch.rand(...) * 2 - 1) * k.",
        broken=lambda got: any(normal(s) for s in got.trials.values()),
    ),
)


def normal(seen: Seen) -> bool:
    """Whether w's mean |w| / std(w) is a normal distribution's √(2/π) (not uniform's √3/2)."""
    mean, std = seen.get("w: mean |w| / k"), seen.get("w: std(w)·√3 / k")
    if not isinstance(mean, float) or not isinstance(std, float) or std <= 0:
        return False
    return abs(mean / (std / math.sqrt(3)) - math.sqrt(2 / math.pi)) < 0.02


EXERCISE = Exercise(
    name="parameters",
    title="leaf parameters, nn.Linear's init",
    functions=("make_parameters",),
    template=TEMPLATE,
    reference={"make_parameters": make_parameters},
    trials=(
        Trial("in=400, out=2000", {"in": 400, "out": 2000}),
        Trial("in=3, out=5000", {"in": 3, "out": 5000}),
    ),
    probe=probe,
    mistakes=MISTAKES,
    hints=(
        "nn.Linear(in, out).weight.shape is (out, in); its bias is (out,).",
        "A leaf is a tensor you made, not the result of an operation: scale first, then mark it "
        "with .requires_grad_().",
        "nn.Linear's range is ±1/√in_features, uniform, for the weight and the bias alike.",
    ),
    see="nnscratch pitfalls requires-grad-before-init",
    rtol=0.0,
    atol=ATOL,
)

ORDER = 10
