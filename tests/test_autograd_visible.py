"""The engine made visible: ``graph --backward engine`` draws the recorded operations with their
shapes and the order backward visits them; ``explain --backward engine`` prints each node's
incoming gradient."""

import copy
import json

import torch

from nnscratch.autograd import topological_sort
from nnscratch.autograd.graph import backward
from nnscratch.autograd.model import forward_and_loss
from nnscratch.lab.graph.engine import build_engine_graph
from nnscratch.lab.graph.examples import example_inputs
from nnscratch.losses import mse_loss
from nnscratch.models import MLP
from nnscratch.run.cli import main


def test_engine_graph_lists_operations_in_visit_order_with_the_real_parameters():
    torch.manual_seed(0)
    net = MLP(2, [3], 1)
    X, y = torch.randn(4, 2), torch.randn(4, 1)
    loss, pairs = forward_and_loss(net, mse_loss, X, y)
    graph = build_engine_graph(loss, pairs, net.named_parameters())
    ops = [n.op.split(" ")[0] for n in graph.nodes if not n.is_leaf]
    assert ops[0] == "mean" and "addmm" in ops and "relu" in ops
    assert not {"Linear", "Activation", "Sequential", "MLP"} & set(ops)  # operations, not layers
    assert "addmm (4, 3)" in " ".join(n.op for n in graph.nodes)
    visits = sorted(int(n.op.rsplit("#", 1)[1]) for n in graph.nodes if not n.is_leaf)
    assert visits == list(range(1, len(topological_sort(loss.grad_fn)) + 1))
    assert {n.name for n in graph.leaves()} == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert all(leaf.tensor is dict(net.named_parameters())[leaf.name] for leaf in graph.leaves())


def test_cli_graph_backward_engine_shows_gradients_equal_to_autograd(capsys):
    assert main(["graph", "--backward", "engine", "--n-features", "2"]) == 0
    text = capsys.readouterr().out
    assert "addmm (4, 1)  · backward #4" in text and "mean ()  · backward #1" in text
    assert main(["graph", "--n-features", "2"]) == 0  # autograd's, the same gradients
    reference = capsys.readouterr().out
    grads = [line.strip() for line in text.splitlines() if "grad [" in line]
    assert grads and grads == [line.strip() for line in reference.splitlines() if "grad [" in line]
    assert main(["graph", "--backward", "engine", "--model", "cnn", "--no-backward"]) == 0
    text = capsys.readouterr().out
    assert "conv2d (4, 2, 4, 4)" in text and "batch_norm" in text and "grad [" not in text


def test_explain_backward_engine_prints_each_nodes_incoming_gradient(capsys):
    args = ["explain", "--steps", "1", "--n-samples", "4", "--json"]
    assert main([*args, "--backward", "engine"]) == 0
    engine = json.loads(capsys.readouterr().out)[0]
    assert main(args) == 0
    autograd = json.loads(capsys.readouterr().out)[0]
    nodes = engine["backward"]["engine_nodes"]
    assert [n["op"] for n in nodes] == ["mean", "pow", "sub", "addmm", "transpose"]
    assert nodes[0]["grad"]["values"] == [1.0]  # ∂L/∂L
    assert nodes[1]["grad"]["values"] == [0.25] * 4  # mean over 4: 1/N each
    assert engine["backward"]["grads"] == autograd["backward"]["grads"]
    assert autograd["backward"]["engine_nodes"] is None
    assert main(["explain", "--steps", "1", "--n-samples", "4", "--backward", "engine"]) == 0
    assert "#4 addmm" in capsys.readouterr().out


def test_the_tiny_examples_record_the_same_gradients_as_autograd():
    for name in ("cnn", "transformer"):
        net, loss_fn, x, y = example_inputs(name, 2, 0)
        ref = copy.deepcopy(net)
        loss, pairs = forward_and_loss(net, loss_fn, x, y)
        backward(loss)
        loss_fn(ref(x), y).backward()
        leaf_of = {id(p): leaf for p, leaf in pairs}
        for p, q in zip(net.parameters(), ref.parameters(), strict=True):
            torch.testing.assert_close(leaf_of[id(p)].grad, q.grad, atol=1e-6, rtol=1e-5)


def test_pitfall_recursion_without_topological_sort_loses_a_contribution():
    from nnscratch.lab.pitfalls import get, run

    result = run(get("recursion-without-topological-sort"))
    assert result.broken.error is None and result.correct.error is None
    assert result.correct.observed["grad_x"] == result.correct.observed["expected"] == 39.0
    assert result.broken.observed["grad_x"] == 18.0  # only h·h's first operand got through
