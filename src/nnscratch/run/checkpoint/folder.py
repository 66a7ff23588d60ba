"""The run folder for the life of one run: created, locked, proven writable before the first
epoch, and the one writer of what goes in it (checkpoint, metrics, summary, plots).

Replaces "``os.makedirs(out, exist_ok=True)`` and hope": two runs writing the same folder at
once mix their checkpoints, and a folder that cannot be written fails at the first save, after
the work.

    .nnscratch.lock   an exclusive ``fcntl.flock`` held while a run trains or resumes there; it
                      holds the PID of the run (emptied when the run ends; the file stays, since
                      removing a lock file races with the next run opening it). The lock goes
                      with the process: a killed run leaves no stale lock. A second run on the
                      folder is refused: "DIR is in use by another nnscratch run (PID n)".
                      (No lock where ``fcntl`` does not exist, i.e. on Windows.)

`RunFolder.open` makes the folder (and its parents), takes the lock and writes the PID there,
which is the proof that the folder can be written; with ``fresh`` (a new run, ``--overwrite``)
it then removes what an earlier run wrote there (`WRITTEN`, and their temporaries), and nothing
else: files a person put in the folder stay.

Links and foreign files (`nofollow`): the folder the user names may be reached through a link
they made; inside it, every file is opened relative to the folder's descriptor with
``O_NOFOLLOW``. Before anything is written, each name a run writes must be absent or what a
run makes (a regular file; for ``checkpoint``, ``checkpoint.old`` and ``.checkpoint.tmp``, a real
folder of a checkpoint's files only): a link there, or a user's ``checkpoint.old/`` with notes
in it, stops the command with one error line, and neither the link, its target nor the folder
is touched.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nnscratch.errors import UserError
from nnscratch.run import atomic
from nnscratch.run.checkpoint import nofollow, records
from nnscratch.run.checkpoint.store import CHECKPOINT_FILES, FOLDER, MANIFEST, OLD, RUN_FILES, TEMP

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

LOCK = ".nnscratch.lock"
PLOTS = ("loss.png", "fit.png", "boundary.png")
SUMMARY = "summary.json"
HEALTH = ("health.jsonl", "health.png")  # train --health (`nnscratch.health`)
WRITTEN = (*RUN_FILES, *PLOTS, *HEALTH)  # every name a run writes in its folder (the lock aside)
FOLDERS = (FOLDER, OLD, TEMP)  # of them, the checkpoint folders (CHECKPOINT_FILES inside)
WRITTEN_FILES = tuple(name for name in WRITTEN if name not in FOLDERS)


def in_use_error(path: Path, pid: str) -> UserError:
    return UserError(
        f"{path}: is in use by another nnscratch run (PID {pid or '?'}); wait for it to finish, "
        "stop it, or choose another folder"
    )


def is_run(path: str | Path) -> bool:
    """Does ``path`` hold (part of) a run: anything a run writes, the lock file included?"""
    path = Path(path)
    return any((path / name).exists() for name in (*WRITTEN, LOCK))


def has_checkpoint(path: str | Path) -> bool:
    """Does the run at ``path`` hold a complete checkpoint (a manifest, written last)?"""
    path = Path(path)
    return any((path / name / MANIFEST).is_file() for name in (FOLDER, FOLDER + ".old"))


def run_root(path: str | Path) -> Path:
    """The run folder of ``path``: itself, or the run above a checkpoint folder given instead."""
    path = Path(path)
    return path.parent if path.name in (FOLDER, FOLDER + ".old") else path


def run_files(path: str | Path) -> list[Path]:
    """Every file in the run folder of ``path`` (what a command reading the run must not
    overwrite)."""
    root = run_root(path)
    if not root.is_dir():
        return []
    return [p for p in root.rglob("*") if p.is_file()]


def probe_lock(path: str | Path) -> None:
    """`UserError` if another process holds the lock of the run folder ``path``, or if the lock
    is a link (changes nothing)."""
    if fcntl is None or not Path(path).is_dir():
        return
    with nofollow.folder(path) as dir_fd:
        try:
            fd = nofollow.open_file(dir_fd, LOCK, os.O_RDONLY, Path(path) / LOCK)
        except FileNotFoundError:
            return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise in_use_error(Path(path), _pid(fd)) from None
    finally:
        os.close(fd)  # releases the probe's lock


def check_names(path: str | Path) -> None:
    """`UserError` unless every name a run writes in the folder ``path`` is absent or a run's
    own (see the module's docstring); changes nothing."""
    if not Path(path).is_dir():
        return
    with nofollow.folder(path) as fd:
        _check_names(fd, Path(path))


def _check_names(fd: int, path: Path) -> None:
    nofollow.check_owned(fd, LOCK, path / LOCK)
    for name in WRITTEN_FILES:
        nofollow.check_owned(fd, name, path / name)
    for name in FOLDERS:
        nofollow.check_owned(fd, name, path / name, CHECKPOINT_FILES)


def _pid(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode(errors="replace").strip()
    except OSError:
        return ""


def check_creatable(path: str | Path, flag: str = "--out") -> None:
    """`UserError` unless the folder ``path`` exists or could be made: its nearest existing
    ancestor is a folder that may be written (checked without writing anything)."""
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise UserError(f"{flag} {path}: is a file; give a folder for the run")
        if not os.access(path, os.W_OK | os.X_OK):
            raise UserError(f"{flag} {path}: the folder cannot be written (permission denied)")
        return
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UserError(
            f"{flag} {path}: {ancestor} is a file, so no folder can be made under it; "
            "give a folder for the run"
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UserError(
            f"{flag} {path}: cannot create it, {ancestor} cannot be written (permission denied)"
        )


class RunFolder:
    """An open run folder: locked by this process until `close`."""

    def __init__(self, path: Path, fd: int | None, dir_fd: int) -> None:
        self.path = path
        self._fd = fd  # the lock file
        self.dir_fd: int | None = dir_fd  # the folder: every name in it is opened relative to this
        self.metrics: records.MetricsLog | None = None
        self.health: records.MetricsLog | None = None

    @classmethod
    def open(cls, path: str | Path, *, fresh: bool, flag: str = "--out") -> RunFolder:
        """Make ``path``, lock it, check its names (no link, nothing foreign at a name a run
        writes) and (``fresh``) clear an earlier run's files; `UserError` if it cannot be made
        or written, holds a link or a foreign file at a run's name, or another run holds it."""
        path = Path(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(
                f"{flag} {path}: cannot create the folder ({atomic.cause(e)})"
            ) from None
        if not path.is_dir():
            raise UserError(f"{flag} {path}: is a file; give a folder for the run")
        dir_fd = nofollow.open_folder(path)
        fd = None
        try:
            try:
                fd = nofollow.open_file(dir_fd, LOCK, os.O_RDWR | os.O_CREAT, path / LOCK)
            except OSError as e:
                raise UserError(
                    f"{flag} {path}: cannot write in the folder ({atomic.cause(e)})"
                ) from None
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    raise in_use_error(path, _pid(fd)) from None
            _check_names(dir_fd, path)  # before anything is written or removed
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            except OSError as e:
                raise UserError(
                    f"{flag} {path}: cannot write in the folder ({atomic.cause(e)})"
                ) from None
        except BaseException:
            if fd is not None:
                os.close(fd)
            os.close(dir_fd)
            raise
        folder = cls(path, fd, dir_fd)
        if fresh:
            folder.clear()
        return folder

    def clear(self) -> None:
        """Remove what a run writes here (`WRITTEN` and their temporaries), nothing else."""
        for name in WRITTEN_FILES:
            nofollow.remove(self.dir_fd, name, self.path / name)
        for name in FOLDERS:
            nofollow.remove(self.dir_fd, name, self.path / name, CHECKPOINT_FILES)
        for name in os.listdir(self.dir_fd):
            if name.endswith(".tmp") and any(name.startswith(f".{w}.") for w in WRITTEN_FILES):
                if nofollow.ours(self.dir_fd, name) is None:  # a regular file, not a link
                    nofollow.remove(self.dir_fd, name, self.path / name)

    def write(self, name: str, data: bytes) -> Path:
        """Replace the file ``name`` of the folder with ``data``, atomically, never through a
        link (`nofollow.write_atomic`)."""
        nofollow.write_atomic(self.dir_fd, name, data, self.path / name)
        return self.path / name

    def open_metrics(self, mark: dict[str, Any] | None) -> records.MetricsLog:
        self.metrics = records.MetricsLog(self.path, mark, self.dir_fd)
        return self.metrics

    def open_health(self) -> records.MetricsLog:
        """``health.jsonl``, started afresh (a resumed run records from where it resumes)."""
        self.health = records.MetricsLog(self.path, None, self.dir_fd, HEALTH[0])
        return self.health

    def close(self) -> None:
        """Close the metrics files and release the lock (the lock file stays, emptied)."""
        for log in (self.metrics, self.health):
            if log is not None:
                log.close()
        self.metrics = self.health = None
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            except OSError:
                pass
            os.close(self._fd)  # releases the flock
            self._fd = None
        if self.dir_fd is not None:
            os.close(self.dir_fd)
            self.dir_fd = None

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
