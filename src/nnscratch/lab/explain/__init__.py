"""``nnscratch explain``: the five-step loop, one step at a time, with the real numbers.

No PyTorch abstraction is replaced here: this package *shows* the hand-written pieces at work.

    analytic.py   the hand-derived ∂L/∂p shown beside ``p.grad``: taken from `nnscratch.backprop`
                  (derived there, once), checked against autograd at every traced step
    trace.py      run N steps of forward → loss → backward → update → reset on any nnscratch
                  Module / loss function / Optimizer and record every number (pure data)
    render.py     those records as terminal text (colour optional); ``json.dumps`` gives the rest
"""

from nnscratch.lab.explain.analytic import analytic_for
from nnscratch.lab.explain.render import render_text
from nnscratch.lab.explain.trace import tensor_record, trace

__all__ = ["analytic_for", "render_text", "tensor_record", "trace"]
