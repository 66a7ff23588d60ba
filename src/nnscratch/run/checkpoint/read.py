"""Reading a checkpoint folder without trusting it: sizes before bytes, bytes before parsing.

The manifest is a checksum, not a signature: anyone can rewrite a file and re-hash it. So the
hashes only catch accidents (a truncated copy, a flipped bit), and every value is validated
anyway (`nnscratch.run.checkpoint.validate`). Reading goes in this order, so that no file is read
before its size is known to be sane:

    manifest.json       a regular file of at most 64 KiB; JSON; format, version, epoch and, for
                        each file, {"sha256": 64 hex digits, "bytes": an int >= 0}
    every listed file   os.stat: a regular file (no FIFO, no device) of exactly the manifest's size
    the JSON files      config.json, data.json, state.json: each under a fixed limit, read,
                        hashed, parsed (deeply nested JSON is an error, not a RecursionError)
    the tensors         model/optimizer/rng.safetensors: under a limit from the parameter count of
                        the model that config.json and data.json describe; read, hashed, parsed

Every problem is a `UserError` naming the file and what to do.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

from nnscratch.errors import UserError

KIB, MIB = 1024, 1024 * 1024
MANIFEST_LIMIT = 64 * KIB
HEADER_LIMIT = 1 * MIB  # a safetensors header and the small files (rng) stay below this
JSON_LIMITS = {"config.json": 1 * MIB, "data.json": 64 * MIB, "state.json": 16 * MIB}
FILES = (
    "model.safetensors",
    "optimizer.safetensors",
    "rng.safetensors",
    "config.json",
    "data.json",
    "state.json",
)  # metrics.jsonl lives in the run folder, marked in state.json (`records`)
NO_PICKLE = "nnscratch never loads .pt/pickle files: unpickling can run code"
HEX64 = re.compile(r"[0-9a-f]{64}")


def corrupted(file: Path, what: str) -> UserError:
    return UserError(
        f"{file}: {what}; the checkpoint is damaged or was not written by nnscratch "
        "(restore the folder from a copy, or train again)"
    )


def regular_size(file: Path) -> int:
    """The size of ``file`` from os.stat, refusing anything but a regular file."""
    try:
        st = os.stat(file)
    except FileNotFoundError:
        raise UserError(f"{file}: missing from the checkpoint; it is incomplete") from None
    except OSError as e:
        raise UserError(f"{file}: cannot be read ({e.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise corrupted(file, "not a regular file (a FIFO, device or folder)")
    return st.st_size


def manifest(folder: Path, filename: str, format: str, version: int) -> dict[str, Any]:
    """The parsed, checked manifest: ``{"epoch": int, "files": {name: {sha256, bytes}}}``."""
    file = folder / filename
    if regular_size(file) > MANIFEST_LIMIT:
        raise corrupted(file, f"larger than a manifest can be ({MANIFEST_LIMIT} bytes)")
    m = parse_json(file, file.read_bytes())
    if not isinstance(m, dict) or m.get("format") != format:
        raise UserError(f"{file}: not an nnscratch checkpoint manifest")
    if m.get("version") != version:
        raise UserError(
            f"{folder}: checkpoint format version {m.get('version')!r}; this nnscratch "
            f"reads version {version}"
        )
    epoch, files = m.get("epoch"), m.get("files")
    if type(epoch) is not int or epoch < 0:
        raise corrupted(file, f"'epoch' must be an integer >= 0, got {epoch!r}")
    if not isinstance(files, dict):
        raise corrupted(file, f"'files' must be an object naming each file, got {type(files)}")
    for name in FILES:
        entry = files.get(name)
        ok = (
            isinstance(entry, dict)
            and isinstance(entry.get("sha256"), str)
            and HEX64.fullmatch(entry["sha256"])
            and type(entry.get("bytes")) is int
            and entry["bytes"] >= 0
        )
        if not ok:
            raise corrupted(file, f"no valid entry {{'sha256', 'bytes'}} for {name}")
        size = regular_size(folder / name)
        if size != entry["bytes"]:
            raise UserError(
                f"{folder / name}: truncated, corrupted or replaced: {size} bytes on disk, the "
                f"manifest says {entry['bytes']} (it does not match {filename}); this "
                "checkpoint cannot be trusted: restore the folder or train again"
            )
    return m


def read(folder: Path, m: dict[str, Any], name: str, limit: int, at_least: int = 0) -> bytes:
    """The bytes of ``name``, refused unread if the manifest claims more than ``limit`` or fewer
    than ``at_least`` bytes."""
    file, entry = folder / name, m["files"][name]
    if entry["bytes"] > limit:
        raise corrupted(
            file,
            f"the manifest says {entry['bytes']} bytes, more than this run's configuration can "
            f"need ({limit})",
        )
    if entry["bytes"] < at_least:
        raise corrupted(
            file,
            f"{entry['bytes']} bytes, fewer than the {at_least} that this run's configuration's "
            "parameters take",
        )
    with open(file, "rb") as f:
        blob = f.read(entry["bytes"] + 1)  # one more: a file that grew since os.stat
    if len(blob) != entry["bytes"] or hashlib.sha256(blob).hexdigest() != entry["sha256"]:
        raise UserError(
            f"{file}: truncated, corrupted or replaced (it does not match the manifest); "
            "this checkpoint cannot be trusted: restore the folder or train again"
        )
    return blob


def parse_json(file: Path, blob: bytes) -> Any:
    try:
        return json.loads(blob.decode("utf-8"))
    except RecursionError:
        raise corrupted(file, "JSON nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise UserError(f"{file}: not valid JSON ({e}); the checkpoint is corrupted") from None


def parse_safetensors(file: Path, blob: bytes) -> dict[str, torch.Tensor]:
    try:
        return safetensors.torch.load(blob)
    except Exception as e:  # SafetensorError and friends: a parse failure, nothing executed
        raise UserError(
            f"{file}: not a valid safetensors file ({e}); the checkpoint is corrupted ({NO_PICKLE})"
        ) from None
