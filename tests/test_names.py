"""One list of names per kind: the CLI's choices are the library registries' keys."""

import click
import pytest

from nnscratch import losses, optim
from nnscratch.backprop import losses as derived_losses
from nnscratch.backprop.activations import DERIVATIVES
from nnscratch.layers import ACTIVATIONS
from nnscratch.optim import lr_scheduler
from nnscratch.run import config
from nnscratch.run.cli import cli


def choices(command: str, option: str) -> tuple[str, ...]:
    params = {p.name: p for p in cli.get_command(None, command).params}
    assert isinstance(params[option].type, click.Choice)
    return tuple(params[option].type.choices)


def test_losses_have_one_list():
    assert config.LOSS_NAMES == tuple(losses.LOSSES) == choices("train", "loss")
    assert set(losses.LOSSES.values()) <= set(derived_losses.DERIVED)  # each has its derivation


def test_activations_have_one_list():
    assert config.ACTIVATION_NAMES == tuple(ACTIVATIONS) == choices("train", "activation")
    assert tuple(DERIVATIVES) == tuple(ACTIVATIONS)
    assert choices("graph", "activation") == tuple(ACTIVATIONS)


def test_optimizers_have_one_list():
    assert config.OPTIMIZERS == tuple(optim.OPTIMIZERS) == choices("train", "optimizer")
    assert all(issubclass(cls, optim.Optimizer) for cls in optim.OPTIMIZERS.values())


def test_schedulers_have_one_list():
    assert config.SCHEDULERS == ("none", *lr_scheduler.SCHEDULERS) == choices("train", "scheduler")


@pytest.mark.parametrize("name", list(optim.OPTIMIZERS))
def test_every_optimizer_name_builds_its_class(name):
    import torch

    from nnscratch.run.build import build_optimizer

    p = torch.zeros(2, requires_grad=True)
    built = build_optimizer(config.TrainConfig(optimizer=name, lr=0.1), [p])
    assert type(built) is optim.OPTIMIZERS[name]


def test_missing_value_policies_have_one_list():
    from nnscratch.data.missing import POLICIES

    assert (
        config.MISSING == POLICIES == choices("train", "missing") == choices("predict", "missing")
    )
