"""One request must not take the machine: the lab's budget refuses a run before it allocates,
what the page draws is bounded whatever the model's size, and a run whose thread fails still
sends a last frame (the tab never waits forever)."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

warnings.filterwarnings("ignore", message=".*httpx2.*")
pytest.importorskip("starlette")
from test_lab_api import JSON, PORT, lab_client, open_session, wait_for  # noqa: E402

from nnscratch.lab.live import budget, views  # noqa: E402
from nnscratch.lab.live.server import Lab  # noqa: E402
from nnscratch.lab.live.session import Run  # noqa: E402
from nnscratch.run.config import TrainConfig  # noqa: E402
from nnscratch.run.prepare import prepare  # noqa: E402


@pytest.fixture
def client():
    lab = Lab(port=PORT)
    with lab_client(lab) as c:
        c.get(f"/?token={lab.token}")
        c.lab = lab
        yield c
    lab.close()


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"model": "mlp", "hidden": "1000000"}, "hidden"),
        ({"data": "builtin:moons", "model": "mlp", "hidden": "4000,4000,4000"}, "hidden"),
        ({"data": "builtin:digits", "model": "cnn", "channels": "4096,4096"}, "channels"),
        ({"n_samples": 10**8, "n_features": 10}, "n_samples"),
        ({"epochs": 10**9}, "epochs"),
    ],
    ids=["mlp-wide", "mlp-deep", "cnn", "samples", "epochs"],
)
def test_a_run_over_the_budget_is_refused_before_it_allocates(client, settings, field):
    ws, sid, r = open_session(client, settings)
    assert r.status_code == 400 and r.json()["field"] == field, r.text
    assert "MB" in r.json()["error"] and "\n" not in r.json()["error"]
    session = client.lab.sessions[sid]
    assert session.runs == 0 and session.run is None  # nothing was built
    ws.send_json({"type": "play"})
    assert "apply settings" in wait_for(ws, lambda m: m["type"] == "error")[0]["error"]
    ws.__exit__(None, None, None)


def test_the_estimate_covers_what_a_step_really_holds():
    """The meta-device count is at least the real parameters, gradients and Adam state."""
    data = prepare(TrainConfig(data="builtin:moons", model="mlp", hidden="64,64", lr=0.01))
    n_params, need = budget.step_bytes(data)
    out = data.out_features  # one logit for two classes
    assert n_params == 2 * 64 + 64 + 64 * 64 + 64 + 64 * out + out  # the MLP's own count
    assert need >= 4 * n_params * 4  # value, gradient, m, v in float32
    assert need < budget.MAX_BYTES


class Peak(TorchDispatchMode):
    """The largest tensor any operation allocates (a view of an input allocates nothing)."""

    def __init__(self) -> None:
        super().__init__()
        self.numel = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        flat = [*args, *(kwargs or {}).values()]
        inputs = {a.untyped_storage().data_ptr() for a in flat if isinstance(a, torch.Tensor)}
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor) and t.untyped_storage().data_ptr() not in inputs:
                self.numel = max(self.numel, t.numel())
        return out


@pytest.mark.parametrize("hidden", ["8", "200000", "300000,4"])
def test_what_the_page_draws_is_bounded_whatever_the_hidden_size(hidden):
    from nnscratch.run.build import build_model

    data = prepare(TrainConfig(data="builtin:moons", model="mlp", hidden=hidden))
    model = build_model(data.config, 2, 2, torch.float32, "cpu")
    bounds = views.scene(data)["bounds"]
    with Peak() as peak:
        view = views.prediction(model, data, bounds)
        net = views.network(model, None)
    widest = max(int(h) for h in hidden.split(","))
    assert peak.numel <= max(views.CHUNK, widest)  # never grid × hidden at once: one row at most
    assert all(len(layer) <= views.MAX_UNITS for layer in view["units"])
    assert all(len(layer["b"]) <= views.MAX_UNITS for layer in net["layers"])
    params = sum(p.numel() for p in model.parameters())
    assert view["n"] ** 2 * params <= max(views.DRAW_COST, views.MIN_GRID**2 * params)
    if hidden == "8":
        assert view["n"] == views.GRID and len(view["units"][0]) == 8


def test_a_failing_thread_still_sends_a_last_frame(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise MemoryError("drawing needs more memory than there is")

    data = prepare(TrainConfig(data="builtin:moons", model="mlp", hidden="4", epochs=3))
    run = Run(data, tmp_path / "run", autoplay=True)
    monkeypatch.setattr(views, "prediction", broken)
    run.start()
    run.thread.join(120)
    assert not run.thread.is_alive()
    assert run.frame["state"] == "error" and "MemoryError" in run.frame["message"]


def test_settings_body_must_be_json_typed(client):
    ws, sid, r = open_session(client, {"epochs": 3})
    plain = {"content-type": "text/plain"}
    r = client.post(f"/api/session/{sid}/settings", content=b'{"epochs": 9}', headers=plain)
    assert r.status_code == 415
    r = client.post(f"/api/session/{sid}/settings", content=b'{"epochs": 9}', headers=JSON)
    assert r.status_code == 200 and client.lab.sessions[sid].runs == 2
    ws.__exit__(None, None, None)


def test_a_backward_without_formulas_is_refused_at_its_field(monkeypatch, tmp_path):
    """As train refuses it (`steps.check_supported`), before the run is made: the page's
    answer names the backward field (here `backprop.supports` answers no, as it would for a
    model without hand-derived rules)."""
    from nnscratch import steps
    from nnscratch.errors import UserError
    from nnscratch.lab.live.session import Session
    from nnscratch.lab.live.settings import field_of, parse

    monkeypatch.setattr(steps, "supports", lambda model, loss_fn: False)
    config, lab = parse({"data": "builtin:moons", "model": "mlp", "backward": "manual"})
    session = Session("tab", tmp_path)
    try:
        with pytest.raises(UserError, match="--backward manual has no") as refused:
            session.configure(config, lab)
        assert field_of(str(refused.value)) == "backward" and session.run is None
    finally:
        session.close()


@pytest.mark.parametrize("backward", ["autograd", "manual", "engine"])
def test_the_estimate_counts_the_step_of_the_runs_backward(backward):
    """The estimate ran autograd's step whatever the run's --backward: the hand-derived
    convolution unfolds its input (im2col), ~14× autograd's tensors, so a manual CNN was
    estimated far below what its real step creates. Counted the same way (every tensor an
    operation returns), the real step on the CPU with the real loss is the estimate's, within
    10 % (the loss is stood in for: a sum, or mse for manual; ~5 % measured for each)."""
    from nnscratch.run import build
    from nnscratch.run.prepare import loss_target
    from nnscratch.steps import choose_step

    fields = dict(data="builtin:digits", model="cnn", channels="4", backward=backward)
    data = prepare(TrainConfig(**fields).validate())
    _, need = budget.step_bytes(data)
    config = data.config
    torch.manual_seed(0)
    shape = data.train.extra["image_shape"]
    model = build.build_model(config, data.train.n_features, data.out_features, torch.float32,
                              "cpu", shape)  # fmt: skip
    optimizer = build.build_optimizer(config, model.parameters())
    step = choose_step(model, build.build_loss(config), backward)
    y = loss_target(data.train.y, config.loss, torch.float32)
    counter = budget._Counter()
    with counter:
        step(data.train.X, y)
        optimizer.step()
    assert counter.bytes <= 1.1 * need, (counter.bytes, need)
