"""`nnscratch graph`: the hand-walked autograd graph, checked against autograd itself."""

import os
import re
import shutil
import stat
import sys

import pytest
import torch

from nnscratch import LinearRegression
from nnscratch.lab.graph import build_graph, iter_grad_fns, to_dot, to_mermaid, to_text
from nnscratch.lab.verify.graph import mlp_pair
from nnscratch.losses import mse_loss
from nnscratch.run.atomic import write_bytes as write_atomic
from nnscratch.run.cli import main

# The seed's loss, ((ŷ - y) ** 2).mean(), differentiated by autograd: its own nodes, in this order.
SEED_CHAIN = ["MeanBackward0", "PowBackward0", "SubBackward0", "AddmmBackward0"]
LINEAR_OPS = {*SEED_CHAIN, "PermuteBackward0"}


def linear_graph(features=1, backward=True):
    torch.manual_seed(0)
    model = LinearRegression(features)
    X, y = torch.randn(4, features), torch.randn(4, 1)
    loss = mse_loss(model(X), y)
    if backward:
        loss.backward()
    return build_graph(loss, model.named_parameters()), model, loss


def mlp_graph():
    forward, named, _ = mlp_pair((3, 4, 1))
    loss = mse_loss(
        forward(torch.randn(5, 3, dtype=torch.float64)), torch.zeros(5, 1, dtype=torch.float64)
    )
    loss.backward()
    return build_graph(loss, named), named, loss


def assert_consistent(graph, loss):
    """Nodes are autograd's own: each node's out-edges are its non-None next_functions."""
    n = len(graph.nodes)
    assert all(0 <= a < n and 0 <= b < n for a, b in graph.edges)
    fns = list(iter_grad_fns([loss.grad_fn]))
    assert len(fns) == n
    assert graph.nodes[0].op == type(loss.grad_fn).__name__ == "MeanBackward0"
    by_op = {}
    for fn in fns:
        by_op.setdefault(type(fn).__name__, []).append(
            sum(f is not None for f, _ in fn.next_functions)
        )
    for node in graph.nodes:
        assert len(graph.children(node.id)) in by_op[node.op]
        if node.is_leaf:
            assert node.op == "AccumulateGrad" and graph.children(node.id) == []
    reached = {b for _, b in graph.edges}
    assert reached == set(range(1, n))  # every node but the root has an input edge


def test_linear_graph_has_the_expected_ops_and_named_leaves():
    graph, model, loss = linear_graph(features=2)
    assert LINEAR_OPS <= {node.op for node in graph.nodes}
    assert {n.name for n in graph.leaves()} == {"weight", "bias"}
    assert graph.loss == pytest.approx(loss.item())
    assert_consistent(graph, loss)
    leaves = {n.name: n.tensor for n in graph.leaves()}
    assert leaves["weight"] is model.weight and leaves["bias"] is model.bias


def test_mlp_graph_has_relu_and_all_four_parameters():
    graph, named, loss = mlp_graph()
    ops = [node.op for node in graph.nodes]
    assert "ReluBackward0" in ops and ops.count("AddmmBackward0") == 2
    assert {n.name for n in graph.leaves()} == {name for name, _ in named}
    assert_consistent(graph, loss)


def test_text_shows_values_and_gradients_of_small_leaves_only_after_backward():
    graph, model, _ = linear_graph(features=3)
    text = to_text(graph)
    w, g = model.weight.flatten().tolist(), model.weight.grad.flatten().tolist()
    assert "weight (1, 3)" in text and "bias (1,)" in text
    assert "value [" + ", ".join(f"{v:.4g}" for v in w) + "]" in text
    assert "grad [" + ", ".join(f"{v:.4g}" for v in g) + "]" in text
    assert text.splitlines()[0] == f"loss = {graph.loss:.6g}"
    assert "grad [" not in to_text(linear_graph(features=3, backward=False)[0])
    assert to_text(graph, max_values=2).count("value [") == 1  # bias (1 value), not weight (3)


def test_max_values_hides_large_tensors():
    graph, _, _ = mlp_graph()
    text = to_text(graph, max_values=4)
    assert "0.weight (4, 3)" in text
    values = [line for line in text.splitlines() if "value [" in line]
    assert len(values) == 3  # 0.bias (4), 2.weight (4), 2.bias (1); not 0.weight (12)


def test_a_parameter_used_twice_is_one_node_with_two_edges():
    w = torch.tensor([2.0, -1.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    graph = build_graph(loss, [("w", w)])
    (leaf,) = graph.leaves()
    assert [b for _, b in graph.edges].count(leaf.id) == 2
    assert "(shared, shown above)" in to_text(graph)
    torch.testing.assert_close(leaf.tensor.grad, 2 * w.detach())  # autograd summed both paths


def test_no_graph_is_a_clear_error():
    with torch.no_grad():
        loss = mse_loss(torch.zeros(2, 1), torch.ones(2, 1))
    with pytest.raises(ValueError, match="no_grad"):
        build_graph(loss)


def declared_and_used(lines, decl, edge):
    declared = {m.group(1) for line in lines if (m := re.match(decl, line))}
    used = [x for line in lines if (m := re.match(edge, line)) for x in m.groups()]
    return declared, used


def test_mermaid_is_plausible_flowchart_source():
    graph, _, _ = mlp_graph()
    src = to_mermaid(graph)
    lines = [line.strip() for line in src.splitlines()]
    assert lines[0] == "flowchart TD"
    declared, used = declared_and_used(lines, r'^(\w+)\(?\["', r"^(\w+) --> (\w+)$")
    assert used and set(used) <= declared
    assert len(declared) == len(graph.nodes) + 1  # + the loss box
    for line in lines[1:]:
        assert line.count('"') % 2 == 0 and line.count("[") == line.count("]")


def test_dot_is_plausible_graphviz_source():
    graph, _, _ = mlp_graph()
    src = to_dot(graph)
    lines = [line.strip() for line in src.splitlines()]
    assert lines[0] == "digraph autograd {" and lines[-1] == "}"
    assert src.count("{") == src.count("}") == 1
    declared, used = declared_and_used(lines, r"^(\w+) \[label=", r"^(\w+) -> (\w+);$")
    assert used and set(used) <= declared
    assert len([line for line in lines if "->" in line]) == len(graph.edges) + 1
    for line in lines:
        assert len(re.findall(r'(?<!\\)"', line)) % 2 == 0


def test_write_atomic_replaces_whole_files_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "g.dot"
    write_atomic(target, b"old")
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        write_atomic(target, b"half")
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["g.dot"]


# -- the CLI --------------------------------------------------------------------------------


def test_cli_default_is_the_seed_model_as_a_text_tree(capsys):
    assert main(["graph"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("loss = ")
    for op in LINEAR_OPS:
        assert op in out
    assert "weight (1, 1)" in out and "bias (1,)" in out and "grad [" in out


def test_cli_seed_graph_is_the_plain_loss_chain(capsys):
    """`nnscratch graph` of the seed reads Mean → Pow → Sub → Addmm, one line below the other."""
    assert main(["graph"]) == 0
    ops = [line.split("·")[0].strip(" │├└─") for line in capsys.readouterr().out.splitlines()]
    chain = [op for op in ops if op.endswith("Backward0")]
    assert chain[: len(SEED_CHAIN)] == SEED_CHAIN


@pytest.mark.parametrize("loss_name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("model_kind", ["linear", "mlp"])
def test_default_path_has_no_custom_autograd_function(loss_name, model_kind):
    """Every node of the default graph is one of autograd's built-in nodes: no hand-written
    backward (a custom ``autograd.Function``) stands between the loss and the parameters."""
    from nnscratch import MLP, losses

    torch.manual_seed(0)
    model = LinearRegression(3) if model_kind == "linear" else MLP(3, [4], 1)
    loss = getattr(losses, loss_name)(model(torch.randn(5, 3)), torch.randn(5, 1))
    fns = list(iter_grad_fns([loss.grad_fn]))
    assert len(fns) >= 4
    for fn in fns:
        assert not isinstance(fn, torch.autograd.function.BackwardCFunction), type(fn).__name__
        assert type(fn).__module__ == "builtins", type(fn).__name__


def test_cli_no_backward_shows_no_gradients(capsys):
    assert main(["graph", "--no-backward", "--n-features", "2"]) == 0
    out = capsys.readouterr().out
    assert "weight (1, 2)" in out and "value [" in out and "grad [" not in out


def test_cli_prints_dot_and_mermaid(capsys):
    assert main(["graph", "--format", "dot"]) == 0
    assert capsys.readouterr().out.startswith("digraph autograd {")
    assert main(["graph", "--format", "mermaid"]) == 0
    assert capsys.readouterr().out.startswith("flowchart TD")


@pytest.mark.parametrize(
    ("name", "start"), [("g.dot", "digraph"), ("g.mmd", "flowchart"), ("g.txt", "loss =")]
)
def test_cli_out_infers_the_format_from_the_suffix(tmp_path, capsys, name, start):
    path = tmp_path / name
    assert main(["graph", "--out", str(path)]) == 0
    assert path.read_text().startswith(start)
    assert f"wrote {path}" in capsys.readouterr().out
    assert os.listdir(tmp_path) == [name]


def test_cli_image_without_graphviz_says_what_to_do(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert main(["graph", "--out", str(tmp_path / "g.svg")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "install graphviz" in err and ".dot or .mmd" in err
    assert os.listdir(tmp_path) == []


def test_cli_image_pipes_dot_source_through_graphviz(tmp_path, capsys, monkeypatch):
    fake = tmp_path / "dot"
    fake.write_text(
        f"#!{sys.executable}\nimport sys\nsrc = sys.stdin.read()\n"
        "sys.stdout.write('<svg>' + sys.argv[1] + ' ' + src.splitlines()[0] + '</svg>')\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(shutil, "which", lambda name: str(fake) if name == "dot" else None)
    out = tmp_path / "g.svg"
    assert main(["graph", "--out", str(out)]) == 0
    assert out.read_text() == "<svg>-Tsvg digraph autograd {</svg>"


def test_cli_graphviz_failure_is_a_user_error(tmp_path, capsys, monkeypatch):
    fake = tmp_path / "dot"
    fake.write_text(
        f"#!{sys.executable}\nimport sys\nsys.stderr.write('syntax error')\nsys.exit(1)\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(shutil, "which", lambda name: str(fake))
    assert main(["graph", "--out", str(tmp_path / "g.png")]) == 2
    assert "syntax error" in capsys.readouterr().err
    assert not (tmp_path / "g.png").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "g.pdf"], "cannot tell the format"),
        (["--out", "g.svg", "--format", "mermaid"], "use --format dot"),
        (["--model", "mlp", "--hidden", "8,x"], "comma-separated integers"),
        (["--model", "mlp", "--hidden", "0"], "all >= 1"),
        (["--samples", "0"], "must be >= 1"),
        (["--max-values", "-1"], "--max-values must be >= 0, got -1"),
        (["--model", "mlp", "--activation", "swish"], "swish"),
        (["--out", "no/such/dir/g.dot"], "does not exist"),
    ],
)
def test_cli_user_mistakes_are_one_line_errors(capsys, args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["graph", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_cli_mlp(capsys):
    assert main(["graph", "--model", "mlp", "--hidden", "3,2", "--n-features", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("AddmmBackward0") == 3  # three Linear layers
    for name in ("0.weight (3, 2)", "2.weight (2, 3)", "4.weight (1, 2)", "4.bias (1,)"):
        assert name in out
