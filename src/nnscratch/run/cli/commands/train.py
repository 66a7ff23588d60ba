"""``nnscratch train``: the main job, and the run folder it can save and resume."""

from __future__ import annotations

import json
import shlex
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from nnscratch.errors import UserError
from nnscratch.run.cli.options import config_from_options, config_options
from nnscratch.run.config import TrainConfig
from nnscratch.run.resume import absolute_data, check_resume

CHANGEABLE = ("epochs", "checkpoint_every")  # the flags a resumed run may be given
FOLDER = click.Path(file_okay=True, dir_okay=True, path_type=Path)


@click.command(
    help="Train with the hand-written five-step loop (forward, loss, backward, "
    "update, reset) and report the result. With no flags: the seed's linear "
    "regression on synthetic data."
)
@config_options(TrainConfig)
@click.option("--out", type=FOLDER, help="save the run in this folder (checkpoints, metrics)")
@click.option(
    "--resume",
    type=FOLDER,
    help="continue the run saved in this folder, to --epochs in total (default: its own)",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="let --out replace a run saved there (its files only; never a run in progress)",
)
@click.option("--quiet", is_flag=True, help="no per-epoch progress lines")
@click.option("--json", "as_json", is_flag=True, help="print a machine-readable summary only")
@click.option(
    "--live",
    is_flag=True,
    help="watch the run in the browser: the lab's page, read-only (the URL is printed)",
)
@click.option(
    "--export-script",
    type=click.Path(path_type=Path),
    help="with --out: also write the run as a standalone PyTorch script, by hand (as "
    "`nnscratch export RUN --out FILE`; --style nn there for the torch.nn twin)",
)
@click.pass_context
def command(
    ctx: click.Context,
    out: Path | None,
    resume: Path | None,
    overwrite: bool,
    quiet: bool,
    as_json: bool,
    export_script: Path | None,
    **options: Any,
) -> None:
    from nnscratch.run import distributed
    from nnscratch.run.prepare import resolve_device

    if options["overfit_batch"] and (out or resume or export_script):
        raise UserError("--overfit-batch trains one batch and saves nothing; drop --out/--resume")
    if export_script is not None:
        check_export_script(export_script, out or resume, overwrite)
    distributed.init_from_env(resolve_device(options["device"]))  # no-op without torchrun
    try:
        run_command(ctx, out, resume, overwrite, quiet, as_json, options)
    finally:
        distributed.cleanup()
    if export_script is not None and distributed.is_main():
        from nnscratch.lab.export import write_script

        write_script(out or resume, export_script, "raw", overwrite)
        if not as_json:
            click.echo(f"script: {export_script} (the run by hand; python {export_script})")


def live_page(data, options):
    """--live: the lab's read-only page for this run (`nnscratch.lab.live.feed`), or Nones."""
    if not options.get("live"):
        return None, None
    from nnscratch.lab.live import feed
    from nnscratch.lab.live.settings import command_line

    return feed.start(data, command_line(data.config))


def check_export_script(path: Path, run: Path | None, overwrite: bool) -> None:
    """--export-script is written from the saved run: it needs --out (or --resume), and a file
    name that may be written (`nnscratch.run.atomic`), checked before training."""
    from nnscratch.run import atomic

    if run is None:
        raise UserError(
            "--export-script writes the script from the saved run; add --out DIR to save it"
        )
    atomic.check_target(path, overwrite=overwrite, flag="--export-script")


def run_command(ctx, out, resume, overwrite, quiet, as_json, options) -> None:
    """The job; under torchrun every rank trains, and only rank 0 prints and writes files."""
    from nnscratch.run import checkpoint, distributed
    from nnscratch.run.checkpoint.folder import RunFolder, run_root
    from nnscratch.run.prepare import prepare
    from nnscratch.run.train import TrainingInterrupted, train

    main_rank = distributed.is_main()  # only rank 0 writes (and locks) the run folder
    saved, folder = None, None
    try:
        if resume is not None:
            root = run_root(resume)
            if main_rank and root.is_dir():  # locked before it is read: no run changes it now
                folder = RunFolder.open(root, fresh=False, flag="--resume")
            saved, config = resume_config(ctx, resume, out, overwrite)
            out = checkpoint.run_dir(saved.path)
        else:
            config = absolute_data(config_from_options(TrainConfig, options).validate())
            if out is not None:
                check_out(out, overwrite)
        from nnscratch.run.report import loading

        silent = quiet or as_json or not main_rank
        with loading(config.data, silent):  # a spinner on a terminal while the data is read
            data = prepare(config)  # every data mistake surfaces here, before the folder is touched
        if main_rank:
            print_data_messages(data.train.extra, quiet)
        if config.overfit_batch:  # the check alone (`nnscratch.run.overfit`)
            from nnscratch.run.overfit import lines, overfit_batch

            result = overfit_batch(data)
            click.echo(json.dumps(result) if as_json else "\n".join(lines(result)))
            return
        if saved is not None:
            checkpoint.check_same_data(saved.data, data)
        if not main_rank:
            out, as_json, quiet = None, False, True  # the other ranks train silently
        elif out is not None and folder is None:
            # made, locked and written (the PID) before the first epoch; --overwrite: the
            # earlier run's files go now, so that none of them outlives it
            folder = RunFolder.open(out, fresh=True)
        done = 0 if saved is None else saved.state.epoch
        log = None if as_json else epoch_logger(data.config.epochs, quiet, done)
        feed, stop = live_page(data, options) if main_rank else (None, None)  # --live
        try:
            result = train(
                data,
                feed.log(log) if feed else log,
                folder,
                saved,
                config.checkpoint_every,  # saved with the run: a resume keeps it
                on_build=feed.on_build if feed else None,
            )
        except TrainingInterrupted as e:
            close_logger(log)
            if feed is not None:
                feed.end(e)
            click.echo(interrupted_message(e), err=True)
            ctx.exit(130)
        except BaseException as e:
            if feed is not None:
                feed.end(e)
            raise
        finally:
            close_logger(log)  # a live progress bar must not outlive an error
            if feed is not None:
                if feed.state == "running":
                    feed.end(None)
                stop()
        if not main_rank:
            return
        plots = result.plots  # written by the run (`nnscratch.run.train`)
    finally:
        if folder is not None:
            folder.close()  # releases the lock
    for warning in result.summary.get("warnings", []):
        if warning not in getattr(log, "warned", ()):  # not again if said before the epochs
            click.echo(f"warning: {warning}", err=True)
    if as_json:
        click.echo(json.dumps(result.summary))
        return
    from nnscratch.run.report import print_training_report

    print_training_report(result.summary)
    if out is not None:
        click.echo(f"\nsaved the run in {out}/ (checkpoint/, metrics.jsonl, summary.json)")
        for path in plots:
            click.echo(f"plot: {path}")


def print_data_messages(extra: dict, quiet: bool) -> None:
    """What reading the data file found (`nnscratch.data.files`): a header that may be a line
    of metadata (a warning, always), the delimiter when not ',' and rows left out (notes)."""
    for warning in extra.get("warnings", []):
        click.echo(f"warning: {warning}", err=True)
    for note in [] if quiet else extra.get("notes", []):
        click.echo(f"note: {note}", err=True)


def check_out(out: Path, overwrite: bool) -> None:
    """Refuse an --out that would destroy something or cannot be made, before any data is loaded
    or trained (`nnscratch.run.checkpoint.folder`); changes nothing."""
    from nnscratch.run.checkpoint.folder import (
        check_creatable,
        check_names,
        has_checkpoint,
        is_run,
        probe_lock,
    )

    if str(out) == "-":
        raise UserError("--out -: a run is a folder of files, not standard output; give a folder")
    check_creatable(out)
    if (out / "manifest.json").exists():
        raise UserError(f"--out {out}: is a checkpoint inside a run; give another folder")
    probe_lock(out)  # another run training there: refused, --overwrite or not
    check_names(out)  # a link or a foreign file at a run's name: refused before the data loads
    if is_run(out):
        if not has_checkpoint(out) and not overwrite:
            raise UserError(
                f"--out {out}: holds a run stopped before its first checkpoint was complete; "
                "pass --overwrite to start it again there, or choose another folder"
            )
        if not overwrite:
            raise UserError(
                f"--out {out}: a run is saved there already; pass --overwrite to replace it, "
                f"--resume {out} to continue it, or choose another folder"
            )
    elif out.is_dir() and any(out.iterdir()):
        raise UserError(
            f"--out {out}: the folder is not empty and holds no nnscratch run; "
            "choose a new or empty folder"
        )


def resume_config(ctx: click.Context, resume: Path, out: Path | None, overwrite: bool):
    """The saved checkpoint and its configuration, with --epochs (the one flag allowed) applied."""
    from nnscratch.run import checkpoint

    if out is not None and out.resolve() != resume.resolve():
        raise UserError(
            f"--resume saves into the run's own folder ({resume}); drop --out {out} "
            "(copy the folder first to keep the original)"
        )
    if overwrite:
        raise UserError("--overwrite does not go with --resume (the run continues in place)")
    given = [
        f.name
        for f in fields(TrainConfig)
        if f.name not in CHANGEABLE
        and ctx.get_parameter_source(f.name)
        in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    ]
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise UserError(
            f"{flags}: a resumed run keeps its saved configuration (only --epochs and "
            "--checkpoint-every may change); "
            "start a new run with --out to change it"
        )
    from nnscratch.run.checkpoint.folder import has_checkpoint, is_run, run_root

    root = run_root(resume)
    if root.is_dir() and is_run(root) and not has_checkpoint(root):
        raise UserError(
            f"--resume {resume}: the run was stopped before its first checkpoint was complete, "
            f"so there is nothing to resume; start it again with the same flags and "
            f"--out {shlex.quote(str(root))} --overwrite"
        )
    saved = checkpoint.load(resume)
    epochs = ctx.params["epochs"]
    if epochs is None:
        epochs = saved.config.epochs
    check_resume(saved, epochs, checkpoint.run_dir(saved.path), resume)  # epochs, device
    every = saved.config.checkpoint_every
    if ctx.get_parameter_source("checkpoint_every") == ParameterSource.COMMANDLINE:
        every = ctx.params["checkpoint_every"]
    return saved, replace(saved.config, epochs=epochs, checkpoint_every=every).validate()


def epoch_logger(epochs: int, quiet: bool, start: int = 0):
    from nnscratch.run.report import progress_logger

    return progress_logger(epochs, quiet=quiet, start=start)


def close_logger(log: Any) -> None:
    close = getattr(log, "close", None)
    if close is not None:
        close()


def interrupted_message(e: Any) -> str:
    if e.out is None:
        return (
            f"interrupted after {e.epoch} of {e.epochs} epochs; nothing was saved "
            "(train with --out DIR to keep checkpoints)"
        )
    command = f"nnscratch train --resume {shlex.quote(str(e.out))} --epochs {e.epochs}"
    return f"interrupted: saved epoch {e.epoch} of {e.epochs} in {e.out}; resume with: {command}"
