"""Loading a checkpoint folder: the order of reading (`read`) and checking (`validate`,
`validate_tensors`, `validate_optim`), so that nothing is read before its size is known to be sane and nothing is
used before it is known to fit the run the configuration describes.

    1. manifest.json, then os.stat of every file it lists (regular, of the stated size)
    2. config.json, data.json, state.json (small, fixed limits): read, hashed, checked
    3. the model those describe, built on the meta device (shapes only, no memory): its
       tensors' bytes S bound model.safetensors to [S, S + 1 MiB] and its parameters' bytes P
       bound optimizer.safetensors to 3·P + 1 MiB (Adam's m, v and v̂, or RMSprop's three
       buffers), so a huge file is refused before it is read, and a tiny one claiming a huge
       model before that model is allocated (built on the CPU only then, leaving the global
       RNG as it was)
    4. the safetensors files: read, hashed, parsed, checked against that model, against the
       configured optimizer after one dry step, and the RNG states
    5. the metrics records up to the checkpoint's epoch (`records.read`), one per epoch
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from nnscratch.run import build
from nnscratch.run.checkpoint import read, records, validate, validate_optim, validate_tensors
from nnscratch.run.checkpoint.state import Snapshot
from nnscratch.run.config import TrainConfig

OPTIMIZER_BUFFERS = 3  # the most tensors shaped like p an optimizer keeps per parameter


def read_checkpoint(
    folder: Path, run_folder: Path, manifest_name: str, format: str, version: int
) -> tuple[TrainConfig, dict[str, Any], Snapshot]:
    """(configuration, data.json, snapshot) of a checkpoint folder; `UserError` for any problem."""
    m = read.manifest(folder, manifest_name, format, version)

    def parsed_json(name: str) -> Any:
        return read.parse_json(folder / name, read.read(folder, m, name, read.JSON_LIMITS[name]))

    cfg = validate.config(folder / "config.json", parsed_json("config.json"))
    data = validate.data(folder / "data.json", parsed_json("data.json"), cfg)
    state = validate.state(folder / "state.json", parsed_json("state.json"), cfg, m["epoch"])

    dtype = getattr(torch, cfg.dtype)
    n, out, shape = len(data["features"]), data["out_features"], data.get("image_shape")
    with torch.random.fork_rng(devices=[]):  # building draws initial weights: not ours to move
        outline = build.build_model(cfg, n, out, dtype, "meta", shape)  # shapes, no memory
    state_bytes = sum(t.numel() * t.element_size() for t in outline.state_dict().values())
    param_bytes = sum(p.numel() * p.element_size() for p in outline.parameters())
    sizes = {  # (at least, at most) bytes
        "model.safetensors": (state_bytes, read.HEADER_LIMIT + state_bytes),
        "optimizer.safetensors": (0, read.HEADER_LIMIT + OPTIMIZER_BUFFERS * param_bytes),
        "rng.safetensors": (0, read.HEADER_LIMIT),
    }
    tensors = {
        name: read.parse_safetensors(folder / name, read.read(folder, m, name, most, least))
        for name, (least, most) in sizes.items()
    }
    with torch.random.fork_rng(devices=[]):  # the file holds that many bytes: now allocate
        model = build.build_model(cfg, n, out, dtype, "cpu", shape)
    validate_tensors.model(folder / "model.safetensors", tensors["model.safetensors"], model)
    validate_tensors.rng(folder / "rng.safetensors", tensors["rng.safetensors"])
    fresh_optimizer, fresh_scheduler = validate_optim.references(cfg, model)
    optimizer = validate_optim.optimizer(
        folder / "optimizer.safetensors",
        tensors["optimizer.safetensors"],
        state["optimizer"],
        fresh_optimizer,
        state["step"],
    )
    scheduler = validate_optim.scheduler(
        folder / "state.json",
        state["scheduler"],
        fresh_scheduler,
        state["epoch"],
        len(fresh_optimizer["param_groups"]),
    )
    read.regular_size(run_folder / records.FILE)  # a FIFO there would block the read below
    try:
        lines = records.read(run_folder, state["metrics"])
    except RecursionError:  # json.loads of a line nested thousands deep
        raise read.corrupted(run_folder / records.FILE, "JSON nested too deeply") from None
    history = validate.records(run_folder / records.FILE, lines, state["epoch"])
    snap = Snapshot(
        epoch=state["epoch"],
        step=state["step"],
        elapsed=float(state["elapsed"]),
        model=tensors["model.safetensors"],
        optimizer=optimizer,
        scheduler=scheduler,
        rng=tensors["rng.safetensors"],
        records=history,
        metrics=state["metrics"],
    )
    return cfg, data, snap
