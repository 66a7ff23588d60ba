"""`nnscratch practice` on the command line, and the child process that runs the learner's file:
a passing file, the learner's exception shown at their line, a loop stopped by the CPU-time
limit, an allocation stopped by the memory limit (few cases: each child imports torch)."""

import json

import pytest
from cli_run import assert_user_error, run

from nnscratch.lab.practice import EXERCISES

GOOD = """import torch

EXERCISE = "five-steps"


def train_step(w, b, X, y, lr):
    loss = ((X @ w.T + b - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= lr * w.grad
        b -= lr * b.grad
    w.grad = None
    b.grad = None
    print("a line the learner prints")
    return loss.item()
"""


@pytest.fixture(autouse=True)
def data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg"


def test_list_start_and_the_status(tmp_path, data_home):
    code, out, _ = run("practice")
    assert code == 0
    for name in EXERCISES:
        assert name in out
    assert "not started" in out and all(len(line) <= 80 for line in out.splitlines())
    target = tmp_path / "mine.py"
    assert run("practice", "start", "five-steps", "--out", target)[0] == 0
    assert target.read_text() == EXERCISES["five-steps"].template
    target.write_text("changed")
    assert_user_error(["practice", "start", "five-steps", "--out", target], "--overwrite")
    assert target.read_text() == "changed"
    assert run("practice", "start", "five-steps", "--out", target, "--overwrite")[0] == 0
    assert_user_error(["practice", "start", "nope"], "unknown exercise 'nope'", "five-steps")
    assert_user_error(["practice", "check", tmp_path / "missing.py"], "no such file")
    assert not (tmp_path / "xdg").exists()  # nothing checked yet: no progress written


def test_a_passing_file_exits_0_and_is_kept_as_passed(tmp_path, data_home):
    path = tmp_path / "good.py"
    (tmp_path / "helpers.py").write_text("def mse(d):\n    return (d ** 2).mean()\n")
    path.write_text(
        GOOD.replace("import torch\n", "import torch\nfrom helpers import mse\n", 1).replace(
            "loss = ((X @ w.T + b - y) ** 2).mean()", "loss = mse(X @ w.T + b - y)"
        )
    )
    code, out, err = run("practice", "check", path, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["exercise"] == "five-steps" and report["passed"] is True
    assert report["mistakes"] == [] and all(c["passed"] for c in report["checks"])
    progress = json.loads((data_home / "nnscratch" / "practice.json").read_text())
    assert progress["five-steps"]["status"] == "passed"
    assert "passed" in run("practice")[1]


def test_the_learners_exception_is_shown_at_their_line_exit_1(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text(GOOD.replace("with torch.no_grad():", "if True:"))
    code, out, _ = run("practice", "check", path, "--hint")
    assert code == 1
    assert "mistake update-without-no-grad (line 10 of broken.py)" in out
    assert 'broken.py", line 10, in train_step' in out
    assert "nnscratch/lab" not in out and "hints:" in out
    assert all(len(line) <= 80 for line in out.splitlines() if not line.startswith("  File"))


def test_a_loop_that_never_ends_is_stopped_by_cpu_time(tmp_path):
    path = tmp_path / "loop.py"
    path.write_text(
        'EXERCISE = "five-steps"\n\ndef train_step(w, b, X, y, lr):\n    while True:\n        pass\n'
    )
    code, out, _ = run("practice", "check", path, "--cpu-seconds", "0.5", "--json")
    assert code == 1
    mistake = json.loads(out)["mistakes"][0]
    assert mistake["id"] == "cpu-time" and mistake["line"] == 4
    assert "stopped after 0.5 s of CPU time" in mistake["why"]


def test_an_allocation_without_bound_is_stopped_by_the_memory_limit(tmp_path):
    path = tmp_path / "hungry.py"
    body = "    xs = []\n    while True:\n        xs.append(torch.ones(2**22))\n"
    path.write_text(
        f'import torch\nEXERCISE = "five-steps"\ndef train_step(w, b, X, y, lr):\n{body}'
    )
    code, out, _ = run("practice", "check", path, "--memory-mb", "64", "--json")
    assert code == 1
    mistake = json.loads(out)["mistakes"][0]
    assert mistake["id"] == "out-of-memory" and mistake["line"] == 6


def test_a_file_without_its_exercise_is_a_usage_error(tmp_path):
    path = tmp_path / "what.py"
    path.write_text("x = 1\n")
    assert_user_error(["practice", "check", path], "does not say which exercise")


def test_a_file_that_ends_the_process_is_reported_with_its_output(tmp_path, monkeypatch):
    """The parent's side only (no child: `subprocess.run` stands in for one that printed and
    ended with os._exit(3) before saving anything)."""
    import subprocess

    from nnscratch.lab.practice import runner

    def ended(argv, stdout, **kwargs):
        stdout.write(b"bye\n")
        return subprocess.CompletedProcess(argv, 3)

    monkeypatch.setattr(runner.subprocess, "run", ended)
    path = tmp_path / "quits.py"
    path.write_text("import os\nos._exit(3)\n")
    code, out, _ = run("practice", "check", path, "--json")
    assert code == 1
    report = json.loads(out)
    assert (
        report["mistakes"][0]["id"] == "process-ended"
        and "status 3" in report["mistakes"][0]["why"]
    )
    assert "bye" in report["error"]["traceback"]


def test_start_to_standard_output_prints_the_file_only():
    code, out, _ = run("practice", "start", "adam", "--out", "-")
    assert code == 0 and out == EXERCISES["adam"].template


def test_a_result_file_written_over_is_reported(tmp_path, monkeypatch):
    """The parent's side only: a stand-in child leaves garbage where the result goes."""
    import subprocess
    from pathlib import Path

    from nnscratch.lab.practice import runner

    def garbage(argv, stdout, **kwargs):
        Path(argv[4]).write_bytes(b"not a torch file")
        return subprocess.CompletedProcess(argv, 0)

    monkeypatch.setattr(runner.subprocess, "run", garbage)
    path = tmp_path / "sneaky.py"
    path.write_text("x = 1\n")
    code, out, _ = run("practice", "check", path, "--json")
    assert code == 1
    assert "could not be read back" in json.loads(out)["mistakes"][0]["why"]
