"""PyTorch's own module tests as the oracle: every ``module_db`` sample of every mapped class.

PyTorch tests each ``torch.nn`` module on the configurations listed in
``torch.testing._internal.common_modules.module_db``: per class a ``ModuleInfo`` whose
``module_inputs_func`` yields constructor arguments, forward inputs and the training flag. Here
every sample of every class nnscratch maps runs twice, from the same numbers:

    torch.nn:   module = Class(*args, **kwargs);         y = module(*inputs)
    nnscratch:  ours   = the counterpart, same arguments; its parameters and buffers copied in

in float64, then one backward of the same random ∂L/∂y through both. Compared: the output, the
input gradients, the parameter gradients and the buffers after the forward (running statistics).

Each sample ends in one verdict:

    equal       everything compared is within the tolerance (`ATOL`, `RTOL`)
    different   a number differs: always a defect
    refused     nnscratch raised where torch.nn computed: a defect, unless the configuration is
                one of `LEFT_OUT` (the README's mapping table gives the same reasons), then
    left out    with that reason

MultiheadAttention and TransformerEncoderLayer are mapped to nnscratch's *causal*
self-attention and pre-LN/post-LN block: each sample's constructor arguments and its first input
are run in that configuration on both sides (query = key = value = the sample's input, the
sample's masks replaced by the causal mask, ``is_causal=True`` for torch).

The samples change between PyTorch versions: `TORCH_VERSION` is the one this table was written
for (constraints.txt); with another version the test skips, saying so.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from nnscratch import functional as ours_f
from nnscratch import layers
from nnscratch import losses as L
from nnscratch.lab.verify.check import Row

ORDER = 95
TORCH_VERSION = "2.13.0"
F64 = torch.float64
ATOL, RTOL = 1e-10, 1e-9

# What the mapping table leaves out, on purpose; a refusal with any other reason is a defect.
LEFT_OUT = {
    "attention-masks": "arbitrary attention masks and key-padding masks: nnscratch's attention is "
    "causal self-attention only (its samples run with the causal mask)",
    "cross-attention": "add_bias_kv, add_zero_attn, kdim/vdim: extras for cross-attention",
    "dropout-train": "dropout in training draws random masks: compared in eval and in verify's "
    "same-seed dropout row",
}


class LeftOut(Exception):
    """A configuration the mapping table leaves out; ``key`` is one of `LEFT_OUT`."""

    def __init__(self, key: str) -> None:
        assert key in LEFT_OUT
        super().__init__(LEFT_OUT[key])
        self.key = key


@dataclass
class Outcome:
    cls: str  # the torch.nn class
    sample: str  # the sample's description, with the training flag
    verdict: str  # 'equal' | 'different' | 'refused' | 'left out'
    detail: str = ""  # the max difference, the refusal's message or the reason left out


# -- the counterparts -------------------------------------------------------------------------
# Each adapter takes (torch module, constructor args, constructor kwargs) and returns nnscratch's
# callable; forward arguments are passed unchanged unless the adapter returns `Adapted`.


@dataclass
class Adapted:
    ours: Callable[..., Any]
    torch_call: Callable[..., Any]  # how to call the torch module on the same inputs
    ours_call: Callable[..., Any]  # how to call ours


def _layer(cls: type) -> Callable[..., Any]:
    return lambda module, args, kwargs: cls(*args, **kwargs)


def _activation(name: str) -> Callable[..., Any]:
    def make(module: nn.Module, args: tuple, kwargs: dict) -> Any:
        if name == "gelu" and getattr(module, "approximate", "none") != "none":
            raise ValueError("GELU(approximate='tanh') is not written in nnscratch")
        return layers.Activation(name)

    return make


def _dim_function(fn: Callable[..., torch.Tensor]) -> Callable[..., Any]:
    return lambda module, args, kwargs: functools.partial(fn, dim=module.dim)


def _loss(fn: Callable[..., torch.Tensor], *names: str) -> Callable[..., Any]:
    """The loss function with the module's own hyperparameters, read back from the module."""

    def make(module: nn.Module, args: tuple, kwargs: dict) -> Any:
        options = {n: getattr(module, n) for n in names}
        for n in ("weight", "pos_weight"):  # buffers of the loss module
            if n in names and options[n] is not None:
                options[n] = options[n].clone()
        return functools.partial(fn, **options)

    return make


def _mha(module: nn.Module, args: tuple, kwargs: dict) -> Adapted:
    if module.bias_k is not None or module.add_zero_attn or not module._qkv_same_embed_dim:
        raise LeftOut("cross-attention")
    ours = layers.CausalSelfAttention(
        module.embed_dim, module.num_heads, module.dropout, module.in_proj_bias is not None,
        dtype=F64,
    )  # fmt: skip

    def torch_call(m: nn.Module, x: torch.Tensor, *rest: Any, **kw: Any) -> torch.Tensor:
        if not m.batch_first and x.dim() == 3:  # (T, B, E) for torch
            x = x.transpose(0, 1)
        mask = _causal(x.shape[-2])
        y, _ = m(x, x, x, attn_mask=mask, need_weights=False, is_causal=True)
        return y

    def ours_call(o: Any, x: torch.Tensor, *rest: Any, **kw: Any) -> torch.Tensor:
        if not module.batch_first and x.dim() == 3:
            x = x.transpose(0, 1)
        return o(x)

    return Adapted(ours, torch_call, ours_call)


def _causal(t: int) -> torch.Tensor:
    return torch.triu(torch.full((t, t), float("-inf"), dtype=F64), diagonal=1)  # (T, T)


def _encoder_layer(module: nn.Module, args: tuple, kwargs: dict) -> Adapted:
    attn = module.self_attn
    activation = module.activation
    name = {F.relu: "relu", F.gelu: "gelu"}.get(activation)
    if name is None and isinstance(activation, str):
        name = activation
    ours = layers.TransformerBlock(
        attn.embed_dim, attn.num_heads, module.linear1.out_features, module.dropout.p,
        module.norm1.eps, bias=module.linear1.bias is not None, dtype=F64,
        activation=name, norm_first=module.norm_first,
    )  # fmt: skip

    def torch_call(m: nn.Module, x: torch.Tensor, *rest: Any, **kw: Any) -> torch.Tensor:
        mask = _causal(x.shape[-2] if (m.self_attn.batch_first or x.dim() == 2) else x.shape[0])
        return m(x, src_mask=mask, is_causal=True)

    def ours_call(o: Any, x: torch.Tensor, *rest: Any, **kw: Any) -> torch.Tensor:
        if not attn.batch_first and x.dim() == 3:  # (T, B, E) -> (B, T, E) and back
            return o(x.transpose(0, 1)).transpose(0, 1)
        return o(x)

    return Adapted(ours, torch_call, ours_call)


ADAPTERS: dict[str, Callable[..., Any]] = {
    "Linear": _layer(layers.Linear),
    "Conv2d": _layer(layers.Conv2d),
    "MaxPool2d": _layer(layers.MaxPool2d),
    "AvgPool2d": _layer(layers.AvgPool2d),
    "BatchNorm1d": _layer(layers.BatchNorm1d),
    "BatchNorm2d": _layer(layers.BatchNorm2d),
    "LayerNorm": _layer(layers.LayerNorm),
    "Embedding": _layer(layers.Embedding),
    "Flatten": _layer(layers.Flatten),
    "Dropout": _layer(layers.Dropout),
    "ReLU": _activation("relu"),
    "Tanh": _activation("tanh"),
    "Sigmoid": _activation("sigmoid"),
    "GELU": _activation("gelu"),
    "Softmax": _dim_function(ours_f.softmax),
    "LogSoftmax": _dim_function(ours_f.log_softmax),
    "MSELoss": _loss(L.mse_loss, "reduction"),
    "L1Loss": _loss(L.l1_loss, "reduction"),
    "HuberLoss": _loss(L.huber_loss, "reduction", "delta"),
    "BCEWithLogitsLoss": _loss(
        L.binary_cross_entropy_with_logits, "reduction", "weight", "pos_weight"
    ),  # fmt: skip
    "CrossEntropyLoss": _loss(
        L.cross_entropy, "reduction", "weight", "ignore_index", "label_smoothing"
    ),  # fmt: skip
    "MultiheadAttention": _mha,
    "TransformerEncoderLayer": _encoder_layer,
}
"""torch.nn class name -> nnscratch's counterpart (the rows of the mapping table)."""


# -- running one sample -----------------------------------------------------------------------


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors(v)]
    return []


def _clone(value: Any) -> Any:
    """A fresh copy of the forward inputs (a leaf again where the input required grad)."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone().requires_grad_(value.requires_grad)
    if isinstance(value, (tuple, list)):
        return type(value)(_clone(v) for v in value)
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    return value


def _copy_state(theirs: nn.Module, ours: Any) -> list[tuple[str, torch.Tensor]]:
    """Load torch's parameters and buffers into ours; the (name, tensor) pairs of ours' params."""
    if not hasattr(ours, "load_state_dict"):
        return []
    ours.to(dtype=F64)
    state = {k: v.detach().clone() for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    return list(ours.named_parameters())


def _close(a: torch.Tensor, b: torch.Tensor) -> float | None:
    """max |a − b| where within tolerance (NaN at the same places), None where not close."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return None
    if not a.is_floating_point():
        return 0.0 if torch.equal(a, b) else None
    if not torch.allclose(a, b, atol=ATOL, rtol=RTOL, equal_nan=True):
        return None
    finite = torch.isfinite(b)
    return (a - b)[finite].abs().max().item() if finite.any() else 0.0


def _differences(
    theirs: nn.Module, ours: Any, adapted: Adapted | None, args: tuple, kwargs: dict
) -> tuple[float, str]:
    """Run both; (the max difference, '') or (inf, what differs)."""
    t_args, t_kwargs = _clone(args), _clone(kwargs)
    o_args, o_kwargs = _clone(args), _clone(kwargs)
    o_params = _copy_state(theirs, ours)
    if hasattr(ours, "train"):
        ours.train(theirs.training)
    if adapted is None:
        t_out = theirs(*t_args, **t_kwargs)
        o_out = ours(*o_args, **o_kwargs)
    else:
        t_out = adapted.torch_call(theirs, *t_args, **t_kwargs)
        o_out = adapted.ours_call(ours, *o_args, **o_kwargs)
    pairs: list[tuple[str, torch.Tensor, torch.Tensor]] = [
        (f"output {i}", o, t)
        for i, (o, t) in enumerate(zip(_tensors(o_out), _tensors(t_out), strict=False))
    ]
    if len(_tensors(o_out)) != len(_tensors(t_out)):
        return float("inf"), "a different number of outputs"
    # one backward of the same ∂L/∂y through both
    t_outs = [t for t in _tensors(t_out) if t.requires_grad]
    o_outs = [o for o in _tensors(o_out) if o.requires_grad]
    t_inputs = [t for t in _tensors(list(t_args) + list(t_kwargs.values())) if t.requires_grad]
    o_inputs = [o for o in _tensors(list(o_args) + list(o_kwargs.values())) if o.requires_grad]
    t_params = [(n, p) for n, p in theirs.named_parameters() if p.requires_grad]
    if len(o_outs) != len(t_outs):
        return float("inf"), "the outputs that require grad differ"
    if t_outs:
        g = torch.Generator().manual_seed(0)
        grads = [torch.randn(t.shape, dtype=t.dtype, generator=g) for t in t_outs]
        wrt_t = t_inputs + [p for _, p in t_params]
        wrt_o = o_inputs + [p for _, p in o_params]
        if len(wrt_t) != len(wrt_o):
            return float("inf"), "a different number of parameters"
        t_grads = torch.autograd.grad(t_outs, wrt_t, grads, allow_unused=True)
        o_grads = torch.autograd.grad(o_outs, wrt_o, grads, allow_unused=True)
        names = [f"∂/∂input {i}" for i in range(len(t_inputs))] + [f"∂/∂{n}" for n, _ in t_params]
        for name, o, t in zip(names, o_grads, t_grads, strict=True):
            if o is None or t is None:
                if (o is None) != (t is None) and (o if t is None else t).abs().max() > 0:
                    return float("inf"), f"{name}: a gradient on one side only"
                continue
            pairs.append((name, o, t))
    if hasattr(ours, "named_buffers"):
        mine = dict(ours.named_buffers())
        for name, t in theirs.named_buffers():
            if name in mine:
                pairs.append((f"buffer {name}", mine[name], t))
    worst = 0.0
    for name, o, t in pairs:
        d = _close(o.detach(), t.detach())
        if d is None:
            diff = (o.detach() - t.detach()).abs().max().item() if o.shape == t.shape else None
            return float("inf"), f"{name} differs (max |Δ| = {diff}, shapes {tuple(o.shape)} vs {tuple(t.shape)})"  # fmt: skip
        worst = max(worst, d)
    return worst, ""


def run_sample(
    info: Any, sample: Any, training: bool, wrap: Callable[..., Adapted] | None = None
) -> Outcome:
    """One sample of one class: its verdict. ``wrap(ours, adapted)`` changes how ours runs
    (`module_db_engine`: on nnscratch.autograd)."""
    name = info.module_cls.__name__
    label = f"{sample.desc or 'default'} ({'train' if training else 'eval'})"
    args, kwargs = sample.constructor_input.args, sample.constructor_input.kwargs
    torch.manual_seed(0)
    theirs = info.module_cls(*args, **kwargs).to(F64)
    theirs.train(training)
    try:
        made = ADAPTERS[name](theirs, args, kwargs)
        adapted = made if isinstance(made, Adapted) else None
        ours = made.ours if adapted else made
        if wrap is not None:
            adapted = wrap(ours, adapted)
        worst, what = _differences(
            theirs, ours, adapted, sample.forward_input.args, sample.forward_input.kwargs
        )
    except LeftOut as e:
        return Outcome(name, label, "left out", e.key)
    except (ValueError, TypeError, RuntimeError, NotImplementedError, IndexError) as e:
        return Outcome(name, label, "refused", f"{type(e).__name__}: {e}".splitlines()[0])
    if what:
        return Outcome(name, label, "different", what)
    return Outcome(name, label, "equal", f"max |Δ| = {worst:.1e}")


def mapped_infos() -> list[Any]:
    """The ``ModuleInfo`` of every class nnscratch maps that ``module_db`` lists."""
    from torch.testing._internal.common_modules import module_db

    return [info for info in module_db if info.module_cls.__name__ in ADAPTERS]


def samples(info: Any) -> Iterator[tuple[Any, bool]]:
    """Every (sample, training) of a class: training, and eval where the two differ."""
    for training in (True, False) if info.train_and_eval_differ else (True,):
        for sample in info.module_inputs_func(
            info, device="cpu", dtype=F64, requires_grad=True, training=training
        ):
            yield sample, training


def run_class(info: Any, wrap: Callable[..., Adapted] | None = None) -> list[Outcome]:
    return [run_sample(info, s, training, wrap) for s, training in samples(info)]


def counts(outcomes: list[Outcome]) -> Counter:
    return Counter(o.verdict for o in outcomes)


def rows() -> Iterator[Row]:
    """One summary row per class: "PyTorch's own samples: n equal of n"."""
    yield from summary_rows(run_class, "", "PyTorch's own samples")


def summary_rows(run: Callable[[Any], list[Outcome]], prefix: str, what: str) -> Iterator[Row]:
    """One row per class of ``run(info)``'s outcomes: "<what>: n equal of n" (``prefix`` before
    the class name: the engine's rows run the same samples another way)."""
    if torch.__version__.split("+")[0] != TORCH_VERSION:
        return
    for info in mapped_infos():
        outcomes = run(info)
        c = counts(outcomes)
        compared = len(outcomes) - c["left out"]
        note = f", {c['left out']} left out" if c["left out"] else ""
        yield Row(
            f"{prefix}{info.module_cls.__name__} counterpart",
            f"nn.{info.module_cls.__name__}",
            f"{what}: {c['equal']} equal of {compared}{note}",
            0.0,
            ATOL,
            RTOL,
            c["equal"] == compared and compared > 0,
        )
