"""The benchmark: nnscratch next to the PyTorch abstractions it replaces, timed in one process.

Replaces nothing; it measures. Every nnscratch loop runs interleaved with the loop written with
``nn.Module`` / ``torch.optim`` / ``DataLoader`` (same seed, data, float32, thread count), and the
report gives medians and ratio = nnscratch speed / PyTorch speed (> 1: nnscratch is faster).

    timing.py   interleaved repeats, medians, RSS, read bandwidth, machine facts
    loops.py    the timed loops (five-step loop, `fit`, the nn/optim step) and the Case container
    cases.py    full-batch and mini-batch linear regression, MLP with SGD and Adam, manual backward
    digits.py   time to 0.97 test accuracy on digits
    memory.py   RSS growth over many steps
    runner.py   run_bench(): sizes (full or --quick), calibration, the JSON-ready result
    report.py   targets (PASS/MISS) and the text table

Like `nnscratch.lab.verify`, this package imports ``torch.nn``/``torch.optim``/``torch.utils.data``:
they are the reference side.
"""

from nnscratch.lab.bench.report import render, targets
from nnscratch.lab.bench.runner import run_bench

__all__ = ["render", "run_bench", "targets"]
