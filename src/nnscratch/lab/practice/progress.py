"""The learner's progress: each exercise's status (wrong / passed) and the hints seen, kept in the
user's data directory, never in the project:

    $XDG_DATA_HOME/nnscratch/practice.json       (XDG_DATA_HOME defaults to ~/.local/share)

Written atomically (`nnscratch.run.atomic`); an unreadable file counts as no progress.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

NOT_STARTED, WRONG, PASSED = "not started", "wrong", "passed"


def path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "nnscratch" / "practice.json"


def load() -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def status(name: str, progress: dict[str, dict[str, Any]] | None = None) -> str:
    entry = (load() if progress is None else progress).get(name)
    return entry.get("status", NOT_STARTED) if isinstance(entry, dict) else NOT_STARTED


def record(name: str, **fields: Any) -> dict[str, Any]:
    """Update exercise ``name``'s entry with ``fields`` and save; returns the entry."""
    from nnscratch.run.atomic import write_text

    progress = load()
    entry = progress.get(name) if isinstance(progress.get(name), dict) else {}
    entry.update(fields)
    progress[name] = entry
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text(target, json.dumps(progress, indent=2, sort_keys=True) + "\n")
    return entry
