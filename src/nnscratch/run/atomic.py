"""Atomic file writes: a reader (or a crash) sees the old file or the new one, never half of one.

Replaces ``torch.save(obj, path)``, which writes in place: a kill in the middle of it leaves a
truncated file where the last good checkpoint used to be. The recipe, for one file:

    1. write the bytes to a temporary file in the *same* folder (a rename is atomic only within
       one file system)
    2. flush and fsync it                  the bytes are on disk before the name points at them
    3. os.replace(temp, path)              the atomic step: the name now points at the new file
    4. fsync the folder                    the rename itself is on disk

and for a folder of files (a checkpoint), `replace_dir`: build the new folder completely beside
the old one, then swap the two names (POSIX cannot rename a folder onto a non-empty one, so the
old one is first moved aside to ``<name>.old``, which a loader falls back to; see
`nnscratch.run.checkpoint`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import suppress
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (steps 1–4 above); the file mode follows the umask."""
    path = Path(path)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)  # 1. the temporary file
            f.flush()
            os.fsync(f.fileno())  # 2. on disk
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp creates 0600
        os.replace(temp, path)  # 3. the atomic step
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    fsync_dir(path.parent)  # 4. the rename is durable
    return path


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def replace_dir(new: str | Path, path: str | Path) -> Path:
    """Make the complete folder ``new`` appear at ``path``, replacing whatever folder was there.

    ``path`` → ``path.old``, ``new`` → ``path``, then ``path.old`` is deleted. A crash between the
    two renames leaves only ``path.old`` (the previous, complete folder); after the second, the
    new one. Both ``new`` and ``path`` must be in the same parent folder.
    """
    new, path = Path(new), Path(path)
    old = path.with_name(path.name + ".old")
    if old.exists() and path.exists():  # a crash after a swap, before the cleanup
        shutil.rmtree(old)
    if path.exists():
        os.replace(path, old)
    os.replace(new, path)
    fsync_dir(path.parent)
    shutil.rmtree(old, ignore_errors=True)
    return path
