"""Running the learner's file in a child process (`nnscratch.lab.practice.child`) under limits,
in a temporary working directory, and reading back what its probe saw.

The limits are CPU time and memory, not wall-clock time: a correct solution never fails because
the machine is busy. They stop a loop that never ends or an allocation without bound, with a
message; they are no sandbox: the file runs with the learner's own rights, as it would with
``python FILE``. A process that neither computes nor ends (sleeping, waiting on input it never
gets: stdin is empty) is stopped after `IDLE_LIMIT` seconds of wall-clock time as a last resort.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nnscratch.errors import UserError
from nnscratch.lab.practice.base import Observed

CPU_SECONDS = 10.0  # the learner's code's CPU time (after torch's import); exercises take < 1 s
MEMORY_BYTES = 2 * 2**30  # address space the learner's code may add to the interpreter's
IDLE_LIMIT = 600.0  # wall-clock seconds: only for a process that sleeps forever
PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])  # the folder holding `nnscratch`


@dataclass
class Run:
    exercise: str
    observed: Observed
    output: str  # what the file printed (its last lines)


def check_file(path: str | Path) -> Path:
    """The learner's file, or `UserError` saying what is wrong with the path."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file; write one with `nnscratch practice start NAME`")
    if not path.is_file():
        raise UserError(f"{path}: is not a file; give the .py file of an exercise")
    return path.resolve()


def tail(path: Path, limit: int = 4096) -> str:
    """The last ``limit`` bytes of ``path`` as text, at most 20 lines."""
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - limit))
        text = f.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-20:])


def exited(code: int, output: str, message: str | None = None) -> Observed:
    """The file ended the process before the check could save what it saw (os._exit, a
    crash): its status and its last output."""
    return Observed(
        fatal={
            "type": "exited",
            "message": message or f"the process ended (status {code}) before the check finished",
            "line": None,
            "function": None,
            "traceback": output,
        }
    )


def stopped(cpu_seconds: float) -> Observed:
    return Observed(
        fatal={
            "type": "stopped",
            "message": f"stopped after {cpu_seconds:g} s of CPU time",
            "line": None,
            "function": None,
            "traceback": "",
        }
    )


def run_file(
    path: str | Path, cpu_seconds: float = CPU_SECONDS, memory_bytes: int = MEMORY_BYTES
) -> Run:
    """Run the exercise file at ``path`` in a child process and return what its probe saw."""
    import torch

    path = check_file(path)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_ROOT, env.get("PYTHONPATH")]))
    env["OMP_NUM_THREADS"] = "1"
    with tempfile.TemporaryDirectory(prefix="nnscratch-practice-") as work:
        result = Path(work) / "result.pt"
        argv = [sys.executable, "-m", "nnscratch.lab.practice.child", str(path), str(result)]
        argv += [repr(float(cpu_seconds)), str(int(memory_bytes))]
        log = Path(work) / "output.txt"  # what the file prints: to a file, read from its end
        try:
            with open(log, "wb") as out:
                done = subprocess.run(
                    argv,
                    cwd=work,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=IDLE_LIMIT,
                )
        except subprocess.TimeoutExpired:
            raise UserError(
                f"{path}: still running after {IDLE_LIMIT:g} s without finishing; does it wait "
                "for input or sleep?"
            ) from None
        output = tail(log)
        if not result.exists():
            if -done.returncode in (signal.SIGXCPU, signal.SIGKILL):
                return Run("", stopped(cpu_seconds), output)
            return Run("", exited(done.returncode, output), output)
        try:
            saved = torch.load(result, weights_only=True)
            observed = Observed.from_dict(saved["observed"])
        except Exception:  # the file's code can write there too: unreadable is its doing
            unreadable = "the check's result could not be read back (did the file write over it?)"
            return Run("", exited(done.returncode, output, unreadable), output)
    if observed.fatal is not None and observed.fatal.get("type") == "unknown":
        from nnscratch.lab.practice import EXERCISES

        raise UserError(
            f"{path}: does not say which exercise it is (a line EXERCISE = 'NAME', one of: "
            f"{', '.join(EXERCISES)}); start from `nnscratch practice start NAME`"
        )
    return Run(saved["exercise"] or "", observed, output)  # "": the file could not be loaded
