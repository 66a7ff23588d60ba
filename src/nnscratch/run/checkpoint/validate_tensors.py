"""The tensor files of a checkpoint, checked (see `nnscratch.run.checkpoint.validate` for the
JSON files and `validate_optim` for the optimizer and scheduler):

    model   the model built from config + data: the same names, shapes and dtype, all finite
    rng     "torch" and "shuffle": uint8 vectors of the Mersenne Twister's state size (5056)
            that a generator accepts; "cuda.<i>": 16 bytes (Philox: seed and offset)
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from nnscratch.module import Module
from nnscratch.run.checkpoint.read import corrupted

CUDA_RNG_BYTES = 16  # Philox: seed and offset, 8 bytes each


def model(file: Path, tensors: dict[str, torch.Tensor], reference: Module) -> None:
    """The saved parameters have the built model's names, shapes and dtype, and are finite."""
    expected = reference.state_dict()
    if set(tensors) != set(expected):
        raise corrupted(
            file, f"parameters {sorted(tensors)}; this configuration has {sorted(expected)}"
        )
    for name, t in tensors.items():
        e = expected[name]
        if t.shape != e.shape or t.dtype != e.dtype:
            raise corrupted(
                file,
                f"{name!r} is {tuple(t.shape)} {t.dtype}; the configuration builds "
                f"{tuple(e.shape)} {e.dtype}",
            )
        if not bool(torch.isfinite(t).all()):
            raise corrupted(file, f"{name!r} holds NaN or infinite values")


def rng(file: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Generator states that a generator accepts, of the right size and dtype."""
    size = torch.get_rng_state().numel()  # 5056 bytes: the Mersenne Twister's state
    names = set(tensors)
    if not {"torch", "shuffle"} <= names or any(
        not re.fullmatch(r"cuda\.\d+", n) for n in names - {"torch", "shuffle"}
    ):
        raise corrupted(file, f"RNG states {sorted(names)}; expected torch, shuffle (cuda.<i>)")
    for name, t in tensors.items():
        want = CUDA_RNG_BYTES if name.startswith("cuda.") else size
        if t.dtype != torch.uint8 or t.shape != (want,):
            raise corrupted(
                file, f"RNG state {name!r} is {tuple(t.shape)} {t.dtype}, not ({want},) uint8"
            )
        if want == size:
            try:
                torch.Generator().set_state(t)
            except RuntimeError as e:
                raise corrupted(
                    file, f"RNG state {name!r} is not a generator state ({e})"
                ) from None
