"""Images for ``--model cnn``.  Plays the part of a torchvision image data set: the pixels as
``(N, C, H, W)`` tensors, PyTorch's layout (channels first).

A run keeps every data set as a table, one row per sample (so that splitting, standardising,
batching and checkpoints stay the same for every model): an image is stored as its C·H·W pixels
in ``x.reshape(N, C·H·W)`` order, and ``image_shape = [C, H, W]`` travels with it
(``Dataset.extra``) so that the CNN can undo the flattening (``x.view(N, C, H, W)``, what
``nn.Unflatten(1, (C, H, W))`` does).

    builtin:digits    sklearn's 8×8 digits: 1797 images 1×8×8, pixel values 0..16, 10 classes
    .npz              array ``X`` (N, C, H, W) or (N, H, W) (one channel), ``y`` (N,) labels
    .npy              (N, C, H, W) or (N, H, W) pixels only: what ``nnscratch predict`` reads
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from nnscratch.data.arrays import check_array, np_load, npy_header, npz_array
from nnscratch.data.dataset import Dataset
from nnscratch.data.table import check_path
from nnscratch.errors import UserError

IMAGE_NDIM = (3, 4)  # (N, H, W) or (N, C, H, W)


def pixel_names(shape: list[int]) -> list[str]:
    """One name per pixel, ``c0_h0_w0`` … in the flattening order."""
    C, H, W = shape
    return [f"c{c}_h{h}_w{w}" for c in range(C) for h in range(H) for w in range(W)]


def array_ndim(path: str | Path) -> int | None:
    """The number of dimensions of a .npy file or of a .npz file's ``X`` (None otherwise, or
    if the file cannot be read: the table loader then reports what is wrong with it)."""
    suffix = Path(path).suffix.lower()
    try:
        if suffix == ".npy":
            return len(npy_header(path)[0])
        if suffix == ".npz":
            X = npz_array(path, "X")
            return None if X is None else X.ndim
    except (UserError, OSError, ValueError):
        return None
    return None


def as_images(a: np.ndarray, what: str) -> np.ndarray:
    """(N, H, W) or (N, C, H, W) numbers → (N, C, H, W) float64; `UserError` for another shape."""
    check_array(a, what, ndim=IMAGE_NDIM)
    if a.ndim == 3:
        a = a[:, None]  # (N, 1, H, W)
    if min(a.shape) < 1:
        raise UserError(f"{what} has shape {a.shape}; every dimension needs at least 1 entry")
    return a.astype(np.float64)  # (N, C, H, W)


def read_images(path: str | Path) -> np.ndarray:
    """The images of a .npy file or of a .npz file's ``X``, as (N, C, H, W) float64."""
    check_path(path)
    if Path(path).suffix.lower() == ".npz":
        X = npz_array(path, "X")
        if X is None:
            raise UserError(f"{path}: no array 'X' (the images, (N, C, H, W) or (N, H, W))")
        return as_images(X, f"{path}: array 'X'")
    return as_images(np_load(path), str(path))


def load_images(path: str | Path, dtype: torch.dtype = torch.float32) -> Dataset:
    """A .npz of images ``X`` and labels ``y`` as a classification `Dataset` (rows of pixels)."""
    if Path(path).suffix.lower() != ".npz":
        shape = npy_header(path)[0]
        raise UserError(
            f"{path} is {len(shape)}-D with shape {shape}: a table must be 2-D (N, F + 1), and "
            "images in a .npy hold no labels; to train on images, save them as 'X' (N, C, H, W) "
            "and the labels as 'y' (N,) in a .npz (np.savez); `nnscratch predict` reads a .npy "
            "of images"
        )
    images = read_images(path)  # (N, C, H, W)
    y = npz_array(path, "y")
    if y is None:
        raise UserError(f"{path}: no array 'y' (the labels, one per image)")
    check_array(y, f"{path}: array 'y'", ndim=(1,), text_ok=True)
    if len(y) != len(images):
        raise UserError(f"{path}: {len(images)} images in 'X' but {len(y)} labels in 'y'")
    classes, index = np.unique(y, return_inverse=True)
    shape = list(images.shape[1:])
    X = torch.from_numpy(images.reshape(len(images), -1)).to(dtype)  # (N, C·H·W)
    names = pixel_names(shape)
    labels = [c.item() for c in classes]
    target = torch.from_numpy(index.astype(np.int64).reshape(-1))  # (N,)
    extra = {"image_shape": shape}
    return Dataset(X, target, "classification", names, "y", labels, Path(path).name, extra)


def image_rows(path: str | Path, shape: list[int]) -> torch.Tensor:
    """The images of ``path`` as rows (N, C·H·W) float64, for a model trained on ``shape``."""
    images = read_images(path)  # (N, C, H, W)
    if list(images.shape[1:]) != list(shape):
        C, H, W = shape
        raise UserError(
            f"{path}: images of shape {tuple(images.shape[1:])} (C, H, W); the model was trained "
            f"on {C}×{H}×{W} images: give an array (N, {C}, {H}, {W})"
            + (f" or (N, {H}, {W})" if C == 1 else "")
        )
    return torch.from_numpy(images.reshape(len(images), -1))  # (N, C·H·W)
