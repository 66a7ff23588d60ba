"""The data blocks of a script: load, split, standardize, exactly as `nnscratch.run.prepare.prepare`.

    load         the same rows in the same dtype: the seed's synthetic draws, an sklearn table,
                 or the CSV's columns picked by name (data.json's ``features``, ``target``),
                 read with the run's CSV flags (`nnscratch.lab.export.table`)
    split        one seeded ``randperm`` cut into test, validation, training rows
                 (raw style), or ``random_split`` itself (nn style): the same permutation
    standardize  μ, σ of the training rows in float64, applied to every part

Each function returns Python source lines; ``X`` and ``y`` keep nnscratch's shapes:
``(N, F)`` features, ``(N, 1)`` regression targets, ``(N,)`` int64 class indices.
"""

from __future__ import annotations

from nnscratch.lab.export.source import call
from nnscratch.lab.export.spec import Spec

BUNDLED = {
    "diabetes": "load_diabetes",
    "iris": "load_iris",
    "wine": "load_wine",
    "breast_cancer": "load_breast_cancer",
    "digits": "load_digits",
}
GENERATED = {  # as `nnscratch.data.datasets` draws them
    "moons": "make_moons(200, noise=0.1, random_state=SEED)",
    "circles": "make_circles(200, noise=0.05, factor=0.5, random_state=SEED)",
    "blobs": "make_blobs(200, centers=3, random_state=SEED)",
}


def builtin_name(spec: Spec) -> str:
    """'synthetic', an sklearn data set's name, or '' for a file."""
    data = spec.config.data
    if data == "synthetic":
        return "synthetic"
    return data.removeprefix("builtin:") if data.startswith("builtin:") else ""


def imports(spec: Spec) -> list[str]:
    name = builtin_name(spec)
    if spec.config.model == "transformer":
        return ["from pydoc_data.topics import topics"] if spec.data_path is None else []
    if name in BUNDLED:
        return [f"from sklearn.datasets import {BUNDLED[name]}"]
    if name in GENERATED:
        return [f"from sklearn.datasets import make_{name}"]
    if name == "" and spec.data_kind in (".npy", ".npz"):
        return ["import numpy as np"]
    if name == "":
        from nnscratch.lab.export import table

        return table.imports(spec)
    return []


def load(spec: Spec) -> list[str]:
    from nnscratch.lab.export import arrays, table, transformer

    name = builtin_name(spec)
    if spec.config.model == "transformer":
        lines = transformer.load(spec)
    elif name == "synthetic":
        lines = _synthetic(spec)
    elif name == "" and spec.data_kind == ".npy":
        lines = arrays.npy(spec)
    elif name == "" and spec.data_kind == ".npz":
        lines = arrays.npz(spec)
    elif name == "":
        lines = table.load(spec)
    else:
        lines = _sklearn(spec, name)
    if spec.config.loss == "bce_with_logits":
        lines.append("y = y.to(DTYPE).view(-1, 1)  # (N, 1) float 0/1, as the BCE loss wants")
    return lines


def _synthetic(spec: Spec) -> list[str]:
    c = spec.config
    n, f = c.n_samples, c.n_features
    return [
        "# -- data: y = x·w + b + noise, all drawn from one seeded generator (the seed's data)",
        "g = torch.Generator().manual_seed(SEED)",
        f"true_w = torch.empty(1, {f}, dtype=torch.float64).uniform_(-3, 3, generator=g)",
        "true_b = torch.empty(1, dtype=torch.float64).uniform_(-2, 2, generator=g)",
        "true_w, true_b = true_w.round(decimals=1), true_b.round(decimals=1)",
        f"X = torch.randn({n}, {f}, generator=g, dtype=torch.float64)  # (N, F)",
        f"noise = {c.noise!r} * torch.randn({n}, 1, generator=g, dtype=torch.float64)  # (N, 1)",
        "X, y = X.to(DTYPE), (X @ true_w.T + true_b + noise).to(DTYPE)  # (N, F), (N, 1)",
    ]


def _sklearn(spec: Spec, name: str) -> list[str]:
    from nnscratch.data.datasets import load_builtin

    if name in BUNDLED:
        lines = [f"# -- data: sklearn's bundled {name} table", f"bunch = {BUNDLED[name]}()"]
        sources = ("bunch.data", "bunch.target")
    else:
        call = GENERATED[name]
        lines = [
            f"# -- data: sklearn's {name}, drawn with the run's seed",
            f"X_np, y_np = {call}",
        ]
        sources = ("X_np", "y_np")
    lines.append(f"X = torch.as_tensor({sources[0]}, dtype=torch.float64).to(DTYPE)  # (N, F)")
    if spec.classification:
        lines.append(f"y = torch.as_tensor({sources[1]}, dtype=torch.int64)  # (N,) class indices")
    else:
        y = f"torch.as_tensor({sources[1]}, dtype=torch.float64).to(DTYPE).view(-1, 1)"
        lines.append(f"y = {y}  # (N, 1)")
    every = load_builtin(name).feature_names
    features = list(spec.data["features"].raw)
    if features != list(every):
        picked = [every.index(f) for f in features]
        lines.append(f"X = X[:, {picked}]  # the run's feature columns (--features)")
    return lines


def parts(spec: Spec) -> list[str]:
    """The non-empty parts, in the order the split cuts them: test, val, train."""
    return [p for p in ("test", "val") if spec.rows[p]] + ["train"]


def split(spec: Spec, style: str) -> list[str]:
    n, rows = spec.n_rows, spec.rows
    names = parts(spec)
    sizes = [rows[p] for p in names]
    if style == "nn":
        gen = "generator=torch.Generator().manual_seed(SEED)"
        targets = ", ".join(p + "_set" for p in names) if len(names) > 1 else "(train_set,)"
        lines = [
            "# -- split: random_split with a seeded generator (test, validation, training rows)",
            "dataset = TensorDataset(X, y)",
            *call(f"{targets} = random_split", ["dataset", str(sizes), gen]),
        ]
        return lines + [f"X_{p}, y_{p} = dataset[{p}_set.indices]" for p in names[::-1]]
    lines = [
        "# -- split: one seeded permutation of the rows, cut as random_split cuts it",
        f"perm = torch.randperm({n}, generator=torch.Generator().manual_seed(SEED))  # (N,)",
    ]
    if names == ["train"]:
        return lines + ["X_train, y_train = X[perm], y[perm]  # every row, in the permuted order"]
    start, cuts = 0, []
    for p, size in zip(names, sizes, strict=True):
        stop = start + size
        first = str(start) if start else ""
        cuts.append(f"perm[{first}:{stop}]" if p != "train" else f"perm[{first}:]")
        start = stop
    lines.append(f"{', '.join(names)} = {', '.join(cuts)}")
    return lines + [f"X_{p}, y_{p} = X[{p}], y[{p}]" for p in names[::-1]]


def standardize(spec: Spec) -> list[str]:
    if not spec.standardized:
        return []
    lines = [
        "# -- standardize with the training rows' mean and std (as sklearn's StandardScaler)",
        "mean = X_train.double().mean(dim=0)  # (F,)",
        "var = ((X_train.double() - mean) ** 2).mean(dim=0)  # (F,) divided by N, not N - 1",
    ]
    if spec.constant_column:
        lines += [
            "eps, n = torch.finfo(torch.float64).eps, len(X_train)",
            "constant = var <= n * eps * var + (n * mean * eps) ** 2  # (F,) zero but rounding",
            "std = torch.where(constant, 1.0, var.sqrt())  # (F,) a constant column keeps σ = 1",
        ]
    else:
        lines.append("std = var.sqrt()  # (F,)")
    for p in parts(spec)[::-1]:
        lines.append(f"X_{p} = ((X_{p}.double() - mean) / std).to(DTYPE)")
    return lines
