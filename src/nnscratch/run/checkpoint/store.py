"""A run folder on disk.  Replaces ``torch.save(checkpoint, path)`` / ``torch.load(path)``, which
use pickle: loading a pickle can run any code the file's author wrote. Here every file is either
JSON or safetensors (a JSON header plus raw tensor bytes), so loading only ever *parses*.

    DIR/
      checkpoint/                   one complete, self-contained checkpoint
        model.safetensors           parameters ("0.weight", ...; the model's state_dict)
        optimizer.safetensors       optimizer tensors: "state.<param index>.<key>"
        rng.safetensors             RNG states as uint8 tensors: "torch", "shuffle"
        config.json                 the resolved TrainConfig
        data.json                   preprocessing: standardizer mean/std, feature and target
                                    names, classes (label of each class index), task
        state.json                  epoch, step, elapsed, the optimizer's plain numbers
                                    (step counts, param groups), the scheduler's state, and
                                    the mark of metrics.jsonl at this epoch (lines, bytes,
                                    SHA-256 of those bytes: see records.py)
        manifest.json               written last: format, version, SHA-256 and size of each file
      metrics.jsonl                 one JSON line per epoch, appended as the run goes
      summary.json                  the final report (a finished run only)
      loss.png, fit.png, ...        plots (a finished run only)
      .nnscratch.lock               held by the run training here (see folder.py)

Saving writes a new ``.checkpoint.tmp/`` folder file by file (each one fsynced), the manifest
last, then swaps it in (`swap`), every name taken relative to the run folder's descriptor and
never through a link (`nofollow`): a link, or a ``checkpoint.old/`` that holds anything but a
checkpoint's files, is the user's, and the save stops instead of removing it. A kill at any moment leaves a complete
checkpoint at ``checkpoint/`` or, mid-swap, at ``checkpoint.old/``; `find` looks at both. On
load, a file whose hash differs from the manifest is refused: truncated, corrupted, or replaced.
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

from nnscratch.errors import UserError
from nnscratch.run import atomic
from nnscratch.run.checkpoint import loader, nofollow, records
from nnscratch.run.checkpoint.read import NO_PICKLE
from nnscratch.run.checkpoint.state import Snapshot, split_optimizer
from nnscratch.run.config import TrainConfig

FORMAT, VERSION = "nnscratch-checkpoint", 2  # 2: metrics.jsonl outside, marked
MANIFEST = "manifest.json"
FOLDER, TEMP = "checkpoint", ".checkpoint.tmp"
OLD = FOLDER + ".old"
TENSOR_FILES = ("model.safetensors", "optimizer.safetensors", "rng.safetensors")
JSON_FILES = ("config.json", "data.json", "state.json")
CHECKPOINT_FILES = (*TENSOR_FILES, *JSON_FILES, MANIFEST)  # all a checkpoint folder holds
RUN_FILES = (FOLDER, FOLDER + ".old", "metrics.jsonl", "summary.json", TEMP)


@dataclass
class Checkpoint:
    config: TrainConfig  # resolved
    data: dict[str, Any]  # preprocessing state (see data.json above)
    state: Snapshot
    path: Path  # the checkpoint folder it came from


def save(run_dir: str | Path, config: TrainConfig, data: dict[str, Any], snap: Snapshot) -> Path:
    """Write ``snap`` as ``run_dir/checkpoint`` (atomically, see above); return that folder.

    ``snap.metrics`` is the mark of ``run_dir/metrics.jsonl`` at the snapshot's epoch (the file
    is appended by the run, `records.MetricsLog`, and must be synced first); without one (a
    snapshot made by hand), ``snap.records`` are written as that file. A failure removes the
    half-built ``.checkpoint.tmp/`` and raises `WriteError`; the previous checkpoint stays.
    """
    run_dir = Path(run_dir)
    temp = run_dir / TEMP
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise atomic.write_error(run_dir, e) from None
    with nofollow.folder(run_dir) as fd:
        nofollow.remove(fd, TEMP, temp, CHECKPOINT_FILES)  # left over from a killed save
        try:
            os.mkdir(TEMP, dir_fd=fd)
        except OSError as e:
            raise atomic.write_error(temp, e) from None
        try:
            mark, lines = snap.metrics, None
            if mark is None:  # a snapshot made by hand: its records become the file, at the end
                lines = records.encode(snap.records)
                mark = records.mark_of(lines)
            _write_folder(fd, temp, _contents(config, data, snap, mark), snap.epoch)
            swap(fd, run_dir)
        except BaseException:
            with suppress(UserError):
                nofollow.remove(fd, TEMP, temp, CHECKPOINT_FILES)  # no half-built checkpoint
            raise
        if lines is not None:
            nofollow.write_atomic(fd, records.FILE, lines, run_dir / records.FILE)
    return run_dir / FOLDER


def _contents(
    config: TrainConfig, data: dict[str, Any], snap: Snapshot, mark: dict[str, Any]
) -> dict[str, bytes]:
    """The bytes of each file of the checkpoint folder but the manifest."""
    opt_tensors, opt_plain = split_optimizer(snap.optimizer)
    state = {
        "epoch": snap.epoch,
        "step": snap.step,
        "elapsed": snap.elapsed,
        "optimizer": opt_plain,
        "scheduler": snap.scheduler,
        "metrics": mark,  # run_dir/metrics.jsonl up to this epoch (see records.py)
    }
    return {
        "model.safetensors": _tensors({k: v.detach().cpu() for k, v in snap.model.items()}),
        "optimizer.safetensors": _tensors(opt_tensors),
        "rng.safetensors": _tensors({k: v.cpu() for k, v in snap.rng.items()}),
        "config.json": json.dumps(config.to_dict(), indent=1).encode(),
        "data.json": json.dumps(data, indent=1).encode(),
        "state.json": json.dumps(state, indent=1).encode(),
    }


def _write_folder(fd: int, temp: Path, contents: dict[str, bytes], epoch: int) -> None:
    """Each file into the new folder ``TEMP`` (of the run folder ``fd``), the manifest last."""
    manifest = {"format": FORMAT, "version": VERSION, "epoch": epoch, "files": {}}
    sub = nofollow.open_subfolder(fd, TEMP, temp)
    try:
        for name, blob in contents.items():
            nofollow.write_new(sub, name, blob, temp / name)  # the folder is swapped in whole
            manifest["files"][name] = {
                "sha256": hashlib.sha256(blob).hexdigest(),
                "bytes": len(blob),
            }
        blob = json.dumps(manifest, indent=1).encode()
        nofollow.write_new(sub, MANIFEST, blob, temp / MANIFEST)  # last
        with suppress(OSError):
            os.fsync(sub)
    finally:
        os.close(sub)


def swap(fd: int, run_dir: Path) -> None:
    """Make the complete ``TEMP`` folder of the run folder ``fd`` its ``checkpoint``.

    ``checkpoint`` → ``checkpoint.old``, ``TEMP`` → ``checkpoint``, then ``checkpoint.old`` is
    removed. A crash between the two renames leaves only ``checkpoint.old`` (the previous,
    complete folder), which `find` reads; after the second, the new one. Only folders holding
    nothing but a checkpoint's files are moved or removed (`nofollow.remove`).
    """
    path = run_dir / FOLDER
    try:
        if nofollow.lstat(fd, OLD) and nofollow.lstat(fd, FOLDER):  # a crash after a swap
            nofollow.remove(fd, OLD, run_dir / OLD, CHECKPOINT_FILES)
        if nofollow.lstat(fd, FOLDER):
            nofollow.check_owned(fd, FOLDER, path, CHECKPOINT_FILES)
            os.replace(FOLDER, OLD, src_dir_fd=fd, dst_dir_fd=fd)
        os.replace(TEMP, FOLDER, src_dir_fd=fd, dst_dir_fd=fd)
    except OSError as e:
        if nofollow.lstat(fd, OLD) and not nofollow.lstat(fd, FOLDER):  # the previous one back
            with suppress(OSError):
                os.replace(OLD, FOLDER, src_dir_fd=fd, dst_dir_fd=fd)
        raise atomic.write_error(path, e, "cannot replace the folder") from None
    with suppress(OSError):
        os.fsync(fd)  # the renames are on disk
    with suppress(UserError):
        nofollow.remove(fd, OLD, run_dir / OLD, CHECKPOINT_FILES)


def _tensors(tensors: dict[str, torch.Tensor]) -> bytes:
    return safetensors.torch.save({k: v.contiguous() for k, v in tensors.items()})


# -- loading -----------------------------------------------------------------------------------
def is_run(path: str | Path) -> bool:
    """Does ``path`` hold (part of) a run written by `save`?"""
    return any((Path(path) / name).exists() for name in RUN_FILES)


def find(path: str | Path) -> Path:
    """The checkpoint folder of the run at ``path`` (or ``path`` itself if it is one)."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"{p}: no such run folder; give the folder written by `train --out DIR`")
    if not p.is_dir():
        raise UserError(
            f"{p}: is a file, not a run folder; give the folder written by `train --out DIR` "
            f"({NO_PICKLE})"
        )
    for candidate in (p / FOLDER, p / (FOLDER + ".old"), p):
        if (candidate / MANIFEST).is_file():
            return candidate
    raise UserError(
        f"{p}: no checkpoint here ({FOLDER}/{MANIFEST} is missing); give the folder written by "
        "`nnscratch train --out DIR`"
    )


def run_dir(folder: Path) -> Path:
    """The run folder a checkpoint folder (from `find`) belongs to: where to save on resume."""
    return folder.parent if folder.name in (FOLDER, FOLDER + ".old") else folder


def load(path: str | Path) -> Checkpoint:
    """Read and check the checkpoint of the run at ``path``; `UserError` for any problem
    (every file's size, hash and every field are checked before use: `loader`)."""
    folder = find(path)
    config, data, snap = loader.read_checkpoint(folder, run_dir(folder), MANIFEST, FORMAT, VERSION)
    return Checkpoint(config, data, snap, folder)
