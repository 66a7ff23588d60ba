"""PyTorch's own module samples (``module_db``) with nnscratch's counterparts on nnscratch.autograd:
every sample's output, input and parameter gradients and buffers equal torch.nn's (float64), the
gradients computed by the engine's backward (`lab/verify/module_db_engine.py`). A refusal is
allowed only for what the README's mapping table leaves out (the same reasons as module_db's)."""

from __future__ import annotations

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

from nnscratch.lab.verify import module_db_engine as E  # noqa: E402

INFOS = {info.module_cls.__name__: info for info in M.mapped_infos()}


@pytest.mark.parametrize("name", sorted(INFOS))
def test_every_sample_on_the_engine_equal_or_left_out_with_a_reason(name):
    outcomes = E.run_class(INFOS[name])
    wrong = [o for o in outcomes if o.verdict in ("different", "refused")]
    assert not wrong, "\n".join(f"{o.sample}: {o.verdict}: {o.detail}" for o in outcomes)
    assert len(outcomes) > M.counts(outcomes)["left out"], f"{name}: nothing compared"
    assert {o.detail for o in outcomes if o.verdict == "left out"} <= set(M.LEFT_OUT)


def test_the_gradients_compared_are_the_engines(monkeypatch):
    """A wrong engine formula is 'different' (the comparison reads the engine's backward, not
    torch.autograd's), and an op the engine lacks is 'refused'."""
    from nnscratch.autograd.ops import matmul

    real = matmul.matmul_backward

    def off(g, *args):
        return tuple(None if d is None else d * 1.001 for d in real(g, *args))

    monkeypatch.setattr(matmul, "matmul_backward", off)
    assert {o.verdict for o in E.run_class(INFOS["Linear"])} == {"different"}
    monkeypatch.undo()
    from nnscratch.autograd import Tensor, dispatch

    monkeypatch.delitem(dispatch.OPS, "expm1")  # nnscratch's tanh is written with expm1
    monkeypatch.setattr(dispatch, "_RESOLVED", {})
    monkeypatch.delattr(Tensor, "expm1")
    assert {o.verdict for o in E.run_class(INFOS["Tanh"])} == {"refused"}


def test_verify_has_one_engine_row_per_class(verify_rows):
    rows = verify_rows("module_db_engine")
    assert len(rows) == len(INFOS) and all(r.passed for r in rows)
