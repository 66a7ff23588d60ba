"""Data-parallel training (nnscratch.run.distributed) next to one process, DDP's rules and
DistributedSampler.

The two-process checks launch ``torchrun --standalone --nproc_per_node=2`` once (gloo, loopback)
on tests/distributed_worker.py, which trains every scenario data-parallel and saves each rank's
results; the oracle is `nnscratch.fit` in this process on the same global batches.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DistributedSampler

from nnscratch.errors import UserError
from nnscratch.loop import fit
from nnscratch.losses import mse_loss
from nnscratch.models import MLP
from nnscratch.run import distributed as ddp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from distributed_worker import SCENARIOS, build  # noqa: E402

TOL = 1e-10


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """Both ranks' results from one 2-process torchrun of tests/distributed_worker.py."""
    out = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    cmd += ["--monitor-interval=0.1", str(HERE / "distributed_worker.py"), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)  # hang guard
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [torch.load(out / f"rank{k}.pt", weights_only=True) for k in range(2)]


def single_process(name: str) -> list[torch.Tensor]:
    model, X, y, loss_fn, optimizer, batch_size, epochs, seed = build(name)
    generator = torch.Generator().manual_seed(seed)
    fit(
        model,
        X,
        y,
        loss_fn=loss_fn,
        optimizer=optimizer,
        epochs=epochs,
        batch_size=batch_size,
        generator=generator,
    )
    return [p.detach() for p in model.parameters()]


# ---------------------------------------------------------------- two processes
@pytest.mark.slow
def test_each_rank_knows_its_place(ranks):
    assert [r["rank"] for r in ranks] == [0, 1]
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert [r["is_main"] for r in ranks] == [True, False]
    assert [r["distributed_after_cleanup"] for r in ranks] == [False, False]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_ranks_hold_bit_identical_parameters(ranks, name):
    a, b = ranks[0][name]["params"], ranks[1][name]["params"]
    assert all(torch.equal(p, q) for p, q in zip(a, b, strict=True))
    assert ranks[0][name]["agree"] and ranks[1][name]["agree"]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_parameters_equal_single_process_training_on_the_same_global_batches(ranks, name):
    expected = single_process(name)
    start = [p.detach() for p in build(name)[0].parameters()]
    moved = max((p - q).abs().max().item() for p, q in zip(expected, start, strict=True))
    assert moved > 1e-2  # training really changed the parameters
    for p, q in zip(ranks[0][name]["params"], expected, strict=True):
        assert p.dtype == torch.float64
        torch.testing.assert_close(p, q, atol=TOL, rtol=TOL)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_one_flat_all_reduce_per_step(ranks, name):
    model = build(name)[0]
    n_params = sum(p.numel() for p in model.parameters())
    assert len(list(model.parameters())) > 2  # several tensors, still one call
    for r in ranks:
        numels = r[name]["all_reduce_numels"]
        assert len(numels) == r[name]["steps"]
        assert set(numels) == {n_params}


@pytest.mark.slow
def test_broadcast_makes_every_rank_start_from_rank_0(ranks):
    assert not ranks[0]["agree_before_broadcast"]
    torch.manual_seed(100)
    rank0_model = MLP(4, [8], 2, dtype=torch.float64)
    for r in ranks:
        assert r["broadcast_leaves"]
        for p, q in zip(r["broadcast"], rank0_model.parameters(), strict=True):
            assert torch.equal(p, q.detach())


def one_uneven_batch():
    torch.manual_seed(4)
    model = MLP(4, [8], 1, dtype=torch.float64)
    g = torch.Generator().manual_seed(5)
    xb = torch.randn(5, 4, generator=g, dtype=torch.float64)
    yb = torch.randn(5, 1, generator=g, dtype=torch.float64)
    return model, xb, yb


@pytest.mark.slow
def test_size_weighted_gradient_is_the_global_batch_gradient(ranks):
    model, xb, yb = one_uneven_batch()
    mse_loss(model(xb), yb).backward()  # one process, the whole 5-row batch
    for r in ranks:
        for got, p in zip(r["grad_weighted"], model.parameters(), strict=True):
            torch.testing.assert_close(got, p.grad, atol=TOL, rtol=TOL)


@pytest.mark.slow
def test_ddp_mean_of_means_differs_on_uneven_shards(ranks):
    """DDP's rule, (g₀ + g₁)/2 over shards of 3 and 2 rows, is not the global-batch gradient."""
    model, xb, yb = one_uneven_batch()
    means = []
    for xs, ys in ((xb[:3], yb[:3]), (xb[3:], yb[3:])):
        model.zero_grad()
        mse_loss(model(xs), ys).backward()
        means.append([p.grad.clone() for p in model.parameters()])
    model.zero_grad()
    mse_loss(model(xb), yb).backward()
    for k, got in enumerate(ranks[0]["grad_mean_of_means"]):
        torch.testing.assert_close(got, (means[0][k] + means[1][k]) / 2, atol=TOL, rtol=TOL)
    diff = max(
        (g - p.grad).abs().max().item()
        for g, p in zip(ranks[0]["grad_mean_of_means"], model.parameters(), strict=True)
    )
    assert diff > 1e-3


@pytest.mark.slow
def test_global_mean_weights_by_count(ranks):
    assert [r["global_mean"] for r in ranks] == [pytest.approx(12.0)] * 2  # (10 + 50) / (1 + 4)


# ---------------------------------------------------------------- one process
@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 60), world=st.integers(1, 8))
def test_shards_are_tensor_split_and_cover_the_batch_once(n, world):
    X = torch.arange(n * 2).reshape(n, 2)
    y = torch.arange(n)
    parts = [ddp.shard(X, y, rank=k, world_size=world) for k in range(world)]
    for (xs, ys), ref in zip(parts, torch.tensor_split(X, world), strict=True):
        assert torch.equal(xs, ref)
        assert torch.equal(ys, xs[:, 0] // 2)
    sizes = [xs.shape[0] for xs, _ in parts]
    assert sum(sizes) == n and max(sizes) - min(sizes) <= 1
    assert torch.equal(torch.cat([xs for xs, _ in parts]), X)


def test_distributed_sampler_pads_where_shard_does_not():
    """DistributedSampler strides over the data set and repeats samples to even the ranks out."""
    data = list(range(5))
    theirs = [list(DistributedSampler(data, num_replicas=2, rank=k, shuffle=False)) for k in (0, 1)]
    assert theirs == [[0, 2, 4], [1, 3, 0]]  # sample 0 twice
    X = torch.arange(5)
    mine = [ddp.shard(X, X, rank=k, world_size=2)[0].tolist() for k in (0, 1)]
    assert mine == [[0, 1, 2], [3, 4]]


@pytest.mark.parametrize(
    ("rank", "world", "message"),
    [
        (2, 2, "rank should be in \\[0, 2\\), but got 2"),
        (-1, 2, "got -1"),
        (0, 0, "world_size should be a positive integer, but got 0"),
    ],
)
def test_shard_rejects_bad_rank_and_world_size(rank, world, message):
    with pytest.raises(ValueError, match=message):
        ddp.shard(torch.zeros(4, 1), torch.zeros(4), rank=rank, world_size=world)


def test_shard_rejects_mismatched_rows():
    with pytest.raises(ValueError, match="xb has 4 rows but yb has 3"):
        ddp.shard(torch.zeros(4, 1), torch.zeros(3), rank=0, world_size=1)


def test_single_process_defaults(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert ddp.init_from_env() == torch.device("cpu")
    assert not ddp.is_distributed()
    assert (ddp.rank(), ddp.world_size(), ddp.is_main()) == (0, 1, True)
    X = torch.randn(5, 2)
    assert ddp.shard(X, X)[0] is not X and torch.equal(ddp.shard(X, X)[0], X)
    assert ddp.global_mean(6.0, 4) == 1.5
    ddp.cleanup()  # nothing to leave


def test_single_process_all_reduce_keeps_the_gradient():
    torch.manual_seed(0)
    model = MLP(3, [4], 1, dtype=torch.float64)
    mse_loss(
        model(torch.randn(6, 3, dtype=torch.float64)), torch.zeros(6, 1, dtype=torch.float64)
    ).backward()
    before = [p.grad.clone() for p in model.parameters()]
    grads = [p.grad for p in model.parameters()]
    flat = ddp.all_reduce_gradients_(model.parameters(), shard_size=6, batch_size=6)
    assert flat.shape == (sum(p.numel() for p in model.parameters()),)
    assert all(p.grad is g for p, g in zip(model.parameters(), grads, strict=True))  # in place
    for p, b in zip(model.parameters(), before, strict=True):
        torch.testing.assert_close(p.grad, b, atol=1e-15, rtol=1e-15)


def test_all_reduce_of_a_rank_without_gradients_gives_zeros():
    model = MLP(3, [4], 1)
    ddp.all_reduce_gradients_(model.parameters(), shard_size=0, batch_size=3)
    assert all(torch.equal(p.grad, torch.zeros_like(p)) for p in model.parameters())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"shard_size": 2}, "give both shard_size and batch_size or neither"),
        (
            {"shard_size": 5, "batch_size": 4},
            "shard_size should be in \\[0, batch_size=4\\], got 5",
        ),
        ({"shard_size": 0, "batch_size": 0}, "batch_size should be a positive integer, but got 0"),
    ],
)
def test_all_reduce_rejects_bad_sizes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ddp.all_reduce_gradients_(MLP(2, [2], 1).parameters(), **kwargs)


def test_all_reduce_rejects_mixed_dtypes():
    a = torch.zeros(2, requires_grad=True)
    b = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    with pytest.raises(ValueError, match="one dtype and device"):
        ddp.all_reduce_gradients_([a, b])


def test_broadcast_rejects_a_rank_outside_the_group():
    with pytest.raises(ValueError, match="src should be a rank in \\[0, 1\\), but got 1"):
        ddp.broadcast_parameters_(MLP(2, [2], 1).parameters(), src=1)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RANK": "0", "WORLD_SIZE": "2"}, "MASTER_ADDR, MASTER_PORT not set"),
        (
            {"RANK": "2", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1"},
            "RANK=2 must be in \\[0, WORLD_SIZE=2\\)",
        ),
        (
            {"RANK": "x", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1"},
            "RANK='x' is not an integer",
        ),
    ],
)
def test_init_from_env_refuses_a_broken_environment(monkeypatch, env, message):
    for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(UserError, match=message):
        ddp.init_from_env()
    assert not ddp.is_distributed()


# ---------------------------------------------------------------- verify rows
@pytest.mark.slow
def test_verify_rows_against_distributed_data_parallel_pass(verify_rows):
    rows = verify_rows("ddp")  # two processes under torchrun: run once per session
    assert all(r.passed for r in rows), rows
    assert rows[0].max_diff == 0.0 and rows[1].max_diff <= 1e-10


def test_verify_row_fails_when_the_two_process_run_fails(monkeypatch):
    from nnscratch.lab.verify import ddp as rows_module

    def broken_run():
        raise RuntimeError("port in use")

    monkeypatch.setattr(rows_module, "run", broken_run)
    (row,) = rows_module.rows()
    assert not row.passed and "RuntimeError: port in use" in row.compared
