"""Print the mapping table."""

from __future__ import annotations

from collections.abc import Iterable

from nnscratch.lab.verify.check import Row


def render(rows: Iterable[Row]) -> tuple[str, bool]:
    """Plain-text table (no colour, so it reads the same in a log) and whether every row passed."""
    rows = list(rows)
    header = ("manual piece", "PyTorch abstraction", "compared", "max |diff|", "tolerance", "")
    body = [
        (
            r.piece,
            r.abstraction,
            r.compared,
            f"{r.max_diff:.2e}",
            r.tolerance,
            "PASS" if r.passed else "FAIL",
        )
        for r in rows
    ]
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header), "  ".join("-" * w for w in widths)]
    lines += [fmt.format(*line) for line in body]
    failed = sum(not r.passed for r in rows)
    lines.append("")
    lines.append(f"{len(rows) - failed} passed, {failed} failed")
    return "\n".join(lines), failed == 0
