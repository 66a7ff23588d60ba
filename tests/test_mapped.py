"""Rows of a large .npy file read batch by batch (`nnscratch.data.mapped`) against the same file
read whole: the same rows, statistics, batches, least squares, trained parameters; and peak memory
that stays flat as the file grows (measured in subprocesses)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, TensorDataset

from nnscratch.data import batches, files, load_file, mapped
from nnscratch.data.mapped import MappedRows
from nnscratch.data.prepare import Standardizer, split
from nnscratch.data.rows import apply
from nnscratch.errors import UserError
from nnscratch.run.checkpoint import data_state
from nnscratch.run.config import TrainConfig
from nnscratch.run.prepare import prepare
from nnscratch.run.summary import least_squares
from nnscratch.run.train import train

F64 = torch.float64


def regression_file(path, n=120, features=5, seed=0, target_first=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=3.0, scale=[1.0, 10.0, 0.1, 2.0, 5.0][:features], size=(n, features))
    y = X @ rng.normal(size=features) + 0.1 * rng.normal(size=n)
    a = np.column_stack([y, X] if target_first else [X, y])
    np.save(path, a)
    return a


@pytest.fixture
def small_chunks(monkeypatch):
    """Blocks of 7 rows of 6 float64 columns: every streaming pass runs over many blocks."""
    monkeypatch.setattr(mapped, "CHUNK_BYTES", 7 * 6 * 8)


def test_rows_equal_the_file_rows(tmp_path, small_chunks):
    a = regression_file(tmp_path / "a.npy", target_first=True)
    d = load_file(tmp_path / "a.npy", target=0, dtype=F64, mapped=True)
    assert isinstance(d.X, MappedRows) and d.X.shape == (120, 5) and len(d) == 120
    assert d.feature_names == [f"col{j}" for j in range(1, 6)] and d.target_name == "col0"
    X = torch.from_numpy(a[:, 1:])
    index = torch.tensor([5, 0, 119, 5, 33])
    torch.testing.assert_close(d.X[index], X[index], atol=0, rtol=0)
    torch.testing.assert_close(d.X[10:20], X[10:20], atol=0, rtol=0)
    torch.testing.assert_close(d.X[::7], X[::7], atol=0, rtol=0)
    torch.testing.assert_close(d.y.view(-1), torch.from_numpy(a[:, 0]), atol=0, rtol=0)
    part = d.X.subset(torch.tensor([3, 9, 4, 100])).subset(torch.tensor([2, 0]))
    torch.testing.assert_close(part[torch.tensor([1, 0])], X[[3, 4]], atol=0, rtol=0)
    assert part.subset(torch.tensor([], dtype=torch.int64))[0:0].shape == (0, 5)
    with pytest.raises(IndexError, match="out of range"):
        d.X[torch.tensor([120])]
    with pytest.raises(TypeError, match="slice or a 1-D integer tensor"):
        d.X[torch.tensor([0.5])]


def test_float32_rows_round_as_the_in_memory_path(tmp_path):
    regression_file(tmp_path / "a.npy")
    mine = load_file(tmp_path / "a.npy", mapped=True)  # float32
    whole = load_file(tmp_path / "a.npy", mapped=False)
    index = torch.randperm(120)[:17]
    assert mine.X[index].dtype == torch.float32
    torch.testing.assert_close(mine.X[index], whole.X[index], atol=0, rtol=0)
    torch.testing.assert_close(mine.y, whole.y, atol=0, rtol=0)


def test_blocks_cover_a_view_once_in_file_order(tmp_path, small_chunks):
    regression_file(tmp_path / "a.npy")
    X = load_file(tmp_path / "a.npy", dtype=F64, mapped=True).X
    view = X.subset(torch.randperm(120, generator=torch.Generator().manual_seed(1))[:50])
    pairs = list(view.blocks())
    assert len(pairs) > 5
    positions = torch.cat([p for p, _ in pairs])
    assert sorted(positions.tolist()) == list(range(50))  # every row once
    for p, xb in pairs:
        torch.testing.assert_close(xb, view[p], atol=0, rtol=0)
    file_rows = view.rows[positions]
    assert torch.equal(file_rows, file_rows.sort().values)  # read in file order


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(2, 60), keep=st.floats(0.2, 1.0))
def test_streamed_statistics_equal_torch(tmp_path_factory, seed, n, keep):
    path = tmp_path_factory.mktemp("stats") / "a.npy"
    a = regression_file(path, n=n, seed=seed)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(mapped, "CHUNK_BYTES", 5 * 6 * 8)
        X = load_file(path, dtype=F64, mapped=True).X
        rows = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        rows = rows[: max(2, int(keep * n))]  # 2+ rows: no constant column
        mine = Standardizer().fit(X.subset(rows))
    x = torch.from_numpy(a[:, :-1])[rows]  # the oracle: torch's mean and population std
    torch.testing.assert_close(mine.mean, x.mean(dim=0), atol=1e-12, rtol=1e-12)
    std = x.std(dim=0, correction=0)
    torch.testing.assert_close(mine.std, std, atol=1e-12, rtol=1e-9)


def test_standardized_rows_and_apply_equal_the_in_memory_path(tmp_path, small_chunks):
    regression_file(tmp_path / "a.npy")
    parts = split(load_file(tmp_path / "a.npy", dtype=F64, mapped=True), 0.2, 0.1, seed=3)
    whole = split(load_file(tmp_path / "a.npy", dtype=F64, mapped=False), 0.2, 0.1, seed=3)
    w = torch.randn(5, 2, dtype=F64)
    s_mine, s_whole = Standardizer().fit(parts.train.X), Standardizer().fit(whole.train.X)
    torch.testing.assert_close(s_mine.mean, s_whole.mean, atol=1e-13, rtol=1e-13)
    torch.testing.assert_close(s_mine.std, s_whole.std, atol=1e-13, rtol=1e-13)
    for mine, theirs in zip(parts, whole, strict=True):
        X = s_mine.transform(mine.X)
        assert isinstance(X, MappedRows)
        expected = s_whole.transform(theirs.X)  # (n, F)
        torch.testing.assert_close(X[: len(X)], expected, atol=1e-12, rtol=1e-12)
        torch.testing.assert_close(apply(lambda x: x @ w, X), expected @ w, atol=1e-12, rtol=0)
        torch.testing.assert_close(mine.y, theirs.y, atol=0, rtol=0)


def test_batches_equal_dataloader_over_the_file(tmp_path):
    a = regression_file(tmp_path / "a.npy", n=50)
    d = load_file(tmp_path / "a.npy", dtype=F64, mapped=True)
    loader = DataLoader(
        TensorDataset(torch.from_numpy(a[:, :-1]), torch.from_numpy(a[:, -1:])),
        batch_size=8,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
    )
    generator = torch.Generator().manual_seed(0)
    for _ in range(2):
        mine = list(batches(d.X, d.y, 8, shuffle=True, generator=generator))
        theirs = list(loader)
        assert len(mine) == len(theirs) == 7
        for (xb, yb), (xt, yt) in zip(mine, theirs, strict=True):
            torch.testing.assert_close(xb, xt, atol=0, rtol=0)
            torch.testing.assert_close(yb, yt, atol=0, rtol=0)


def test_classification_target_and_user_errors(tmp_path):
    rng = np.random.default_rng(0)
    a = np.column_stack([rng.normal(size=(40, 3)), rng.integers(0, 3, 40) * 2 + 1])
    np.save(tmp_path / "c.npy", a)
    mine = load_file(tmp_path / "c.npy", mapped=True)
    whole = load_file(tmp_path / "c.npy", mapped=False)
    assert mine.task == whole.task == "classification"
    assert mine.classes == whole.classes == [1, 3, 5]
    assert torch.equal(mine.y, whole.y)
    a[7, 1] = np.nan
    np.save(tmp_path / "nan.npy", a)
    with pytest.raises(UserError, match=r"nan.npy has a NaN or infinite value at index \(7, 1\)"):
        load_file(tmp_path / "nan.npy", mapped=True)
    np.save(tmp_path / "big.npy", np.array([[1e300, 1.0], [2.0, 2.0], [3.0, 3.0]]))
    with pytest.raises(UserError, match="too large for torch.float32"):
        load_file(tmp_path / "big.npy", mapped=True)
    assert load_file(tmp_path / "big.npy", dtype=F64, mapped=True).X.fits(F64)


def test_fortran_ordered_file_is_read_whole(tmp_path):
    a = np.asfortranarray(np.arange(30.0).reshape(10, 3))
    np.save(tmp_path / "f.npy", a)
    d = load_file(tmp_path / "f.npy", dtype=F64, mapped=True)
    assert isinstance(d.X, torch.Tensor)
    torch.testing.assert_close(d.X, torch.from_numpy(np.ascontiguousarray(a[:, :2])))


def test_streamed_least_squares_equals_lstsq(tmp_path, small_chunks):
    a = regression_file(tmp_path / "a.npy")
    X = load_file(tmp_path / "a.npy", dtype=F64, mapped=True).X
    y = torch.from_numpy(a[:, -1:])
    w, b = least_squares(X, y)  # normal equations, block by block
    A = torch.cat([torch.from_numpy(a[:, :-1]), torch.ones(120, 1, dtype=F64)], dim=1)
    oracle = torch.linalg.lstsq(A, y, driver="gelsd").solution  # (F+1, 1)
    torch.testing.assert_close(w, oracle[:-1].T, atol=1e-9, rtol=1e-9)
    torch.testing.assert_close(b, oracle[-1], atol=1e-9, rtol=1e-9)


def _run(path, monkeypatch, threshold, **config):
    monkeypatch.setattr(files, "MAPPED_MIN_BYTES", threshold)
    data = prepare(TrainConfig(data=str(path), dtype="float64", seed=4, **config))
    result = train(data)
    return data, result


@pytest.mark.parametrize(
    "config",
    [
        dict(batch_size=16, epochs=3, model="linear", optimizer="sgd", lr=0.05),
        dict(batch_size=10, epochs=2, model="mlp", hidden="8", optimizer="adam", lr=0.01),
        dict(epochs=3, model="linear", optimizer="sgd", lr=0.1),  # full batch: rows loaded
    ],
)
def test_training_on_the_file_equals_training_in_memory(tmp_path, monkeypatch, config):
    regression_file(tmp_path / "a.npy", n=90)
    mine, got = _run(tmp_path / "a.npy", monkeypatch, 0, **config)
    whole, expected = _run(tmp_path / "a.npy", monkeypatch, 2**62, **config)
    assert isinstance(whole.train.X, torch.Tensor)
    assert isinstance(mine.train.X, MappedRows) == ("batch_size" in config)
    for p, q in zip(got.model.parameters(), expected.model.parameters(), strict=True):
        torch.testing.assert_close(p, q, atol=1e-10, rtol=1e-10)
    for part in ("train", "val", "test"):
        for key, value in expected.summary["metrics"][part].items():
            assert got.summary["metrics"][part][key] == pytest.approx(value, rel=1e-9, abs=1e-12)
    if config["model"] == "linear":
        assert got.summary["least_squares"]["loss"] == pytest.approx(
            expected.summary["least_squares"]["loss"], rel=1e-9
        )


def test_checkpoint_fingerprint_sees_a_changed_file(tmp_path, monkeypatch, small_chunks):
    a = regression_file(tmp_path / "a.npy")
    monkeypatch.setattr(files, "MAPPED_MIN_BYTES", 0)
    config = TrainConfig(data=str(tmp_path / "a.npy"), batch_size=8)
    first, again = data_state(prepare(config)), data_state(prepare(config))
    assert first == again
    a[100, 2] += 1.0
    np.save(tmp_path / "a.npy", a)
    changed = data_state(prepare(config))
    assert changed["train_sha256"] != first["train_sha256"]


# -- memory: peak RSS for two file sizes, each in a fresh process ----------------------------------
COLUMNS = 128  # 127 features + the target, float64: 1 KiB per row
PEAK = """
import json, resource, sys
from nnscratch.run.config import TrainConfig
from nnscratch.run.prepare import prepare
from nnscratch.run.train import train
data = prepare(TrainConfig(data=sys.argv[1], batch_size=256, epochs=1, model="linear"))
train(data)
print(json.dumps({"mapped": type(data.train.X).__name__, "rows": len(data.train),
                  "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def write_big(path, mib: int) -> None:
    """A regression .npy file of ``mib`` MiB, written block by block (never whole in memory)."""
    n = mib * 2**20 // (8 * COLUMNS)
    a = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, COLUMNS))
    rng = np.random.default_rng(0)
    w = rng.normal(size=COLUMNS - 1)
    for start in range(0, n, 4096):
        x = rng.normal(size=(min(4096, n - start), COLUMNS - 1))
        a[start : start + len(x), :-1] = x
        a[start : start + len(x), -1] = x @ w + 0.1 * rng.normal(size=len(x))
    a.flush()
    del a
    with open(path, "rb") as f:
        os.fsync(f.fileno())  # on disk now: no write-back slowing down the reads being measured


def peak_rss_mib(path) -> float:
    out = subprocess.run(
        [sys.executable, "-c", PEAK, str(path)], capture_output=True, text=True, check=True
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["mapped"] == "MappedRows", report
    return report["peak"] / (2**20 if sys.platform == "darwin" else 2**10)  # bytes / KiB


@pytest.mark.slow
def test_peak_memory_stays_flat_as_the_file_grows(tmp_path):
    sizes = (32, 128)  # MiB; both above files.MAPPED_MIN_BYTES
    for mib in sizes:
        write_big(tmp_path / f"{mib}.npy", mib)
    small, large = (peak_rss_mib(tmp_path / f"{mib}.npy") for mib in sizes)
    growth = large - small
    print(f"peak RSS: {small:.0f} MiB ({sizes[0]} MiB file), {large:.0f} MiB ({sizes[1]} MiB)")
    assert growth < 0.25 * (sizes[1] - sizes[0]), (small, large)


def test_full_batch_config_gets_a_tensor(tmp_path, monkeypatch):
    regression_file(tmp_path / "a.npy")
    monkeypatch.setattr(files, "MAPPED_MIN_BYTES", 0)
    data = prepare(TrainConfig(data=str(tmp_path / "a.npy")))  # regression: full batch
    assert data.config.batch_size is None and isinstance(data.train.X, torch.Tensor)
