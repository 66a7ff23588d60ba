"""The engine's bench cases (`nnscratch.lab.bench.engine_cases`) compare loops that do the same
work: from the same seed and data the engine and autograd reach the same parameters; and the
scalar micrograd-style anchor trains the seed's problem to the same w, b as the tensor step."""

import torch

from nnscratch.lab.bench import engine_cases, scalar_value
from nnscratch.lab.bench.loops import LR, data


def test_engine_and_autograd_loops_reach_the_same_parameters():
    for case in (engine_cases.seed_step(20), engine_cases.mlp_epoch(600, 4)):
        assert [p.target for p in case.pairs][0] in (None, 0.6)
        for name in case.models:
            case.variants[name](2)
        engine, autograd = (list(m.parameters()) for m in case.models.values())
        for a, b in zip(engine, autograd, strict=True):
            torch.testing.assert_close(a.detach(), b.detach(), atol=1e-6, rtol=1e-5)


def test_scalar_value_engine_matches_the_closed_form_seed_step():
    X, y = data(20, 1)
    run = scalar_value.seed_steps(X.double(), y.double(), LR)
    run(1)  # w = b = 0: ∂L/∂w = −2 mean(x y), ∂L/∂b = −2 mean(y)
    w_grad, b_grad = -2 * (X.double() * y.double()).mean(), -2 * y.double().mean()
    v = scalar_value.Value(2.0)
    z = v * v + v * 3.0 - 1.0  # a reused leaf: dz/dv = 2v + 3
    z.backward()
    assert v.grad == 7.0
    w, b = run.parameters
    assert abs(w.data + LR * w_grad.item()) < 1e-12 and abs(b.data + LR * b_grad.item()) < 1e-12
