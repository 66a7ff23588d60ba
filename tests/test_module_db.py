"""PyTorch's own module samples (``module_db``) through nnscratch's counterparts, next to torch.nn.

Every sample of every mapped class must be *equal* (forward, input and parameter gradients,
buffers, float64); a refusal is allowed only for a configuration the README's mapping table
leaves out, with its reason. The per-class counts are printed at the end of the test session.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from nnscratch.lab.verify import module_db as M

pytest.importorskip("expecttest", reason="module_db needs the expecttest package (test extras)")
if torch.__version__.split("+")[0] != M.TORCH_VERSION:
    pytest.skip(
        f"module_db's samples are those of torch {M.TORCH_VERSION} (constraints.txt); "
        f"this is torch {torch.__version__}",
        allow_module_level=True,
    )

README = Path(__file__).resolve().parents[1] / "README.md"
INFOS = {info.module_cls.__name__: info for info in M.mapped_infos()}
# Mapped classes that module_db has no ModuleInfo for (in this torch version): tested elsewhere.
NOT_IN_MODULE_DB = {"Flatten", "Dropout"}


@pytest.mark.parametrize("name", sorted(INFOS))
def test_every_sample_equal_or_left_out_with_a_reason(name, record_property):
    outcomes = M.run_class(INFOS[name])
    counts = M.counts(outcomes)
    record_property(
        "module_db",
        f"{name:<24} {counts['equal']:>4} equal  {counts['different']:>2} different  "
        f"{counts['refused']:>2} refused  {counts['left out']:>3} left out",
    )
    wrong = [o for o in outcomes if o.verdict in ("different", "refused")]
    assert not wrong, "\n".join(f"{o.sample}: {o.verdict}: {o.detail}" for o in wrong)
    compared = len(outcomes) - counts["left out"]
    assert compared > 0, f"{name}: every sample filtered out, nothing compared"
    assert {o.detail for o in outcomes if o.verdict == "left out"} <= set(M.LEFT_OUT)


def test_every_mapped_class_has_samples_or_is_named_as_absent():
    assert set(M.ADAPTERS) == set(INFOS) | NOT_IN_MODULE_DB
    assert not NOT_IN_MODULE_DB & set(INFOS), "now in module_db: drop it from NOT_IN_MODULE_DB"


def test_what_is_left_out_is_in_the_readme_mapping_table():
    text = README.read_text()
    table = text[text.index("## The mapping table") :]
    for key in M.LEFT_OUT:
        assert re.search(rf"`{re.escape(key)}`", table), f"README's mapping table lacks {key}"


def test_a_wrong_number_is_reported_as_different(monkeypatch):
    """The harness can fail: a tanh off by 1e-6 is 'different', a missing keyword 'refused'."""
    from nnscratch import layers

    class Off(layers.Activation):
        def forward(self, x):
            return super().forward(x) + 1e-6

    monkeypatch.setitem(M.ADAPTERS, "Tanh", lambda module, args, kwargs: Off("tanh"))
    assert {o.verdict for o in M.run_class(INFOS["Tanh"])} == {"different"}

    def refuse(module, args, kwargs):
        return layers.Linear(*args, **kwargs, unknown=1)

    monkeypatch.setitem(M.ADAPTERS, "Linear", refuse)
    assert {o.verdict for o in M.run_class(INFOS["Linear"])} == {"refused"}


def test_verify_has_one_summary_row_per_class(verify_rows):
    rows = verify_rows("module_db")
    assert len(rows) == len(INFOS)
    assert all(r.passed for r in rows), [r.compared for r in rows if not r.passed]
    assert all("PyTorch's own samples:" in r.compared for r in rows)
