"""Write a drawing to a file: atomically, and through Graphviz for images.

``.dot``/``.gv``/``.mmd``/``.txt`` need nothing installed. ``.svg``/``.png`` pipe the DOT source
through the Graphviz ``dot`` program, found on ``PATH`` with ``shutil.which``; without it the user
gets a `UserError` saying what to install or which text format to use instead.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from nnscratch.errors import UserError
from nnscratch.run import atomic

TEXT_SUFFIXES = {
    ".dot": "dot",
    ".gv": "dot",
    ".mmd": "mermaid",
    ".mermaid": "mermaid",
    ".txt": "text",
}
IMAGE_SUFFIXES = (".svg", ".png")


def render_image(dot_source: str, path: Path) -> None:
    """Render DOT source to ``path`` (.svg or .png) with Graphviz ``dot``."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    dot = shutil.which("dot")
    if dot is None:
        raise UserError(
            f"writing {path.name} needs the Graphviz 'dot' program, which is not on PATH: "
            "install graphviz (e.g. apt install graphviz / brew install graphviz) or write "
            "a .dot or .mmd file instead"
        )
    done = subprocess.run(
        [dot, f"-T{fmt}"], input=dot_source.encode(), capture_output=True, check=False
    )
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()
        raise UserError(f"graphviz 'dot' failed to render {path.name}: {message}")
    atomic.write_bytes(path, done.stdout)
