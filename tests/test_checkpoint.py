"""Checkpoints: atomic writes, a pickle-free format that round-trips torch.optim state, and a
loader that refuses truncated, corrupted or pickled files without executing anything."""

import hashlib
import io
import json
import os
import pickle

import pytest
import safetensors.torch
import torch
from torch import nn

from nnscratch.errors import UserError
from nnscratch.run import atomic, checkpoint
from nnscratch.run.checkpoint import nofollow
from nnscratch.run.checkpoint.state import join_optimizer, split_optimizer
from nnscratch.run.checkpoint.store import MANIFEST
from nnscratch.run.config import TrainConfig
from nnscratch.run.prepare import prepare
from nnscratch.run.train import train


def iris_config(**changes) -> TrainConfig:
    base = dict(data="builtin:iris", epochs=3, batch_size=16, optimizer="adam", scheduler="step")
    return TrainConfig(**{**base, "step_size": 2, **changes})


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    train(prepare(iris_config()), out=out)
    return out


# -- atomic writes ------------------------------------------------------------------------------
def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "f.json"
    atomic.write_text(path, "old")
    atomic.write_bytes(path, b"new")
    assert path.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]


def test_a_write_killed_before_the_rename_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    atomic.write_bytes(path, b"old")

    def crash(*args):
        raise KeyboardInterrupt  # the process dies between fsync and rename

    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        atomic.write_bytes(path, b"new, half written")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_a_save_killed_midway_leaves_the_previous_checkpoint_loadable(tmp_path, monkeypatch):
    data = prepare(iris_config(epochs=2))
    train(data, out=tmp_path)
    before = checkpoint.load(tmp_path)
    real, calls = nofollow.write_new, []

    def dies_on_the_third_file(fd, name, blob, shown):
        calls.append(name)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(fd, name, blob, shown)

    monkeypatch.setattr(nofollow, "write_new", dies_on_the_third_file)
    snap = before.state
    later = checkpoint.Snapshot(5, 99, 1.0, snap.model, snap.optimizer, None, snap.rng, [])
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(tmp_path, before.config, before.data, later)
    after = checkpoint.load(tmp_path)
    assert after.state.epoch == before.state.epoch == 2
    for name, value in before.state.model.items():
        assert torch.equal(after.state.model[name], value)


def test_a_crash_between_the_two_renames_falls_back_to_the_old_folder(saved_run, tmp_path):
    run = tmp_path / "run"
    (run / "checkpoint.old").mkdir(parents=True)
    for f in (saved_run / "checkpoint").iterdir():
        (run / "checkpoint.old" / f.name).write_bytes(f.read_bytes())
    (run / "metrics.jsonl").write_bytes((saved_run / "metrics.jsonl").read_bytes())
    assert checkpoint.find(run) == run / "checkpoint.old"
    assert checkpoint.load(run).state.epoch == 3


# -- the format -------------------------------------------------------------------------------
def test_save_load_round_trip_is_exact(saved_run):
    ckpt = checkpoint.load(saved_run)
    assert ckpt.state.epoch == 3 and ckpt.config.epochs == 3 and ckpt.config.data == "builtin:iris"
    assert ckpt.data["classes"] == ["setosa", "versicolor", "virginica"]
    assert len(ckpt.state.records) == 3 and ckpt.state.records[-1]["epoch"] == 3
    lines = (saved_run / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == ckpt.state.records
    for key in ("epoch", "train_loss", "val", "lr", "grad_norm", "elapsed"):
        assert key in ckpt.state.records[0]
    assert ckpt.state.rng["torch"].dtype == torch.uint8
    assert ckpt.state.scheduler["last_epoch"] == 3
    assert ckpt.state.optimizer["param_groups"][0]["betas"] == (0.9, 0.999)


def test_files_are_json_and_safetensors_only(saved_run):
    names = sorted(p.name for p in (saved_run / "checkpoint").iterdir())
    assert names == sorted(
        [
            "config.json",
            "data.json",
            "state.json",
            MANIFEST,
            "model.safetensors",
            "optimizer.safetensors",
            "rng.safetensors",
        ]
    )
    for p in (saved_run / "checkpoint").glob("*.safetensors"):
        safetensors.torch.load(p.read_bytes())  # parses: a JSON header and raw bytes


def train_torch(model, opt, X, y, steps):
    for _ in range(steps):
        loss = nn.functional.mse_loss(model(X), y)
        loss.backward()
        opt.step()
        opt.zero_grad()


@pytest.mark.parametrize(
    "make",
    [lambda p: torch.optim.Adam(p, lr=0.01), lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9)],
)
def test_torch_optim_state_round_trips_like_torch_save(make):
    """Our split (safetensors + JSON) carries torch.optim's state as well as torch.save does."""
    torch.manual_seed(0)
    X, y = torch.randn(32, 3, dtype=torch.float64), torch.randn(32, 1, dtype=torch.float64)
    model = nn.Linear(3, 1, dtype=torch.float64)
    opt = make(model.parameters())
    train_torch(model, opt, X, y, 3)

    def resumed(load_state):
        m = nn.Linear(3, 1, dtype=torch.float64)
        m.load_state_dict(model.state_dict())
        o = make(m.parameters())
        o.load_state_dict(load_state())
        train_torch(m, o, X, y, 3)
        return list(m.parameters())

    def ours():
        tensors, plain = split_optimizer(opt.state_dict())
        blob = safetensors.torch.save(tensors)
        return join_optimizer(safetensors.torch.load(blob), json.loads(json.dumps(plain)))

    def theirs():
        buffer = io.BytesIO()
        torch.save(opt.state_dict(), buffer)
        buffer.seek(0)
        return torch.load(buffer, weights_only=True)

    for a, b in zip(resumed(ours), resumed(theirs), strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


# -- refusing bad checkpoints -------------------------------------------------------------------
class Exploit:
    """Unpickling this creates ``path``: proof that code ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def copy_run(src, dst):
    (dst / "checkpoint").mkdir(parents=True)
    for f in (src / "checkpoint").iterdir():
        (dst / "checkpoint" / f.name).write_bytes(f.read_bytes())
    (dst / "metrics.jsonl").write_bytes((src / "metrics.jsonl").read_bytes())  # the run's history
    return dst / "checkpoint"


def rehash(folder, name):
    """Update the manifest to match a tampered file, so that the file's own parser is tested."""
    manifest = json.loads((folder / MANIFEST).read_text())
    blob = (folder / name).read_bytes()
    manifest["files"][name] = {"sha256": hashlib.sha256(blob).hexdigest(), "bytes": len(blob)}
    (folder / MANIFEST).write_text(json.dumps(manifest))


def test_a_pickle_file_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    pt = tmp_path / "model.pt"
    pt.write_bytes(pickle.dumps(Exploit(marker)))
    with pytest.raises(UserError, match="is a file, not a run folder.*pickle"):
        checkpoint.load(pt)
    assert not marker.exists()


@pytest.mark.parametrize("fix_manifest", [False, True])
def test_safetensors_replaced_by_a_pickle_is_refused_and_never_executed(
    saved_run, tmp_path, fix_manifest
):
    marker = tmp_path / "pwned"
    folder = copy_run(saved_run, tmp_path / "run")
    (folder / "model.safetensors").write_bytes(pickle.dumps(Exploit(marker)))
    if fix_manifest:
        rehash(folder, "model.safetensors")
    message = "not a valid safetensors" if fix_manifest else "does not match"
    with pytest.raises(UserError, match=message):
        checkpoint.load(tmp_path / "run")
    assert not marker.exists()


@pytest.mark.parametrize("name", ["model.safetensors", "state.json", "optimizer.safetensors"])
def test_a_truncated_file_is_refused(saved_run, tmp_path, name):
    folder = copy_run(saved_run, tmp_path / "run")
    blob = (folder / name).read_bytes()
    (folder / name).write_bytes(blob[: len(blob) // 2])
    with pytest.raises(UserError, match="truncated, corrupted or replaced"):
        checkpoint.load(tmp_path / "run")
    rehash(folder, name)  # even with a matching manifest, the parser refuses it
    with pytest.raises(UserError, match="corrupted|not valid"):
        checkpoint.load(tmp_path / "run")


def test_flipped_bytes_missing_files_and_wrong_folders_are_refused(saved_run, tmp_path):
    folder = copy_run(saved_run, tmp_path / "run")
    blob = bytearray((folder / "rng.safetensors").read_bytes())
    blob[-1] ^= 0xFF
    (folder / "rng.safetensors").write_bytes(bytes(blob))
    with pytest.raises(UserError, match="does not match"):
        checkpoint.load(tmp_path / "run")
    blob[-1] ^= 0xFF
    (folder / "rng.safetensors").write_bytes(bytes(blob))
    assert checkpoint.load(tmp_path / "run").state.epoch == 3  # restored: loads again
    os.remove(folder / "data.json")
    with pytest.raises(UserError, match="missing from the checkpoint"):
        checkpoint.load(tmp_path / "run")
    os.remove(folder / MANIFEST)
    with pytest.raises(UserError, match="no checkpoint here"):
        checkpoint.load(tmp_path / "run")
    with pytest.raises(UserError, match="no such run folder"):
        checkpoint.load(tmp_path / "absent")


def test_a_config_with_unknown_fields_is_refused(saved_run, tmp_path):
    folder = copy_run(saved_run, tmp_path / "run")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "surprise": 1}))
    rehash(folder, "config.json")
    with pytest.raises(UserError, match="unknown configuration fields"):
        checkpoint.load(tmp_path / "run")
