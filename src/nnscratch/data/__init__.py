"""Data: mini-batching (replaces ``DataLoader``) and data sets."""

from nnscratch.data.batches import batches
from nnscratch.data.synthetic import SyntheticData, make_regression

__all__ = ["batches", "make_regression", "SyntheticData"]
