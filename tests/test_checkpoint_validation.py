"""A checkpoint is input: every field is checked before use, on `predict` and on `--resume`.

The manifest is a checksum, not a signature, so every test here rewrites a file *and* fixes its
hash and size in the manifest (as anyone could), then expects one ``error:`` line, exit 2, and
the run folder unchanged. Sizes are checked before reading: a 4 GB sparse file is refused at once.
"""

import hashlib
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path

import psutil
import pytest
import safetensors.torch
import torch
from cli_run import run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

RUN = ["--optimizer", "sgd", "--momentum", "0.9", "--scheduler", "step", "--epochs", "3"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two small saved runs (SGD with momentum, Adam) and a CSV to predict on."""
    base = tmp_path_factory.mktemp("runs")
    for name, argv in (("sgd", RUN), ("adam", ["--optimizer", "adam", "--epochs", "3"])):
        code, _, err = run("train", *argv, "--out", base / name, "--quiet")
        assert code == 0, err
    (base / "x.csv").write_text("x1\n0.5\n1.0\n")
    return base


@pytest.fixture
def ckpt(runs, tmp_path):
    """A private copy of the SGD run; returns its run folder."""
    return shutil.copytree(runs / "sgd", tmp_path / "run")


def rewrite(run_dir, name, blob):
    """Replace checkpoint/<name> and fix its SHA-256 and size in the manifest."""
    folder = run_dir / "checkpoint"
    (folder / name).write_bytes(blob)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][name] = {"sha256": hashlib.sha256(blob).hexdigest(), "bytes": len(blob)}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def edit_json(run_dir, name, change):
    values = json.loads((run_dir / "checkpoint" / name).read_text())
    change(values)
    rewrite(run_dir, name, json.dumps(values).encode())


def edit_tensors(run_dir, name, change):
    tensors = safetensors.torch.load((run_dir / "checkpoint" / name).read_bytes())
    change(tensors)
    rewrite(run_dir, name, safetensors.torch.save(tensors))


def snapshot(run_dir):
    """Each file's size and modification time, and its bytes if small (not a 4 GB sparse one)."""
    lock = ".nnscratch.lock"  # taken (touched) by --resume while it reads; holds nothing
    files = [p for p in sorted(run_dir.rglob("*")) if p.is_file() and p.name != lock]
    return {
        p: (p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_size < 2**20 and p.read_bytes())
        for p in files
    }


def assert_refused(run_dir, csv, fragment):
    """`predict` and `train --resume` both: one error line naming ``fragment``, exit 2, and
    nothing in the run folder changed."""
    before = snapshot(run_dir)
    for argv in (
        ["predict", "--model", run_dir, "--data", csv],
        ["train", "--resume", run_dir, "--epochs", "5", "--quiet"],
    ):
        code, _, err = run(*argv)
        assert code == 2, (argv, err)
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert fragment in err, err
    assert snapshot(run_dir) == before


def test_the_untouched_copy_predicts_and_resumes(ckpt, runs):
    assert run("predict", "--model", ckpt, "--data", runs / "x.csv")[0] == 0
    assert run("train", "--resume", ckpt, "--epochs", "4", "--quiet")[0] == 0


# -- the manifest ----------------------------------------------------------------------------
@pytest.mark.parametrize("files", [None, [], ["model.safetensors"], "x"])
def test_a_manifest_whose_files_is_not_an_object(ckpt, runs, files):
    path = ckpt / "checkpoint" / "manifest.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "files": files}))
    assert_refused(ckpt, runs / "x.csv", "'files' must be an object")


@pytest.mark.parametrize("name", ["config.json", "state.json", "data.json"])
def test_deeply_nested_json_is_an_error_not_a_recursion_error(ckpt, runs, name):
    rewrite(ckpt, name, b"[" * 200_000 + b"]" * 200_000)
    assert_refused(ckpt, runs / "x.csv", "nested too deeply")


def rewrite_last_metrics_line(run_dir, line):
    """Replace the last line of DIR/metrics.jsonl and fix its mark in state.json."""
    lines = (run_dir / "metrics.jsonl").read_bytes().splitlines(keepends=True)
    blob = b"".join(lines[:-1]) + line + b"\n"
    (run_dir / "metrics.jsonl").write_bytes(blob)
    mark = {"lines": len(lines), "bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}
    edit_json(run_dir, "state.json", lambda s: s.update(metrics=mark))


def test_a_deeply_nested_metrics_line_with_its_mark_fixed(ckpt, runs):
    rewrite_last_metrics_line(ckpt, b"[" * 20_000 + b"]" * 20_000)  # under the size cap
    assert_refused(ckpt, runs / "x.csv", "nested too deeply")


@pytest.mark.parametrize(
    "record",
    [{"epoch": 2, "train_loss": 0.5}, {"epoch": 3.0, "train_loss": 0.5}, {"epoch": 3}],
)
def test_a_metrics_record_of_another_epoch_or_without_a_loss(ckpt, runs, record):
    rewrite_last_metrics_line(ckpt, json.dumps(record).encode())  # the 3rd of 3 epochs
    assert_refused(ckpt, runs / "x.csv", "record 3 is not a metrics record of epoch 3")


def test_a_deeply_nested_manifest(ckpt, runs):
    (ckpt / "checkpoint" / "manifest.json").write_bytes(b"{" + b'"a":{' * 10_000 + b"}" * 10_001)
    assert_refused(ckpt, runs / "x.csv", "nested too deeply")


# -- sizes before bytes ------------------------------------------------------------------------
UNREAD = 64 << 20  # far below the 4 GB: the file was not read (imports and the rest read a few MB)


def bytes_read_by(action, *args) -> int:
    """Bytes this process read (read(2) and friends, page cache included) while ``action`` ran:
    a count that a busy machine does not change, unlike a wall-clock budget."""
    before = psutil.Process().io_counters().read_chars
    action(*args)
    return psutil.Process().io_counters().read_chars - before


def test_a_4gb_sparse_file_is_refused_by_its_size_before_it_is_read(ckpt, runs):
    with open(ckpt / "checkpoint" / "model.safetensors", "r+b") as f:
        f.truncate(4 << 30)  # sparse: no disk used, but reading it would take 4 GB
    read = bytes_read_by(assert_refused, ckpt, runs / "x.csv", f"{4 << 30} bytes on disk")
    assert read < UNREAD


def test_a_4gb_file_that_the_manifest_claims_is_refused_by_the_parameter_count(ckpt, runs):
    path = ckpt / "checkpoint" / "model.safetensors"
    with open(path, "r+b") as f:
        f.truncate(4 << 30)
    manifest_path = ckpt / "checkpoint" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["model.safetensors"]["bytes"] = 4 << 30  # a re-hash would take 10 s
    manifest_path.write_text(json.dumps(manifest))
    read = bytes_read_by(assert_refused, ckpt, runs / "x.csv", "more than this run's configuration")
    assert read < UNREAD


def test_a_fifo_in_place_of_a_file_is_refused_without_blocking(ckpt, runs):
    path = ckpt / "checkpoint" / "rng.safetensors"
    size = path.stat().st_size
    path.unlink()
    os.mkfifo(path)
    manifest_path = ckpt / "checkpoint" / "manifest.json"
    assert json.loads(manifest_path.read_text())["files"]["rng.safetensors"]["bytes"] == size
    assert_refused(ckpt, runs / "x.csv", "not a regular file")


def test_a_fifo_in_place_of_the_metrics_file_is_refused_without_blocking(ckpt, runs):
    (ckpt / "metrics.jsonl").unlink()
    os.mkfifo(ckpt / "metrics.jsonl")
    result = []
    worker = threading.Thread(
        target=lambda: result.append(run("predict", "--model", ckpt, "--data", runs / "x.csv")),
        daemon=True,  # if the read blocked, the test fails below instead of hanging
    )
    worker.start()
    worker.join(timeout=30)
    assert result, "predict blocked on a FIFO"
    code, _, err = result[0]
    assert code == 2 and "not a regular file" in err, err


# -- config.json: every field, including those the CLI restricts -------------------------------
CONFIG_VALUES = [
    ("dtype", "float16", "not one of float32, float64"),
    ("model", "resnet", "not one of"),
    ("optimizer", "lbfgs", "not one of"),
    ("loss", "nll", "not one of"),
    ("activation", "softplus", "not one of"),
    ("device", "tpu", "not one of"),
    ("backward", "magic", "not one of"),
    ("scheduler", "exponential", "not one of"),
    ("task", "auto", "'task' is 'auto'"),
    ("lr", "0.1", "'lr' is '0.1'"),
    ("lr", None, "lr left unresolved"),
    ("lr", -1.0, "a value no run can have"),
    ("epochs", 2.5, "'epochs' is 2.5"),
    ("nesterov", 1, "'nesterov' is 1"),
    ("momentum", [0.9], "'momentum' is [0.9]"),
    ("seed", -1, "a value no run can have"),
]


@pytest.mark.parametrize(("key", "value", "fragment"), CONFIG_VALUES)
def test_each_config_field_is_checked_by_type_and_value(ckpt, runs, key, value, fragment):
    edit_json(ckpt, "config.json", lambda c: c.update({key: value}))
    assert_refused(ckpt, runs / "x.csv", fragment)


def test_a_config_that_disagrees_with_the_saved_parameters(ckpt, runs):
    edit_json(ckpt, "config.json", lambda c: c.update(model="mlp", hidden="4"))
    assert_refused(ckpt, runs / "x.csv", "this configuration has")


# -- data.json -----------------------------------------------------------------------------------
DATA_VALUES = [
    ("features", [], "'features' must be a list of distinct column names"),
    ("features", ["x1", "x1"], "'features' must be a list of distinct column names"),
    ("features", ["x1", "x2"], "the configuration builds (1, 2)"),  # a weight for 1 feature
    ("classes", ["a", "b"], "'classes' must be null for a regression"),
    ("out_features", 3, "'out_features' must be 1"),
    ("out_features", True, "'out_features' must be 1"),  # True == 1 in Python
    ("task", "classification", "the configuration says 'regression'"),
    ("standardizer", {"mean": [0.0], "std": [0.0]}, "every std > 0"),
    ("rows", {"train": "many"}, "'rows' must count"),
    ("image_shape", [1, 10**9, 10**9], "'image_shape' must be null or [C, H, W]"),
    ("image_shape", [1, 2, 1], "'image_shape' must be null or [C, H, W] with C·H·W = 1"),
]


@pytest.mark.parametrize(("key", "value", "fragment"), DATA_VALUES)
def test_each_data_field_is_checked(ckpt, runs, key, value, fragment):
    edit_json(ckpt, "data.json", lambda d: d.update({key: value}))
    assert_refused(ckpt, runs / "x.csv", fragment)


# -- model, optimizer, scheduler, RNG ------------------------------------------------------------
def test_a_parameter_of_another_shape_or_name_or_dtype(ckpt, runs):
    edit_tensors(ckpt, "model.safetensors", lambda t: t.update(weight=torch.zeros(1, 2)))
    assert_refused(ckpt, runs / "x.csv", "the configuration builds (1, 1)")


def test_a_parameter_renamed(ckpt, runs):
    edit_tensors(ckpt, "model.safetensors", lambda t: t.update(extra=t.pop("weight")))
    assert_refused(ckpt, runs / "x.csv", "this configuration has")


def test_a_non_finite_parameter(ckpt, runs):
    edit_tensors(ckpt, "model.safetensors", lambda t: t["weight"].fill_(float("inf")))
    assert_refused(ckpt, runs / "x.csv", "NaN or infinite")


def test_an_sgd_state_loaded_into_an_adam_run(runs, tmp_path):
    adam = shutil.copytree(runs / "adam", tmp_path / "adam")
    sgd = runs / "sgd" / "checkpoint"
    rewrite(adam, "optimizer.safetensors", (sgd / "optimizer.safetensors").read_bytes())
    sgd_optimizer = json.loads((sgd / "state.json").read_text())["optimizer"]
    edit_json(adam, "state.json", lambda s: s.update(optimizer=sgd_optimizer))
    assert_refused(adam, runs / "x.csv", "a state of another optimizer?")


def test_an_adam_state_loaded_into_an_sgd_run(runs, ckpt):
    adam = runs / "adam" / "checkpoint"
    rewrite(ckpt, "optimizer.safetensors", (adam / "optimizer.safetensors").read_bytes())
    assert_refused(ckpt, runs / "x.csv", "a state of another optimizer?")


def test_a_momentum_buffer_of_another_shape(ckpt, runs):
    edit_tensors(
        ckpt,
        "optimizer.safetensors",
        lambda t: t.update({"state.0.momentum_buffer": torch.ones(3)}),
    )
    assert_refused(ckpt, runs / "x.csv", "must be a finite (1, 1)")


def test_an_optimizer_hyperparameter_changed(ckpt, runs):
    edit_json(ckpt, "state.json", lambda s: s["optimizer"]["param_groups"][0].update(momentum=5))
    assert_refused(ckpt, runs / "x.csv", "optimizer 'momentum' is 5")


def test_a_scheduler_state_that_does_not_match(ckpt, runs):
    edit_json(ckpt, "state.json", lambda s: s["scheduler"].update(last_epoch=99))
    assert_refused(ckpt, runs / "x.csv", "scheduler 'last_epoch' is 99")
    edit_json(ckpt, "state.json", lambda s: s.update(scheduler={"T_max": 3}))
    assert_refused(ckpt, runs / "x.csv", "scheduler state ['T_max']")


@pytest.mark.parametrize(
    ("state", "fragment"),
    [
        (torch.zeros(100, dtype=torch.uint8), "not (5056,) uint8"),
        (torch.zeros(5056, dtype=torch.float32), "not (5056,) uint8"),
        (torch.full((5056,), 255, dtype=torch.uint8), "not a generator state"),
    ],
)
def test_an_rng_state_of_the_wrong_size_dtype_or_content(ckpt, runs, state, fragment):
    edit_tensors(ckpt, "rng.safetensors", lambda t: t.update(shuffle=state))
    assert_refused(ckpt, runs / "x.csv", fragment)


def test_state_json_fields(ckpt, runs):
    edit_json(ckpt, "state.json", lambda s: s.update(epoch=2))
    assert_refused(ckpt, runs / "x.csv", "'epoch' is 2; the manifest says 3")
    edit_json(ckpt, "state.json", lambda s: s.update(epoch=3, step="3"))
    assert_refused(ckpt, runs / "x.csv", "'step' must be an integer")


def test_a_config_field_newer_than_the_checkpoint_takes_its_default(ckpt, runs):
    edit_json(ckpt, "config.json", lambda c: c.pop("noise"))  # as if saved before --noise
    assert run("predict", "--model", ckpt, "--data", runs / "x.csv")[0] == 0
    edit_json(ckpt, "config.json", lambda c: c.pop("lr"))  # but nothing resolved may go
    assert_refused(ckpt, runs / "x.csv", "lr left unresolved")


JSON_VALUES = st.sampled_from(
    [None, True, 0, -1, 2.5, 1e308, 2**70, "x", "float64", "adam", [], {}, [1, 2], {"a": 1}]
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.sampled_from(["config.json", "data.json", "state.json"]),
    path=st.lists(st.integers(0, 50), min_size=1, max_size=3),
    value=JSON_VALUES,
)
def test_any_json_value_replaced_and_rehashed_gives_a_result_or_one_error_line(
    runs, tmp_path, name, path, value
):
    """Fuzzing: one value anywhere in a JSON file replaced (``path`` picks a key or an index at
    each level), the manifest fixed: exit 0 or one ``error:`` line, never a traceback."""
    ckpt = shutil.copytree(runs / "sgd", Path(tempfile.mkdtemp(dir=tmp_path)) / "run")

    def replace(values):
        node = values
        for i, step in enumerate(path):
            keys = list(node) if isinstance(node, dict) else range(len(node))
            if not keys:
                return
            key = list(keys)[step % len(keys)]
            if i == len(path) - 1 or not isinstance(node[key], (dict, list)):
                node[key] = value
                return
            node = node[key]

    edit_json(ckpt, name, replace)
    for argv in (
        ["predict", "--model", ckpt, "--data", runs / "x.csv"],
        ["train", "--resume", ckpt, "--epochs", "4", "--quiet"],
    ):
        code, _, err = run(*argv)
        assert code in (0, 2), err
        assert "Traceback" not in err and (code == 0 or err.count("\n") == 1), err


def test_a_small_file_claiming_a_large_model_is_refused_before_the_model_is_built(
    ckpt, runs, monkeypatch
):
    from nnscratch.run import build

    real, devices = build.build_model, []

    def recording(*args, **kwargs):
        devices.append(args[4])
        return real(*args, **kwargs)

    monkeypatch.setattr(build, "build_model", recording)
    edit_json(ckpt, "config.json", lambda c: c.update(model="mlp", hidden="4000,4000"))
    # 1 → 4000 → 4000 → 1: (4000 + 16_000_000 + 4000) weights + (4000 + 4000 + 1) biases, float32
    size = 4 * (4000 + 4000 * 4000 + 4000 + 4000 + 4000 + 1)
    assert_refused(ckpt, runs / "x.csv", f"fewer than the {size} that this run's configuration")
    assert "cpu" not in devices  # only the shapes were built (on "meta")


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("config.json", ["lr"]),
        ("config.json", ["noise"]),
        ("config.json", ["weight_decay"]),
        ("state.json", ["optimizer", "param_groups", 0, "lr"]),
    ],
)
def test_a_huge_integer_for_a_real_setting_is_no_traceback(runs, tmp_path, name, path):
    """JSON's 2**70 where a real number belongs (hypothesis found it): torch turned the int into
    an int64 and raised OverflowError. An int is read as the float it stands for."""
    ckpt = shutil.copytree(runs / "sgd", tmp_path / "run")

    def replace(values):
        node = values
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = 2**70

    edit_json(ckpt, name, replace)
    for argv in (
        ["predict", "--model", ckpt, "--data", runs / "x.csv"],
        ["train", "--resume", ckpt, "--epochs", "4", "--quiet"],
    ):
        code, _, err = run(*argv)
        assert code in (0, 2), err
        assert "Traceback" not in err and (code == 0 or err.count("\n") == 1), err
