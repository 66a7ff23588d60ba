"""Built-in data sets, all offline.  Replaces ``torchvision.datasets``-style loaders.

    synthetic       regression       x ~ N(0, 1), y = x·w + b + 0.1·ε  (`make_regression`, 100 × 1)
    diabetes        regression       sklearn's bundled diabetes data (442 × 10, already scaled)
    iris            classification   sklearn's bundled iris (150 × 4, 3 classes)
    wine            classification   sklearn's bundled wine (178 × 13, 3 classes)
    breast_cancer   classification   sklearn's bundled breast cancer (569 × 30, 2 classes)
    digits          classification   sklearn's bundled 8×8 digits (1797 × 64, 10 classes; images
                                     1×8×8 for ``--model cnn``: ``extra["image_shape"]``)
    moons           classification   ``make_moons(200, noise=0.1)`` (200 × 2, 2 classes)
    circles         classification   ``make_circles(200, noise=0.05, factor=0.5)`` (200 × 2, 2 classes)
    blobs           classification   ``make_blobs(200, centers=3)`` (200 × 2, 3 classes)
    xor             classification   x ~ U(−1, 1)², class = [x₁·x₂ > 0], 0.1·N(0, 1) noise on x
                                     (200 × 2, 2 classes; the quadrants no line can split)
    spiral          classification   two interleaved spirals r = t, θ = 3πt (+π for class 1),
                                     0.05·N(0, 1) noise (200 × 2, 2 classes)

sklearn ships the tables inside its wheel, so nothing is downloaded. ``seed`` only matters for the
generated sets (synthetic, moons, circles, blobs: ``random_state=seed``; xor and
spiral: numpy's ``default_rng(seed)``); the bundled tables are fixed.
sklearn is imported inside the loaders so that ``import nnscratch`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from nnscratch.data.dataset import Dataset
from nnscratch.data.synthetic import make_regression
from nnscratch.errors import UserError

N_GENERATED = 200  # samples drawn for moons and circles


def _from_arrays(
    name: str,
    X: np.ndarray,
    y: np.ndarray,
    feature_names: list[str],
    target_name: str,
    classes: list | None,
    dtype: torch.dtype,
) -> Dataset:
    X_t = torch.as_tensor(np.asarray(X, dtype=np.float64)).to(dtype)  # (N, F)
    if classes is None:
        y_t = torch.as_tensor(np.asarray(y, dtype=np.float64)).to(dtype).reshape(-1, 1)  # (N, 1)
        task = "regression"
    else:
        y_t = torch.as_tensor(np.asarray(y, dtype=np.int64))  # (N,)
        task = "classification"
    # numpy scalars (np.str_, np.int64) become plain Python values, so `classes` is JSON-able
    classes = None if classes is None else [c.item() if hasattr(c, "item") else c for c in classes]
    return Dataset(X_t, y_t, task, list(map(str, feature_names)), target_name, classes, name)


def _synthetic(seed: int, dtype: torch.dtype) -> Dataset:
    data = make_regression(seed=seed, dtype=dtype)
    names = [f"x{i + 1}" for i in range(data.X.shape[1])]
    extra = {"true_weight": data.true_weight.tolist(), "true_bias": data.true_bias.tolist()}
    return Dataset(data.X, data.y, "regression", names, "y", None, "synthetic", extra)


def _bundled(loader: str, name: str, target_name: str) -> Callable[[int, torch.dtype], Dataset]:
    def load(seed: int, dtype: torch.dtype) -> Dataset:
        from sklearn import datasets

        bunch = getattr(datasets, loader)()
        classes = None if name == "diabetes" else list(bunch.target_names)
        dataset = _from_arrays(
            name, bunch.data, bunch.target, bunch.feature_names, target_name, classes, dtype
        )
        if name == "digits":  # the 64 pixels of an 8×8 image, row by row (`data.images`)
            dataset.extra["image_shape"] = [1, 8, 8]
        return dataset

    return load


def _moons(seed: int, dtype: torch.dtype) -> Dataset:
    from sklearn.datasets import make_moons

    X, y = make_moons(N_GENERATED, noise=0.1, random_state=seed)
    return _from_arrays("moons", X, y, ["x1", "x2"], "moon", [0, 1], dtype)


def _circles(seed: int, dtype: torch.dtype) -> Dataset:
    from sklearn.datasets import make_circles

    X, y = make_circles(N_GENERATED, noise=0.05, factor=0.5, random_state=seed)
    return _from_arrays("circles", X, y, ["x1", "x2"], "circle", [0, 1], dtype)


def _blobs(seed: int, dtype: torch.dtype) -> Dataset:
    from sklearn.datasets import make_blobs

    X, y = make_blobs(N_GENERATED, centers=3, random_state=seed)
    return _from_arrays("blobs", X, y, ["x1", "x2"], "blob", [0, 1, 2], dtype)


def _xor(seed: int, dtype: torch.dtype) -> Dataset:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(N_GENERATED, 2))  # (N, 2)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)  # 1 in the first and third quadrants
    X = X + 0.1 * rng.standard_normal(X.shape)
    return _from_arrays("xor", X, y, ["x1", "x2"], "quadrant", [0, 1], dtype)


def _spiral(seed: int, dtype: torch.dtype) -> Dataset:
    rng = np.random.default_rng(seed)
    half = N_GENERATED // 2
    t = np.sqrt(rng.uniform(0.05, 1, size=half))  # radius, denser towards the rim
    arms = []
    for k in (0, 1):  # class k: the same spiral turned by k·π
        theta = 3 * np.pi * t + k * np.pi
        arms.append(np.stack([t * np.cos(theta), t * np.sin(theta)], axis=1))  # (half, 2)
    X = np.concatenate(arms) + 0.05 * rng.standard_normal((2 * half, 2))  # (N, 2)
    y = np.repeat([0, 1], half)
    return _from_arrays("spiral", X, y, ["x1", "x2"], "arm", [0, 1], dtype)


BUILTINS: dict[str, Callable[[int, torch.dtype], Dataset]] = {
    "synthetic": _synthetic,
    "diabetes": _bundled("load_diabetes", "diabetes", "disease_progression"),
    "iris": _bundled("load_iris", "iris", "species"),
    "wine": _bundled("load_wine", "wine", "cultivar"),
    "breast_cancer": _bundled("load_breast_cancer", "breast_cancer", "diagnosis"),
    "digits": _bundled("load_digits", "digits", "digit"),
    "moons": _moons,
    "circles": _circles,
    "blobs": _blobs,
    "xor": _xor,
    "spiral": _spiral,
}


def load_builtin(name: str, seed: int = 0, dtype: torch.dtype = torch.float32) -> Dataset:
    """The built-in data set ``name`` as a `Dataset`; `UserError` listing the names if unknown.

    Args:
        name: 'diabetes', 'iris', 'wine', 'breast_cancer', 'digits', 'moons', 'circles',
            'blobs', 'xor' or 'spiral'.
        seed: the seed of every random draw (default 0).
        dtype: dtype of X (default float32).
    """
    if name not in BUILTINS:
        raise UserError(
            f"unknown data set {name!r}: choose one of {', '.join(BUILTINS)} (or python_docs, "
            "a text), or give a file path"
        )
    return BUILTINS[name](seed, dtype)
