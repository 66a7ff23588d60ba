"""Choosing the feature columns by name.  Plays the part of ``df[features]`` / ``df.drop(columns=...)``
before ``TensorDataset(torch.tensor(df.values))``.

    features = every column but the target            (default)
             = the names given, in that order         (``--features a,b,c``)
             = every column but the target and drops  (``--drop id``)

Names are checked against the file's columns; a mistake is a one-line `UserError` that lists the
columns there are. `select` applies the choice to a loaded `Dataset` (built-in data sets, arrays),
`choose` to a list of names before a CSV's cells are parsed (so a text ``id`` column can be dropped).
"""

from __future__ import annotations

from dataclasses import replace

from nnscratch.data import rows
from nnscratch.data.dataset import Dataset
from nnscratch.errors import UserError


def choose(
    columns: list[str],
    target: str,
    features: list[str] | None,
    drop: list[str] | None,
    source: str,
) -> list[str]:
    """The feature names, in order, out of ``columns`` (which include ``target``)."""
    if features is not None and drop is not None:
        raise UserError(
            "give --features (the columns to use) or --drop (the ones to leave out), not both"
        )
    available = ", ".join(columns)
    known = set(columns)  # one lookup per name: a file may have 100,000 columns
    for flag, names in (("--features", features), ("--drop", drop)):
        for name in names or []:
            if name not in known:
                raise UserError(
                    f"{flag}: {source} has no column {name!r}; its columns are {available}"
                )
            if name == target:
                raise UserError(
                    f"{flag}: {name!r} is the target column; name the features only "
                    "(use --target to choose another target)"
                )
        if names is not None and len(set(names)) != len(names):
            raise UserError(f"{flag}: a column is named twice in {','.join(names)}")
    if features is not None:
        return list(features)
    dropped = set(drop or [])
    chosen = [c for c in columns if c != target and c not in dropped]
    if not chosen:
        raise UserError(f"--drop leaves no feature column in {source}; its columns are {available}")
    return chosen


def select(dataset: Dataset, features: list[str] | None, drop: list[str] | None) -> Dataset:
    """``dataset`` with only the chosen feature columns (all of them when both are None)."""
    if features is None and drop is None:
        return dataset
    columns = [*dataset.feature_names, dataset.target_name]
    names = choose(columns, dataset.target_name, features, drop, dataset.name)
    if rows.on_disk(dataset.X):
        raise UserError(
            f"{dataset.name}: --features/--drop cannot pick columns of a .npy file read from disk; "
            "save the columns you want with numpy.save"
        )
    position = {name: j for j, name in enumerate(dataset.feature_names)}
    index = [position[n] for n in names]
    return replace(dataset, X=dataset.X[:, index], feature_names=names)  # (N, F')
