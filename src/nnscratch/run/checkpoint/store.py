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
                                    (step counts, param groups), the scheduler's state
        metrics.jsonl               one JSON line per epoch so far
        manifest.json               written last: format, version, SHA-256 and size of each file
      metrics.jsonl                 a copy of checkpoint/metrics.jsonl, for people and plots
      summary.json                  the final report (a finished run only)

Saving writes a new ``.checkpoint.tmp/`` folder file by file (each one atomically), the manifest
last, then swaps it in (`nnscratch.run.atomic.replace_dir`). A kill at any moment leaves a complete
checkpoint at ``checkpoint/`` or, mid-swap, at ``checkpoint.old/``; `find` looks at both. On
load, a file whose hash differs from the manifest is refused: truncated, corrupted, or replaced.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

from nnscratch.errors import UserError
from nnscratch.run import atomic
from nnscratch.run.checkpoint.state import Snapshot, join_optimizer, split_optimizer
from nnscratch.run.config import TrainConfig

FORMAT, VERSION = "nnscratch-checkpoint", 1
MANIFEST = "manifest.json"
FOLDER, TEMP = "checkpoint", ".checkpoint.tmp"
RUN_FILES = (FOLDER, FOLDER + ".old", "metrics.jsonl", "summary.json", TEMP)
DATA_KEYS = ("task", "features", "target", "classes", "standardizer", "out_features")
NO_PICKLE = "nnscratch never loads .pt/pickle files: unpickling can run code"


@dataclass
class Checkpoint:
    config: TrainConfig  # resolved
    data: dict[str, Any]  # preprocessing state (see data.json above)
    state: Snapshot
    path: Path  # the checkpoint folder it came from


def _jsonl(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def save(run_dir: str | Path, config: TrainConfig, data: dict[str, Any], snap: Snapshot) -> Path:
    """Write ``snap`` as ``run_dir/checkpoint`` (atomically, see above); return that folder."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    temp = run_dir / TEMP
    shutil.rmtree(temp, ignore_errors=True)  # left over from a killed save
    temp.mkdir()
    opt_tensors, opt_plain = split_optimizer(snap.optimizer)
    state = {
        "epoch": snap.epoch,
        "step": snap.step,
        "elapsed": snap.elapsed,
        "optimizer": opt_plain,
        "scheduler": snap.scheduler,
    }
    contents = {
        "model.safetensors": _tensors({k: v.detach().cpu() for k, v in snap.model.items()}),
        "optimizer.safetensors": _tensors(opt_tensors),
        "rng.safetensors": _tensors({k: v.cpu() for k, v in snap.rng.items()}),
        "config.json": json.dumps(config.to_dict(), indent=1).encode(),
        "data.json": json.dumps(data, indent=1).encode(),
        "state.json": json.dumps(state, indent=1).encode(),
        "metrics.jsonl": _jsonl(snap.records).encode(),
    }
    manifest = {"format": FORMAT, "version": VERSION, "epoch": snap.epoch, "files": {}}
    for name, blob in contents.items():
        atomic.write_bytes(temp / name, blob)
        manifest["files"][name] = {"sha256": hashlib.sha256(blob).hexdigest(), "bytes": len(blob)}
    atomic.write_text(temp / MANIFEST, json.dumps(manifest, indent=1))  # last: marks it complete
    folder = atomic.replace_dir(temp, run_dir / FOLDER)
    atomic.write_bytes(run_dir / "metrics.jsonl", contents["metrics.jsonl"])
    return folder


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


def _read_verified(folder: Path) -> dict[str, bytes]:
    """Every file listed in the manifest, checked against its size and SHA-256."""
    manifest = _json(folder / MANIFEST, (folder / MANIFEST).read_bytes())
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise UserError(f"{folder / MANIFEST}: not an nnscratch checkpoint manifest")
    if manifest.get("version") != VERSION:
        raise UserError(
            f"{folder}: checkpoint format version {manifest.get('version')!r}; this nnscratch "
            f"reads version {VERSION}"
        )
    blobs = {}
    for name in ("model.safetensors", "optimizer.safetensors", "rng.safetensors", "config.json",
                 "data.json", "state.json", "metrics.jsonl"):  # fmt: skip
        entry = manifest.get("files", {}).get(name)
        file = folder / name
        if not isinstance(entry, dict) or not file.is_file():
            raise UserError(f"{file}: missing from the checkpoint; it is incomplete")
        blob = file.read_bytes()
        if len(blob) != entry.get("bytes") or hashlib.sha256(blob).hexdigest() != entry.get(
            "sha256"
        ):
            raise UserError(
                f"{file}: truncated, corrupted or replaced (it does not match {MANIFEST}); "
                "this checkpoint cannot be trusted: restore the folder or train again"
            )
        blobs[name] = blob
    return blobs


def _json(file: Path, blob: bytes) -> Any:
    try:
        return json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise UserError(f"{file}: not valid JSON ({e}); the checkpoint is corrupted") from e


def _safetensors(file: Path, blob: bytes) -> dict[str, torch.Tensor]:
    try:
        return safetensors.torch.load(blob)
    except Exception as e:  # SafetensorError and friends: a parse failure, nothing executed
        raise UserError(
            f"{file}: not a valid safetensors file ({e}); the checkpoint is corrupted ({NO_PICKLE})"
        ) from e


def _config(file: Path, values: Any) -> TrainConfig:
    names = {f.name for f in fields(TrainConfig)}
    if not isinstance(values, dict) or set(values) - names:
        unknown = sorted(set(values) - names) if isinstance(values, dict) else values
        raise UserError(f"{file}: unknown configuration fields {unknown}; a newer nnscratch?")
    return TrainConfig(**values).validate()


def load(path: str | Path) -> Checkpoint:
    """Read and check the checkpoint of the run at ``path``; `UserError` for any problem."""
    folder = find(path)
    blobs = _read_verified(folder)
    try:
        state = _json(folder / "state.json", blobs["state.json"])
        records = [
            _json(folder / "metrics.jsonl", line)
            for line in blobs["metrics.jsonl"].splitlines()
            if line.strip()
        ]
        optimizer = join_optimizer(
            _safetensors(folder / "optimizer.safetensors", blobs["optimizer.safetensors"]),
            state["optimizer"],
        )
        snap = Snapshot(
            epoch=int(state["epoch"]),
            step=int(state["step"]),
            elapsed=float(state["elapsed"]),
            model=_safetensors(folder / "model.safetensors", blobs["model.safetensors"]),
            optimizer=optimizer,
            scheduler=state["scheduler"],
            rng=_safetensors(folder / "rng.safetensors", blobs["rng.safetensors"]),
            records=records,
        )
        config = _config(
            folder / "config.json", _json(folder / "config.json", blobs["config.json"])
        )
        data = _json(folder / "data.json", blobs["data.json"])
        missing = [k for k in DATA_KEYS if k not in data]
        if missing:
            raise KeyError(f"data.json lacks {', '.join(missing)}")
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise UserError(f"{folder}: the checkpoint is incomplete or malformed ({e!r})") from e
    return Checkpoint(config, data, snap, folder)
