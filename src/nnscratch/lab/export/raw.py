"""The run as the seed's kind of script: leaf tensors, a forward line, a loss line,
``backward()``, an update under ``no_grad``, a reset; every block names what it replaces."""

from __future__ import annotations

from nnscratch.lab.export import data, model, optimizer, schedule, table
from nnscratch.lab.export.report import constants, footer, header, progress, report
from nnscratch.lab.export.source import fit, indent
from nnscratch.lab.export.spec import Spec

CLIP = [
    "# clip_grad_norm_: scale g by min(max_norm / (‖g‖ + 1e-6), 1), ‖g‖ over all params",
    "norm = torch.linalg.vector_norm(",
    "    torch.stack([torch.linalg.vector_norm(p.grad) for p in params])",
    ")",
    "clip = torch.clamp(MAX_NORM / (norm + 1e-6), max=1.0)",
    "for p in params:",
    "    p.grad.mul_(clip)",
]


def script(spec: Spec) -> str:
    lines = header(spec, "raw", "written by hand: leaf tensors and the update rule written out")
    lines += [*constants(spec), ""]
    lines += [*data.load(spec), "", *data.split(spec, "raw"), ""]
    lines += table.impute(spec) + ([""] if spec.config.missing == "mean" else [])
    lines += data.standardize(spec) + ([""] if spec.standardized else [])
    lines += [""]  # two blank lines before the function definitions
    lines += model.raw_parameters(spec) + ["", ""]
    lines += model.raw_forward(spec) + ["", ""]
    lines += model.raw_loss(spec) + ["", ""]
    lines += optimizer.raw_state(spec) + schedule.raw_start(spec)
    cnn = spec.config.model == "cnn"
    named = spec.config.model in ("cnn", "transformer")  # saved from a dict of tensors
    predict = "forward({}, training=False)" if cnn else "forward({})"
    lines += ["", *_loop(spec), "", *report(spec, predict), ""]
    names = model.raw_names(spec)
    lines += footer([name for name, _ in names], names if named else None)
    return "\n".join(fit(lines)) + "\n"


def _loop(spec: Spec) -> list[str]:
    c = spec.config
    counted = optimizer.uses_step(spec)
    if spec.mini_batch:
        lines = [
            "# -- training: the five steps per mini-batch, in DataLoader's order",
            "shuffle = torch.Generator().manual_seed(SEED)  # DataLoader(generator=shuffle)",
            "n = len(X_train)",
        ]
    else:
        lines = ["# -- training: the five steps, one full batch per epoch"]
    lines += ["step = 0"] if counted else []
    lines.append("for epoch in range(EPOCHS):")
    step = [
        "y_pred = forward(xb)  # 1. forward: builds the graph",
        "loss = loss_fn(y_pred, yb)  # 2. loss: a scalar",
        "loss.backward()  # 3. backward: fills p.grad; p is unchanged",
    ]
    if c.clip_grad_norm is not None:
        step += CLIP
    step += ["step += 1"] if counted else []
    step += [
        "with torch.no_grad():  # 4. update: optimizer.step()",
        *indent(optimizer.raw_update(spec)),
        "for p in params:  # 5. reset: optimizer.zero_grad()",
        "    p.grad = None",
    ]
    if spec.mini_batch:
        body = [
            "# DataLoader draws, per epoch: a worker seed and a second order, both unused",
            "torch.empty((), dtype=torch.int64).random_(generator=shuffle)",
            "order = torch.randperm(n, generator=shuffle)  # (N,) this epoch's order",
            "torch.randperm(n, generator=shuffle)",
            "total = 0.0",
            "for start in range(0, n, BATCH_SIZE):",
            "    batch = order[start : start + BATCH_SIZE]  # (B,) row indices",
            "    xb, yb = X_train[batch], y_train[batch]",
            *indent(step),
            "    total += loss.item() * len(batch)",
            "epoch_loss = total / n  # the mean over the epoch's rows",
        ]
    else:
        body = ["xb, yb = X_train, y_train", *step, "epoch_loss = loss.item()"]
    body += schedule.raw_step(spec)
    body += progress(c.epochs)
    return lines + indent(body)
