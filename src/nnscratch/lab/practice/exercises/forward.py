"""Exercise ``forward``: a linear layer's forward by hand (``nn.Linear.forward``).

    y = x Wᵀ + b        x (N, F), W (O, F) as nn.Linear stores it, b (O,), y (N, O)

The seed's ``y = w * x + b`` is the one-feature case; with F features and O outputs it is a
matrix product with the *transposed* weight, and b broadcasts over the N rows.
"""

from __future__ import annotations

import torch

from nnscratch.lab.practice.base import (
    Exercise,
    Mistake,
    Params,
    Seen,
    Trial,
    flag_changed,
    template,
    variant,
)
from nnscratch.lab.practice.observe import keep, unchanged

TEMPLATE = template(
    "forward",
    "Write the forward of a linear layer, as nn.Linear computes it, for any number of\n"
    "features F and outputs O.",
    "nnscratch verify   (the nn.Linear row)",
    '''
def linear(x, w, b):
    """Return the layer's output for the batch x, shape (N, O).

    x (N, F) inputs; w (O, F) the weight, stored as nn.Linear stores it; b (O,) the bias.
    """
    raise NotImplementedError
''',
    """    torch.manual_seed(0)
    x, w, b = torch.randn(4, 3), torch.randn(2, 3), torch.randn(2)  # (N, F), (O, F), (O,)
    print(linear(x, w, b))  # (4, 2)
""",
)


def linear(x, w, b):
    """The reference."""
    return x @ w.T + b  # (N, F) @ (F, O) + (O,) -> (N, O)


def probe(fns, params: Params, seen: Seen) -> None:
    g = torch.Generator().manual_seed(params["seed"])
    N, F, O = params["N"], params["F"], params["O"]
    x = torch.randn(N, F, generator=g, dtype=torch.float64)  # (N, F)
    w = torch.randn(O, F, generator=g, dtype=torch.float64)  # (O, F)
    b = torch.randn(O, generator=g, dtype=torch.float64)  # (O,)
    before = [t.clone() for t in (x, w, b)]
    seen["y"] = keep(fns.linear(x, w, b))
    seen["inputs unchanged"] = unchanged((x, w, b), before)


MISTAKES = (
    Mistake(
        "transposed",
        "linear",
        "x @ w uses the weight untransposed: it fits only when F = O, and then gives the wrong "
        "numbers; nn.Linear stores w as (out_features, in_features).",
        "x @ w.T: (N, F) @ (F, O).",
        predict=variant(linear=lambda x, w, b: x @ w + b),
    ),
    Mistake(
        "missing-bias",
        "linear",
        "the output lacks the bias: every row is off by b.",
        "add b; it broadcasts over the N rows: x @ w.T + b.",
        predict=variant(linear=lambda x, w, b: x @ w.T),
    ),
    Mistake(
        "elementwise-product",
        "linear",
        "w * x is the seed's one-feature form: an element-wise product, right only for F = O "
        "= 1; with more features each output is a sum over the features.",
        "a matrix product sums over the features: x @ w.T.",
        predict=variant(linear=lambda x, w, b: x * w + b),
    ),
    Mistake(
        "bias-per-row",
        "linear",
        "b[:, None] is a column (O, 1): it broadcasts along the wrong axis, one bias per row "
        "instead of per output.",
        "b has shape (O,) and broadcasts over rows as it is: x @ w.T + b.",
        predict=variant(linear=lambda x, w, b: x @ w.T + b[:, None]),
    ),
    Mistake(
        "changed-inputs",
        "linear",
        "the caller's tensors changed: an in-place operation wrote into x, w or b.",
        "build the output as a new tensor instead of writing into an input.",
        broken=flag_changed("inputs unchanged"),
    ),
)

EXERCISE = Exercise(
    name="forward",
    title="a linear layer's forward: x @ w.T + b",
    functions=("linear",),
    template=TEMPLATE,
    reference={"linear": linear},
    trials=(
        Trial("N=6, F=3, O=3", {"N": 6, "F": 3, "O": 3, "seed": 1}),
        Trial("N=5, F=4, O=2", {"N": 5, "F": 4, "O": 2, "seed": 2}),
        Trial("N=7, F=1, O=1", {"N": 7, "F": 1, "O": 1, "seed": 3}),
        Trial("N=3, F=5, O=4", {"N": 3, "F": 5, "O": 4, "seed": 4}),
        Trial("N=4, F=2, O=4", {"N": 4, "F": 2, "O": 4, "seed": 5}),
    ),
    probe=probe,
    mistakes=MISTAKES,
    hints=(
        "Write out the shapes: x (N, F), w (O, F), b (O,); the result is (N, O).",
        "Output j of row i is Σ_f x[i, f]·w[j, f] + b[j]: a matrix product with w's transpose.",
    ),
    see="nnscratch verify",
)

ORDER = 20
