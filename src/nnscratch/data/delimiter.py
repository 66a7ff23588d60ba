"""Which character separates a CSV file's fields.  Plays the part of ``pandas.read_csv(sep=None)``
(``csv.Sniffer``), restricted to the four separators files actually use.

    candidates   ,  ;  tab  |          (',' is left out with --decimal , : it is the decimal mark)
    sample       the first SAMPLE_LINES non-blank lines after --skip-rows
    for each     split every sample line with it (the csv module: quotes respected)
    choose       the candidate whose field count is the same on the most sample lines, with
                 at least 2 fields; a tie goes to the earlier candidate (',' first)
    none fits    ','  (a one-column file: the reader's messages then say what is wrong)

``--delimiter C`` skips the detection; ``tab`` and ``\\t`` both name the tab character.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from itertools import islice

from nnscratch.errors import UserError

CANDIDATES = (",", ";", "\t", "|")
SAMPLE_LINES = 50
NAMES = {"\t": "tab"}  # how a delimiter is shown in messages


def shown(delimiter: str) -> str:
    """A delimiter as a user types it: ``','``, ``';'``, ``tab``."""
    return NAMES.get(delimiter, repr(delimiter))


def parse(flag_value: str | None, decimal: str) -> str | None:
    """The ``--delimiter`` value as one character (None: detect); `UserError` for a bad one."""
    if flag_value is None:
        return None
    value = {"tab": "\t", "\\t": "\t"}.get(flag_value.lower(), flag_value)
    if len(value) != 1 or value in '\r\n"' or value.isalnum():
        raise UserError(
            f"--delimiter must be one character such as , ; | or tab, got {flag_value!r}"
        )
    if value == decimal:
        raise UserError(
            f"--delimiter {shown(value)} is also the --decimal mark; a file with decimal commas "
            "separates its fields with another character (usually ';')"
        )
    return value


def detect(text: str, decimal: str = ".") -> str:
    """The delimiter of ``text`` (the file after its skipped lines), by the rule above."""
    filled = (line.rstrip("\r\n") for line in io.StringIO(text) if line.strip())
    sample = list(islice(filled, SAMPLE_LINES))  # read lazily: a file may be large
    best, best_score = ",", (0, 0)
    for candidate in CANDIDATES:
        if candidate == decimal:
            continue
        try:
            counts = [
                len(row) for row in csv.reader(io.StringIO("\n".join(sample)), delimiter=candidate)
            ]
        except csv.Error:
            continue  # e.g. a quote left open: this candidate does not read the file
        if not counts:
            continue
        fields, lines = Counter(counts).most_common(1)[0]
        score = (lines, fields) if fields >= 2 else (0, 0)
        if score > best_score:
            best, best_score = candidate, score
    return best
