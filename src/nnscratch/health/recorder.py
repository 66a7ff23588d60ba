"""`Recorder`: the health statistics of every layer and parameter, every K steps of `fit`.

Replaces ``module.register_forward_hook`` + a list of tensors kept by hand (makemore part 3,
fastai's ``ActivationStats``), and ``lr * p.grad`` computed beside the optimizer.

`fit` gets the optimizer through `Recorder.watch`: its loop stays the same. On a step chosen to
be recorded:

    forward      a forward hook on each observed layer reads its output     `stats.activation`
                 (put on after the previous update, taken off at this one; ``--backward manual``
                 and ``--compile`` do not call the layers: no activations there; under
                 ``--backward engine`` the output is an engine Tensor: its ``.data`` is read)
    update       around ``optimizer.step()``: p and p.grad before, p after   `stats.parameter`

Observed layers: each `Activation` (relu, tanh, sigmoid, gelu) and each layer with a weight
(`Linear`, `Conv2d`). Nothing of this changes a number of the run: the hooks and the copies only
read.

Pace: step 0 always, then every ``every`` steps: a number of steps fixed before the run, so the
same seed records the same steps (the records never depend on how busy the machine is).
`nnscratch.run.train` takes about `RECORDS` records over a run, never closer than `MIN_EVERY`
steps: a record costs about one step of a small MLP (its statistics, histograms and a copy of
the parameters), so one in `MIN_EVERY` keeps the cost under 10 % on the cheapest models, where
it is largest (the bench's ``health_cost`` measures it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch

from nnscratch.health import stats
from nnscratch.layers import Activation, Conv2d, Linear
from nnscratch.module import Module
from nnscratch.optim import Optimizer

Write = Callable[[dict[str, Any]], None]
MIN_EVERY = 10  # the closest two records may be, in steps: ≤ 10 % of the run (see above)


def observed_layers(model: Module, prefix: str = "") -> Iterator[tuple[str, str, Module]]:
    """``(name, kind, layer)`` for each layer health watches, in forward order for a Sequential;
    kind is the activation's name, or 'linear' / 'conv'."""
    if not prefix and _kind(model) is not None:  # the model is one layer (a linear model)
        yield "output", _kind(model), model
        return
    for name, child in model.named_children():
        kind = _kind(child)
        if kind is not None:
            yield prefix + name, kind, child
        else:
            yield from observed_layers(child, prefix + name + ".")


def _kind(layer: Module) -> str | None:
    if isinstance(layer, Activation):
        return layer.name
    if isinstance(layer, Linear):
        return "linear"
    if isinstance(layer, Conv2d):
        return "conv"
    return None


def weight_names(model: Module) -> set[str]:
    """The parameter names of the weights of linear and conv layers (the update-ratio rules and
    the gradient ratio across depth read these; biases, embeddings and norms are shown only)."""
    names = set()
    for name, kind, _ in observed_layers(model):
        if kind in ("linear", "conv"):
            names.add("weight" if name == "output" else f"{name}.weight")
    return names


class Recorder:
    """Args:
        model: the model being trained.
        every: record at most every this many steps (default 1).
        write: called with each record (a dict, JSON-ready), e.g. a line of health.jsonl.
        start: the step count the run starts from (a resumed run).

    ``records`` keeps them all (for the plot at the end of the run).
    """

    def __init__(self, model: Module, every: int = 1, write: Write | None = None, start: int = 0):
        self.model, self.every, self.write = model, max(1, every), write
        self.layers = list(observed_layers(model))
        self.weights = weight_names(model)
        self.params = list(model.named_parameters())
        self.records: list[dict[str, Any]] = []
        self.step = start  # optimizer steps taken so far
        self.last: int | None = None  # the step last recorded
        self.seen: dict[str, dict[str, Any]] = {}  # the hooks' statistics of this step
        self.handles: list[Any] | None = None  # the hooks, when this step is recorded

    # -- when ------------------------------------------------------------------------------
    def due(self) -> bool:
        return self.last is None or self.step - self.last >= self.every

    # -- what --------------------------------------------------------------------------------
    def watch(self, optimizer: Optimizer) -> Optimizer:
        """The optimizer to give `fit` instead: the same one, recording around its step when
        due (the layers' hooks are put on before the step's forward, taken off after)."""
        self._arm()
        return _Watched(optimizer, self)  # type: ignore[return-value]

    def _arm(self) -> None:
        """Hooks on the observed layers if the next step is to be recorded."""
        self.seen, self.handles = {}, None
        if not self.due():
            return
        self.handles = [
            layer.register_forward_hook(self._hook(name, kind, self.seen))
            for name, kind, layer in self.layers
        ]

    def _hook(self, name: str, kind: str, into: dict[str, dict[str, Any]]):
        def hook(module: Module, args: Any, output: Any) -> None:
            if not torch.is_grad_enabled():  # an evaluation between steps, not the step's
                return  # forward (--backward manual has none: it kept validation's numbers)
            if not isinstance(output, torch.Tensor):  # an engine Tensor (--backward engine)
                output = output.data  # the plain torch tensor it holds
            into[name] = stats.activation(kind, output)

        return hook

    def around_update(self, update: Callable[[], None], lr: float) -> None:
        """``update()`` (the optimizer's step), measured when this step is being recorded."""
        if self.handles is None:
            update()
            self.step += 1
            self._arm()
            return
        for h in self.handles:
            h.remove()
        layers = [dict(self.seen[n], name=n, kind=k) for n, k, _ in self.layers if n in self.seen]
        before = [(n, p.detach().clone(), p.grad) for n, p in self.params]
        update()  # 4. p ← p − lr·g (whatever the optimizer's rule)
        record = {
            "step": self.step,
            "lr": lr,
            "layers": layers,
            "params": [
                dict(stats.parameter(p0, g, p.detach()), name=n, weight=n in self.weights)
                for (n, p0, g), (_, p) in zip(before, self.params, strict=True)
            ],
        }
        self.records.append(record)
        if self.write is not None:
            self.write(record)
        self.last, self.step = self.step, self.step + 1
        self._arm()


class _Watched:
    """The optimizer as `fit` sees it: ``step()`` goes through `Recorder.around_update`; every
    other attribute (``param_groups``, ``zero_grad``, ``state_dict``...) is the optimizer's."""

    def __init__(self, optimizer: Optimizer, recorder: Recorder) -> None:
        self._optimizer, self._recorder = optimizer, recorder

    def step(self) -> None:
        lr = self._optimizer.param_groups[0]["lr"]
        self._recorder.around_update(self._optimizer.step, lr)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._optimizer, name)
