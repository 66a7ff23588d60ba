"""nnscratch's own reverse-mode automatic differentiation.  Replaces ``torch.autograd``.

    nnscratch.autograd                   ≙ torch.autograd
    Tensor(data, requires_grad=False)    a plain torch tensor + .grad, .grad_fn, .backward()
    Node                                 grad_fn: one recorded operation and its chain rule
    graph.backward / graph.topological_sort
                                         the engine: reverse topological order, iterative
    no_grad()                            torch.no_grad()
    ops.*                                the operations, grouped by kind; each backward formula
                                         lives in nnscratch.backprop
    model.loss_and_grads                 a whole model's loss.backward() on the engine: the same
                                         model classes, parameters wrapped for the step
    pieces                               a split's gradient as slices, joined once (SplitBackward)
    functional                           torch.nn.functional's own functions, in their argument
                                         order (dispatch resolves torch's by name)

The engine is micrograd's idea (a graph recorded during the forward pass, walked backwards in
topological order, each node applying its vector-Jacobian product and accumulating into .grad)
on whole tensors, with PyTorch's conventions: gradients accumulate across backward calls until
zeroed, a second backward through freed buffers is an error naming retain_graph=True, and
torch's functions called with a Tensor record operations too (``__torch_function__``).
"""

from nnscratch.autograd import dispatch as _dispatch  # noqa: F401  (Tensor's methods)
from nnscratch.autograd.graph import backward, topological_sort
from nnscratch.autograd.mode import is_grad_enabled, no_grad
from nnscratch.autograd.node import Node
from nnscratch.autograd.tensor import Tensor

__all__ = ["Node", "Tensor", "backward", "is_grad_enabled", "no_grad", "topological_sort"]
