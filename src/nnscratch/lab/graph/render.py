"""Draw a `Graph`: a text tree for the terminal, Mermaid and Graphviz DOT source for files.

A leaf shows its name and shape and, when it has at most ``max_values`` elements, its values and
(after ``backward()``) its gradient. Arrows follow the gradient: from the loss towards the leaves.
"""

from __future__ import annotations

import torch

from nnscratch.lab.graph.walk import Graph, Node
from nnscratch.lab.width import WIDTH, wrap

MAX_VALUES = 10  # a leaf with more elements shows its shape only
FOLD_AT = 28  # columns of indentation beyond which a subtree is drawn as its own section

# What the forward pass did at each common node (the text tree shows it next to the name).
OP_HINTS = {
    "MeanBackward0": "mean()",
    "SumBackward0": "sum()",
    "PowBackward0": "** k",
    "SubBackward0": "a - b",
    "AddBackward0": "a + b",
    "MulBackward0": "a * b",
    "DivBackward0": "a / b",
    "MmBackward0": "matrix product a @ b",
    "AddmmBackward0": "fused b + x @ W.T",
    "PermuteBackward0": "transpose W.T",
    "TBackward0": "transpose W.T",
    "ReluBackward0": "relu",
    "ThresholdBackward0": "relu: threshold(x, 0, 0)",
    "WhereBackward0": "torch.where (e.g. relu by hand)",
    "ClampMinBackward0": "clamp(min=0) (e.g. relu by hand)",
    "TanhBackward0": "tanh",
    "SigmoidBackward0": "sigmoid",
    "GeluBackward0": "gelu",
    "MseLossBackward0": "F.mse_loss",
}


def _numbers(t: torch.Tensor) -> str:
    values = t.detach().cpu().flatten().tolist()
    return "[" + ", ".join(f"{v:.4g}" for v in values) + "]"


def leaf_lines(node: Node, max_values: int = MAX_VALUES) -> list[str]:
    """``['weight (1, 3)', 'value [..]', 'grad [..]']`` for a leaf; ``[op]`` for an operation."""
    if node.tensor is None:
        return [node.op]
    t = node.tensor
    lines = [f"{node.name} {tuple(t.shape)}"]
    if t.numel() <= max_values:
        lines.append(f"value {_numbers(t)}")
        if t.grad is not None:
            lines.append(f"grad {_numbers(t.grad)}")
    return lines


def _header(graph: Graph) -> str:
    value = f" = {graph.loss:.6g}" if graph.loss is not None else ""
    return f"loss{value}"


def to_text(graph: Graph, max_values: int = MAX_VALUES) -> str:
    """A tree from the loss to the leaves; a node reached a second time is marked, not repeated.

    The tree fits 80 columns: a subtree that starts deeper than `FOLD_AT` columns is folded
    (``⇒ [k]``) and drawn after the tree as section ``[k]``, from the left margin again (a
    transformer's residual stream nests one level per layer); a long line wraps under itself."""
    out = [_header(graph)]
    shown: set[int] = set()
    folded: dict[int, int] = {}  # node id → its section number

    def emit(first: str, rest: str, text: str) -> None:
        pieces = wrap("", text, 2, max(WIDTH - len(first), 24)).split("\n")
        out.append(first + pieces[0])
        out.extend(rest + piece for piece in pieces[1:])

    def draw(node_id: int, prefix: str, last: bool, top: bool) -> None:
        node = graph.nodes[node_id]
        branch = "" if top else ("└── " if last else "├── ")
        more = "" if top else ("    " if last else "│   ")
        lines = leaf_lines(node, max_values)
        if node_id in shown:
            emit(prefix + branch, prefix + more, f"{lines[0]} (shared, shown above)")
            return
        hint = "AccumulateGrad" if node.is_leaf else OP_HINTS.get(node.op)
        label = f"{lines[0]}  · {hint}" if hint else lines[0]
        children = graph.children(node_id)
        if not top and children and len(prefix + more) > FOLD_AT:
            folded.setdefault(node_id, len(folded) + 1)
            emit(prefix + branch, prefix + more, f"{label}  ⇒ [{folded[node_id]}]")
            return
        shown.add(node_id)
        emit(prefix + branch, prefix + more + "    ", label)
        for extra in lines[1:]:
            emit(f"{prefix}{more}    ", f"{prefix}{more}      ", extra)
        for i, child in enumerate(children):
            draw(child, prefix + more, i == len(children) - 1, False)

    draw(0, "", True, True)
    done = 0
    while done < len(folded):  # drawing a section may fold more
        node_id = next(n for n, k in folded.items() if k == done + 1)
        done += 1
        out += ["", f"[{done}]"]
        draw(node_id, "", True, True)
    return "\n".join(out)


def to_mermaid(graph: Graph, max_values: int = MAX_VALUES) -> str:
    """Mermaid ``flowchart`` source: boxes for operations, rounded boxes for leaves."""
    out = ["flowchart TD", f'    loss(["{_header(graph)}"])', "    loss --> n0"]
    for node in graph.nodes:
        text = "<br/>".join(leaf_lines(node, max_values)).replace('"', "#quot;")
        shape = f'(["{text}"])' if node.is_leaf else f'["{text}"]'
        out.append(f"    n{node.id}{shape}")
    out += [f"    n{a} --> n{b}" for a, b in graph.edges]
    return "\n".join(out) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: Graph, max_values: int = MAX_VALUES) -> str:
    """Graphviz DOT source: ``dot -Tsvg graph.dot -o graph.svg`` draws it."""
    out = [
        "digraph autograd {",
        '    node [fontname="monospace", fontsize=10];',
        f"    loss [label={_dot_quote(_header(graph))}, shape=plaintext];",
        "    loss -> n0;",
    ]
    for node in graph.nodes:
        label = _dot_quote("\n".join(leaf_lines(node, max_values))).replace("\n", "\\n")
        style = "shape=ellipse, style=filled, fillcolor=lightblue" if node.is_leaf else "shape=box"
        out.append(f"    n{node.id} [label={label}, {style}];")
    out += [f"    n{a} -> n{b};" for a, b in graph.edges]
    out.append("}")
    return "\n".join(out) + "\n"
