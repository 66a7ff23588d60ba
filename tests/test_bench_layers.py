"""The CNN and transformer bench cases time the same computation on both sides: after the same
work, the nnscratch model and the torch.nn model hold the same numbers (float32 tolerances)."""

import pytest
import torch

from nnscratch.lab.bench.layer_cases import cnn_epoch, transformer_step


@pytest.mark.parametrize("make", [cnn_epoch, transformer_step], ids=["cnn", "transformer"])
def test_both_sides_compute_the_same_training(make):
    case = make()
    ours, ref = case.models["nnscratch"], case.models["nn/optim"]
    for name, p in ours.state_dict().items():  # the same starting numbers
        assert torch.equal(p, ref.state_dict()[name]), name
    for run in case.variants.values():
        run(1)
    theirs = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.detach(), theirs[name].detach(), atol=2e-4, rtol=1e-3)
    assert [(p.manual, p.reference, p.target) for p in case.pairs] == [
        ("nnscratch", "nn/optim", 1.0)
    ]
