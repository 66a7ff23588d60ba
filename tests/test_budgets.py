"""Budgets in the command line (issue 17): a .npz member is measured from its zip entry and its
.npy header before a byte is decompressed, and refused beyond the budget; proven in a
subprocess under an address-space limit (``RLIMIT_AS``) with headroom for torch itself, where
decompressing would fail to allocate instead of answering with one error line."""

import io
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from cli_run import assert_user_error

from nnscratch.run import limits

resource = pytest.importorskip("resource")

CHUNK = 1 << 24  # 16 MiB of zeros per deflate block
LIMIT = 3 << 30  # the subprocess's address space: torch needs well under 1.5 GiB of it


def npy_header(shape: tuple[int, ...]) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue()


def zeros_member(chunks: int) -> tuple[bytes, bytes, int]:
    """(npy header, raw deflate stream, uncompressed size) of an X (N, 1) float64 of zeros that
    unpacks to ``chunks`` × 16 MiB: each block is compressed once and repeated (a full flush
    makes every block independent), so a 3.7 GB member costs 0.2 s and 3.6 MB to make."""
    header = npy_header((chunks * CHUNK // 8, 1))
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = deflate.compress(header) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(bytes(CHUNK)) + deflate.flush(zlib.Z_FULL_FLUSH)
    return header, head + block * chunks + deflate.flush(), len(header) + chunks * CHUNK


def write_zip(path: Path, members: list[tuple[str, bytes, int, int]]) -> None:
    """A zip of deflated members (name, raw deflate bytes, uncompressed size, CRC-32)."""
    out, central = bytearray(), bytearray()
    for name, data, size, crc in members:
        offset, raw = len(out), name.encode()
        common = (8, 0, 0x21, crc, len(data), size, len(raw))  # deflate, 1980-01-01
        out += struct.pack("<IHH" + "HHHIIIH" + "H", 0x04034B50, 20, 0, *common, 0) + raw + data
        central += struct.pack(
            "<IHHH" + "HHHIIIH" + "HHHHII", 0x02014B50, 20, 20, 0, *common, 0, 0, 0, 0, 0, offset
        )
        central += raw
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0
    )
    path.write_bytes(bytes(out + central + end))


def small_member(name: str, array: np.ndarray) -> tuple[str, bytes, int, int]:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array)
    raw = buffer.getvalue()
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    return name, deflate.compress(raw) + deflate.flush(), len(raw), zlib.crc32(raw)


def bomb(path: Path, chunks: int) -> Path:
    _, data, size = zeros_member(chunks)
    # the CRC is only checked at the end of the member, which a budgeted reader never reaches;
    # y is read after X, so its rows need not match
    write_zip(path, [("X.npy", data, size, 0), small_member("y.npy", np.zeros(2))])
    return path


def run_limited(*argv: str) -> subprocess.CompletedProcess:
    """``nnscratch *argv`` in a subprocess whose address space is limited to `LIMIT`."""
    code = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({LIMIT}, {LIMIT}))\n"
        "from nnscratch.run.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=300
    )


def test_a_npz_bomb_is_refused_from_its_headers_under_a_memory_limit(tmp_path):
    path = bomb(tmp_path / "bomb.npz", chunks=220)  # 3.7 GB (more than LIMIT) from 3.6 MB
    assert path.stat().st_size < 5_000_000
    result = run_limited("train", "--data", str(path), "--epochs", "1")
    err = result.stderr
    assert result.returncode == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "array 'X' unpacks to 3.7 GB" in err and "budget" in err, err


def test_a_npy_header_that_promises_more_than_its_member_holds(tmp_path):
    header = npy_header((10**9, 1))  # 8 GB promised, 16 bytes given
    raw = header + bytes(16)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = deflate.compress(raw) + deflate.flush()
    members = [("X.npy", data, len(raw), zlib.crc32(raw)), small_member("y.npy", np.zeros(2))]
    write_zip(tmp_path / "liar.npz", members)
    assert_user_error(["train", "--data", tmp_path / "liar.npz"], "promises shape (1000000000, 1)")


def test_the_budget_is_a_quarter_of_the_address_space_limit():
    code = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "from nnscratch.run import limits\n"
        "print(limits.data_budget())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    physical = limits.memory_bytes()
    assert int(out.stdout) == min(2 << 30, physical) // 4


def test_a_npy_loaded_whole_is_budgeted_and_a_mapped_one_is_not(tmp_path, monkeypatch):
    from nnscratch.data.arrays import np_load
    from nnscratch.data.mapped import NpyFile
    from nnscratch.errors import UserError

    path = tmp_path / "rows.npy"
    np.save(path, np.zeros((200, 3)))  # 4,800 bytes of data
    monkeypatch.setattr(limits, "memory_bytes", lambda: 16_000)  # a budget of 4,000 bytes
    with pytest.raises(UserError, match="the array unpacks to .* budget"):
        np_load(path)
    assert isinstance(np_load(path, mapped=True), NpyFile)  # stays on disk: not counted
