"""The child process of `nnscratch practice check`: load the learner's file, run its exercise's
probe under CPU-time and memory limits, and save what it saw for the parent to compare.

    python -m nnscratch.lab.practice.child FILE RESULT CPU_SECONDS MEMORY_BYTES

The limits are set after torch is imported (its own start-up is not the learner's cost):
RLIMIT_CPU at the CPU time used so far + CPU_SECONDS (SIGXCPU raises `Stopped` in the learner's
frame, so the stop names their line; the hard limit, a few seconds later, kills), and RLIMIT_AS at
the address space mapped so far + MEMORY_BYTES (a larger allocation raises in the learner's code);
RLIMIT_FSIZE bounds any file it writes, its printed output included (64 MiB: then OSError). CPU time, not wall-clock time: a busy machine does not fail a correct solution.
"""

from __future__ import annotations

import importlib.util
import resource
import signal
import sys
from pathlib import Path

import torch

from nnscratch.lab.practice.base import Observed
from nnscratch.lab.practice.observe import Stopped, describe, observe

HARD_GRACE = 5  # CPU seconds between SIGXCPU and the kill, to save what was seen
FILE_BYTES = 64 * 2**20  # the largest file it may write (its printed output is one)


def mapped_bytes() -> int | None:
    """The address space mapped so far (Linux's /proc), or None where it cannot be read."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def limit(cpu_seconds: float, memory_bytes: int) -> None:
    """RLIMIT_CPU from now on, and RLIMIT_AS above what is mapped now (skipped where that cannot
    be read: a limit below it would fail every allocation)."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(used.ru_utime + used.ru_stime + cpu_seconds) + 1
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]  # a user's own `ulimit -t` stays
    hard = soft + HARD_GRACE if hard == resource.RLIM_INFINITY else min(hard, soft + HARD_GRACE)
    resource.setrlimit(resource.RLIMIT_CPU, (min(soft, hard), hard))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file past the limit: OSError, no kill
    resource.setrlimit(
        resource.RLIMIT_FSIZE, (FILE_BYTES, resource.getrlimit(resource.RLIMIT_FSIZE)[1])
    )
    mapped = mapped_bytes()
    if memory_bytes > 0 and mapped is not None:
        budget = mapped + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (budget, resource.getrlimit(resource.RLIMIT_AS)[1]))


def stop(signum, frame) -> None:
    raise Stopped


def stopped(e: Stopped, filename: str, cpu_seconds: float) -> Observed:
    message = f"stopped after {cpu_seconds:g} s of CPU time"
    record = describe(e, filename)
    frames = record["traceback"].rsplit("\n", 2)[0]  # without the line naming `Stopped`
    return Observed(fatal={**record, "type": "stopped", "message": message, "traceback": frames})


def plain(x):
    """What the parent can load (weights_only): tensors, numbers, flags and text; any other
    object the learner returned becomes its type's name."""
    if x is None or isinstance(x, (torch.Tensor, bool, int, float, str)):
        return x
    return f"<{type(x).__module__}.{type(x).__name__} object>"


def run(filename: str, cpu_seconds: float, memory_bytes: int) -> tuple[str | None, Observed]:
    """(the exercise's name, what its probe saw) for the file ``filename``."""
    from nnscratch.lab.practice import EXERCISES

    torch.set_num_threads(1)
    signal.signal(signal.SIGXCPU, stop)
    limit(cpu_seconds, memory_bytes)
    sys.path.insert(0, str(Path(filename).parent))  # its neighbours import, as `python FILE`
    try:
        spec = importlib.util.spec_from_file_location("learner", filename)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except Stopped as e:
        return None, stopped(e, filename, cpu_seconds)
    except (Exception, SystemExit) as e:
        return None, Observed(fatal=describe(e, filename))
    name = getattr(module, "EXERCISE", None)
    if name not in EXERCISES:
        return (name if isinstance(name, str) else None), Observed(fatal={"type": "unknown"})
    try:
        return name, observe(EXERCISES[name], module, filename)
    except Stopped as e:
        return name, stopped(e, filename, cpu_seconds)


def main(argv: list[str]) -> int:
    filename, result, cpu_seconds, memory_bytes = argv
    name, observed = run(filename, float(cpu_seconds), int(memory_bytes))
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))  # room to save what was seen
    for seen in observed.trials.values():
        seen.update({q: plain(v) for q, v in seen.items()})
    torch.save({"exercise": name, "observed": observed.to_dict()}, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
