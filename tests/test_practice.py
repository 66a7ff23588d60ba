"""`nnscratch practice`: every reference and differently written correct solutions pass; each
wrong solution of the catalogue gets its mistake's id first; the references match PyTorch.

The catalogue runs the checker's core in this process (`observe_text` + `check`); the child
process itself is tested in test_practice_runner.py."""

import textwrap

import pytest
import torch
from practice_catalogue import CE, CORRECT, WRONG, source

from nnscratch.lab.practice import EXERCISES
from nnscratch.lab.practice.compare import check
from nnscratch.lab.practice.observe import observe, observe_text

_REFERENCE = {}


def reference(name):
    """The reference's observations, once per exercise for the whole module."""
    if name not in _REFERENCE:
        ex = EXERCISES[name]
        _REFERENCE[name] = observe(ex, ex.namespace())
    return _REFERENCE[name]


def report(name, code):
    ex = EXERCISES[name]
    return check(ex, observe_text(ex, source(code), "solution.py"), reference(name))


@pytest.mark.parametrize("name", list(EXERCISES))
def test_the_reference_passes_and_the_template_does_not(name):
    ex = EXERCISES[name]
    assert check(ex, observe(ex, ex.namespace()), reference(name)).passed
    got = check(ex, observe_text(ex, ex.template, "template.py"), reference(name))
    assert not got.passed and got.mistakes[0].id == "not-written"
    assert f'EXERCISE = "{name}"' in ex.template and "raise NotImplementedError" in ex.template


CASES = [(name, i, code) for name, codes in CORRECT.items() for i, code in enumerate(codes)]


@pytest.mark.parametrize(("name", "i", "code"), CASES, ids=[f"{n}-{i}" for n, i, _ in CASES])
def test_a_correct_solution_written_differently_passes(name, i, code):
    got = report(name, code)
    assert got.passed, (got.rows, got.mistakes)
    assert got.mistakes == []


def test_every_exercise_has_two_other_correct_solutions_and_three_mistakes():
    assert len(EXERCISES) >= 12
    assert len(WRONG) >= 40 and sum(len(ex.mistakes) for ex in EXERCISES.values()) >= 40
    for name, ex in EXERCISES.items():
        assert len(CORRECT.get(name, [])) >= 2, name
        assert len(ex.mistakes) >= 3, name
        assert len(ex.title) <= 80 - 40, name  # the list's last column
        assert len({m.id for m in ex.mistakes}) == len(ex.mistakes), name
        assert {m for n, m, _ in WRONG if n == name} >= {m.id for m in ex.mistakes}, name


@pytest.mark.parametrize(
    ("name", "mistake", "code"), WRONG, ids=[f"{n}:{m}:{i}" for i, (n, m, _) in enumerate(WRONG)]
)
def test_a_wrong_solution_is_named_by_its_mistake(name, mistake, code):
    got = report(name, code)
    assert not got.passed
    assert got.mistakes and got.mistakes[0].id == mistake, got.mistakes
    first = got.mistakes[0]
    assert first.line is not None and first.why and first.hint
    text = source(code).splitlines()
    assert 1 <= first.line <= len(text)


def test_the_mistake_line_is_the_learners_line_for_an_exception():
    code = [c for n, m, c in WRONG if m == "update-without-no-grad"][0]
    got = report("five-steps", code)
    line = source(code).splitlines()[got.mistakes[0].line - 1]
    assert "w -= lr * w.grad" in line
    assert "nnscratch" not in got.error["traceback"] and "solution.py" in got.error["traceback"]


def test_the_table_says_exact_close_wrong_with_the_difference_and_tolerance():
    code = [c for n, m, c in WRONG if m == "missing-factor-2"][0]
    rows = {r.name: r for r in report("linear-gradients", code).rows}
    assert rows["dw"].status == "wrong" and rows["dw"].max_diff > rows["dw"].tolerance > 0
    assert rows["inputs unchanged"].status == "exact"
    d = report("linear-gradients", code).to_dict()
    assert set(d) >= {"exercise", "passed", "checks", "mistakes"}
    assert set(d["checks"][0]) >= {"name", "passed", "max_diff", "tolerance"}
    assert set(d["mistakes"][0]) == {"id", "line", "why", "hint"}


def test_references_match_pytorch():
    """The references are the oracle's numbers: autograd and torch.nn.functional, float64."""
    from nnscratch.lab.practice.exercises import linear_gradients as lg
    from nnscratch.lab.practice.exercises import softmax_cross_entropy as sce

    g = torch.Generator().manual_seed(0)
    X, y = (
        torch.randn(9, 3, generator=g, dtype=torch.float64),
        torch.randn(9, 1, dtype=torch.float64),
    )
    w = torch.randn(1, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(1, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.mse_loss(X @ w.T + b, y).backward()
    dw, db = lg.gradients(w.detach(), b.detach(), X, y)
    torch.testing.assert_close(dw, w.grad, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(db, b.grad, rtol=1e-12, atol=1e-12)
    for scale in (1.0, 1000.0):
        z = (scale * torch.randn(7, 5, dtype=torch.float64)).requires_grad_()
        t = torch.randint(0, 5, (7,))
        loss = torch.nn.functional.cross_entropy(z, t)
        loss.backward()
        torch.testing.assert_close(
            sce.cross_entropy(z.detach(), t), loss.detach(), rtol=1e-12, atol=1e-12
        )
        torch.testing.assert_close(
            sce.cross_entropy_grad(z.detach(), t), z.grad, rtol=1e-12, atol=1e-12
        )


def test_the_readme_and_the_notebook_point_to_practice():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    readme = " ".join((root / "README.md").read_text().split())
    assert "### Practice" in readme and "No sandbox is promised" in readme
    assert f"the {len(EXERCISES)} exercises" in readme
    assert "nnscratch practice" in (root / "examples" / "from_scratch.ipynb").read_text()


@pytest.mark.parametrize("name", list(EXERCISES))
def test_the_templates_main_part_runs_with_a_correct_solution(name, capsys):
    """`python FILE` works once the functions are written: the template's calls, run with the
    reference's functions in their place."""
    ex = EXERCISES[name]
    main = ex.template.split('if __name__ == "__main__":\n', 1)[1]
    namespace = {"torch": torch, **ex.reference}
    exec(compile(textwrap.dedent(main), "main", "exec"), namespace)
    assert capsys.readouterr().out.strip()
    for function in ex.functions:
        assert f"def {function}(" in ex.template


def test_a_file_that_cannot_be_read_or_lacks_a_function_is_named_so():
    ex = EXERCISES["forward"]
    broken = check(ex, observe_text(ex, "import torch\n\ndef linear(x, w, b)\n    return x\n"))
    assert [m.id for m in broken.mistakes] == ["syntax-error"] and broken.mistakes[0].line == 3
    other = check(ex, observe_text(ex, "def forward(x, w, b):\n    return x\n"))
    assert other.mistakes[0].id == "missing-function" and "linear" in other.mistakes[0].why
    unknown = report("forward", "def linear(x, w, b):\n    return x @ w.T + b + 1e-3")
    assert [m.id for m in unknown.mistakes] == ["wrong-values"]


def test_hints_are_graded_and_progress_is_kept_in_the_data_directory(tmp_path, monkeypatch):
    from nnscratch.lab.practice import progress

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert progress.path() == tmp_path / "nnscratch" / "practice.json"
    assert progress.status("adam") == "not started"
    progress.record("adam", status="wrong", hints=1)
    progress.record("adam", hints=2)
    assert progress.load()["adam"] == {"status": "wrong", "hints": 2}
    (tmp_path / "nnscratch" / "practice.json").write_text("{not json")
    assert progress.load() == {}  # unreadable: no progress, no traceback
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert progress.path() == tmp_path / "home" / ".local" / "share" / "nnscratch" / "practice.json"


@pytest.mark.parametrize(
    "returned",
    ["None", "torch.zeros(3, 3)", "(object(), 'text')"],
)
def test_anything_returned_gives_a_report_never_a_traceback(returned):
    for name, ex in EXERCISES.items():
        code = "\n".join(f"def {f}(*args):\n    return {returned}\n" for f in ex.functions)
        got = report(name, code)
        assert not got.passed and got.mistakes, name


def test_the_line_is_the_function_that_returned_the_first_wrong_quantity():
    code = [c for n, m, c in WRONG if n == "softmax-cross-entropy" and m == "wrong-sign"][0]
    got = report("softmax-cross-entropy", code)
    line = source(code).splitlines()[got.mistakes[0].line - 1]
    assert got.mistakes[0].id == "wrong-sign" and line.startswith("def cross_entropy_grad(")


def test_unexplained_numbers_say_how_they_relate_to_the_reference():
    """No mistake predicts a factor 3 or a transposed cross-entropy gradient; the numbers say so."""
    tripled = report("forward", "def linear(x, w, b):\n    return 3 * (x @ w.T + b)")
    assert (
        tripled.mistakes[0].id == "wrong-values"
        and "is 3 × the reference's" in tripled.mistakes[0].why
    )
    code = CE + "\ndef cross_entropy_grad(logits, targets):\n    g = torch.softmax(logits, 1)\n"
    code += "    g[torch.arange(len(targets)), targets] -= 1\n    return (g / len(targets)).T\n"
    flipped = report("softmax-cross-entropy", code)
    assert "transpose" in flipped.mistakes[0].why
