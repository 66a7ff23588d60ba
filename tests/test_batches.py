"""nnscratch.data.batches yields DataLoader's batches, in DataLoader's order, epoch after epoch,
and leaves every random-number stream where DataLoader leaves it."""

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from nnscratch.data import batches


def data(n: int, features: int = 3):
    X = torch.randn(n, features, dtype=torch.float64)  # (N, F)
    y = torch.arange(n)  # (N,) distinct values: a wrong order cannot hide
    return X, y


def assert_same_batches(mine, theirs):
    assert len(mine) == len(theirs)
    for k, ((xa, ya), (xb, yb)) in enumerate(zip(mine, theirs, strict=True)):
        torch.testing.assert_close(xa, xb, atol=0, rtol=0, msg=f"batch {k}")
        torch.testing.assert_close(ya, yb, atol=0, rtol=0, msg=f"batch {k}")


@pytest.mark.parametrize(("n", "batch_size"), [(12, 4), (10, 3), (5, 8), (7, 1)])
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("shuffle", [True, False])
def test_same_batches_as_dataloader_with_one_generator_over_epochs(
    n, batch_size, drop_last, shuffle
):
    X, y = data(n)
    g_mine, g_theirs = torch.Generator().manual_seed(11), torch.Generator().manual_seed(11)
    loader = DataLoader(
        TensorDataset(X, y), batch_size, shuffle=shuffle, generator=g_theirs, drop_last=drop_last
    )
    for epoch in range(4):
        mine = list(batches(X, y, batch_size, shuffle, generator=g_mine, drop_last=drop_last))
        theirs = list(loader)
        assert_same_batches(mine, theirs)
        # the generator advanced exactly as much as DataLoader's: the next epoch matches too
        assert torch.equal(g_mine.get_state(), g_theirs.get_state()), f"epoch {epoch}"


@pytest.mark.parametrize(("n", "batch_size"), [(12, 4), (10, 3)])
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("shuffle", [True, False])
def test_generator_none_uses_the_global_rng_like_dataloader(n, batch_size, drop_last, shuffle):
    X, y = data(n)
    loader = DataLoader(TensorDataset(X, y), batch_size, shuffle=shuffle, drop_last=drop_last)
    torch.manual_seed(2024)
    mine = [b for _ in range(3) for b in batches(X, y, batch_size, shuffle, drop_last=drop_last)]
    after_mine = torch.rand(4)
    torch.manual_seed(2024)
    theirs = [b for _ in range(3) for b in loader]
    after_theirs = torch.rand(4)
    assert_same_batches(mine, theirs)
    assert torch.equal(after_mine, after_theirs)  # global RNG consumed identically


@pytest.mark.parametrize(("n", "batch_size"), [(12, 4), (10, 3)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_generator_state_matches_after_every_batch(n, batch_size, drop_last):
    """DataLoader draws its spare permutation mid-epoch (while filling a short last batch) or at the
    end; code that uses the same generator between batches sees the same state either way."""
    X, y = data(n)
    g_mine, g_theirs = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    loader = DataLoader(
        TensorDataset(X, y), batch_size, True, generator=g_theirs, drop_last=drop_last
    )
    for _ in range(2):
        mine_it = batches(X, y, batch_size, True, generator=g_mine, drop_last=drop_last)
        for (xa, ya), (xb, yb) in zip(mine_it, loader, strict=True):
            assert torch.equal(ya, yb) and torch.equal(xa, xb)
            assert torch.equal(g_mine.get_state(), g_theirs.get_state())


def test_breaking_out_of_an_epoch_keeps_later_epochs_equal():
    X, y = data(10)
    g_mine, g_theirs = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    loader = DataLoader(TensorDataset(X, y), 3, shuffle=True, generator=g_theirs)
    next(iter(batches(X, y, 3, True, generator=g_mine)))  # abandon the epoch after one batch
    next(iter(loader))
    assert_same_batches(list(batches(X, y, 3, True, generator=g_mine)), list(loader))


def test_each_epoch_is_a_permutation_and_epochs_differ():
    X, y = data(20)
    g = torch.Generator().manual_seed(0)
    orders = [torch.cat([yb for _, yb in batches(X, y, 6, generator=g)]) for _ in range(2)]
    for order in orders:
        assert torch.equal(order.sort().values, y)
    assert not torch.equal(orders[0], orders[1])


def test_full_batch_is_the_data_itself_and_draws_nothing():
    X, y = data(6)
    g = torch.Generator().manual_seed(1)
    state = g.get_state()
    (out,) = list(batches(X, y, None, generator=g))
    assert out[0] is X and out[1] is y
    assert torch.equal(g.get_state(), state)


@pytest.mark.parametrize("bad", [0, -2, 2.5, True])
def test_batch_size_validated_like_batch_sampler(bad):
    X, y = data(4)
    with pytest.raises(
        ValueError, match=f"batch_size should be a positive integer value, but got {bad}"
    ):
        list(batches(X, y, bad))


def test_rows_must_match():
    with pytest.raises(ValueError, match="X has 4 rows but y has 3"):
        list(batches(torch.zeros(4, 2), torch.zeros(3), 2))


def test_verify_data_rows_all_pass(verify_rows):
    rows = verify_rows("data")
    assert any("batches" in r.piece for r in rows)
    assert all(r.passed for r in rows), [r for r in rows if not r.passed]
