"""``metrics.jsonl``: one JSON line per epoch, appended as the run goes, so that saving an epoch
costs the same at epoch 10 and at epoch 100,000.  Replaces rewriting the whole history (and
deep-copying it into every snapshot), which made a long run with ``--out`` quadratic in epochs.

The file lives in the run folder (``DIR/metrics.jsonl``), not inside the checkpoint; each
checkpoint instead records a *mark* of the file as it was at that epoch, in ``state.json``:

    {"lines": 120, "bytes": 20480, "sha256": "<SHA-256 of those first 20480 bytes>"}

A running SHA-256 is updated line by line, so a mark costs nothing to take. Loading reads the
first ``bytes`` bytes and checks them against the mark (lines written after the checkpoint, by
epochs a kill did not let it save, are ignored); resuming truncates the file back to the mark
and appends from there. The file is opened relative to the run folder, never through a link
(`nofollow`): a ``metrics.jsonl`` that is a link is refused, not cut back or appended to.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from nnscratch.errors import UserError
from nnscratch.run import atomic
from nnscratch.run.checkpoint import nofollow

FILE = "metrics.jsonl"


def _line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record) + "\n").encode()


def mark_of(blob: bytes) -> dict[str, Any]:
    """The mark of a metrics file whose whole content is ``blob``."""
    lines = blob.count(b"\n")
    return {"lines": lines, "bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}


def encode(records: list[dict[str, Any]]) -> bytes:
    return b"".join(_line(r) for r in records)


class MetricsLog:
    """``DIR/metrics.jsonl`` open for appending: `append` one record per epoch, `mark` for a
    checkpoint, `sync` before a checkpoint that refers to it is written.

    Lines reach the file at most `FLUSH_S` seconds after their epoch (at once when epochs are
    slower than that), always before a checkpoint that counts them, and at the end: a write(2)
    per epoch costs more than a small model's epoch on a busy disk. A kill loses only lines that
    no checkpoint counts, which a resume cuts off anyway.

    Records are also *encoded* then, in one batch: between two epochs of a small model the JSON
    encoder and the hash are cold, and one line cost ~14 µs there against ~3 µs in a batch (the
    seed's epoch is ~135 µs, so this was a tenth of it). `mark` encodes what is pending first.
    A record must not change after `append` (train's records never do).
    """

    FLUSH_S = 0.5

    def __init__(
        self,
        run_dir: str | Path,
        mark: dict[str, Any] | None = None,
        dir_fd: int | None = None,
        name: str = FILE,
    ) -> None:
        """Start the file afresh, or (``mark``, from a checkpoint being resumed) cut it back to
        the checkpoint's epoch; its first ``mark['bytes']`` bytes must match. ``dir_fd``: the
        run folder, opened by the caller (`folder.RunFolder`). ``name``: another file of records
        appended the same way (``health.jsonl``, `nnscratch.health`)."""
        self.name = name
        self.path = Path(run_dir) / name
        self._hash = hashlib.sha256()
        self.lines = self.bytes = 0  # appended lines; bytes of the encoded ones
        self._pending: list[dict[str, Any]] = []  # appended, not yet encoded (the last lines)
        with nofollow.folder(run_dir) if dir_fd is None else nullcontext(dir_fd) as folder:
            fd = self._open(folder, mark)
        self._file = os.fdopen(fd, "r+b")  # noqa: SIM115 (closed by close())
        self._file.seek(self.bytes)
        self._flushed = time.perf_counter()

    def _open(self, folder: int, mark: dict[str, Any] | None) -> int:
        """The file's descriptor, emptied or cut back to ``mark`` (whose head it hashes)."""
        if mark is not None:
            _check_mark(self.path, mark)
        try:
            flags = os.O_RDWR if mark is not None else os.O_RDWR | os.O_CREAT
            fd = nofollow.open_file(folder, self.name, flags, self.path)
        except FileNotFoundError:
            raise _missing(self.path) from None
        try:
            if mark is not None:
                head = _head(self.path, fd, mark)
                self._hash.update(head)
                self.lines, self.bytes = mark["lines"], mark["bytes"]
            os.ftruncate(fd, self.bytes)
        except BaseException as e:
            os.close(fd)
            if isinstance(e, OSError):
                raise atomic.write_error(self.path, e) from None
            raise
        return fd

    def append(self, record: dict[str, Any]) -> None:
        self._pending.append(record)
        self.lines += 1
        if time.perf_counter() - self._flushed >= self.FLUSH_S:
            self.flush()

    def _encode(self, upto: int) -> None:
        """Encode, write and hash the pending records up to line ``upto`` (1-based count)."""
        k = len(self._pending) - (self.lines - upto)  # how many of the pending ones
        if not 0 <= k <= len(self._pending):
            raise ValueError(
                f"no mark at line {upto}: lines 1–{self.lines - len(self._pending)} are encoded"
            )
        if k == 0:
            return
        blob = encode(self._pending[:k])
        del self._pending[:k]
        try:
            self._file.write(blob)
        except OSError as e:
            raise atomic.write_error(self.path, e) from None
        self._hash.update(blob)
        self.bytes += len(blob)

    def mark(self, lines: int | None = None) -> dict[str, Any]:
        """Where the file stands after ``lines`` lines (default: all appended so far); the lines
        up to there are encoded first, so ``lines`` can be any count not yet encoded."""
        lines = self.lines if lines is None else lines
        self._encode(lines)
        return {"lines": lines, "bytes": self.bytes, "sha256": self._hash.copy().hexdigest()}

    def flush(self) -> None:
        self._encode(self.lines)
        try:
            self._file.flush()
        except OSError as e:
            raise atomic.write_error(self.path, e) from None
        self._flushed = time.perf_counter()

    def sync(self) -> None:
        """Every line appended so far on disk (before a checkpoint that counts them is written)."""
        try:
            self.flush()
            os.fsync(self._file.fileno())
        except OSError as e:
            raise atomic.write_error(self.path, e) from None

    def close(self) -> None:
        """Write what is pending and close; a failure here is not reported (the checkpoints
        say which lines count, and the run has reported or raised what went wrong)."""
        try:
            self._encode(self.lines)
        except UserError:
            pass
        finally:
            try:
                self._file.close()
            except OSError:
                pass


def _check_mark(path: Path, mark: Any) -> None:
    if not (
        isinstance(mark, dict)
        and all(isinstance(mark.get(k), int) and mark[k] >= 0 for k in ("lines", "bytes"))
        and isinstance(mark.get("sha256"), str)
    ):
        raise UserError(f"{path}: the checkpoint's mark of this file is malformed ({mark!r})")


def _missing(path: Path) -> UserError:
    return UserError(f"{path}: missing; the checkpoint needs the run's metrics file beside it")


def _head(path: Path, fd: int, mark: dict[str, Any]) -> bytes:
    """The first ``mark['bytes']`` bytes of the open file ``fd``, checked against the mark."""
    try:
        head = os.pread(fd, mark["bytes"], 0)
    except OSError as e:
        raise UserError(f"{path}: cannot be read ({atomic.cause(e)})") from None
    if len(head) != mark["bytes"] or mark_of(head) != mark:
        raise UserError(
            f"{path}: truncated, corrupted or replaced (its first {mark['lines']} lines do not "
            "match the checkpoint); restore the run folder or train again"
        )
    return head


def read_head(path: Path, mark: Any) -> bytes:
    """The first ``mark['bytes']`` bytes of ``path``, checked against the mark (a link at
    ``path`` is refused: `nofollow`)."""
    _check_mark(path, mark)
    try:
        with nofollow.folder(path.parent) as folder:
            fd = nofollow.open_file(folder, path.name, os.O_RDONLY, path)
    except FileNotFoundError:
        raise _missing(path) from None
    try:
        return _head(path, fd, mark)
    finally:
        os.close(fd)


def read(run_dir: str | Path, mark: Any) -> list[dict[str, Any]]:
    """The records of the checkpoint whose mark is ``mark`` (one per epoch it completed)."""
    path = Path(run_dir) / FILE
    head = read_head(path, mark)
    try:
        records = [json.loads(line) for line in head.decode("utf-8").splitlines()]
    except (UnicodeDecodeError, ValueError) as e:
        raise UserError(f"{path}: not valid JSON lines ({e}); the run is corrupted") from None
    if not all(isinstance(r, dict) for r in records):
        raise UserError(f"{path}: each line must be a JSON object; the run is corrupted")
    return records
