"""The machine's memory bandwidth, measured as the best of several streaming kernels.

A bandwidth *bound* is only a bound if no real computation can beat it, so the bandwidth it
divides by must be the most this machine can stream, not one kernel's rate. One thread's
``x.sum()`` is a reduction whose add chain can leave memory idle (13.9 GB/s on one Xeon, where a
matrix product streamed X faster and "reached 168 % of the bound"). Here, as in McCalpin's STREAM,
each kernel streams arrays far larger than the caches and counts the bytes it must move:

    kernel   operation          bytes moved per element (4-byte float32)
    copy     b ← a              2 · 4      (read a, write b)
    scale    b ← s·a            2 · 4
    add      c ← a + b          3 · 4
    triad    a ← b + s·c        3 · 4
    sum      Σ a                1 · 4      (read only)

each with torch (at the thread count asked for) and, for one thread, numpy; the median of a few
interleaved repeats per kernel, and the best kernel wins. Write-allocate traffic (a written line is
first read) is not counted, as in STREAM, so the figure is on the low side of what the hardware
moves; a fraction above 100 % is then a measurement error (caches, or a kernel this list misses),
and the bench says so instead of reporting it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from nnscratch.lab.bench.timing import interleave, median

FLOAT = 4  # bytes per float32


@dataclass(frozen=True)
class Bandwidth:
    bytes_per_s: float  # the best kernel's rate
    method: str  # which kernel won, e.g. "torch triad, 2 threads"
    threads: int  # the thread count it was measured with
    rates: dict[str, float]  # every kernel's rate (bytes/s), for the report


def _torch_kernels(n: int) -> dict[str, tuple[Callable[[], object], int]]:
    a, b, c = (torch.ones(n) for _ in range(3))  # (n,) each, float32
    s = 3.0
    return {
        "torch copy": (lambda: b.copy_(a), 2),
        "torch scale": (lambda: torch.mul(a, s, out=b), 2),
        "torch add": (lambda: torch.add(a, b, out=c), 3),
        "torch triad": (lambda: torch.add(b, c, alpha=s, out=a), 3),
        "torch sum": (lambda: a.sum(), 1),
    }


def _numpy_kernels(n: int) -> dict[str, tuple[Callable[[], object], int]]:
    import numpy as np

    a, b, c = (np.ones(n, dtype=np.float32) for _ in range(3))
    s = np.float32(3.0)
    return {
        "numpy copy": (lambda: np.copyto(b, a), 2),
        "numpy scale": (lambda: np.multiply(a, s, out=b), 2),
        "numpy add": (lambda: np.add(a, b, out=c), 3),
        "numpy sum": (lambda: a.sum(), 1),
    }


def measure(n_bytes: int, threads: int, repeats: int = 5) -> Bandwidth:
    """The best streaming rate with ``threads`` torch threads; arrays of ``n_bytes`` each."""
    n = n_bytes // FLOAT
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        kernels = _torch_kernels(n)
        if threads == 1:  # numpy's element-wise kernels are single-threaded
            kernels |= _numpy_kernels(n)
        for run, _ in kernels.values():
            run()  # warm-up: pages touched, kernels chosen
        times = interleave({name: run for name, (run, _) in kernels.items()}, repeats)
    finally:
        torch.set_num_threads(saved)
    rates = {name: kernels[name][1] * n * FLOAT / median(t) for name, t in times.items()}
    best = max(rates, key=rates.__getitem__)
    suffix = "1 thread" if threads == 1 else f"{threads} threads"
    return Bandwidth(rates[best], f"{best}, {suffix}", threads, rates)
