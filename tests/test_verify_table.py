"""The verify table fits the terminal: the result first under a header, text wrapped in its
column, no line wider than asked, nothing cut off."""

import pytest

from nnscratch.lab.verify.check import Row
from nnscratch.lab.verify.table import render

ROWS = [
    Row(
        "optim.Adam (amsgrad, weight_decay)",
        "torch.optim.Adam(amsgrad=True, weight_decay=0.1)",
        "parameters after 25 steps, float64, every hyperparameter combination listed in the "
        "module docstring, next to the same steps of the PyTorch optimizer",
        3.1e-16,
        1e-12,
        1e-10,
        True,
    ),  # fmt: skip
    Row("clip_grad_norm_", "nn.utils.clip_grad_norm_", "gradients", 0.0, 0.0, 0.0, False),
]


@pytest.mark.parametrize("width", [60, 80, 120])
def test_no_line_is_wider_than_the_terminal(width):
    text, ok = render(ROWS, width=width)
    lines = text.splitlines()
    assert not ok and lines[-1] == "1 passed, 1 failed"
    assert max(map(len, lines)) <= width, max(lines, key=len)
    assert lines[0].split()[0] == "result"
    body = lines[next(i for i, line in enumerate(lines) if line.startswith("---")) + 1 : -2]
    starts = [line[:4] for line in body if line[:4].strip()]
    assert starts == ["PASS", "FAIL"]  # one result per row, first on its line
    words = " ".join(line[8:] for line in body).split()
    assert "docstring," in words and "optimizer" in words  # wrapped, not cut off


def test_a_wide_terminal_keeps_one_line_per_row():
    text, _ = render(ROWS, width=400)
    assert len(text.splitlines()) == 2 + len(ROWS) + 2
