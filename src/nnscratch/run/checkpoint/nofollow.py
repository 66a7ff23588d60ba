"""Files inside a run folder: opened without following links, removed only if nnscratch made them.

Replaces ``open(DIR / name, "w")`` and ``shutil.rmtree(DIR / name)``, which follow a link planted
at ``name`` (truncating or writing into the file it points at) and delete whatever folder a user
happened to give a name the run also uses.

    the run folder    the folder the user names may be reached through a link they made: it is
                      opened once by its path (`open_folder`), and every name below is taken
                      relative to that descriptor (the ``dir_fd`` family)
    a file in it      opened with ``O_NOFOLLOW`` (which guards the last component; the folder's
                      descriptor guards the rest): a link there is refused, never followed
    a link            never followed, never replaced, never removed: nnscratch makes no links,
                      so a link at one of its names is the user's; the command stops with one
                      error line before it writes anything (`check_owned`)
    removing          only what nnscratch made (`ours`): a regular file at one of its names, or
                      a real folder holding nothing but regular files named as a checkpoint's;
                      any other entry (a user's ``checkpoint.old/notes.txt``) stops the command

POSIX only (``O_NOFOLLOW``, ``dir_fd``).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from nnscratch.errors import UserError
from nnscratch.run import atomic

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
DIRECTORY = getattr(os, "O_DIRECTORY", 0)
CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def link_error(shown: str | Path) -> UserError:
    return UserError(
        f"{shown}: is a symbolic link; nnscratch never follows or replaces links inside a run "
        "folder (nothing was written through it): move the link away, or choose another folder"
    )


def foreign_error(shown: str | Path, what: str) -> UserError:
    return UserError(
        f"{shown}: {what}, which nnscratch did not write, so it will not replace or remove it; "
        "move it out of the run folder, or choose another folder"
    )


def lstat(fd: int, name: str) -> os.stat_result | None:
    """The entry ``name`` of the folder ``fd`` itself (a link is not followed); None if absent."""
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def open_folder(path: str | Path) -> int:
    """A descriptor of the run folder ``path`` (a link the user made to it is followed)."""
    try:
        return os.open(path, os.O_RDONLY | DIRECTORY | CLOEXEC)
    except OSError as e:
        raise atomic.write_error(path, e, "cannot open the folder") from None


@contextmanager
def folder(path: str | Path) -> Iterator[int]:
    """`open_folder` for the length of a ``with`` block."""
    fd = open_folder(path)
    try:
        yield fd
    finally:
        os.close(fd)


def open_file(fd: int, name: str, flags: int, shown: str | Path) -> int:
    """``os.open(name, flags | O_NOFOLLOW, dir_fd=fd)``, a regular file only: `UserError` for a
    link, a folder or a device at ``name``; ``FileNotFoundError`` passes through."""
    try:
        file = os.open(name, flags | NOFOLLOW | CLOEXEC | os.O_NONBLOCK, 0o666, dir_fd=fd)
    except FileNotFoundError:
        raise
    except OSError as e:
        st = lstat(fd, name)
        if e.errno == errno.ELOOP or (st is not None and stat.S_ISLNK(st.st_mode)):
            raise link_error(shown) from None
        raise atomic.write_error(shown, e, "cannot open") from None
    if not stat.S_ISREG(os.fstat(file).st_mode):
        os.close(file)
        raise foreign_error(shown, "is not a regular file")
    os.set_blocking(file, True)
    return file


def open_subfolder(fd: int, name: str, shown: str | Path) -> int:
    """A descriptor of the folder ``name`` inside ``fd``; a link there is refused."""
    try:
        return os.open(name, os.O_RDONLY | DIRECTORY | NOFOLLOW | CLOEXEC, dir_fd=fd)
    except OSError as e:
        st = lstat(fd, name)
        if st is not None and stat.S_ISLNK(st.st_mode):
            raise link_error(shown) from None
        raise atomic.write_error(shown, e, "cannot open the folder") from None


def write_new(fd: int, name: str, data: bytes, shown: str | Path) -> None:
    """Create ``name`` in ``fd`` (it must not exist: ``O_EXCL`` never follows a link) with
    ``data``, fsynced: a file of a folder that is swapped in whole."""
    try:
        file = os.open(
            name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | CLOEXEC, 0o666, dir_fd=fd
        )
        try:
            atomic.write_all(file, data)
            os.fsync(file)
        finally:
            os.close(file)
    except OSError as e:
        raise atomic.write_error(shown, e) from None


def write_atomic(fd: int, name: str, data: bytes, shown: str | Path) -> None:
    """Replace ``name`` in ``fd`` by a file holding ``data``, atomically: a temporary
    ``.NAME.XXXX.tmp`` (created with ``O_EXCL``), fsynced, renamed over ``name``; a link at
    ``name`` is refused (a rename would replace the user's link)."""
    st = lstat(fd, name)
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise (
            link_error(shown)
            if stat.S_ISLNK(st.st_mode)
            else foreign_error(shown, "is not a regular file")
        )
    temp = f".{name}.{secrets.token_hex(4)}.tmp"
    try:
        write_new(fd, temp, data, shown)
        with suppress(OSError):  # the mode follows the umask, as open() would give
            os.chmod(temp, 0o666 & ~atomic.umask(), dir_fd=fd, follow_symlinks=False)
        os.replace(temp, name, src_dir_fd=fd, dst_dir_fd=fd)
        os.fsync(fd)
    except BaseException as e:
        with suppress(OSError):
            os.unlink(temp, dir_fd=fd)
        if isinstance(e, OSError):
            raise atomic.write_error(shown, e) from None
        raise


def ours(fd: int, name: str, files: Iterable[str] = ()) -> str | None:
    """None if the entry ``name`` of ``fd`` is absent or one nnscratch made: a regular file or,
    when ``files`` names what it holds, a real folder holding only such regular files.
    Otherwise what is wrong with it ("is a symbolic link", "holds notes.txt", ...)."""
    st = lstat(fd, name)
    if st is None or (stat.S_ISREG(st.st_mode) and not files):
        return None
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link"
    if not stat.S_ISDIR(st.st_mode):
        return "is a file, not a folder" if files else "is not a regular file"
    if not files:
        return "is a folder"
    sub = os.open(name, os.O_RDONLY | DIRECTORY | NOFOLLOW | CLOEXEC, dir_fd=fd)
    try:
        for entry in os.listdir(sub):
            wrong = None if entry in files else "not a checkpoint's file"
            wrong = wrong or ours(sub, entry)
            if wrong is not None:
                return f"holds {entry} ({wrong})"
    finally:
        os.close(sub)
    return None


def check_owned(fd: int, name: str, shown: str | Path, files: Iterable[str] = ()) -> None:
    """`UserError` unless ``name`` in ``fd`` is absent or nnscratch's own (`ours`)."""
    wrong = ours(fd, name, tuple(files))
    if wrong == "is a symbolic link":
        raise link_error(shown)
    if wrong is not None:
        raise foreign_error(shown, wrong)


def remove(fd: int, name: str, shown: str | Path, files: Iterable[str] = ()) -> None:
    """Remove ``name`` from ``fd`` if nnscratch made it (`check_owned` first); absent is fine."""
    files = tuple(files)
    check_owned(fd, name, shown, files)
    st = lstat(fd, name)
    try:
        if st is None:
            return
        if stat.S_ISDIR(st.st_mode):
            sub = open_subfolder(fd, name, shown)
            try:
                for entry in os.listdir(sub):
                    os.unlink(entry, dir_fd=sub)
            finally:
                os.close(sub)
            os.rmdir(name, dir_fd=fd)
        else:
            os.unlink(name, dir_fd=fd)
    except FileNotFoundError:
        pass
    except OSError as e:
        raise atomic.write_error(shown, e, "cannot remove") from None
