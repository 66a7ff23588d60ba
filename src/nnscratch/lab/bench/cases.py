"""The timed cases: each nnscratch loop next to the PyTorch-abstraction loop it replaces.

Every variant of a case starts from the same seed and the same data (float32) and does the same
work per call. The nnscratch side runs twice:

    nnscratch      the five-step loop exactly as `fit` writes it (forward, loss, ``loss.item()``,
                   backward, step, zero_grad) over `batches`: the same work as the reference loop
    nnscratch fit  `fit` itself, which also computes the total gradient norm every step (to log it
                   and to stop on NaN/inf): monitoring that the reference loop does not do

The reference side is the usual loop written with ``nn.Module`` + ``nn.MSELoss`` + ``torch.optim``
(+ ``DataLoader`` where said), reading ``loss.item()`` every step as `fit` does.

    linear full batch   N×F data, one step per epoch          nn.Linear + nn.MSELoss + optim.SGD
    mini-batch linear   one shuffled epoch, batch 256         the same with indexing / DataLoader
    MLP SGD / Adam      10→64→64→1 ReLU, one epoch, batch 256 nn.Sequential + optim.SGD / Adam
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset

from nnscratch.lab.bench.loops import (
    BATCH,
    LR,
    SEED,
    Case,
    Pair,
    data,
    five_steps,
    indexed_loop,
    linear_regression,
    mlp_pair,
    nn_linear,
    nn_step,
    reference_full_batch,
    with_fit,
)
from nnscratch.losses import binary_cross_entropy_with_logits, mse_loss
from nnscratch.models import LinearRegression, LogisticRegression
from nnscratch.optim import SGD, Adam
from nnscratch.optim.flat import FlatParameters


def full_batch(n: int, features: int) -> Case:
    X, y = data(n, features)
    model, opt = linear_regression(features)
    fit_model, fit_opt = linear_regression(features)
    reference, ref = reference_full_batch(X, y)
    least_bytes = 2 * X.nbytes + y.nbytes  # X read by the forward and by ∂L/∂W; y once
    return Case(
        f"linear full batch {n:,}×{features}",
        "step",
        {
            "nnscratch": five_steps(model, opt, X, y),
            "nnscratch fit": with_fit(fit_model, fit_opt, X, y),
            "nn/optim": reference,
        },
        [
            Pair("nnscratch", "nn/optim", 1.0, default_path=True),
            Pair("nnscratch fit", "nn/optim"),
        ],
        bytes_per_unit=least_bytes,
        models={"nnscratch": model, "nnscratch fit": fit_model, "nn/optim": ref},
    )


def mini_batch(n: int, features: int) -> Case:
    """One shuffled epoch. The DataLoader loop sees the very batches `batches` yields (it draws
    the same random numbers); the indexing loop takes its own permutation of the same data."""
    X, y = data(n, features)
    model, opt = linear_regression(features)
    fit_model, fit_opt = linear_regression(features)
    gen, fit_gen = torch.Generator().manual_seed(SEED), torch.Generator().manual_seed(SEED)
    indexing = indexed_loop(nn_linear(features), lambda ps: optim.SGD(ps, lr=LR), X, y)
    dl_model = nn_linear(features)
    dl_opt, loss_fn = optim.SGD(dl_model.parameters(), lr=LR), nn.MSELoss()
    dl_gen = torch.Generator().manual_seed(SEED)
    loader = DataLoader(TensorDataset(X, y), batch_size=BATCH, shuffle=True, generator=dl_gen)

    def dataloader(epochs: int) -> None:
        for _ in range(epochs):
            for xb, yb in loader:
                nn_step(dl_model, dl_opt, loss_fn, xb, yb)

    return Case(
        f"mini-batch linear {n:,}×{features}, batch {BATCH}",
        "epoch",
        {
            "nnscratch": five_steps(model, opt, X, y, BATCH, gen),
            "nnscratch fit": with_fit(fit_model, fit_opt, X, y, BATCH, fit_gen),
            "nn/optim + indexing": indexing,
            "nn/optim + DataLoader": dataloader,
        },
        [
            Pair("nnscratch", "nn/optim + indexing", 1.0, default_path=True),
            Pair("nnscratch", "nn/optim + DataLoader", 5.0),
            Pair("nnscratch fit", "nn/optim + DataLoader"),
        ],
        models={"nnscratch": model, "nnscratch fit": fit_model, "nn/optim + DataLoader": dl_model},
    )


def mlp(n: int, features: int, optimizer: str) -> Case:
    """MLP epochs; the references index their own shuffled batches (no DataLoader), so that the
    ratio measures model, loss and optimizer; torch's Adam in each of its three implementations."""
    X, y = data(n, features)
    label = "SGD" if optimizer == "sgd" else "Adam"
    manual_name = f"nnscratch {label}"

    def manual(run: Callable, flat: bool = False) -> Callable[[int], None]:
        model = mlp_pair(features)[0]
        params = [FlatParameters(model.parameters()).param] if flat else model.parameters()
        opt = SGD(params, lr=LR) if optimizer == "sgd" else Adam(params)
        return run(model, opt, X, y, BATCH, torch.Generator().manual_seed(SEED))

    variants = {manual_name: manual(five_steps)}
    if optimizer == "adam":  # the same Adam over one flat buffer (--flat-parameters)
        variants[f"{manual_name} flat"] = manual(five_steps, flat=True)
    if optimizer == "sgd":
        variants[f"{manual_name} fit"] = manual(with_fit)
        flavours = {"torch SGD": lambda ps: optim.SGD(ps, lr=LR)}
    else:
        flavours = {
            "torch Adam (default)": lambda ps: optim.Adam(ps),
            "torch Adam foreach": lambda ps: optim.Adam(ps, foreach=True),
            "torch Adam fused": lambda ps: optim.Adam(ps, fused=True),
        }
    for name, make in flavours.items():
        variants[name] = indexed_loop(mlp_pair(features)[1], make, X, y)
    pairs = [Pair(manual_name, ref, None) for ref in flavours]
    pairs[0].target, pairs[0].default_path = 1.0, True
    if optimizer == "adam":  # hand-written Adam ≥ torch's fused Adam: the flat form's target
        pairs.append(Pair(f"{manual_name} flat", "torch Adam fused", 1.0))
    else:
        pairs.append(Pair(f"{manual_name} fit", "torch SGD"))
    return Case(f"MLP {features}→64→64→1 ReLU, {label}, batch {BATCH}", "epoch", variants, pairs)


MODELS = {  # model kind → (nnscratch model, its loss, the nn loss it replaces, target from y)
    "linear": (LinearRegression, mse_loss, nn.MSELoss, lambda y: y),
    "logistic": (
        LogisticRegression,
        binary_cross_entropy_with_logits,
        nn.BCEWithLogitsLoss,
        lambda y: (y > y.median()).to(y.dtype),  # two balanced classes
    ),
}


def manual_backward_cases(
    sizes: list[tuple[int, int, float | None]], kinds: tuple[str, ...] = ("linear", "logistic")
) -> list[Case]:
    """``--backward manual`` (hand-derived gradients, no autograd) at (N, F, target ratio), for
    linear regression (mse) and logistic regression (bce with logits), full batch, SGD.

    Also run at the large one-feature size (no ratio target there), where it is the optional
    path towards the memory-bandwidth bound.

    Both nnscratch forms are timed: `LinearStep` (what `fit` uses for these models: buffers
    allocated once) and ``nnscratch.backprop.loss_and_grads`` (the plain form, fresh tensors).
    """
    from nnscratch.backprop import loss_and_grads
    from nnscratch.backprop.linear_step import LinearStep

    cases = []
    for kind in kinds:
        model_cls, loss_fn, nn_loss, target_of = MODELS[kind]
        for n, features, target in sizes:
            X, y = data(n, features)
            y = target_of(y)
            torch.manual_seed(SEED)
            model = model_cls(features)
            opt = SGD(model.parameters(), lr=LR)
            torch.manual_seed(SEED)
            ref = nn.Linear(features, 1)
            ref_opt, ref_loss = optim.SGD(ref.parameters(), lr=LR), nn_loss()

            torch.manual_seed(SEED)
            plain_model = model_cls(features)
            plain_opt = SGD(plain_model.parameters(), lr=LR)
            step = LinearStep(model, loss_fn)

            def manual(steps: int, step=step, opt=opt, X=X, y=y) -> None:
                for _ in range(steps):
                    loss = step(X, y)  # 1.–3. by hand, into buffers: fills p.grad
                    loss.item()
                    opt.step()
                    opt.zero_grad()

            def plain(
                steps: int, model=plain_model, opt=plain_opt, X=X, y=y, loss_fn=loss_fn
            ) -> None:
                for _ in range(steps):
                    loss = loss_and_grads(model, loss_fn, X, y)  # fresh tensors each step
                    loss.item()
                    opt.step()
                    opt.zero_grad()

            def reference(steps: int, ref=ref, ref_opt=ref_opt, ref_loss=ref_loss, X=X, y=y):
                for _ in range(steps):
                    nn_step(ref, ref_opt, ref_loss, X, y)

            name, plain_name = "nnscratch manual backward", "nnscratch manual, plain form"
            label = "" if kind == "linear" else f"{kind} "
            cases.append(
                Case(
                    f"manual backward {label}{n:,}×{features}",
                    "step",
                    {name: manual, plain_name: plain, "nn/optim": reference},
                    [Pair(name, "nn/optim", target), Pair(plain_name, "nn/optim")],
                    bytes_per_unit=2 * X.nbytes + y.nbytes,
                    models={name: model, plain_name: plain_model, "nn/optim": ref},
                    bandwidth_target=kind == "linear",  # logistic: exp/log per row, compute-bound
                )
            )
    return cases
