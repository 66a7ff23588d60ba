"""`train --backward manual` and `torchrun ... -m nnscratch train` give the single-process,
autograd run's numbers."""

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from nnscratch.run.config import TrainConfig
from nnscratch.run.prepare import prepare
from nnscratch.run.train import train


@pytest.mark.parametrize(
    "overrides",
    [
        dict(),  # the seed: linear regression, full batch SGD
        dict(data="builtin:iris", model="mlp", hidden="8", batch_size=16, epochs=5),
        dict(data="builtin:breast_cancer", epochs=5, optimizer="sgd", momentum=0.9),
        dict(data="builtin:moons", hidden="8,8", activation="tanh", epochs=5, batch_size=32),
        dict(data="builtin:diabetes", loss="huber", epochs=20, batch_size=64),
    ],
)
def test_manual_backward_trains_like_autograd(overrides):
    config = TrainConfig(dtype="float64", **overrides)
    a = train(prepare(config))
    b = train(prepare(TrainConfig(**{**config.to_dict(), "backward": "manual"})))
    for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
        torch.testing.assert_close(p, q, atol=1e-10, rtol=1e-10)
    assert a.summary["loss_history"] == pytest.approx(b.summary["loss_history"], rel=1e-10)


def run_cli(args, tmp_path, nproc=None):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    prefix = [sys.executable, "-m", "nnscratch"]
    if nproc:
        prefix = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={nproc}",
            "-m",
            "nnscratch",
        ]
    return subprocess.run(
        [*prefix, "train", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,  # a hang guard, far above a run on a busy machine
    )


@pytest.mark.slow
def test_torchrun_data_parallel_equals_single_process(tmp_path):
    args = [
        "--data",
        "builtin:iris",
        "--dtype",
        "float64",
        "--batch-size",
        "15",
        "--epochs",
        "4",
        "--optimizer",
        "sgd",
        "--momentum",
        "0.9",
        "--json",
        "--checkpoint-every",
        "0",
    ]
    single = run_cli([*args, "--out", "single"], tmp_path)
    assert single.returncode == 0, single.stderr
    parallel = run_cli([*args, "--out", "parallel"], tmp_path, nproc=2)
    assert parallel.returncode == 0, parallel.stderr[-3000:]
    lines = [line for line in parallel.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1  # only rank 0 reports
    s1, s2 = json.loads(single.stdout), json.loads(lines[0])
    assert s2["loss_history"] == pytest.approx(s1["loss_history"], rel=1e-10)
    p1 = load_file(tmp_path / "single/checkpoint/model.safetensors")
    p2 = load_file(tmp_path / "parallel/checkpoint/model.safetensors")
    assert p1.keys() == p2.keys()
    for name in p1:
        torch.testing.assert_close(p1[name], p2[name], atol=1e-10, rtol=1e-10)


def test_compiled_forward_and_loss_trains_like_the_plain_path():
    config = TrainConfig(data="builtin:iris", model="mlp", hidden="8", batch_size=32, epochs=3)
    plain = train(prepare(config))
    compiled = train(prepare(TrainConfig(**{**config.to_dict(), "compile": True})))
    for p, q in zip(plain.model.parameters(), compiled.model.parameters(), strict=True):
        torch.testing.assert_close(p, q, atol=1e-5, rtol=1e-5)
