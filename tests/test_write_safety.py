"""Never lose a user's file (issue 9): --overwrite, never onto an input, special files written
through and never replaced, links refused, '-' is standard output, failed writes that leave the
last good checkpoint and no temporary, one run per folder (a lock), a bad --out refused before
the first epoch (issue 14), and checkpointing that costs the same at every epoch."""

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cli_run import run

from nnscratch.run import atomic, checkpoint
from nnscratch.run.checkpoint import folder as run_folder
from nnscratch.run.checkpoint import nofollow, records
from nnscratch.run.config import TrainConfig
from nnscratch.run.prepare import prepare
from nnscratch.run.train import train

TINY = ["--epochs", "2", "--json"]
IRIS = ["--data", "builtin:iris", "--epochs", "3", "--json"]


def user_error(argv, *fragments):
    code, _, err = run(*argv)
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err
    return err


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp"))


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("iris")
    code, _, err = run("train", *IRIS, "--out", base / "run")
    assert code == 0, err
    names = "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)"
    (base / "flowers.csv").write_text(f"{names}\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n")
    return base


def predict(iris_run, *extra):
    return ["predict", "--model", iris_run / "run", "--data", iris_run / "flowers.csv", *extra]


# -- --overwrite and the command's own inputs ----------------------------------------------------
def test_predict_out_needs_overwrite_for_an_existing_file(iris_run, tmp_path):
    target = tmp_path / "pred.csv"
    target.write_text("mine")
    user_error(predict(iris_run, "--out", target), "exists; pass --overwrite")
    assert target.read_text() == "mine"
    code, _, err = run(*predict(iris_run, "--out", target, "--overwrite"))
    assert code == 0, err
    assert target.read_text().startswith("prediction,prob_setosa")


def test_graph_out_needs_overwrite_for_an_existing_file(tmp_path):
    target = tmp_path / "g.dot"
    target.write_text("mine")
    user_error(["graph", "--out", target], "exists; pass --overwrite")
    assert target.read_text() == "mine"
    assert run("graph", "--out", target, "--overwrite")[0] == 0
    assert target.read_text().startswith("digraph")


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_predict_never_writes_onto_its_own_inputs(iris_run, overwrite):
    data = iris_run / "flowers.csv"
    before = data.read_bytes()
    user_error(predict(iris_run, "--out", data, *overwrite), "own input")
    assert data.read_bytes() == before
    model = iris_run / "run" / "checkpoint" / "model.safetensors"
    weights = model.read_bytes()
    user_error(predict(iris_run, "--out", model, *overwrite), "own input")
    assert model.read_bytes() == weights
    user_error(predict(iris_run, "--out", iris_run / "run" / "new.csv", *overwrite), "run folder")
    assert not (iris_run / "run" / "new.csv").exists()


def test_a_hard_link_to_an_input_is_the_input(iris_run, tmp_path):
    link = tmp_path / "same.csv"
    os.link(iris_run / "flowers.csv", link)
    user_error(predict(iris_run, "--out", link, "--overwrite"), "own input")


def test_dash_is_standard_output(iris_run):
    code, out, err = run(*predict(iris_run, "--out", "-"))
    assert code == 0, err
    assert out.startswith("prediction,prob_setosa") and len(out.splitlines()) == 3
    assert not Path("-").exists()
    code, out, _ = run("graph", "--out", "-")
    assert code == 0 and out.startswith("loss = ")


# -- special files: written through, never replaced ------------------------------------------------
def read_fifo(path: Path, into: list[bytes]) -> threading.Thread:
    def reader():
        with open(path, "rb") as f:
            into.append(f.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    return thread


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_a_fifo_is_written_as_a_stream_and_stays_a_fifo(iris_run, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    thread = read_fifo(fifo, got)
    code, out, err = run(*predict(iris_run, "--out", fifo))
    thread.join(10)
    assert code == 0, err
    assert got and got[0].startswith(b"prediction,prob_setosa")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]  # no temporary beside it
    thread = read_fifo(fifo, got)
    assert run("graph", "--out", fifo, "--format", "dot")[0] == 0
    thread.join(10)
    assert got[1].startswith(b"digraph") and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_character_device_stays_a_character_device(iris_run, tmp_path):
    node = tmp_path / "null"  # our own /dev/null, in a temporary folder (never the real one)
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, AttributeError, OSError):
        pytest.skip("making a device node needs root")
    code, _, err = run(*predict(iris_run, "--out", node, "--overwrite"))
    assert code == 0, err
    assert stat.S_ISCHR(os.lstat(node).st_mode)
    assert os.lstat(node).st_rdev == os.makedev(1, 3)
    assert run(*predict(iris_run, "--out", node))[0] == 0  # nothing is replaced: no flag needed
    assert stat.S_ISCHR(os.lstat(node).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_a_symlink_is_refused_and_neither_it_nor_its_target_changes(iris_run, tmp_path, overwrite):
    target = tmp_path / "real.csv"
    target.write_text("mine")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    user_error(predict(iris_run, "--out", link, *overwrite), "symbolic link")
    assert link.is_symlink() and target.read_text() == "mine"
    user_error(["graph", "--out", link, "--format", "text", *overwrite], "symbolic link")
    assert link.is_symlink() and target.read_text() == "mine"


def test_a_folder_is_refused(iris_run, tmp_path):
    user_error(predict(iris_run, "--out", tmp_path), "is a folder")


# -- failed writes --------------------------------------------------------------------------------
@pytest.mark.parametrize("call", ["write", "fsync", "replace"])
def test_a_failed_write_names_the_path_and_the_cause_and_leaves_nothing(
    iris_run, tmp_path, monkeypatch, call
):
    target = tmp_path / "pred.csv"
    target.write_text("old")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, call, full)
    err = user_error(predict(iris_run, "--out", target, "--overwrite"), str(target))
    assert "No space left on device" in err
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred.csv"]


def test_a_path_under_a_file_is_an_error_before_any_work(iris_run, tmp_path):
    (tmp_path / "file.csv").write_text("x")
    user_error(predict(iris_run, "--out", tmp_path / "file.csv" / "p.csv"), "file.csv")
    user_error(["graph", "--out", tmp_path / "file.csv" / "g.dot"], "file.csv")


def test_a_failed_checkpoint_keeps_the_last_good_one_and_no_temporary(tmp_path, monkeypatch):
    real, saves = nofollow.write_new, []

    def full_on_the_third_save(fd, name, data, shown):
        if name == "manifest.json":
            saves.append(shown)
        if len(saves) >= 3 and name == "state.json":
            raise atomic.write_error(shown, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
        return real(fd, name, data, shown)

    monkeypatch.setattr(nofollow, "write_new", full_on_the_third_save)
    out = tmp_path / "run"
    args = ["--epochs", "50", "--checkpoint-every", "10", "--json", "--out", out]
    err = user_error(["train", *args], "No space left on device", "last good checkpoint (epoch 30)")
    assert ".checkpoint.tmp" in err
    monkeypatch.undo()
    assert checkpoint.load(out).state.epoch == 30
    assert temporaries(out) == [] and not (out / ".checkpoint.tmp").exists()
    code, _, err = run("train", "--resume", out, "--epochs", "50", "--json")  # and it resumes
    assert code == 0, err
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 50


# -- a run folder left by a kill during its first save ---------------------------------------------
def test_a_run_killed_in_its_first_save_gets_advice_that_works(tmp_path):
    out = tmp_path / "run"
    (out / ".checkpoint.tmp").mkdir(parents=True)
    (out / ".checkpoint.tmp" / "model.safetensors").write_bytes(b"half")
    (out / "metrics.jsonl").write_text('{"epoch": 1}\n')
    err = user_error(["train", "--resume", out], "--overwrite")
    command = err.split("start it again with the same flags and ", 1)[1].strip().split()
    assert command == ["--out", str(out), "--overwrite"]
    user_error(["train", *TINY, "--out", out], "pass --overwrite")
    code, _, err = run("train", *TINY, *command)  # the advice, followed
    assert code == 0, err
    assert checkpoint.load(out).state.epoch == 2 and temporaries(out) == []


# -- --overwrite leaves nothing of the previous run -------------------------------------------------
def test_overwrite_leaves_no_stale_output_and_keeps_the_users_files(tmp_path):
    out = tmp_path / "run"
    assert run("train", *TINY, "--out", out)[0] == 0  # the seed: fit.png, loss.png
    assert (out / "fit.png").exists()
    (out / "notes.txt").write_text("mine")
    (out / ".summary.json.abc.tmp").write_text("left by a killed write")
    code, _, err = run("train", *IRIS, "--out", out, "--overwrite")  # 4 features: no fit.png
    assert code == 0, err
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [".nnscratch.lock", "checkpoint", "loss.png", "metrics.jsonl", "notes.txt", "summary.json"]
    )
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 3


# -- one run per folder -----------------------------------------------------------------------------
def test_a_second_run_on_the_same_folder_is_refused_with_the_first_ones_pid(tmp_path):
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "nnscratch", "train", "--epochs", "10000000", "--quiet"]
    argv += ["--checkpoint-every", "1", "--out", str(out)]
    first = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 600  # a hang guard; the event: the first checkpoint
        while not (out / "checkpoint" / "manifest.json").exists():
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.05)
        assert first.poll() is None, first.communicate()
        in_use = f"is in use by another nnscratch run (PID {first.pid})"
        user_error(["train", *TINY, "--out", out], in_use)
        user_error(["train", *TINY, "--out", out, "--overwrite"], in_use)
        user_error(["train", "--resume", out, "--epochs", "20000000"], in_use)
        assert first.poll() is None  # the first run goes on, untouched
    finally:
        first.send_signal(signal.SIGINT)
        _, err = first.communicate(timeout=600)
    assert first.returncode == 130, err
    saved = checkpoint.load(out)  # the first run's checkpoint is whole
    assert len(saved.state.records) == saved.state.epoch >= 1
    assert (out / run_folder.LOCK).read_text() == ""  # released: the PID is gone
    code, _, err = run("train", "--resume", out, "--epochs", str(saved.state.epoch + 2), "--json")
    assert code == 0, err


def test_the_lock_is_held_for_the_life_of_a_library_run(tmp_path):
    seen = []

    def log(record):
        if not seen:
            seen.append(1)
            with pytest.raises(Exception, match="in use by another nnscratch run"):
                run_folder.RunFolder.open(tmp_path, fresh=False)

    train(prepare(TrainConfig(epochs=2)), log=log, out=tmp_path)
    assert seen
    run_folder.RunFolder.open(tmp_path, fresh=False).close()  # free again


# -- issue 14: a bad --out fails before training ------------------------------------------------------
def no_training(monkeypatch):
    import nnscratch.run.train as train_module

    def fit(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(train_module, "fit", fit)


def test_out_under_a_regular_file_fails_before_training(tmp_path, monkeypatch):
    no_training(monkeypatch)
    (tmp_path / "existing_file.csv").write_text("a,b\n1,2\n")
    user_error(["train", *TINY, "--out", tmp_path / "existing_file.csv" / "run"], "is a file")
    user_error(["train", *TINY, "--out", tmp_path / "existing_file.csv" / "a" / "b"], "is a file")


def test_out_whose_parent_cannot_be_written_fails_before_training(tmp_path, monkeypatch):
    no_training(monkeypatch)
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(
        run_folder.os, "access", lambda p, mode: False if Path(p) == locked else real(p, mode)
    )
    user_error(["train", *TINY, "--out", locked / "run"], "cannot be written")
    assert list(locked.iterdir()) == []


def test_out_that_cannot_be_created_fails_before_training(tmp_path, monkeypatch):
    no_training(monkeypatch)

    def denied(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))

    monkeypatch.setattr(Path, "mkdir", denied)
    user_error(["train", *TINY, "--out", tmp_path / "run"], "cannot create", "Permission denied")


def test_out_dash_is_an_error(tmp_path):
    user_error(["train", *TINY, "--out", "-"], "not standard output")


# -- checkpointing costs the same every epoch ---------------------------------------------------------
def test_a_checkpoint_costs_the_same_at_epoch_10_and_at_epoch_400(tmp_path, monkeypatch):
    written: dict[int, int] = {}
    real = nofollow.write_new

    def counting(fd, name, data, shown):
        if name == "manifest.json":
            written[json.loads(data)["epoch"]] = sum(
                f["bytes"] for f in json.loads(data)["files"].values()
            )
        return real(fd, name, data, shown)

    monkeypatch.setattr(nofollow, "write_new", counting)
    train(prepare(TrainConfig(epochs=400)), out=tmp_path, checkpoint_every=10)
    assert abs(written[400] - written[10]) <= 16  # digits of epoch/step/elapsed; no history
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 400 and json.loads(lines[-1])["epoch"] == 400


def test_a_snapshot_copies_no_records(tmp_path):
    result = train(prepare(TrainConfig(epochs=30)), out=tmp_path, checkpoint_every=10)
    state = json.loads((tmp_path / "checkpoint" / "state.json").read_text())
    assert set(state["metrics"]) == {"lines", "bytes", "sha256"} and state["metrics"]["lines"] == 30
    loaded = checkpoint.load(tmp_path)
    assert loaded.state.records == result.records  # read back from the appended file


def test_resume_cuts_metrics_back_to_the_checkpoint(tmp_path):
    full = train(prepare(TrainConfig(epochs=30)))
    train(prepare(TrainConfig(epochs=20)), out=tmp_path)
    with open(tmp_path / "metrics.jsonl", "a") as f:  # epochs a kill did not let it save
        f.write('{"epoch": 21, "train_loss": 1.0}\n{"epoch": 22')
    saved = checkpoint.load(tmp_path)
    assert saved.state.epoch == 20 and len(saved.state.records) == 20
    resumed = train(prepare(TrainConfig(epochs=30)), out=tmp_path, resume=saved)
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == list(range(1, 31))
    assert [r["train_loss"] for r in lines] == [r["train_loss"] for r in full.records]
    assert [r["train_loss"] for r in resumed.records] == [r["train_loss"] for r in full.records]


def test_a_changed_metrics_file_is_refused(tmp_path):
    train(prepare(TrainConfig(epochs=5)), out=tmp_path)
    text = (tmp_path / "metrics.jsonl").read_text()
    (tmp_path / "metrics.jsonl").write_text(text.replace('"epoch": 2', '"epoch": 9'))
    with pytest.raises(Exception, match="metrics.jsonl"):
        checkpoint.load(tmp_path)


def test_the_bench_case_reports_a_ratio():
    from nnscratch.lab.bench import out_cost

    cost = out_cost.measure(quick=True, repeats=1)
    assert cost["epochs"] == out_cost.QUICK_EPOCHS and cost["per_epoch_ratio"] > 0
    assert "per-epoch ratio" in "\n".join(out_cost.lines(cost))


def test_the_metrics_log_mark_matches_the_file(tmp_path):
    log = records.MetricsLog(tmp_path)
    for i in range(5):
        log.append({"epoch": i + 1})
    log.sync()
    assert log.mark() == records.mark_of((tmp_path / "metrics.jsonl").read_bytes())
    log.close()


def test_a_mark_of_an_earlier_line_count_covers_exactly_those_lines(tmp_path, monkeypatch):
    monkeypatch.setattr(records.MetricsLog, "FLUSH_S", 3600.0)
    log = records.MetricsLog(tmp_path)
    rows = [{"epoch": i + 1, "train_loss": 1.0 / (i + 1)} for i in range(6)]
    for row in rows:
        log.append(row)  # encoded lazily: nothing written yet
    mark = log.mark(4)  # as after epoch 4, taken after epoch 6 was appended
    assert mark == records.mark_of(records.encode(rows[:4]))
    with pytest.raises(ValueError, match="no mark at line 3"):
        log.mark(3)  # lines 1–4 are encoded: a mark before them cannot be taken any more
    log.close()  # writes the pending lines 5 and 6
    assert (tmp_path / "metrics.jsonl").read_bytes() == records.encode(rows)


def test_pending_lines_are_on_disk_after_the_flush_interval(tmp_path, monkeypatch):
    monkeypatch.setattr(records.MetricsLog, "FLUSH_S", 3600.0)
    log = records.MetricsLog(tmp_path)
    log.append({"epoch": 1})
    assert (tmp_path / "metrics.jsonl").read_bytes() == b""  # pending, not yet encoded
    monkeypatch.setattr(records.MetricsLog, "FLUSH_S", 0.0)
    log.append({"epoch": 2})
    assert (tmp_path / "metrics.jsonl").read_bytes() == records.encode([{"epoch": 1}, {"epoch": 2}])
    log.close()
