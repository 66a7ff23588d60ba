"""The blocks around the training: docstring, imports, command line, final report, saving."""

from __future__ import annotations

import textwrap

from nnscratch.lab.export import data
from nnscratch.lab.export.source import LINE_LENGTH, call, literal
from nnscratch.lab.export.spec import Spec

MODEL_WORDS = {
    "linear": "linear regression",
    "logistic": "logistic regression",
    "mlp": "MLP",
    "cnn": "CNN",
    "transformer": "transformer",
}
BACKWARD_WORDS = {  # a run's --backward other than autograd: where its gradients came from
    "manual": "the hand-derived chain rule (nnscratch.backprop)",
    "engine": "nnscratch's own reverse-mode engine (nnscratch.autograd)",
}
FILE_WORDS = {  # by suffix: a data file is described by its kind, never by its name
    ".csv": "a CSV file",
    ".npy": "a .npy array",
    ".npz": "a .npz archive",
    ".txt": "a text file",
}


def title(spec: Spec) -> str:
    c = spec.config
    what = MODEL_WORDS[c.model]
    if c.model == "logistic" and spec.out_features > 1:
        what = f"softmax regression ({spec.out_features} classes)"
    if c.model == "mlp":
        what = f"MLP {spec.n_features}-{'-'.join(map(str, c.hidden_sizes()))}-{spec.out_features}"
    if c.model == "cnn":
        what = f"CNN with channels {','.join(map(str, c.channel_sizes()))}"
    if c.model == "transformer":
        what = f"character transformer ({c.n_layer} blocks, width {c.n_embd})"
    batches = f"batches of {c.batch_size}" if spec.mini_batch else "full batch"
    return f"{what} on {data_words(spec)}, {c.optimizer}, {c.epochs} epochs, {batches}, {c.dtype}"


def data_words(spec: Spec) -> str:
    """The data in words, from fixed names only (the file's own name is code: ``--data``)."""
    if spec.data_path is not None:
        return FILE_WORDS.get(spec.data_kind, "a data file")
    name = data.builtin_name(spec)
    if name == "synthetic" or name in data.BUNDLED or name in data.GENERATED:
        return name if name != "synthetic" else "synthetic data"
    return "Python's help texts" if spec.config.model == "transformer" else "a built-in data set"


def header(spec: Spec, style: str, how: str) -> list[str]:
    usage = "[--save params.safetensors]"
    usage = f"[--data FILE] {usage}" if spec.data_path is not None else usage
    float32 = "bit for bit" if style == "raw" else "to float32 rounding"
    other = BACKWARD_WORDS.get(spec.config.backward)
    if other is not None:  # the same gradients, summed by other kernels in another order
        float32 = (
            f"to float32 rounding, not bit for bit: the run's gradients came from {other}, "
            "this script's from loss.backward()"
        )
    text = (
        f"An nnscratch run, {how}. Exported by `nnscratch export`: the same "
        "data, split, seed and initial parameters, so the final parameters equal the run's "
        f"checkpoint (float64: to ~1e-10; float32: {float32}). "
        f"Run: python THIS_FILE.py {usage}"
    )
    wrap = dict(width=LINE_LENGTH, break_on_hyphens=False, break_long_words=False)
    first, *rest = textwrap.wrap(f'"""{title(spec)}.', **wrap)
    return [
        first,
        *textwrap.wrap(" ".join(rest), **wrap),
        "",
        *textwrap.wrap(text, **wrap),
        '"""',
        "",
        *imports(spec, style),
        "",
        "parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])",
        *data_argument(spec),
        'parser.add_argument("--save", help="write the final parameters (.safetensors)")',
        "args = parser.parse_args()",
        "",
    ]


def data_argument(spec: Spec) -> list[str]:
    """``--data FILE``, by default the run's data file (``beside``: that name next to the
    script); the data blocks read ``args.data``."""
    if spec.data_path is None:
        return []
    if spec.beside is not None:
        default = f"str(Path(__file__).parent / {literal(spec.beside)})"
        what = "the data file (default: the one beside this script)"
    else:
        default = literal(spec.data_path)
        what = "the data file (default: the run's)"
    args = ['"--data"', f"default={default}", f"help={literal(what)}"]
    return call("parser.add_argument", args)


def imports(spec: Spec, style: str) -> list[str]:
    """stdlib, a blank line, third party; straight imports before from-imports (isort)."""
    extra = data.imports(spec)
    stdlib = ["import argparse", *(i for i in extra if i in ("import csv", "import io"))]
    stdlib_from = [i for i in extra if i.startswith("from pydoc_data")]
    stdlib_from += ["from pathlib import Path"] if spec.beside is not None else []
    if style == "raw":
        stdlib.append("import math")
    third = ["import numpy as np"] if "import numpy as np" in extra else []
    third += ["import torch", *(i for i in extra if i.startswith("from sklearn"))]
    if style == "nn":
        utils = "DataLoader, TensorDataset, random_split" if spec.mini_batch else None
        third.append("from torch import nn")
        third.append(f"from torch.utils.data import {utils or 'TensorDataset, random_split'}")
    return sorted(stdlib) + sorted(stdlib_from) + [""] + third


def constants(spec: Spec) -> list[str]:
    c = spec.config
    lines = [f"SEED = {c.seed}", f"DTYPE = torch.{c.dtype}", f"EPOCHS = {c.epochs}"]
    if spec.mini_batch:
        lines.append(f"BATCH_SIZE = {c.batch_size}")
    if c.clip_grad_norm is not None:
        lines.append(f"MAX_NORM = {c.clip_grad_norm!r}")
    if c.model == "transformer":
        lines.append(f"BLOCK_SIZE = {c.block_size}  # characters per window")
    return lines


def progress(epochs: int) -> list[str]:
    """The per-epoch line, about ten times in a run (every epoch in a short one)."""
    line = 'print(f"epoch {epoch + 1:5d}  loss {epoch_loss:.6f}")'
    if epochs <= 10:
        return [line]
    return [f"if (epoch + 1) % {epochs // 10} == 0:", "    " + line]


def report(spec: Spec, predict: str) -> list[str]:
    """Loss (and accuracy) on each part; ``predict``: the call, e.g. ``"model({})"``."""
    names = data.parts(spec)[::-1]
    pairs = ", ".join(f'("{p}", X_{p}, y_{p})' for p in names)
    loop_lines = [f"    for name, X_part, y_part in [{pairs}]:"]
    if len(loop_lines[0]) > 88:
        rows = [f'        ("{p}", X_{p}, y_{p}),' for p in names]
        loop_lines = ["    for name, X_part, y_part in [", *rows, "    ]:"]
    what = "loss and accuracy" if spec.classification else "loss"
    lines = [
        f"# -- report: the {what} on each part, without building a graph",
        "with torch.no_grad():",
        *loop_lines,
        f"        y_pred = {predict.format('X_part')}",
        '        line = f"{name}: loss {loss_fn(y_pred, y_part).item():.6f}"',
    ]
    if spec.classification:
        hit = "(y_pred > 0) == y_part" if spec.config.loss == "bce_with_logits" else None
        hit = hit or "y_pred.argmax(dim=-1) == y_part"
        lines += [
            f"        hits = {hit}",
            '        line += f"  accuracy {hits.double().mean().item():.4f}"',
        ]
    return lines + ["        print(line)"]


def footer(names: list[str] | None, tensors: list[tuple[str, str]] | None = None) -> list[str]:
    """Save the parameters under the names nnscratch's checkpoint uses: ``names`` in ``params``
    order (raw style), or None for ``model.state_dict()`` (nn style, the same names)."""
    lines = [
        "if args.save:  # safetensors: the tensors and a JSON header, no pickle",
        "    from safetensors.torch import save_file",
        "",
    ]
    if names is None:
        return lines + ["    save_file(model.state_dict(), args.save)"]
    if tensors is not None:  # parameters and buffers (batch norm's running estimates)
        rows = [f"        {literal(name)}: {expr}," for name, expr in tensors]
        return lines + [
            "    tensors = {",
            *rows,
            "    }",
            "    save_file({k: t.detach() for k, t in tensors.items()}, args.save)",
        ]
    return lines + [
        f"    names = {literal(names)}",
        "    tensors = {k: p.detach() for k, p in zip(names, params, strict=True)}",
        "    save_file(tensors, args.save)",
    ]
