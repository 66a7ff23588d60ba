"""The run written the ordinary way: ``nn.Linear``/``nn.Sequential``, ``nn.*Loss``,
``torch.optim``, ``lr_scheduler``, ``DataLoader``. The raw script's twin, block for block."""

from __future__ import annotations

from nnscratch.lab.export import data, model, optimizer, schedule, table
from nnscratch.lab.export.report import constants, footer, header, progress, report
from nnscratch.lab.export.source import call, fit, indent
from nnscratch.lab.export.spec import Spec


def script(spec: Spec) -> str:
    lines = header(spec, "nn", "written with torch.nn, torch.optim and DataLoader")
    lines += [*constants(spec), ""]
    lines += [*data.load(spec), "", *data.split(spec, "nn"), ""]
    lines += table.impute(spec) + ([""] if spec.config.missing == "mean" else [])
    lines += data.standardize(spec) + ([""] if spec.standardized else [])
    lines += [*model.nn_model(spec), *model.nn_loss(spec)]
    lines += [*optimizer.nn_optimizer(spec), *schedule.nn_scheduler(spec), ""]
    lines += _loop(spec)
    if spec.config.model == "cnn":  # batch norm: the running estimates from here on
        lines += ["model.eval()"]
    lines += ["", *report(spec, "model({})"), ""]
    lines += footer(None)
    return "\n".join(fit(lines)) + "\n"


def _loop(spec: Spec) -> list[str]:
    c = spec.config
    if spec.mini_batch:
        dataset = "TensorDataset(X_train, y_train)"
        gen = "generator=torch.Generator().manual_seed(SEED)"
        lines = [
            "# -- training: the five steps per mini-batch",
            *call("loader = DataLoader", [dataset, "batch_size=BATCH_SIZE", "shuffle=True", gen]),
        ]
    else:
        lines = ["# -- training: the five steps, one full batch per epoch"]
    lines.append("for epoch in range(EPOCHS):")
    step = [
        "loss = loss_fn(model(xb), yb)  # 1. forward, 2. loss",
        "loss.backward()  # 3. backward",
    ]
    if c.clip_grad_norm is not None:
        step.append("nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM)")
    step += ["optimizer.step()  # 4. update", "optimizer.zero_grad()  # 5. reset"]
    if spec.mini_batch:
        body = [
            "total = 0.0",
            "for xb, yb in loader:",
            *indent(step),
            "    total += loss.item() * len(xb)",
            "epoch_loss = total / len(X_train)  # the mean over the epoch's rows",
        ]
    else:
        body = ["xb, yb = X_train, y_train", *step, "epoch_loss = loss.item()"]
    if c.scheduler != "none":
        body.append("scheduler.step()  # once per epoch")
    body += progress(c.epochs)
    return lines + indent(body)
