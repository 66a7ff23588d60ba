"""Writing files without losing one: the single writer of every command that writes.

Replaces ``torch.save(obj, path)`` / ``open(path, "w")``, which write in place: a kill in the
middle leaves a truncated file where the good one used to be, and they happily replace whatever
the name points at (the input data, a device node, the target of a link).

Checking a target, before any work (`check_target`, called where the command line is read):

    -                       standard output
    a new name              its folder must exist and be a folder
    an existing file        needs --overwrite; never one of the command's own inputs (compared
                            with os.path.samefile), not even with --overwrite
    a FIFO or a character   written into as a stream (opened for writing, never created,
    device (/dev/null, a    truncated or renamed over); nothing is replaced, so no --overwrite
    terminal, a pipe)       is needed
    a symbolic link         refused, whatever it points to, unless it leads to a stream (above):
                            replacing it would either follow it (and replace its target) or
                            silently turn it into a file; give the real path instead
    a folder, a block       refused
    device, a socket

Writing a regular file atomically (`write_bytes`), for one file:

    1. write the bytes to a temporary file in the *same* folder (a rename is atomic only within
       one file system)
    2. flush and fsync it                  the bytes are on disk before the name points at them
    3. os.replace(temp, path)              the atomic step: the name now points at the new file
    4. fsync the folder                    the rename itself is on disk

A failure at any step (disk full, permission, a path under a file) removes the temporary file and
raises `WriteError` (a `UserError`: ``error: <path>: cannot write (<cause>)``, exit 2), and the old
file is untouched. Inside a run folder, files are written relative to the folder and never
through a link, and a checkpoint is built beside the old one and swapped in whole
(`nnscratch.run.checkpoint.nofollow`, `nnscratch.run.checkpoint.store.swap`).
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path

from nnscratch.errors import UserError

STDOUT = "-"


class WriteError(UserError, OSError):
    """A write failed (disk full, permission, ...): the message names the path and the cause.
    A `UserError` for the CLI (one ``error:`` line, exit 2), an `OSError` for library callers."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def cause(e: OSError) -> str:
    """``No space left on device`` for an OSError (its strerror, else its text)."""
    return e.strerror or str(e) or type(e).__name__


def write_error(path: str | Path, e: OSError, doing: str = "cannot write") -> WriteError:
    """``path: cannot write (cause)``; a `WriteError` already says it, and is kept as it is
    (never ``a: cannot write (b: cannot write (cause))``)."""
    if isinstance(e, WriteError):
        return e
    return WriteError(f"{path}: {doing} ({cause(e)})")


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def is_stream(mode: int) -> bool:
    """A FIFO or a character device: written into as a stream, never replaced."""
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


def same_file(a: str | Path, b: str | Path) -> bool:
    """Do ``a`` and ``b`` name the same file (links and hard links included)?"""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def inside(path: str | Path, folder: str | Path) -> bool:
    """Is ``path`` (existing or not) inside ``folder`` (links resolved)?"""
    try:
        where = Path(path).parent.resolve() / Path(path).name
        return Path(folder).resolve() in where.parents
    except OSError:
        return False


def check_target(
    path: str | Path,
    *,
    overwrite: bool,
    inputs: Iterable[str | Path] = (),
    flag: str = "--out",
) -> None:
    """`UserError` unless a file may be written at ``path`` (see the table above); changes nothing.

    ``inputs``: the files the command reads (or owns); writing onto one is refused even with
    ``overwrite``.
    """
    if str(path) == STDOUT:
        return
    path = Path(path)
    for source in inputs:
        if same_file(path, source):
            raise UserError(
                f"{flag} {path}: is the command's own input ({source}); choose another file name"
            )
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as e:  # e.g. a path under a regular file: ENOTDIR
        raise UserError(f"{flag} {path}: cannot be written ({cause(e)})") from None
    if st is None:
        parent = path.parent
        if not parent.is_dir():
            what = "is not a folder" if parent.exists() else "does not exist; create it first"
            raise UserError(f"{flag} {path}: the folder {parent} {what}")
        return
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.stat(path).st_mode
        except OSError:
            target = 0
        if is_stream(target):
            return
        raise UserError(
            f"{flag} {path}: is a symbolic link (to {os.readlink(path)}); nnscratch does not "
            "replace links or write through them: give the real path, or - for standard output"
        )
    if stat.S_ISDIR(st.st_mode):
        raise UserError(f"{flag} {path}: is a folder; give a file name")
    if is_stream(st.st_mode):
        return
    if not stat.S_ISREG(st.st_mode):
        raise UserError(
            f"{flag} {path}: is a special file (not a regular file, a FIFO or a character "
            "device); nnscratch does not write there"
        )
    if not overwrite:
        raise UserError(f"{flag} {path}: exists; pass --overwrite to replace it")


def fsync_dir(path: str | Path) -> None:
    """Make a rename/creation inside ``path`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write_stream(path: str | Path, data: bytes) -> Path:
    """Write ``data`` into the FIFO or character device at ``path``: opened for writing only
    (no O_CREAT, no O_TRUNC), so the node itself stays what it is."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOCTTY", 0))
    except OSError as e:
        raise write_error(path, e) from None
    try:
        if not is_stream(os.fstat(fd).st_mode):  # replaced by a regular file meanwhile
            raise UserError(f"{path}: is no longer a FIFO or a device; nothing was written")
        write_all(fd, data)
    except OSError as e:
        raise write_error(path, e) from None
    finally:
        os.close(fd)
    return path


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path``: atomically for a regular file (steps 1–4 above, the mode
    follows the umask), as a stream into a FIFO or device, to standard output for ``-``.

    Callers check the target first (`check_target`); here a link or a non-regular, non-stream
    node is refused anyway, so that no caller can replace one.
    """
    if str(path) == STDOUT:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return Path(STDOUT)
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise write_error(path, e) from None
    if st is not None and stat.S_ISLNK(st.st_mode):
        with suppress(OSError):
            if is_stream(os.stat(path).st_mode):
                return write_stream(path, data)
        raise UserError(f"{path}: is a symbolic link; nnscratch does not replace links")
    if st is not None and is_stream(st.st_mode):
        return write_stream(path, data)
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise UserError(f"{path}: is not a regular file; nnscratch does not replace it")
    temp = None
    try:
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            write_all(f.fileno(), data)  # 1. the temporary file
            os.fsync(f.fileno())  # 2. on disk
        os.chmod(temp, 0o666 & ~umask())  # mkstemp creates 0600
        os.replace(temp, path)  # 3. the atomic step
    except BaseException as e:
        if temp is not None:
            with suppress(OSError):
                os.unlink(temp)
        if isinstance(e, OSError):
            raise write_error(path, e) from None
        raise
    fsync_dir(path.parent)  # 4. the rename is durable
    return path


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


__all__ = [
    "STDOUT",
    "WriteError",
    "check_target",
    "inside",
    "fsync_dir",
    "same_file",
    "write_bytes",
    "write_stream",
    "write_text",
]
