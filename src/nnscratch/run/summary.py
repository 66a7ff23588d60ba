"""The summary of a training run: metrics on every split and, for linear regression, the
learned parameters next to the true ones and the closed-form least-squares optimum.

    least squares:  [w b] = argmin ‖[X 1]·[w b]ᵀ − y‖²   (``torch.linalg.lstsq``, float64)

The loss gap between what gradient descent reached and that optimum says how close the five-step
loop got to the best any linear model can do on the training data.

Mapped rows (`nnscratch.data.mapped`) are never all in memory, so there the optimum comes from the
normal equations, accumulated block by block in float64 and solved the same way:

    AᵀA = Σ_blocks A_bᵀA_b  (F+1, F+1)      Aᵀy = Σ_blocks A_bᵀy_b  (F+1, 1)      AᵀA·[w b]ᵀ = Aᵀy

(the same minimiser; forming AᵀA squares the condition number, harmless for standardized X).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from nnscratch.data import rows
from nnscratch.data.mapped import MappedRows
from nnscratch.data.rows import apply
from nnscratch.losses import mse_loss
from nnscratch.models import LinearRegression
from nnscratch.module import Module
from nnscratch.run.evaluate import evaluate

if TYPE_CHECKING:
    from nnscratch.run.prepare import Prepared


def _with_ones(X: torch.Tensor) -> torch.Tensor:
    X64 = X.double().cpu()  # (N, F)
    return torch.cat([X64, torch.ones(X64.shape[0], 1, dtype=torch.float64)], dim=1)  # (N, F+1)


def normal_equations(X: MappedRows, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """AᵀA (F+1, F+1) and Aᵀy (F+1, 1) for A = [X 1], summed block by block in float64."""
    F = X.shape[1]
    AtA = torch.zeros(F + 1, F + 1, dtype=torch.float64)
    Aty = torch.zeros(F + 1, 1, dtype=torch.float64)
    for positions, xb in X.blocks():
        A = _with_ones(xb)  # (b, F+1)
        AtA += A.T @ A
        Aty += A.T @ y[positions.to(y.device)].double().cpu()  # (F+1, 1)
    return AtA, Aty


def least_squares(
    X: torch.Tensor | MappedRows, y: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The (weight (1, F), bias (1,)) minimising mean((Xwᵀ + b − y)²), solved in float64."""
    if rows.on_disk(X):  # streamed: AᵀA and Aᵀy block by block
        AtA, Aty = normal_equations(X, y)
        solution = torch.linalg.lstsq(AtA, Aty, driver="gelsd").solution  # (F+1, 1)
    else:
        A = _with_ones(X)  # (N, F+1)
        solution = torch.linalg.lstsq(A, y.double().cpu(), driver="gelsd").solution  # (F+1, 1)
    return solution[:-1].T, solution[-1]


def linear_report(model: LinearRegression, data: Prepared) -> dict[str, Any]:
    X, y = data.train.X, data.train.y
    with torch.no_grad():
        final_loss = mse_loss(apply(model, X), y).item()
    ls_w, ls_b = least_squares(X, y)
    ls_pred = apply(lambda x: x.double().cpu() @ ls_w.T + ls_b, X)  # (N, 1)
    ls_loss = mse_loss(ls_pred, y.double().cpu()).item()
    report = {
        "parameters": {"weight": model.weight.tolist(), "bias": model.bias.tolist()},
        "least_squares": {"weight": ls_w.tolist(), "bias": ls_b.tolist(), "loss": ls_loss},
        "loss_gap": final_loss - ls_loss,
        "relative_loss_gap": (final_loss - ls_loss) / ls_loss
        if ls_loss > 1e-12
        else None,  # none for an exact fit
    }
    if "true_weight" in data.train.extra:
        report["true"] = {
            "weight": data.train.extra["true_weight"],
            "bias": data.train.extra["true_bias"],
        }
    return report


def summarize(model: Module, data: Prepared, loss_fn, history: list[float]) -> dict[str, Any]:
    config = data.config
    dtype = getattr(torch, config.dtype)
    metrics = {
        name: evaluate(model, loss_fn, part, config.loss, dtype) if len(part) else None
        for name, part in (("train", data.train), ("val", data.val), ("test", data.test))
    }
    summary: dict[str, Any] = {
        "config": config.to_dict(),
        "data": {
            "name": data.train.name,
            "task": data.train.task,
            "features": data.train.feature_names,
            "target": data.train.target_name,
            "classes": data.train.classes,
            "rows": {"train": len(data.train), "val": len(data.val), "test": len(data.test)},
        },
        "metrics": metrics,
        "final_loss": metrics["train"]["loss"],
        "loss_history": history,
    }
    if isinstance(model, LinearRegression) and config.loss == "mse":
        summary.update(linear_report(model, data))
        summary["data"]["standardized"] = data.standardizer is not None
        summary["warnings"] = far_from_optimum(summary, config.lr)
    if data.train.extra.get("kind") == "text":  # the count-based baseline, on the same split
        summary["bigram"] = bigram_losses(data)
        summary["warnings"] = above_bigram(summary, config.epochs)
    return summary


def above_bigram(summary: dict[str, Any], epochs: int) -> list[str]:
    """A warning when the transformer ends above the bigram baseline on its held-out text (the
    test part, else validation, else training): it has not yet learned what counting character
    pairs gives, so its samples are worse than a table of pair counts."""
    part = next(p for p in ("test", "val", "train") if summary["bigram"].get(p) is not None)
    ours, base = summary["metrics"][part]["loss"], summary["bigram"][part]
    if ours <= base:
        return []
    return [
        f"the transformer's {part} loss per character {ours:.4g} is above the bigram "
        f"baseline's {base:.4g}: it has not learned more than character pairs yet; train "
        f"longer (e.g. --epochs {max(2 * epochs, epochs + 5)}, or --resume a saved run with "
        "more --epochs)"
    ]


def bigram_losses(data: Prepared) -> dict[str, float | None]:
    """Loss per character of `BigramCounts` fitted on the training windows, on every part."""
    from nnscratch.models.bigram import BigramCounts

    train = data.train
    bigram = BigramCounts(len(train.classes)).fit(train.X, train.y)
    parts = (("train", train), ("val", data.val), ("test", data.test))
    return {name: bigram.loss(part.X, part.y) if len(part) else None for name, part in parts}


FAR = 0.1  # a final loss more than 10 % above the least-squares optimum has not converged


def far_from_optimum(summary: dict[str, Any], lr: float) -> list[str]:
    """A warning when gradient descent ended far from the closed-form optimum (e.g. a large
    ``--lr`` held finite by ``--clip-grad-norm``, or too few epochs)."""
    rel = summary["relative_loss_gap"]
    if rel is None or rel <= FAR:
        return []
    final, best = summary["final_loss"], summary["least_squares"]["loss"]
    return [
        f"the final training loss {final:.4g} is {final / best:.3g}× the least-squares optimum "
        f"{best:.4g}: training has not converged; try a smaller --lr than {lr:g} or more --epochs"
    ]
