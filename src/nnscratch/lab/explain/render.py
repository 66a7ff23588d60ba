"""Traced steps (`nnscratch.lab.explain.trace`) as text for a terminal.

Tensors with more than `SHOWN` elements are summarised as shape, first values and norm; smaller
ones are printed in full. Colour (``click.style``) is for terminals only: ``color=False`` gives
plain text for pipes, logs and tests. Every line fits 80 columns: a longer one continues on the
next lines, indented under its values (`nnscratch.lab.width`).
"""

from __future__ import annotations

from typing import Any

import click

from nnscratch.lab.width import wrap

SHOWN = 8  # tensors with at most this many elements are printed in full
HEAD = 4  # values printed from a larger one
Record = dict[str, Any]


class _Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, **style: Any) -> str:
        return click.style(text, **style) if self.color else text

    def ok(self, passed: bool, yes: str, no: str) -> str:
        return self(f"✓ {yes}", fg="green") if passed else self(f"✗ {no}", fg="red", bold=True)


def fmt_number(v: float) -> str:
    return f"{v:.6g}"


def fmt_shape(shape: list[int]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def fmt_tensor(rec: Record | None, shape: bool = False) -> str:
    """``None``; ``[a, b]`` in full; or ``(N, F) [a, b, c, d, …] ‖·‖=n`` when large.

    The shape is shown for a summarised tensor, and for any tensor when ``shape=True``.
    """
    if rec is None:
        return "None"
    prefix = fmt_shape(rec["shape"]) + "  "
    if rec["complete"] and rec["numel"] <= SHOWN:
        values = "[" + ", ".join(fmt_number(v) for v in rec["values"]) + "]"
        return (prefix if shape else "") + values
    head = ", ".join(fmt_number(v) for v in rec["values"][:HEAD])
    return f"{prefix}[{head}, …] ‖·‖={fmt_number(rec['norm'])}"


def render_step(r: Record, total: int, s: _Style) -> list[str]:
    fwd, bwd, upd, rst = r["forward"], r["backward"], r["update"], r["reset"]
    names = list(fwd["parameters"])
    width = max(len(n) for n in [*names, "y_pred"]) + len(".grad") + 2
    row = lambda label, text: wrap(f"     {label:<{width}}", text, 5 + width)  # noqa: E731
    phase = lambda n, name, code: f"  {n}. {s(f'{name:<9}', bold=True)} {s(code, fg='cyan')}"  # noqa: E731

    out = [s(f"── step {r['step']} of {total} " + "─" * 50, fg="blue", bold=True)]
    out.append(phase(1, "forward", "y_pred = model(X)"))
    if r["step"] == 1:
        for label in ("X", "y"):
            out.append(row(label, fmt_tensor(fwd[label], shape=True)))
    else:
        out.append(row("X, y", "as in step 1"))
    for n in names:
        out.append(row(n, fmt_tensor(fwd["parameters"][n])))
    out.append(row("y_pred", fmt_tensor(fwd["y_pred"], shape=True)))

    loss = r["loss"]
    formula = f"   {loss['formula']}" if loss["formula"] else ""
    out.append(phase(2, "loss", f"loss = {loss['name']}(y_pred, y)") + formula)
    out.append(row("loss", s(fmt_number(loss["value"]), fg="yellow", bold=True)))

    engine_nodes = bwd.get("engine_nodes")
    code = "loss.backward()" + ("  (nnscratch.autograd)" if engine_nodes else "")
    if bwd.get("by") == "manual":
        code = "loss_and_grads(model, loss_fn, X, y)  (nnscratch.backprop, by hand)"
    out.append(phase(3, "backward", code))
    for i, node in enumerate(engine_nodes or [], start=1):
        out.append(row(f"#{i} {node['op']}", f"∂L/∂out = {fmt_tensor(node['grad'], shape=True)}"))
    before = ", ".join(f"{n}.grad={fmt_tensor(g)}" for n, g in bwd["grads_before"].items())
    out.append(row("before", before))
    for n in names:
        out.append(row(f"{n}.grad", fmt_tensor(bwd["grads"][n])))
        hand = (bwd["analytic"] or {}).get(n)
        if hand is not None:  # on its own line, under the autograd value
            beside = bwd.get("beside", "by hand")
            line = f"{beside} {hand['formula'] or '∂L/∂' + n} = {fmt_tensor(hand['value'])}  "
            line += s.ok(hand["agrees"], "agrees", "DIFFERS")
            line += f" (|diff| {hand['max_abs_diff']:.1e})"
            out.append(row("", line))
    out.append(
        row(
            "params",
            s.ok(bwd["parameters_unchanged"], "unchanged", "CHANGED")
            + " by backward (it only fills .grad)",
        )
    )

    plain = all(u["lr"] is not None for u in upd["parameters"].values())
    rule = "   p ← p − lr·p.grad" if plain else ""
    out.append(phase(4, "update", "optimizer.step()") + f"   ({upd['optimizer']}){rule}")
    for n, u in upd["parameters"].items():
        line = f"{fmt_tensor(u['old'])} → {fmt_tensor(u['new'])}"
        if u["lr"] is not None:
            grad = fmt_tensor(bwd["grads"][n])
            line = (
                f"{fmt_tensor(u['old'])} − {fmt_number(u['lr'])}·{grad} = {fmt_tensor(u['new'])}  "
            )
            line += s.ok(u["exact"], "exact", "NOT old − lr·grad")
        out.append(row(n, line))

    out.append(phase(5, "reset", f"optimizer.zero_grad(set_to_none={rst['set_to_none']})"))
    for n, g in rst["grads"].items():
        out.append(row(f"{n}.grad", f"{fmt_tensor(g['before'])} → {fmt_tensor(g['after'])}"))

    change = r["loss_after"] - loss["value"]
    after = s(fmt_number(r["loss_after"]), fg="yellow", bold=True)
    out.append(
        f"  loss after the update: {after}  (was {fmt_number(loss['value'])}, {change:+.3g})"
    )
    return out


def render_text(records: list[Record], color: bool = False, header: str | None = None) -> str:
    """All steps as one string (no trailing newline), after an optional ``header`` line."""
    s = _Style(color)
    lines: list[str] = [s(wrap("", header, 2), bold=True), ""] if header else []
    for r in records:
        lines += render_step(r, len(records), s)
        lines.append("")
    return "\n".join(lines[:-1])
