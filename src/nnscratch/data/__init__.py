"""Data: mini-batching (replaces ``DataLoader``), data sets, user files, splitting, scaling."""

from nnscratch.data.batches import batches
from nnscratch.data.dataset import Dataset
from nnscratch.data.datasets import BUILTINS, load_builtin
from nnscratch.data.files import load_file, select_features
from nnscratch.data.prepare import Standardizer, split
from nnscratch.data.synthetic import SyntheticData, make_regression

__all__ = [
    "BUILTINS",
    "Dataset",
    "Standardizer",
    "SyntheticData",
    "batches",
    "load_builtin",
    "load_file",
    "make_regression",
    "select_features",
    "split",
]
