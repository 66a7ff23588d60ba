"""The autograd graph of one forward pass and loss, walked and drawn by hand.

What ``torchviz.make_dot`` draws, without the dependency: every tensor operation in the forward
pass records a backward node (``loss.grad_fn``, a ``torch.autograd.graph.Node``) that points to
the nodes of its inputs through ``next_functions``; a parameter is reached through an
``AccumulateGrad`` node whose ``.variable`` is the leaf tensor itself, the place where
``loss.backward()`` adds the gradient into ``.grad``.

    walk.py     build_graph(loss, named_parameters) -> Graph (nodes and edges)
    render.py   to_text (a tree), to_mermaid, to_dot
    output.py   .svg/.png through the Graphviz ``dot`` program when present
"""

from nnscratch.lab.graph.render import to_dot, to_mermaid, to_text
from nnscratch.lab.graph.walk import Graph, Node, build_graph, iter_grad_fns

__all__ = ["Graph", "Node", "build_graph", "iter_grad_fns", "to_dot", "to_mermaid", "to_text"]
