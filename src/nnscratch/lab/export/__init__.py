"""Export a run as a standalone PyTorch script (``nnscratch export RUN --out FILE``).

Two styles of the same training, each a file that imports only torch, the standard library and,
where the data needs it, scikit-learn (never nnscratch):

    raw   the seed's style: leaf tensors, the forward line, the loss line, backward(), the
          optimizer's update equations under no_grad, the reset, DataLoader's order by hand
    nn    the ordinary way: nn.Linear / nn.Sequential (nn.Conv2d, nn.BatchNorm2d...), nn.*Loss,
          torch.optim, lr_scheduler, DataLoader

Both reproduce the run: the same data, split, standardization, seed and initial parameters, the
same order of mini-batches, so their final parameters equal the run's checkpoint (the raw
style computes nnscratch's own operations in its order: bit for bit in float32). A run with a feature the generators do not write out is refused by name
(`nnscratch.lab.export.refuse`). Text from outside (paths, names, labels) enters a script only
through `source.literal`, the repr of a Python literal; the data path is ``--data FILE``.

    spec.py        what a script needs from the checkpoint (config, data.json, layer sizes)
    source.py      the one door for outside text (literal, Outside); ruff-style lines
    refuse.py      the features not covered, refused with a one-line error
    data.py        load, split, standardize (arrays.py: .npy and .npz files; table.py: a CSV
                   file read with the run's CSV flags, its missing cells dropped or filled)
    model.py       parameters and init, forward, loss
    cnn.py         the same for the CNN: conv weights, batch norm and its running estimates
    transformer.py the same for the character transformer: text windows, embeddings, blocks
    optimizer.py   the update equations / torch.optim
    schedule.py    the learning-rate schedule / lr_scheduler
    report.py      docstring, imports, final report, saving the parameters
    raw.py, nn.py  the two scripts, top to bottom
"""

from __future__ import annotations

from pathlib import Path

STYLES = ("raw", "nn")


def export_script(run: str | Path, style: str = "raw", beside: str | None = None) -> str:
    """The script (source text) that trains the run at ``run`` (a run or checkpoint folder) in
    ``style`` 'raw' or 'nn'; `UserError` if the run uses a feature the export does not cover.
    ``beside``: a file name; the script reads the data from that file next to itself by default
    (the lab's uploads, whose own path does not outlive the tab) instead of the run's path."""
    return _export(run, style, beside)[0]


def write_script(
    run: str | Path, out: str | Path, style: str = "raw", overwrite: bool = False
) -> Path:
    """Write `export_script` to ``out`` (``-``: standard output) with `nnscratch.run.atomic`:
    an existing file needs ``overwrite``; the run's data file and the files of the run folder
    (its checkpoint, its metrics...) are never replaced."""
    from nnscratch.run import atomic
    from nnscratch.run.checkpoint.folder import run_files

    own = run_files(run)  # a file of the run being exported is its input, as for predict
    atomic.check_target(out, overwrite=overwrite, inputs=own)  # before reading the run
    text, spec = _export(run, style)
    inputs = [spec.data_path.raw] if spec.data_path is not None else []
    atomic.check_target(out, overwrite=overwrite, inputs=[*inputs, *own])
    return atomic.write_text(out, text)


def _export(run: str | Path, style: str, beside: str | None = None):
    from nnscratch.errors import UserError
    from nnscratch.lab.export import nn, raw, refuse
    from nnscratch.lab.export.spec import from_checkpoint
    from nnscratch.run import checkpoint

    if style not in STYLES:
        raise UserError(f"--style must be raw or nn, got {style!r}")
    saved = checkpoint.load(run)
    spec = from_checkpoint(saved, Path(beside).name or None if beside is not None else None)
    refuse.check(spec, saved.state.epoch, saved.state.scheduler)
    refuse.check_same_data(spec)
    text = (raw if style == "raw" else nn).script(spec)
    compile(text, "<nnscratch export>", "exec")  # a generator's bug fails here, never in a file
    return text, spec
