"""The run's pictures: which files appear, that they are real PNGs, and what they show."""

import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import pytest
import torch

from nnscratch.loop import fit
from nnscratch.run import build
from nnscratch.run.config import TrainConfig
from nnscratch.run.plots import plot_fit, save_atomic, write_plots
from nnscratch.run.prepare import loss_target, prepare
from nnscratch.run.summary import summarize

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def trained(config):
    """Prepare the data, train a few epochs with the package's own pieces, summarize."""
    data = prepare(config)
    config = data.config
    dtype = getattr(torch, config.dtype)
    torch.manual_seed(config.seed)
    model = build.build_model(config, data.train.n_features, data.out_features, dtype, "cpu")
    loss_fn = build.build_loss(config)
    history = fit(
        model,
        data.train.X,
        loss_target(data.train.y, config.loss, dtype),
        loss_fn=loss_fn,
        optimizer=build.build_optimizer(config, model.parameters()),
        epochs=config.epochs,
        batch_size=config.batch_size,
        generator=torch.Generator().manual_seed(0),
    )
    records = [
        {"epoch": k + 1, "train_loss": loss, "lr": config.lr, "val": {"loss": 1.1 * loss}}
        for k, loss in enumerate(history)
    ]
    return records, summarize(model, data, loss_fn, history), model, data


def assert_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    assert image.shape == (480, 640, 4)  # 6.4 × 4.8 inches at 100 dpi, RGBA
    assert image[..., :3].std() > 0.05  # something was drawn, not a blank canvas


def test_one_feature_regression_writes_loss_and_fit(tmp_path):
    records, summary, model, data = trained(TrainConfig(epochs=20))
    paths = write_plots(tmp_path, records, summary, model, data)
    assert [p.name for p in paths] == ["loss.png", "fit.png"]
    for p in paths:
        assert_png(p)
    assert sorted(os.listdir(tmp_path)) == ["fit.png", "loss.png"]  # no temporary files left


def test_two_feature_classification_writes_loss_and_boundary(tmp_path):
    records, summary, model, data = trained(TrainConfig(data="builtin:moons", epochs=5))
    paths = write_plots(tmp_path / "new" / "dir", records, summary, model, data)
    assert [p.name for p in paths] == ["loss.png", "boundary.png"]
    for p in paths:
        assert_png(p)


def test_four_feature_classification_writes_only_loss(tmp_path):
    records, summary, model, data = trained(TrainConfig(data="builtin:iris", epochs=3))
    paths = write_plots(tmp_path, records, summary, model, data)
    assert [p.name for p in paths] == ["loss.png"]


def test_no_epochs_no_loss_plot(tmp_path):
    _, summary, model, data = trained(TrainConfig(epochs=0))
    paths = write_plots(tmp_path, [], summary, model, data)
    assert [p.name for p in paths] == ["fit.png"]


def test_fit_line_is_drawn_in_original_units(tmp_path):
    """A file's single feature is standardized for the model; the plot's x axis is not."""
    g = torch.Generator().manual_seed(1)
    x = 100 + 100 * torch.rand(60, generator=g, dtype=torch.float64)  # x in [100, 200]
    y = 0.5 * x - 20 + torch.randn(60, generator=g, dtype=torch.float64)
    csv = tmp_path / "line.csv"
    csv.write_text(
        "x,y\n" + "".join(f"{a},{b}\n" for a, b in zip(x.tolist(), y.tolist(), strict=True))
    )
    records, summary, model, data = trained(
        TrainConfig(data=str(csv), epochs=200, optimizer="sgd", lr=0.1)
    )
    assert data.standardizer is not None
    ax = plot_fit(model, data, summary).axes[0]
    learned = next(line for line in ax.get_lines() if line.get_label().startswith("learned"))
    xs = torch.tensor(learned.get_xdata(), dtype=torch.float64)
    ys = torch.tensor(learned.get_ydata(), dtype=torch.float64)
    train_x = data.standardizer.inverse_transform(data.train.X.double())  # original units
    assert xs.min() <= train_x.min() and xs.max() >= train_x.max()
    assert 90 < xs.min() and xs.max() < 210
    # ŷ = w·(x − μ)/σ + b with the model's own w, b, computed here by hand
    mu, sigma = data.standardizer.mean.item(), data.standardizer.std.item()
    w, b = model.weight.item(), model.bias.item()
    torch.testing.assert_close(ys, w * (xs - mu) / sigma + b, atol=1e-4, rtol=1e-4)
    assert "standardized" in learned.get_label()


def test_true_line_only_when_summary_has_true():
    records, summary, model, data = trained(TrainConfig(epochs=5))
    labels = [line.get_label() for line in plot_fit(model, data, summary).axes[0].get_lines()]
    assert any(label.startswith("true w=2.8") for label in labels)
    del summary["true"]
    labels = [line.get_label() for line in plot_fit(model, data, summary).axes[0].get_lines()]
    assert not any(label.startswith("true") for label in labels)


def test_boundary_regions_follow_the_model(tmp_path):
    """A hand-set logistic model that says class 1 iff x1 > 0: left half class 0, right class 1."""
    records, summary, model, data = trained(
        TrainConfig(data="builtin:moons", model="logistic", epochs=1)
    )
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[5.0, 0.0]]))  # (1, 2): logit = 5·x1
        model.bias.zero_()
    [path] = [
        p for p in write_plots(tmp_path, records, summary, model, data) if "boundary" in p.name
    ]
    image = matplotlib.image.imread(path)[..., :3]  # (H, W, 3) in [0, 1]
    # pixels just inside the axes' lower corners, in the margin where no training point is drawn
    left, right = image[400:410, 75:85].mean(axis=(0, 1)), image[400:410, 590:600].mean(axis=(0, 1))
    assert left[2] > left[0] + 0.1  # C0 blue region
    assert right[0] > right[2] + 0.1  # C1 orange region


def test_save_atomic_keeps_old_file_when_saving_fails(tmp_path, monkeypatch):
    from nnscratch.run.plots import new_figure

    target = tmp_path / "loss.png"
    target.write_bytes(b"old")
    figure = new_figure()

    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        save_atomic(figure, target)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["loss.png"]  # the temporary file was removed
    monkeypatch.undo()
    save_atomic(figure, target)
    assert target.read_bytes()[:8] == PNG_SIGNATURE


def test_importing_plots_does_not_import_matplotlib():
    code = "import sys, nnscratch.run.plots; print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
