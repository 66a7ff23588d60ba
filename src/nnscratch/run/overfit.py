"""``nnscratch train --overfit-batch``: can the model learn one small batch by heart?

CS231n's first sanity check ("overfit a tiny subset of data"): a model and a loop that work
drive the loss on `ROWS` rows towards 0 within `STEPS` full-batch steps. If they cannot, no
amount of data or epochs will help, and the reason is one of a few:

    the loss became NaN/inf or rose     the learning rate is too high
    a linear or logistic model          F + 1 numbers per output cannot memorise any rows
    dropout                             it keeps the model from memorising (on purpose)
    otherwise                           too low a learning rate (or too small a model)

Near zero means below `NEAR` × the initial loss.
"""

from __future__ import annotations

from typing import Any

import torch

from nnscratch.errors import DivergenceError
from nnscratch.loop import fit
from nnscratch.run.fresh import pieces
from nnscratch.run.prepare import Prepared

ROWS, STEPS, NEAR = 32, 500, 0.01


def overfit_batch(data: Prepared) -> dict[str, Any]:
    """``{"rows", "steps", "initial", "final", "ok", "reason"}``: the same model, optimizer and
    loss as the run, trained on its first batch (`ROWS` rows, or ``--batch-size`` if smaller)."""
    config = data.config
    fresh = pieces(data)
    rows = min(len(data.train), config.batch_size or ROWS, ROWS)
    X, y = data.train.X[:rows], fresh.y[:rows]
    with torch.no_grad():
        initial = fresh.loss_fn(fresh.model(X), y).item()
    result: dict[str, Any] = {"rows": rows, "steps": STEPS, "initial": initial}
    try:
        history = fit(
            fresh.model,
            X,
            y,
            loss_fn=fresh.loss_fn,
            optimizer=fresh.optimizer,
            epochs=STEPS,
            batch_size=None,
            shuffle=False,
            backward=config.backward,  # steps 1–3 as the run takes them
            compile=config.compile,
        )
    except DivergenceError as e:
        return result | {"final": None, "ok": False, "reason": _too_high(config, str(e))}
    final = history[-1]
    result |= {"final": final, "ok": final < NEAR * initial}
    if result["ok"]:
        return result | {"reason": None}
    if final >= initial:
        return result | {"reason": _too_high(config, "the loss did not fall")}
    if config.model in ("linear", "logistic"):
        reason = (
            f"a {config.model} model has only one weight per feature and output: it cannot "
            f"memorise {rows} rows; --model mlp can"
        )
    elif config.dropout > 0:
        reason = f"--dropout {config.dropout:g} keeps it from memorising; try --dropout 0"
    else:
        reason = (
            f"the loss fell only to {final / initial:.1%} of its start in {STEPS} steps: the "
            f"learning rate is too low (try --lr {config.lr * 10:g}) or the model too small"
        )
    return result | {"reason": reason}


def _too_high(config: Any, what: str) -> str:
    return f"{what}: the learning rate is too high; try --lr {config.lr / 10:g}"


def lines(result: dict[str, Any]) -> list[str]:
    final = "diverged" if result["final"] is None else f"{result['final']:.3g}"
    head = (
        f"overfit one batch ({result['rows']} rows, {result['steps']} steps): loss "
        f"{result['initial']:.3g} → {final}"
    )
    if result["ok"]:
        return [head, f"near zero (below {NEAR:g}× the start): the model and loop can learn"]
    return [head, f"not near zero: {result['reason']}"]
