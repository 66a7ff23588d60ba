"""The mapping table, executable.  The only non-test code that imports ``torch.nn``/``torch.optim``.

Each module in this package covers one group of manual pieces and defines ``ORDER`` (its place in
the table) and ``rows()``, which runs every manual piece next to its PyTorch abstraction from the
same seed and data and yields one `Row` per comparison. New pieces add a module here; `run_all`
finds it by itself.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

from nnscratch.lab.verify.check import Row

__all__ = ["Row", "run_all"]


def _modules() -> list:
    mods = []
    for info in pkgutil.iter_modules(__path__):
        if info.name in ("check", "table"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "rows"):
            mods.append(module)
    return sorted(mods, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))


def run_all() -> Iterator[Row]:
    for module in _modules():
        yield from module.rows()
