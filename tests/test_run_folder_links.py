"""Links and foreign files in a run folder (issue 17): a link inside a run folder is never
followed, by any writer (train --out --overwrite, train --resume), and only what nnscratch made
is removed. The rule chosen: a link (or a foreign file) at a name the run writes is refused with
one error line before anything is written; it is not replaced either, since nnscratch never
makes links, so the link is the user's."""

import os
import shutil
from pathlib import Path

import pytest
from cli_run import run

from nnscratch.run import checkpoint
from nnscratch.run.checkpoint import folder as run_folder
from nnscratch.run.checkpoint import store

TINY = ["--epochs", "2", "--json"]
CHECKPOINT_NAMES = [
    f"{store.FOLDER}/{name}"
    for name in (
        "model.safetensors",
        "optimizer.safetensors",
        "rng.safetensors",
        "config.json",
        "data.json",
        "state.json",
        "manifest.json",
    )
]
FOLDER_NAMES = [store.FOLDER, store.FOLDER + ".old", store.TEMP]
FILE_NAMES = [
    run_folder.LOCK,
    *[
        n
        for n in run_folder.WRITTEN
        if "." in n and not n.startswith(("checkpoint", ".checkpoint"))
    ],
    *CHECKPOINT_NAMES,
]
NOTES = b"the user's notes\n"


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("base") / "run"
    code, _, err = run("train", *TINY, "--out", out)
    assert code == 0, err
    return out


def test_the_names_cover_every_file_a_run_writes(base_run):
    written = {p.relative_to(base_run).as_posix() for p in base_run.rglob("*") if p.is_file()}
    assert written <= set(FILE_NAMES)
    assert {p.name for p in base_run.iterdir() if p.is_dir()} <= set(FOLDER_NAMES)


def tree(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def commands(run_dir: Path) -> dict[str, list]:
    return {
        "overwrite": ["train", *TINY, "--out", run_dir, "--overwrite"],
        "resume": ["train", "--resume", run_dir, "--epochs", "4", "--json"],
    }


def refused(argv, name: str) -> str:
    code, out, err = run(*argv)
    assert code == 2, (out, err)
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert name.split("/")[0] in err, err
    return err


@pytest.mark.parametrize("command", ["overwrite", "resume"])
@pytest.mark.parametrize("name", FILE_NAMES)
def test_a_file_replaced_by_a_link_is_refused_and_its_target_unchanged(
    base_run, tmp_path, name, command
):
    run_dir = tmp_path / "run"
    shutil.copytree(base_run, run_dir, symlinks=True)
    link = run_dir / name
    content = link.read_bytes() if link.exists() else NOTES  # a true copy passes any hash check
    outside = tmp_path / "notes.txt"
    outside.write_bytes(content)
    if link.exists():
        link.unlink()
    os.symlink(outside, link)
    err = refused(commands(run_dir)[command], name)
    assert "link" in err, err
    assert outside.read_bytes() == content  # neither truncated nor written through
    assert link.is_symlink() and os.readlink(link) == str(outside)


@pytest.mark.parametrize("command", ["overwrite", "resume"])
@pytest.mark.parametrize("name", FOLDER_NAMES)
def test_a_folder_replaced_by_a_link_is_refused_and_its_target_unchanged(
    base_run, tmp_path, name, command
):
    run_dir = tmp_path / "run"
    shutil.copytree(base_run, run_dir, symlinks=True)
    outside = tmp_path / "elsewhere"
    shutil.copytree(base_run / store.FOLDER, outside)
    (outside / "notes.txt").write_bytes(NOTES)
    before = tree(outside)
    link = run_dir / name
    if link.exists():
        shutil.rmtree(link)
    os.symlink(outside, link)
    err = refused(commands(run_dir)[command], name)
    assert "link" in err, err
    assert tree(outside) == before
    assert link.is_symlink()


@pytest.mark.parametrize("command", ["overwrite", "resume"])
def test_a_users_checkpoint_old_folder_is_never_removed(base_run, tmp_path, command):
    run_dir = tmp_path / "run"
    shutil.copytree(base_run, run_dir)
    mine = run_dir / "checkpoint.old"
    mine.mkdir()
    (mine / "notes.txt").write_bytes(NOTES)
    refused(commands(run_dir)[command], "checkpoint.old")
    assert (mine / "notes.txt").read_bytes() == NOTES


def test_a_checkpoint_old_that_nnscratch_left_is_removed_on_resume(base_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(base_run, run_dir)
    shutil.copytree(run_dir / "checkpoint", run_dir / "checkpoint.old")  # a kill mid-swap
    code, _, err = run(*commands(run_dir)["resume"])
    assert code == 0, err
    assert not (run_dir / "checkpoint.old").exists()
    assert checkpoint.load(run_dir).state.epoch == 4


def test_out_through_a_link_the_user_made_is_the_folder_it_leads_to(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(real, tmp_path / "shortcut")
    code, _, err = run("train", *TINY, "--out", tmp_path / "shortcut")
    assert code == 0, err
    assert checkpoint.load(real).state.epoch == 2
    code, _, err = run("train", "--resume", tmp_path / "shortcut", "--epochs", "3", "--json")
    assert code == 0, err
    assert checkpoint.load(real).state.epoch == 3
