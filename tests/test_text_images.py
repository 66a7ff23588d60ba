"""Text and image data for the transformer and the CNN, end to end through the CLI: windows and
vocabulary, the bigram baseline, sample, predict on images, exact resume, and every bad input as
one ``error:`` line with exit status 2."""

import json
import math

import numpy as np
import pytest
import torch
from cli_run import assert_user_error, run

from nnscratch.data.text import Vocabulary, text_dataset
from nnscratch.errors import UserError
from nnscratch.models.bigram import BigramCounts
from nnscratch.run import checkpoint

TEXT = "the quick brown fox jumps over the lazy dog.\n" * 40
TINY_LM = ["--model", "transformer", "--block-size", "16", "--n-layer", "1", "--n-embd", "16"]
TINY_LM += ["--n-head", "2", "--batch-size", "16", "--json"]


@pytest.fixture
def notes(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_windows_are_next_character_pairs_and_do_not_overlap():
    d = text_dataset("abcdefghij", "t", 3)  # 10 chars: (10 − 1) // 3 = 3 windows
    vocab = Vocabulary(d.classes)
    assert [vocab.decode(x) for x in d.X] == ["abc", "def", "ghi"]
    assert [vocab.decode(y) for y in d.y] == ["bcd", "efg", "hij"]
    assert d.X.dtype == d.y.dtype == torch.int64 and d.task == "classification"


def test_vocabulary_round_trip_and_unseen_characters():
    vocab = Vocabulary.of("hello, world")
    assert vocab.itos == sorted(set("hello, world"))
    assert vocab.decode(vocab.encode("low, hello")) == "low, hello"
    with pytest.raises(UserError, match="never saw in training: 'a', 'y', 'z'"):
        vocab.encode("lazy")


def test_bigram_loss_equals_counting_by_hand():
    text = "abab abba"
    vocab = Vocabulary.of(text)
    ids = vocab.encode(text)
    x, y = ids[:-1], ids[1:]
    V, alpha = len(vocab), 1.0
    counts = {}
    for a, b in zip(text[:-1], text[1:], strict=True):
        counts[a, b] = counts.get((a, b), 0) + 1
    expected = 0.0
    for a, b in zip(text[:-1], text[1:], strict=True):
        row = sum(n for (i, _), n in counts.items() if i == a)
        expected -= math.log((counts[a, b] + alpha) / (row + alpha * V))
    expected /= len(text) - 1
    assert BigramCounts(V).fit(x, y).loss(x, y) == pytest.approx(expected, rel=1e-12)


def test_transformer_trains_samples_and_beats_the_bigram_on_a_text_file(tmp_path, notes):
    out = tmp_path / "run"
    code, stdout, err = run("train", "--data", notes, *TINY_LM, "--epochs", "8", "--out", out)
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["config"]["model"] == "transformer"
    assert summary["bigram"]["val"] is not None
    V = len(set(TEXT))
    assert summary["metrics"]["val"]["loss"] < math.log(V)  # better than a uniform guess
    argv = ["sample", "--model", out, "--prompt", "the ", "--tokens", "30", "--seed", "1"]
    code, first, err = run(*argv)
    assert code == 0, err
    assert first.startswith("the ") and len(first) == len("the ") + 30 + 1  # + newline
    assert set(first[:-1]) <= set(TEXT)
    assert run(*argv)[1] == first  # the same seed, the same text
    assert_user_error(["sample", "--model", out, "--prompt", "Zebra"], "never saw in training")
    assert_user_error(["sample", "--model", out, "--temperature", "0"], "--temperature")
    assert_user_error(["sample", "--model", out, "--seed", "-1"], "--seed")
    assert_user_error(["sample", "--model", out, "--tokens", "-5"], "--tokens")
    assert_user_error(["predict", "--model", out, "--data", notes], "nnscratch sample")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "empty"),
        (b"   \n\n", "only whitespace"),
        (b"text\x00with a NUL", "binary file"),
        (b"caf\xe9 latin-1", "not UTF-8"),
        (b"short", "--block-size"),
    ],
)
def test_bad_text_files(tmp_path, content, fragment):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    assert_user_error(["train", "--data", path, *TINY_LM], fragment)


def test_text_is_never_a_regression(notes):
    assert_user_error(["train", "--data", notes, "--task", "regression"], "labels are classes")


def test_models_that_do_not_fit_the_data():
    assert_user_error(["train", "--data", "builtin:iris", "--model", "cnn"], "needs images")
    assert_user_error(["train", "--data", "builtin:digits", "--model", "transformer"], "needs text")
    assert_user_error(
        ["train", "--data", "builtin:python_docs", "--model", "mlp"],
        "for text use --model transformer",
    )
    assert_user_error(
        ["train", "--data", "builtin:digits", "--model", "cnn", "--channels", "8,8,8,8"],
        "too small",
    )


def images(n=60, shape=(6, 6), seed=0):
    """Class 0: a bright left half; class 1: a bright right half; plus noise."""
    g = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = g.normal(0, 0.3, (n, *shape))
    X[y == 0, :, : shape[1] // 2] += 1
    X[y == 1, :, shape[1] // 2 :] += 1
    return X, y


def test_cnn_on_an_npz_of_images_then_predict_on_npy(tmp_path):
    X, y = images()
    np.savez(tmp_path / "train.npz", X=X, y=np.where(y == 0, "left", "right"))
    out = tmp_path / "run"
    argv = ["train", "--data", tmp_path / "train.npz", "--channels", "4", "--epochs", "10"]
    code, stdout, err = run(*argv, "--json", "--out", out)
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["config"]["model"] == "cnn"  # images: a CNN by default
    assert_user_error(["sample", "--model", out, "--prompt", "a"], "not a language model")
    X_new, y_new = images(20, seed=1)
    for name, array in (("hw.npy", X_new), ("chw.npy", X_new[:, None])):
        np.save(tmp_path / name, array)
        code, stdout, err = run("predict", "--model", out, "--data", tmp_path / name, "--json")
        assert code == 0, err
        labels = json.loads(stdout)["values"]
        expected = ["left" if k == 0 else "right" for k in y_new]
        assert np.mean([a == b for a, b in zip(labels, expected, strict=True)]) >= 0.9
    np.savez(tmp_path / "labelled.npz", X=X_new, y=np.where(y_new == 0, "left", "right"))
    code, stdout, err = run(
        "predict", "--model", out, "--data", tmp_path / "labelled.npz", "--json"
    )
    assert code == 0, err
    assert json.loads(stdout)["metrics"]["accuracy"] >= 0.9  # the file has the labels too
    np.save(tmp_path / "wrong.npy", X_new[:, :5])
    assert_user_error(["predict", "--model", out, "--data", tmp_path / "wrong.npy"], "(N, 1, 6, 6)")
    np.save(tmp_path / "flat.npy", X_new.reshape(20, 1, 1, 6, 6))
    assert_user_error(["predict", "--model", out, "--data", tmp_path / "flat.npy"], "5-D")
    np.save(tmp_path / "images.npy", X)
    assert_user_error(["train", "--data", tmp_path / "images.npy"], "hold no labels")
    np.savez(tmp_path / "short.npz", X=X, y=y[:10])
    assert_user_error(["train", "--data", tmp_path / "short.npz"], "60 images in 'X' but 10")


def final_state(folder):
    return checkpoint.load(folder).state.model


@pytest.mark.parametrize(
    "argv",
    [
        ["--data", "builtin:digits", "--model", "cnn", "--channels", "4,8", "--dropout", "0.2"],
        ["--data", "TEXT", *TINY_LM, "--dropout", "0.1"],
    ],
    ids=["cnn", "transformer"],
)
def test_resume_is_bit_identical(tmp_path, notes, argv):
    argv = [str(notes) if a == "TEXT" else a for a in argv]
    argv = [a for a in argv if a != "--json"] + ["--json"]
    assert run("train", *argv, "--epochs", "3", "--out", tmp_path / "full")[0] == 0
    assert run("train", *argv, "--epochs", "1", "--out", tmp_path / "part")[0] == 0
    assert run("train", "--resume", tmp_path / "part", "--epochs", "3", "--json")[0] == 0
    a, b = final_state(tmp_path / "full"), final_state(tmp_path / "part")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)  # parameters and batch-norm buffers
