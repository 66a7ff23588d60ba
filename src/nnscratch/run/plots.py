"""Pictures of a training run, written next to ``metrics.jsonl`` by ``nnscratch train --out DIR``.

Replaces what TensorBoard's ``SummaryWriter.add_scalar`` curves and a hand-made ``plt.contourf``
give a PyTorch user, as three PNG files:

    loss.png       train loss (and validation loss, when there is a validation part) per epoch
    fit.png        one-feature regression: the data, the learned line ŷ = w·x + b and, for the
                   synthetic data, the true line y = w*·x + b* the data was generated from
    boundary.png   two-feature classification: the class the model predicts at every point of a
                   grid (decision regions), with the training points on top

The model sees standardized features (x' = (x − μ)/σ, see `nnscratch.data.prepare`).  ``fit.png``
maps x' back to the original units for its x axis (the model still gets x'); ``boundary.png``
stays in the standardized space and says so on its axes.

matplotlib is imported inside the functions (``nnscratch --help`` stays fast), and only its
object-oriented API with the Agg canvas is used: no pyplot, no global backend switch.  Each file
is written atomically: saved to a temporary file in the same directory, then ``os.replace``-d.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from nnscratch.module import Module
from nnscratch.run.evaluate import predict_classes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from nnscratch.run.prepare import Prepared

GRID = 200  # points per axis of the decision-region grid (and of the fitted line)
MARGIN = 0.5  # padding around the data in the decision-region plot, in standardized units
CHUNK = 2**22  # numbers per layer output while a grid goes through the model (16 MB float32)


def _on_grid(model: Module, points: torch.Tensor) -> torch.Tensor:
    """``model(points)`` without gradients, a few rows at a time: a grid of 40,000 points through
    a layer 180,000 wide would be 29 GB at once; here at most `CHUNK` numbers per layer output."""
    widths = [p.shape[0] for p in model.parameters() if p.ndim == 2]  # a linear layer's units
    rows = max(1, CHUNK // max(widths + [1]))
    with torch.no_grad():
        return torch.cat([model(points[i : i + rows]) for i in range(0, len(points), rows)])


def new_figure(width: float = 6.4, height: float = 4.8) -> Figure:
    """A figure drawn by the Agg canvas, outside pyplot's global state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def save_atomic(figure: Figure, path: Path) -> Path:
    """``figure.savefig(path)``, but a reader never sees half a file and a failure keeps the old one.

    The PNG is rendered in memory, then written by `nnscratch.run.atomic.write_bytes`
    (a temporary file in the same directory, then ``os.replace``).
    """
    from nnscratch.run import atomic

    atomic.write_bytes(Path(path), png(figure))
    return Path(path)


def shown(text: str) -> str:
    """``text`` as a font can draw it: a file name's bytes that are not UTF-8 (which Python
    keeps as lone surrogates) become U+FFFD."""
    return str(text).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _title(summary: dict[str, Any]) -> str:
    data, config = summary["data"], summary["config"]
    model = config["model"] + (f" {config['hidden']}" if config["model"] == "mlp" else "")
    return shown(f"{data['name']}: {model}, {config['optimizer']} lr {config['lr']:g}")


def plot_loss(records: list[dict[str, Any]], summary: dict[str, Any]) -> Figure:
    """Train and validation loss against the epoch; log scale when the loss falls > 100×."""
    epochs = [r["epoch"] for r in records]
    train = [r["train_loss"] for r in records]
    val = [(r["epoch"], r["val"]["loss"]) for r in records if r.get("val")]
    figure = new_figure()
    ax = figure.add_subplot()
    ax.plot(epochs, train, label="train (mean over the epoch's batches)")
    if val:
        ax.plot([e for e, _ in val], [v for _, v in val], label="validation (after the epoch)")
    values = train + [v for _, v in val]
    if min(values) > 0 and max(values) / min(values) > 100:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"loss ({summary['config']['loss']})")
    ax.set_title(_title(summary))
    ax.grid(True, alpha=0.3)
    ax.legend()
    return figure


def _model_device_dtype(data: Prepared) -> tuple[torch.device, torch.dtype]:
    return data.train.X.device, data.train.X.dtype


def plot_fit(model: Module, data: Prepared, summary: dict[str, Any]) -> Figure:
    """One-feature regression: the points, the learned line, and the true line when known."""
    device, dtype = _model_device_dtype(data)
    x_seen = data.train.X[:]  # (N, 1) as the model sees it ([:] reads on-disk rows too)
    low, high = x_seen.min().item(), x_seen.max().item()
    pad = 0.05 * (high - low or 1.0)  # 5 % of the x range on each side
    grid = torch.linspace(low - pad, high + pad, GRID, dtype=dtype, device=device).view(-1, 1)
    y_line = _on_grid(model, grid)  # (GRID, 1)

    def original(x: torch.Tensor) -> list[float]:  # x' → x, the units the user knows
        x = x.detach().cpu()  # the standardizer's μ, σ live on the CPU
        if data.standardizer is not None:
            x = data.standardizer.inverse_transform(x)
        return x.view(-1).tolist()

    figure = new_figure()
    ax = figure.add_subplot()
    ax.scatter(original(x_seen), data.train.y.view(-1).tolist(), s=12, alpha=0.6, label="train")
    if len(data.val):
        ax.scatter(
            original(data.val.X[:]),
            data.val.y.view(-1).tolist(),
            s=12,
            alpha=0.6,
            marker="s",
            label="validation",
        )
    w, b = _line_label(model)
    where = " (on standardized x)" if w and data.standardizer is not None else ""
    label = f"learned {w}{b}{where}".rstrip()
    ax.plot(original(grid), y_line.view(-1).tolist(), color="C3", lw=2, label=label)
    true = summary.get("true")
    if true is not None:  # y = w*·x + b*, in the original units of x
        w_true, b_true = true["weight"][0][0], true["bias"][0]
        xs = original(grid)
        ax.plot(
            xs,
            [w_true * x + b_true for x in xs],
            color="k",
            ls="--",
            label=f"true w={w_true:.3g} b={b_true:.3g}",
        )
    ax.set_xlabel(shown(data.train.feature_names[0]))
    ax.set_ylabel(shown(data.train.target_name))
    ax.set_title(_title(summary))
    ax.grid(True, alpha=0.3)
    ax.legend()
    return figure


def _line_label(model: Module) -> tuple[str, str]:
    """'w=…, b=…' for a linear model (in the model's own, possibly standardized, x)."""
    params = dict(model.named_parameters())
    if set(params) == {"weight", "bias"} and params["weight"].numel() == 1:
        return f"w={params['weight'].item():.3g}", f" b={params['bias'].item():.3g}"
    return "", ""


def plot_boundary(model: Module, data: Prepared, summary: dict[str, Any]) -> Figure:
    """Two-feature classification: predicted class on a grid, in the standardized space."""
    from matplotlib.colors import ListedColormap

    device, dtype = _model_device_dtype(data)
    X = data.train.X[:]  # (N, 2) standardized ([:] reads on-disk rows too)
    lo = X.min(dim=0).values - MARGIN  # (2,)
    hi = X.max(dim=0).values + MARGIN  # (2,)
    g0 = torch.linspace(lo[0].item(), hi[0].item(), GRID, dtype=dtype, device=device)  # (G,)
    g1 = torch.linspace(lo[1].item(), hi[1].item(), GRID, dtype=dtype, device=device)  # (G,)
    a, b = torch.meshgrid(g0, g1, indexing="xy")  # (G, G) each: a varies along columns
    points = torch.stack([a.reshape(-1), b.reshape(-1)], dim=1)  # (G·G, 2)
    regions = predict_classes(_on_grid(model, points)).view(GRID, GRID)  # (G, G) class index

    classes = data.train.classes or []
    k = len(classes)
    colors = [f"C{i}" for i in range(k)]
    figure = new_figure()
    ax = figure.add_subplot()
    ax.contourf(
        a.cpu().numpy(),
        b.cpu().numpy(),
        regions.cpu().numpy(),
        levels=[i - 0.5 for i in range(k + 1)],
        cmap=ListedColormap(colors),
        alpha=0.3,
    )
    y = data.train.y.cpu()
    for i, label in enumerate(classes):
        mine = X[y == i].cpu()  # (n_i, 2)
        ax.scatter(
            mine[:, 0].tolist(),
            mine[:, 1].tolist(),
            s=12,
            color=colors[i],
            edgecolors="k",
            linewidths=0.3,
            label=shown(f"class {label}"),
        )
    names = data.train.feature_names
    ax.set_xlabel(shown(f"{names[0]} (standardized)"))
    ax.set_ylabel(shown(f"{names[1]} (standardized)"))
    accuracy = summary["metrics"]["train"].get("accuracy")
    suffix = f", train accuracy {accuracy:.3f}" if accuracy is not None else ""
    ax.set_title(_title(summary) + suffix)
    ax.legend(loc="best")
    return figure


def write_plots(
    out_dir: Path,
    records: list[dict[str, Any]],
    summary: dict[str, Any],
    model: Module,
    data: Prepared,
    write: Callable[[str, bytes], Path] | None = None,
) -> list[Path]:
    """Write the plots that apply to this run into ``out_dir``; return their paths.

    loss.png whenever at least one epoch ran; fit.png for one-feature regression; boundary.png
    for two-feature classification. ``write(name, png)``: the run folder's writer, which never
    follows a link (`nnscratch.run.checkpoint.folder.RunFolder.write`).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures: list[tuple[str, Figure]] = []
    if records:
        figures.append(("loss.png", plot_loss(records, summary)))
    task, n_features = data.train.task, data.train.n_features
    if task == "regression" and n_features == 1:
        figures.append(("fit.png", plot_fit(model, data, summary)))
    if task == "classification" and n_features == 2:
        figures.append(("boundary.png", plot_boundary(model, data, summary)))
    if write is not None:
        return [write(name, png(figure)) for name, figure in figures]
    return [save_atomic(figure, out_dir / name) for name, figure in figures]
