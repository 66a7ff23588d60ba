"""`fit` is the five steps: the variation is chosen before the loop, the arguments are few and
unambiguous, and the function fits on one screen."""

import ast
import inspect
import textwrap

import pytest
import torch

from nnscratch import LinearRegression, fit, steps
from nnscratch.losses import mse_loss
from nnscratch.optim import SGD


def _fit_tree() -> ast.FunctionDef:
    return ast.parse(textwrap.dedent(inspect.getsource(fit))).body[0]


def test_lr_together_with_an_optimizer_is_an_error():
    model = LinearRegression(1)
    X, y = torch.randn(4, 1), torch.randn(4, 1)
    with pytest.raises(ValueError, match="both optimizer and lr=0.5"):
        fit(model, X, y, optimizer=SGD(model.parameters(), lr=0.1), lr=0.5, epochs=1)


def test_lr_alone_builds_plain_sgd_and_the_default_is_0_1():
    X, y = torch.randn(6, 1, dtype=torch.float64), torch.randn(6, 1, dtype=torch.float64)
    finals = {}
    for lr, kw in ((0.1, {}), (0.1, {"lr": 0.1}), (0.3, {"lr": 0.3})):
        torch.manual_seed(0)
        model = LinearRegression(1, dtype=torch.float64)
        fit(model, X, y, epochs=3, **kw)
        finals.setdefault(lr, []).append(model.weight.detach().clone())
    assert torch.equal(*finals[0.1])  # no lr == lr=0.1
    assert not torch.equal(finals[0.1][0], finals[0.3][0])


def test_fit_has_fewer_than_17_parameters_and_fits_on_one_screen():
    assert len(inspect.signature(fit).parameters) < 17
    tree = _fit_tree()
    body = tree.body[1:]  # after the docstring
    assert body[-1].end_lineno - body[0].lineno + 1 <= 25  # the code, without its docstring


def test_the_inner_loop_is_the_five_steps_and_nothing_else():
    """No branch inside the batch loop: the variation (autograd, compiled, by hand, sharded) is
    chosen once before it."""
    loops = [n for n in ast.walk(_fit_tree()) if isinstance(n, ast.For)]
    inner = loops[-1]
    assert ast.unparse(inner.iter).startswith("batches(")
    assert not [n for n in ast.walk(inner) if isinstance(n, ast.If | ast.IfExp)]
    calls = [ast.unparse(s.value.func) for s in inner.body if isinstance(s, ast.Expr)]
    assert calls == ["optimizer.step", "optimizer.zero_grad", "progress.add"]
    assert ast.unparse(inner.body[0].value.func) == "step"  # steps 1–3


@pytest.mark.parametrize(
    ("backward", "compile", "name"),
    [("autograd", False, "autograd"), ("manual", False, "by_hand"), ("autograd", True, "compiled")],
)
def test_choose_step_picks_the_variation_once(backward, compile, name, monkeypatch):
    chosen, original = [], getattr(steps, name)
    monkeypatch.setattr(steps, name, lambda *a: chosen.append(name) or original(*a))
    model = LinearRegression(1)
    step = steps.choose_step(model, mse_loss, backward, compile)
    assert chosen == [name]
    if not compile:  # compiling takes seconds: the compiled step is tested in test_train_backends
        loss, rows = step(torch.randn(5, 1), torch.randn(5, 1))
        assert rows == 5 and loss > 0
        assert model.weight.grad is not None


def test_unknown_backward_is_a_value_error():
    with pytest.raises(
        ValueError, match="backward must be one of autograd, manual, engine, got 'magic'"
    ):
        steps.choose_step(LinearRegression(1), mse_loss, "magic")
