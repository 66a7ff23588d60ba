"""nnscratch.health's statistics against an independent computation: torch.nn's model with the
same parameters (its own forward hooks), numpy's histogram, torch.optim's step."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from nnscratch.health import stats
from nnscratch.health.recorder import Recorder, observed_layers, weight_names
from nnscratch.layers import Linear
from nnscratch.losses import cross_entropy
from nnscratch.models import MLP
from nnscratch.optim import SGD, Adam
from nnscratch.steps import autograd


def twin(model: MLP, activation: type) -> nn.Sequential:
    """torch.nn's MLP holding copies of ``model``'s parameters."""
    sizes = [model.in_features, *model.hidden, model.out_features]
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    net = nn.Sequential(*layers)
    net.load_state_dict({k: v.detach().clone() for k, v in model.state_dict().items()})
    return net


def test_forward_hook_as_torch_nn():
    torch.manual_seed(0)
    layer, ref = Linear(3, 2), nn.Linear(3, 2)
    ref.load_state_dict(layer.state_dict())
    seen, ref_seen = [], []
    handle = layer.register_forward_hook(lambda m, args, out: seen.append((m, args, out)))
    ref.register_forward_hook(lambda m, args, out: ref_seen.append(out))
    x = torch.randn(4, 3)
    torch.testing.assert_close(layer(x), ref(x))
    assert seen[0][0] is layer and seen[0][1][0] is x
    torch.testing.assert_close(seen[0][2], ref_seen[0])
    replaced = layer.register_forward_hook(lambda m, args, out: out * 0)  # a return replaces
    assert (layer(x) == 0).all()
    handle.remove()
    replaced.remove()
    assert len(seen) == 2 and layer._forward_hooks == ()
    torch.testing.assert_close(layer(x), ref(x))


@pytest.mark.parametrize(
    ("name", "activation"), [("tanh", nn.Tanh), ("sigmoid", nn.Sigmoid), ("relu", nn.ReLU)]
)
def test_activation_statistics_match_torch_nn(name, activation):
    torch.manual_seed(0)
    model = MLP(8, [16, 16], 3, activation=name)
    with torch.no_grad():  # large weights: saturated tanh/sigmoid, dead ReLU units
        for p in model.parameters():
            p.mul_(4)
        model[0].bias[:5] = -100.0  # five units off for every row: dead if ReLU
    net = twin(model, activation)
    X = torch.randn(50, 8)
    outputs = {}
    for i, layer in enumerate(net):
        layer.register_forward_hook(lambda m, a, out, i=i: outputs.__setitem__(str(i), out))
    net(X)
    recorder = Recorder(model)
    opt = recorder.watch(SGD(model.parameters(), lr=0.1))
    autograd(model, cross_entropy)(X, torch.randint(0, 3, (50,)))
    opt.step()
    records = recorder.records[0]["layers"]
    assert [r["name"] for r in records] == [str(i) for i in range(5)]
    for r in records:
        a = outputs[r["name"]].detach().double().numpy()
        assert r["mean"] == pytest.approx(a.mean(), rel=1e-5, abs=1e-6)
        assert r["std"] == pytest.approx(a.std(ddof=1), rel=1e-5)
        counts, _ = np.histogram(a, bins=stats.BINS, range=(r["hist"]["lo"], r["hist"]["hi"]))
        assert sum(r["hist"]["counts"]) == a.size
        assert np.abs(np.array(r["hist"]["counts"]) - counts).sum() <= 2  # edge rounding
        if r["kind"] == "tanh":
            assert r["saturated"] == pytest.approx((np.abs(a) > 0.97).mean())
        if r["kind"] == "sigmoid":
            assert r["saturated"] == pytest.approx(((a < 0.03) | (a > 0.97)).mean())
        if r["kind"] == "relu":
            dead = (a == 0).all(axis=0).mean()
            assert r["dead"] == pytest.approx(dead)
    shares = [r.get("saturated", r.get("dead")) for r in records if r["kind"] == name]
    assert 0 < shares[0] < 1  # the check saw both kinds of unit


@pytest.mark.parametrize(("ours", "theirs"), [(SGD, torch.optim.SGD), (Adam, torch.optim.Adam)])
def test_parameter_ratios_match_torch_optim(ours, theirs):
    """grad/data and update/data from torch.nn + torch.optim doing the same step; the update is
    the one applied (Adam's normalised step, not lr·g)."""
    torch.manual_seed(1)
    model = MLP(5, [7], 2, activation="tanh")
    net = twin(model, nn.Tanh)
    X, y = torch.randn(20, 5), torch.randint(0, 2, (20,))
    recorder = Recorder(model)
    opt = recorder.watch(ours(model.parameters(), lr=0.01))
    autograd(model, cross_entropy)(X, y)
    opt.step()
    ref_opt = theirs(net.parameters(), lr=0.01)
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    nn.functional.cross_entropy(net(X), y).backward()
    grads = {n: p.grad.clone() for n, p in net.named_parameters()}
    ref_opt.step()
    params = {p["name"]: p for p in recorder.records[0]["params"]}
    assert set(params) == set(before)
    for n, p in net.named_parameters():
        data = before[n].std().item()
        g = params[n]
        assert g["grad_std"] == pytest.approx(grads[n].std().item(), rel=1e-4)
        assert g["grad_data"] == pytest.approx(grads[n].std().item() / data, rel=1e-4)
        update = (p.detach() - before[n]).std().item() / data
        assert g["update_data"] == pytest.approx(update, rel=1e-3)
        assert g["weight"] == n.endswith("weight")
    if ours is SGD:  # makemore's std(lr·g)/std(p), the same for plain SGD
        w = params["0.weight"]
        assert w["update_data"] == pytest.approx(0.01 * w["grad_data"], rel=1e-3)


def test_recording_changes_no_number():
    """The hooks and copies only read: a watched run equals an unwatched one, bit for bit."""
    from nnscratch.loop import fit

    def run(health):
        torch.manual_seed(3)
        model = MLP(4, [8], 3)
        X, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
        opt = Adam(model.parameters(), lr=0.01)
        gen = torch.Generator().manual_seed(0)
        recorder = Recorder(model, every=2) if health else None
        watched = opt if recorder is None else recorder.watch(opt)
        history = fit(
            model,
            X,
            y,
            loss_fn=cross_entropy,
            optimizer=watched,
            epochs=3,
            batch_size=16,
            generator=gen,
        )
        return history, model.state_dict(), recorder

    plain, state, _ = run(False)
    watched, watched_state, recorder = run(True)
    assert plain == watched
    for k in state:
        assert torch.equal(state[k], watched_state[k])
    assert recorder.records and recorder.records[0]["step"] == 0
    assert all(r["layers"] for r in recorder.records)  # every record saw the forward


def test_manual_backward_records_gradients_and_updates():
    """--backward manual does not call the layers: no activations, the rest as with autograd."""
    from nnscratch.backprop import loss_and_grads

    torch.manual_seed(0)
    model = MLP(3, [4], 2, activation="tanh")
    X, y = torch.randn(10, 3), torch.randint(0, 2, (10,))
    recorder = Recorder(model)
    opt = recorder.watch(SGD(model.parameters(), lr=0.1))
    loss_and_grads(model, cross_entropy, X, y)
    grad = model[0].weight.grad.std().item()
    opt.step()
    record = recorder.records[0]
    assert record["layers"] == []
    assert record["params"][0]["grad_std"] == pytest.approx(grad)


def test_observed_layers_and_weights():
    model = MLP(3, [4, 4], 2, activation="sigmoid")
    kinds = [(n, k) for n, k, _ in observed_layers(model)]
    assert kinds == [
        ("0", "linear"),
        ("1", "sigmoid"),
        ("2", "linear"),
        ("3", "sigmoid"),
        ("4", "linear"),
    ]
    assert weight_names(model) == {"0.weight", "2.weight", "4.weight"}
    assert weight_names(Linear(3, 1)) == {"weight"}
    assert math.isclose(stats.MARGIN, 0.03)


def test_engine_backward_records_the_same_activations_as_autograd():
    """--backward engine calls the layers with engine tensors: the hooks read their ``.data``,
    and the record is autograd's (the same forward, the same gradients within rounding)."""
    from nnscratch.steps import engine

    def record(step_of):
        torch.manual_seed(0)
        model = MLP(3, [4], 2, activation="tanh")
        X, y = torch.randn(10, 3), torch.randint(0, 2, (10,))
        recorder = Recorder(model)
        opt = recorder.watch(SGD(model.parameters(), lr=0.1))
        step_of(model, cross_entropy)(X, y)
        opt.step()
        return recorder.records[0]

    ours, theirs = record(engine), record(autograd)
    assert [layer["name"] for layer in ours["layers"]] == ["0", "1", "2"]
    assert ours["layers"] == theirs["layers"]  # the forward is the same computation
    for p, q in zip(ours["params"], theirs["params"], strict=True):
        assert p["grad_std"] == pytest.approx(q["grad_std"], rel=1e-6)


@pytest.mark.parametrize("backward", ["manual", "autograd"])
def test_a_forward_under_no_grad_is_not_recorded_as_the_steps(tmp_path, backward):
    """The hooks are on from one update to the recorded step's forward; the validation pass
    between epochs (under no_grad) fired them, and with --backward manual (whose forward does
    not call the layers) its activations were recorded as the training step's."""
    from nnscratch.health.report import read
    from nnscratch.run.config import TrainConfig
    from nnscratch.run.prepare import prepare
    from nnscratch.run.train import train

    config = TrainConfig(
        data="builtin:moons", hidden="4", epochs=6, batch_size=32, health=True, backward=backward
    )
    train(prepare(config.validate()), out=tmp_path / "run")
    records, _ = read(tmp_path / "run")
    assert len(records) >= 3  # steps 0, 10, 20: after an epoch's validation pass
    assert all(bool(r["layers"]) is (backward == "autograd") for r in records), records
