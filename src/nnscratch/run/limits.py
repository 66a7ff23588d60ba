"""Sizes that cannot work, refused before anything is allocated (instead of an allocator or
overflow traceback minutes later).

    --seed          torch.manual_seed takes [−2⁶³, 2⁶⁴ − 1]; nnscratch seeds are >= 0, so
                    [0, 2⁶⁴ − 1]; the generated built-in sets (moons, circles) use numpy's
                    RandomState, which takes [0, 2³² − 1]
    synthetic data  N·(F + 1) numbers for X and y, kept twice (the data set and its training
                    part), must fit in this machine's memory
    --hidden        the MLP's parameters, at least Σ hᵢ·hᵢ₊₁ + Σ hᵢ (the weights between hidden
                    layers and their biases, whatever the data), each kept 4 times (the value,
                    its gradient and up to two optimizer buffers), must fit too

    model           once the data is read (`check_parameters`): the exact count for its
                    number of features and outputs, for linear, logistic and MLP models

    data files      what a .npz member (or a .npy file loaded whole) unpacks to, read from
                    its zip and .npy headers before anything is decompressed, must be at most
                    `data_budget`: a quarter of the memory (reading makes the array, its
                    float64 form and the tensors); a memory-mapped .npy stays on disk and does
                    not count (`nnscratch.data.arrays`)

Memory is the physical memory (``os.sysconf``), or the process's address-space limit
(``RLIMIT_AS``) when that is lower; where neither can be read, only the seed is checked.
"""

from __future__ import annotations

import os
from typing import Any

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

from nnscratch.errors import UserError

SEED_MAX = 2**64 - 1  # torch.manual_seed's largest
NUMPY_SEED_MAX = 2**32 - 1  # numpy.random.RandomState's largest (sklearn's make_moons, ...)
NUMPY_SEEDED = ("builtin:moons", "builtin:circles")
ITEMSIZE = {"float32": 4, "float64": 8}
COPIES_OF_DATA = 2  # the data set and its training part
COPIES_OF_PARAMETERS = 4  # value, gradient, two optimizer buffers (Adam's m and v)
DATA_SHARE = 4  # data read into memory: at most a quarter of it


def memory_bytes() -> int | None:
    """This machine's physical memory in bytes, or None where the OS does not say."""
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        memory = None
    if resource is not None:
        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY and soft > 0:
            memory = soft if memory is None else min(memory, soft)
    return memory


def data_budget() -> int | None:
    """The most bytes one array of a data file may unpack to in memory (None: unknown)."""
    memory = memory_bytes()
    return None if memory is None else memory // DATA_SHARE


def check_data(path: Any, what: str, nbytes: int) -> None:
    """`UserError` if ``what`` of the data file ``path`` unpacks to more than `data_budget`."""
    budget = data_budget()
    if budget is not None and nbytes > budget:
        raise UserError(
            f"{path}: {what} unpacks to {gigabytes(nbytes)}, more than the {gigabytes(budget)} "
            "budget for data read into memory (a quarter of the memory); save the features as "
            "a .npy file, which is read from disk batch by batch, or use fewer rows"
        )


def gigabytes(n: int) -> str:
    return f"{n / 1e9:,.1f} GB"


def check(config: Any) -> None:
    """`UserError` for a seed no generator takes or sizes this machine cannot hold."""
    if not 0 <= config.seed <= SEED_MAX:
        raise UserError(f"--seed must be in [0, 2**64 - 1] (torch.manual_seed), got {config.seed}")
    if config.data in NUMPY_SEEDED and config.seed > NUMPY_SEED_MAX:
        raise UserError(
            f"--data {config.data} draws its points with numpy, which takes --seed up to "
            f"2**32 - 1 = {NUMPY_SEED_MAX}; got {config.seed}"
        )
    memory = memory_bytes()
    if memory is None:
        return
    itemsize = ITEMSIZE.get(config.dtype, 8)
    if config.data == "synthetic":
        need = config.n_samples * (config.n_features + 1) * itemsize * COPIES_OF_DATA
        if need > memory:
            raise UserError(
                f"--n-samples {config.n_samples} × --n-features {config.n_features}: the data "
                f"would take {gigabytes(need)}, more than this machine's {gigabytes(memory)} of "
                "memory; use fewer samples or features"
            )
    if config.model == "mlp" and config.hidden:
        sizes = config.hidden_sizes()
        params = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True)) + sum(sizes)
        need = params * itemsize * COPIES_OF_PARAMETERS
        if need > memory:
            raise UserError(
                f"--hidden {config.hidden}: at least {params:,} parameters, "
                f"{gigabytes(need)} with their gradients and optimizer state, more than this "
                f"machine's {gigabytes(memory)} of memory; use smaller layers"
            )


def check_parameters(config: Any, in_features: int, out_features: int) -> None:
    """Once the data is known: the exact parameter count of a linear, logistic or MLP model,
    Σ (a·b + b) over its layers a → b, kept `COPIES_OF_PARAMETERS` times, must fit in memory."""
    memory = memory_bytes()
    if memory is None or config.model not in ("linear", "logistic", "mlp"):
        return
    hidden = config.hidden_sizes() if config.model == "mlp" else []
    sizes = [in_features, *hidden, max(out_features, 2 if config.model == "logistic" else 1)]
    params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    need = params * ITEMSIZE.get(config.dtype, 8) * COPIES_OF_PARAMETERS
    if need > memory:
        raise UserError(
            f"the {config.model} model of {' → '.join(map(str, sizes))} has {params:,} parameters, "
            f"{gigabytes(need)} with their gradients and optimizer state, more than this "
            f"machine's {gigabytes(memory)} of memory; use smaller --hidden layers or fewer "
            "features"
        )
