"""The data side of a saved run: what predicting needs (preprocessing) and what resuming checks.

Replaces the ad-hoc "remember to pickle the scaler and the label encoder next to the weights":
``data.json`` holds the fitted standardizer's μ and σ, the feature names (the columns to pick
at predict time, in order), the target name, the task, and ``classes`` (the original label of
each class index), the means that fill missing cells (``--missing mean``), plus a SHA-256 of the standardized training rows, so that ``--resume``
refuses a data file that changed since the run started (rows left on disk, `MappedRows`, are
hashed block by block in file order, each block's features then its targets).

One contract for the writer and the reader: `data_state` passes what it returns and the run's
configuration, as JSON, through the reader's own checks (`validate.config`, `validate.data`)
before anyone saves them, so that a run nnscratch writes is a run nnscratch reads (a
disagreement fails at the first ``train --out``, not at ``--resume``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from nnscratch.data import rows
from nnscratch.errors import UserError

if TYPE_CHECKING:
    from nnscratch.run.prepare import Prepared


def _bytes(t: torch.Tensor) -> bytes:
    return t.detach().cpu().contiguous().numpy().tobytes()


def data_state(data: Prepared) -> dict[str, Any]:
    """The preprocessing a saved model needs at predict time, and a fingerprint of the training
    rows, so that a resumed run can check it trains on the same data."""
    train = data.train
    digest = hashlib.sha256()
    for positions, xb in rows.blocks(train.X):  # one block in memory, file order on disk
        for t in (xb, train.y[positions.to(train.y.device)]):
            digest.update(_bytes(t))
    state = {
        "name": train.name,
        "task": train.task,
        "features": train.feature_names,
        "target": train.target_name,
        "classes": train.classes,
        "out_features": data.out_features,
        "image_shape": train.extra.get("image_shape"),  # (C, H, W) of images (any model), else None
        "standardizer": None if data.standardizer is None else data.standardizer.state_dict(),
        "imputer": None if data.imputer is None else data.imputer.state_dict(),  # --missing mean
        "rows": {"train": len(train), "val": len(data.val), "test": len(data.test)},
        "train_sha256": digest.hexdigest(),
    }
    check_readable(state, data)
    return state


def check_readable(state: dict[str, Any], data: Prepared) -> None:
    """Assert that ``state`` and the run's configuration, written as data.json and config.json,
    pass the checks `checkpoint.load` makes."""
    from nnscratch.run.checkpoint import validate

    def as_read(values: dict[str, Any]) -> Any:
        return json.loads(json.dumps(values))

    try:
        config = validate.config(Path("config.json"), as_read(data.config.to_dict()))
        validate.data(Path("data.json"), as_read(state), config)
    except UserError as e:  # nnscratch's own bug, not the user's: the reader refuses the writer
        raise AssertionError(f"the run as written would be refused on reading: {e}") from None


def check_same_data(saved: dict[str, Any], data: Prepared) -> None:
    """`UserError` unless ``data`` is what the saved run trained on (needed to resume exactly)."""
    now = data_state(data)
    for key in ("features", "target", "classes", "standardizer", "imputer", "rows", "train_sha256"):
        if saved.get(key) != now[key]:
            raise UserError(
                f"the training data differ from the saved run's ({key} changed since it started: "
                f"{saved['name']}); resuming needs the same data file, unchanged"
            )
