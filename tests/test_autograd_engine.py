"""`nnscratch.autograd`: the engine's behaviour next to torch.autograd's (accumulation, a second
backward, no_grad, detach, a reused value, a 100,000-operation chain)."""

import gc
import weakref

import pytest
import torch

from nnscratch.autograd import Tensor, no_grad, topological_sort

D = torch.float64


def leaf(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    data = torch.randn(*shape, dtype=D, generator=g)
    return Tensor(data.clone(), requires_grad=True), data.clone().requires_grad_(True)


def test_tensor_attributes_mirror_torch():
    x, _ = leaf(2, 3)
    y = (x * 2.0).sum(dim=1)
    assert x.is_leaf and x.grad_fn is None and x.requires_grad and x.grad is None
    assert not y.is_leaf and y.grad_fn.name == "sum" and y.requires_grad
    assert y.shape == (2,) and y.dtype == D and y.data.requires_grad is False
    assert y.grad_fn.inputs[0].grad_fn.name == "mul"


def test_a_reused_value_gets_both_contributions():
    """h = 2x feeds two branches: ∂L/∂h is complete only after both (the topological order)."""
    x, xt = leaf(3)
    for t in (x, xt):
        h = t * 2.0
        (h * h + h.exp()).sum().backward()
    torch.testing.assert_close(x.grad, xt.grad, atol=1e-12, rtol=0)


def test_gradients_accumulate_until_zeroed():
    x, xt = leaf(3)
    for _ in range(2):
        (x * x).sum().backward()
        (xt * xt).sum().backward()
    first = x.grad
    torch.testing.assert_close(x.grad, xt.grad, atol=0, rtol=0)  # 2 · 2x
    (x * 3.0).sum().backward()
    assert x.grad is first  # in place, the same tensor object
    x.grad.zero_()
    (x * 3.0).sum().backward()
    torch.testing.assert_close(x.grad, torch.full((3,), 3.0, dtype=D))


def test_second_backward_through_freed_buffers_names_the_fix():
    x, _ = leaf(3)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x, _ = leaf(3)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    torch.testing.assert_close(x.grad, 4 * x.data)


def test_no_grad_records_nothing_and_detach_cuts_the_graph():
    x, _ = leaf(3)
    with no_grad():
        y = x * 2.0
    assert y.grad_fn is None and not y.requires_grad
    d = x.detach()
    assert d.is_leaf and not d.requires_grad and d.data.data_ptr() == x.data.data_ptr()
    z = (x * d).sum()  # d is a constant: ∂z/∂x = d
    z.backward()
    torch.testing.assert_close(x.grad, x.data)


def test_backward_needs_a_scalar_or_a_gradient():
    x, _ = leaf(3)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        (x * 2.0).backward()
    (x * 2.0).backward(torch.ones(3, dtype=D))
    torch.testing.assert_close(x.grad, torch.full((3,), 2.0, dtype=D))


def test_an_operation_without_a_rule_is_refused_by_name():
    x, _ = leaf(3)
    with pytest.raises(NotImplementedError, match="cumsum"):
        torch.cumsum(x, 0)


def test_a_chain_of_100000_operations_does_not_recurse():
    x = Tensor(torch.tensor(1.0, dtype=D), requires_grad=True)
    y = x
    gc.disable()  # only for speed: 200,000 new objects would trigger ~40 full collections
    try:
        for _ in range(50_000):
            y = y * 1.00001
            y = y + 0.0
        assert len(topological_sort(y.grad_fn)) == 100_000
        y.backward()
    finally:
        gc.enable()
    torch.testing.assert_close(x.grad, torch.tensor(1.00001**50_000, dtype=D))
    del y  # a 100,000-deep chain of objects is freed without a recursion error


def test_the_order_puts_every_consumer_before_its_input():
    x, _ = leaf(3)
    h = x * 2.0
    y = (h * h + h).sum()
    order = topological_sort(y.grad_fn)
    position = {id(n): i for i, n in enumerate(order)}
    for node in order:
        for inp in node.inputs:
            if inp is not None and inp.grad_fn is not None:
                assert position[id(inp.grad_fn)] < position[id(node)]


def test_the_graph_does_not_hold_the_forwards_values():
    """A node keeps what its vjp needs, not its inputs' numbers (autograd's next_functions keep
    nodes): an intermediate nobody needs is freed before the backward, which still works."""
    x, xt = leaf(4, 3)
    h = x * 2.0  # (4, 3): needed by no vjp below (sum keeps only a shape; mul keeps x alone)
    freed = weakref.ref(h.data)
    y = (h * 3.0).sum()
    del h
    gc.collect()
    assert freed() is None
    assert y.grad_fn.inputs[0].grad_fn.name == "mul"  # the structure stays
    y.backward()
    ((xt * 2.0) * 3.0).sum().backward()
    torch.testing.assert_close(x.grad, xt.grad, atol=1e-12, rtol=0)


def test_split_pieces_reach_x_as_torch_autograd_sums_them():
    """A split's pieces used apart, one twice, one not at all, plus x used whole and a narrow
    that overlaps two pieces: ∂x as torch.autograd gives it (pieces tile x: one cat; gaps
    and overlaps: zeros with each slice added)."""
    x0 = torch.randn(3, 7, dtype=torch.float64)
    w = torch.randn(3, 7, dtype=torch.float64)

    def loss(x, narrow):
        a, b, _unused = x.split([2, 3, 2], dim=1)
        c = narrow(x, 1, 1, 3)  # overlaps a and b
        return (
            (a * a).sum()
            + (b * w[:, :3]).sum() * 2
            + (b.exp()).sum()
            + (c**3).sum()
            + (x * w).sum()
        )

    mine = Tensor(x0.clone(), requires_grad=True)
    loss(mine, lambda t, *a: t.narrow(*a)).backward()
    ref = x0.clone().requires_grad_()
    loss(ref, lambda t, *a: t.narrow(*a)).backward()
    torch.testing.assert_close(mine.grad, ref.grad, atol=1e-12, rtol=1e-12)
    tiled = Tensor(x0.clone(), requires_grad=True)  # every piece used: the cat path
    pieces = tiled.split(3, dim=1)
    (pieces[0].sum() + 2.0 * pieces[1].sum() + 3.0 * pieces[2].sum()).backward()
    want = torch.cat([torch.full((3, 3), 1.0), torch.full((3, 3), 2.0), torch.full((3, 1), 3.0)], 1)
    torch.testing.assert_close(tiled.grad, want.double(), atol=0, rtol=0)


def test_pieces_dense_is_the_sum_of_zero_padded_slices():
    from nnscratch.autograd.pieces import Pieces, plus

    g = [torch.randn(2, 3, 4) for _ in range(3)]
    shape = torch.Size([2, 5, 4])
    p = plus(Pieces(shape, 1, [(0, g[0])]), Pieces(shape, -2, [(2, g[1])]))  # -2: dim 1
    p = plus(p, Pieces(shape, 1, [(1, g[2])]))  # overlaps both
    want = torch.zeros(shape)
    for start, gi in ((0, g[0]), (2, g[1]), (1, g[2])):
        want[:, start : start + 3] += gi
    torch.testing.assert_close(p.dense(), want, atol=1e-6, rtol=0)
    dense = torch.randn(shape)
    torch.testing.assert_close(plus(dense, p), dense + want, atol=1e-6, rtol=0)
