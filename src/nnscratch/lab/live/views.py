"""What the page draws, computed from the run's own model and data (JSON-ready dicts).

    scene(data)            the points, once per run: train and test, by class or x → y
    prediction(model, …)   the model on a grid: class and confidence per cell (2 inputs), or the
                           fitted curve (1 input, regression); one small map per hidden unit
    network(model)         the Linear layers' weights and biases (and last gradients), for the graph

Maps travel as base64 bytes (one byte per cell) so that ~30 frames a second stay small.

What a frame costs is bounded whatever the model's size: at most `MAX_UNITS` units per layer
are drawn (maps, biases), the grid goes through the model in chunks of at most `CHUNK` numbers
per layer, and a large model gets a coarser grid (cells × parameters ≤ `DRAW_COST`).
"""

from __future__ import annotations

import base64
from typing import Any

import torch

from nnscratch.module import Module
from nnscratch.run.prepare import Prepared

GRID = 48  # cells per side of the prediction map
UNIT_GRID = 16  # cells per side of a hidden unit's map
CURVE = 120  # points on a fitted curve
MAX_POINTS = 600  # points drawn per part
MAX_EDGES = 4000  # above this many weights the graph shows no edges (and says so)
MAX_UNITS = 12  # units drawn per layer (the page's graph shows as many)
CHUNK = 2**18  # numbers per layer output while the grid goes through the model
DRAW_COST = 5 * 10**7  # grid cells × parameters per map, at most (a coarser grid above)
MIN_GRID = 8


def _bytes(values: torch.Tensor) -> str:
    """Values in [0, 1] as one byte each, base64."""
    q = (values.clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy().tobytes()
    return base64.b64encode(q).decode("ascii")


def _bounds(X: torch.Tensor) -> list[float]:
    lo, hi = X.min(0).values, X.max(0).values  # (2,)
    pad = (hi - lo) * 0.1 + 1e-6
    return [
        (lo[0] - pad[0]).item(),
        (hi[0] + pad[0]).item(),
        (lo[1] - pad[1]).item(),
        (hi[1] + pad[1]).item(),
    ]


def kind(data: Prepared) -> str:
    """'map' (2 inputs, classification or regression), 'curve' (1 input, regression), or
    'points' (more inputs: the first two features drawn, no prediction under them)."""
    f = data.train.n_features
    if f == 2:
        return "map"
    if f == 1 and data.train.task == "regression":
        return "curve"
    return "points"


def scene(data: Prepared) -> dict[str, Any]:
    """The points of the training and test parts (the inputs as the model sees them)."""
    parts = {}
    for name, part in (("train", data.train), ("test", data.test)):
        X = part.X[:MAX_POINTS][:].detach().double().cpu()  # (n, F)
        y = part.y[:MAX_POINTS].detach().double().cpu().reshape(-1)  # (n,)
        cols = X[:, :2] if X.shape[1] >= 2 else torch.cat([X[:, :1], y[:, None]], 1)  # (n, 2)
        parts[name] = {"xy": cols.tolist(), "y": y.tolist()}
    X = data.train.X[:].detach().double().cpu()
    allx = torch.cat(
        [torch.tensor(parts[p]["xy"], dtype=torch.float64).reshape(-1, 2) for p in parts]
    )
    ds = data.train
    return {
        "kind": kind(data),
        "task": ds.task,
        "n_classes": ds.n_classes or 0,
        "features": list(ds.feature_names),
        "target": ds.target_name,
        "n_train": len(data.train),
        "n_test": len(data.test),
        "n_features": X.shape[1],
        "bounds": _bounds(allx),
        "standardised": data.standardizer is not None,
        **parts,
    }


def _grid(bounds: list[float], n: int, dtype: torch.dtype, device: Any) -> torch.Tensor:
    x0, x1, y0, y1 = bounds
    xs = torch.linspace(x0, x1, n, dtype=dtype, device=device)
    ys = torch.linspace(y1, y0, n, dtype=dtype, device=device)  # top row first
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)  # (n·n, 2)


def _classes(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Class index and its probability per row; one logit means two classes (sigmoid)."""
    if logits.shape[1] == 1:
        p1 = torch.sigmoid(logits[:, 0])
        return (p1 > 0.5).long(), torch.maximum(p1, 1 - p1)
    p = torch.softmax(logits, 1)
    conf, cls = p.max(1)
    return cls, conf


def _is_linear(m: Module) -> bool:
    w = getattr(m, "weight", None)
    return isinstance(w, torch.Tensor) and w.ndim == 2


def _width(model: Module) -> int:
    """The widest layer output of the model (its number of units)."""
    linears = [m for m in getattr(model, "layers", []) if _is_linear(m)]
    return max([m.weight.shape[0] for m in linears] + [1])


def side(model: Module, largest: int) -> int:
    """Cells per side of a grid drawn under the model: ``largest``, or fewer for a large model
    (cells × parameters ≤ `DRAW_COST`), never under `MIN_GRID`."""
    params = sum(p.numel() for p in model.parameters())
    return max(MIN_GRID, min(largest, int((DRAW_COST / max(params, 1)) ** 0.5)))


def _through(model: Module, grid: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The model's output on the grid, and the first `MAX_UNITS` units of each hidden layer
    (after its activation), chunk by chunk: at most `CHUNK` numbers per layer output at once."""
    layers = list(getattr(model, "layers", []))
    rows = max(1, CHUNK // _width(model))
    outs, units = [], []
    for start in range(0, grid.shape[0], rows):
        h, kept = grid[start : start + rows], []  # (r, 2)
        if not layers:
            outs.append(model(h))
            continue
        for i, layer in enumerate(layers):
            h = layer(h)  # (r, units)
            if i < len(layers) - 1 and not _is_linear(layer):
                kept.append(h[:, :MAX_UNITS])  # (r, ≤ MAX_UNITS)
        outs.append(h)
        units.append(kept)
    hidden = [torch.cat(parts) for parts in zip(*units, strict=True)] if units else []
    return torch.cat(outs), hidden


def _unit_maps(hidden: list[torch.Tensor]) -> list[list[str]]:
    """Each drawn unit's activation over the grid, scaled per unit, as bytes."""
    maps = []
    for h in hidden:  # (n·n, ≤ MAX_UNITS)
        lo, hi = h.min(0).values, h.max(0).values  # (units,)
        scaled = (h - lo) / (hi - lo).clamp_min(1e-12)  # (n·n, units)
        q = (scaled.T * 255).round().to(torch.uint8).contiguous().cpu().numpy()  # (units, n·n)
        maps.append([base64.b64encode(row.tobytes()).decode("ascii") for row in q])
    return maps


@torch.no_grad()
def prediction(model: Module, data: Prepared, bounds: list[float]) -> dict[str, Any]:
    """The current prediction under the points, as `kind` says."""
    X = data.train.X
    dtype, device = X.dtype, X.device
    k = kind(data)
    if k == "map":
        n, unit_n = side(model, GRID), side(model, UNIT_GRID)
        out, _ = _through(model, _grid(bounds, n, dtype, device))  # (n·n, O)
        view: dict[str, Any] = {"n": n, "unit_n": unit_n}
        if data.train.task == "classification":
            cls, conf = _classes(out)
            view["cls"] = base64.b64encode(cls.to(torch.uint8).cpu().numpy().tobytes()).decode()
            view["conf"] = _bytes(conf)
        else:
            y = out[:, 0]
            view["value"] = _bytes((y - y.min()) / (y.max() - y.min()).clamp_min(1e-12))
        view["units"] = _unit_maps(_through(model, _grid(bounds, unit_n, dtype, device))[1])
        return view
    if k == "curve":
        n = side(model, CURVE)
        xs = torch.linspace(bounds[0], bounds[1], n, dtype=dtype, device=device)[:, None]
        return {"x": xs[:, 0].tolist(), "y": _through(model, xs)[0][:, 0].tolist()}
    return {}


def network(model: Module, grads: dict[str, torch.Tensor] | None) -> dict[str, Any]:
    """Layer sizes, and each Linear's ``weight`` (out, in) and ``bias`` with their last gradients."""
    linears = [m for m in getattr(model, "layers", [model]) if _is_linear(m)]
    names = dict((id(p), n) for n, p in model.named_parameters())
    sizes = [linears[0].weight.shape[1]] + [m.weight.shape[0] for m in linears]
    edges = sum(m.weight.numel() for m in linears)
    layers = []
    for m in linears:
        w, b = m.weight, m.bias
        layer = {
            "w": _round(w) if edges <= MAX_EDGES else None,
            "b": _round(b[:MAX_UNITS]) if b is not None else None,  # the units drawn
        }
        if grads is not None:
            gw, gb = grads.get(names[id(w)]), grads.get(names[id(b)]) if b is not None else None
            layer["gw"] = _round(gw) if gw is not None and edges <= MAX_EDGES else None
            layer["gb"] = _round(gb[:MAX_UNITS]) if gb is not None else None
        layer["norm"] = torch.linalg.vector_norm(w.detach()).item()  # no copy of w
        layers.append(layer)
    return {"sizes": sizes, "layers": layers, "activation": getattr(model, "activation", None)}


def _round(t: torch.Tensor) -> list:
    return [round(v, 5) for v in t.detach().double().reshape(-1).tolist()]
