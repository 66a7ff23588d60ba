"""`nnscratch export` and `train --export-script` as commands: what they refuse, by name, and
what they never overwrite. (That the scripts reproduce their runs: tests/test_export.py.)"""

from __future__ import annotations

import json

import pytest

from nnscratch.run.cli import main


def test_out_is_not_overwritten_without_flag(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--epochs", "2", "--out", str(run), "--quiet"]) == 0
    target = tmp_path / "existing.py"
    target.write_text("keep me\n")
    assert main(["export", str(run), "--out", str(target)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert target.read_text() == "keep me\n"
    assert main(["export", str(run), "--out", str(target), "--overwrite"]) == 0
    assert target.read_text().startswith('"""linear regression')


def test_dropout_is_refused_by_name(tmp_path, capsys):
    import numpy as np

    data = tmp_path / "images.npz"
    rng = np.random.default_rng(0)
    np.savez(data, X=rng.normal(size=(40, 1, 4, 4)), y=rng.integers(0, 2, size=40))
    run = tmp_path / "run"
    flags = ["--model", "cnn", "--channels", "2", "--dropout", "0.5", "--epochs", "1"]
    assert main(["train", "--data", str(data), *flags, "--out", str(run), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["export", str(run), "--out", str(tmp_path / "s.py")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: export does not cover dropout (--dropout 0.5)")
    assert "\n" not in err and not (tmp_path / "s.py").exists()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"model": "cnn", "dropout": 0.5}, "dropout"),
        ({"model": "transformer", "dropout": 0.1}, "dropout"),
        ({"device": "cuda"}, "a run on 'cuda'"),
        ({"dtype": "float32\nimport os"}, "the dtype"),  # listed names only reach code
        ({"optimizer": "sgd#"}, "the optimizer"),
    ],
)
def test_uncovered_features_are_refused_by_name(change, named):
    from dataclasses import replace

    from nnscratch.errors import UserError
    from nnscratch.lab.export import refuse
    from nnscratch.lab.export.spec import Spec
    from nnscratch.run.config import TrainConfig

    base = TrainConfig(model="linear", optimizer="sgd", lr=0.1, epochs=3, loss="mse")
    config = replace(base, **change)
    spec = Spec(config, {"features": ["x1"], "out_features": 1}, "run", None)
    with pytest.raises(UserError, match=f"^export does not cover {named}"):
        refuse.check(spec, 3)


def test_an_unfinished_run_is_refused():
    from nnscratch.errors import UserError
    from nnscratch.lab.export import refuse
    from nnscratch.lab.export.spec import Spec
    from nnscratch.run.config import TrainConfig

    config = TrainConfig(model="linear", optimizer="sgd", lr=0.1, epochs=10, loss="mse")
    spec = Spec(config, {"features": ["x1"], "out_features": 1}, "run", None)
    with pytest.raises(UserError, match="stopped at epoch 4 of 10"):
        refuse.check(spec, 4)


def test_changed_data_file_is_refused(tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text("a,y\n" + "".join(f"{i},{2 * i + 1}\n" for i in range(12)))
    run = tmp_path / "run"
    assert main(["train", "--data", str(data), "--epochs", "2", "--out", str(run), "--quiet"]) == 0
    data.write_text(data.read_text().replace("3,7", "3,8"))
    capsys.readouterr()
    assert main(["export", str(run), "--out", str(tmp_path / "s.py")]) == 2
    assert "not the data the run trained on" in capsys.readouterr().err


def test_train_export_script(tmp_path, capsys):
    script = tmp_path / "seed.py"
    flags = ["--epochs", "3", "--out", str(tmp_path / "run"), "--quiet"]
    assert main(["train", *flags, "--export-script", str(script)]) == 0
    assert "p.add_(p.grad, alpha=-lr)" in script.read_text()
    assert main(["train", "--epochs", "3", "--export-script", str(script)]) == 2
    assert "--out" in capsys.readouterr().err


def test_summary_lists_export():
    from nnscratch.run.cli import SUMMARIES

    assert "export" in SUMMARIES
    assert json.dumps(SUMMARIES)  # plain strings: --help needs no import


def test_a_run_on_a_numpy_drawn_playground_set_is_refused_by_name(tmp_path, capsys):
    from nnscratch.run.cli import main

    run = tmp_path / "xor"
    args = ["train", "--data", "builtin:xor", "--epochs", "2", "--quiet", "--out", str(run)]
    assert main(args) == 0
    capsys.readouterr()
    assert main(["export", str(run), "--out", str(tmp_path / "s.py")]) == 2
    err = capsys.readouterr().err
    assert "builtin:xor" in err and err.count("\n") == 1
    assert not (tmp_path / "s.py").exists()
