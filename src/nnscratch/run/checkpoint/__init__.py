"""Checkpoints: save a run, resume it exactly, load it to predict.  Replaces ``torch.save`` /
``torch.load`` of a state-dict bundle, without pickle.

    state.py    Snapshot: the run's state at an epoch boundary; capture / restore
    store.py    the run folder on disk: safetensors + JSON, a manifest, atomic swaps; load
    data.py     the preprocessing saved with a run (data.json); the same-data check on resume
"""

from nnscratch.run.checkpoint.data import check_same_data, data_state
from nnscratch.run.checkpoint.state import Snapshot, capture, restore
from nnscratch.run.checkpoint.store import Checkpoint, find, is_run, load, run_dir, save

__all__ = [
    "Checkpoint",
    "Snapshot",
    "capture",
    "check_same_data",
    "data_state",
    "find",
    "is_run",
    "load",
    "restore",
    "run_dir",
    "save",
]
