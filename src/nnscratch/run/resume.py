"""What ``train --resume RUN --epochs N`` accepts, and how a run finds its data file again.

    N > epochs done             train on to epoch N in total
    N = epochs done             only when the run stopped before writing its report (Ctrl-C
                                after its last epoch): nothing more to train, the report is
                                written, so the resume command printed on Ctrl-C always works
    N < epochs done             an error: a run cannot be shortened
    --scheduler cosine, N > T   an error. The cosine's T_max is the run's original --epochs T;
                                past it the cosine climbs again (lr back up towards base_lr), and
                                re-stretching it to N would jump the lr up at once. Neither is
                                what "train longer" means, so to train a cosine run longer, start
                                a new run with --epochs N (or resume it to at most T)

A run trained with ``--device cuda`` resumes only where CUDA is available (the device is part of
the saved configuration). A ``--data`` file is saved in the run's configuration as an absolute path (resolved against
the folder where ``train`` ran), so ``--resume`` works from any folder.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from nnscratch.errors import UserError
from nnscratch.run import defaults
from nnscratch.run.config import TrainConfig

REPORT = "summary.json"  # written when a run ends normally


def absolute_data(config: TrainConfig) -> TrainConfig:
    """``config`` with a ``--data`` file path made absolute (synthetic and built-ins as they are)."""
    if defaults.data_name(config) or "://" in config.data:
        return config
    return replace(config, data=str(Path(config.data).expanduser().absolute()))


def check_resume(saved: Any, epochs: int, run_dir: Path, shown: Path) -> None:
    """`UserError` unless ``--epochs epochs`` can continue ``saved`` (a loaded `Checkpoint`)
    here: the rules above, and a run trained on CUDA needs a CUDA GPU (its device is part of
    the configuration that a resumed run keeps)."""
    import torch

    if saved.config.device == "cuda" and not torch.cuda.is_available():
        raise UserError(
            f"--resume {shown}: the run trained on CUDA and continues on its own device; no "
            "CUDA GPU is available here, so resume it on a machine with one (or start a new "
            "run here with --device cpu)"
        )
    done = saved.state.epoch
    finished = (run_dir / REPORT).exists()
    if epochs < done or (epochs == done and finished):
        raise UserError(
            f"--resume {shown}: the run has trained {done} epochs already; "
            f"pass --epochs N with N > {done} to train further"
        )
    scheduler = saved.state.scheduler
    if saved.config.scheduler == "cosine" and scheduler is not None:
        t_max = scheduler["T_max"]
        if epochs > t_max:
            raise UserError(
                f"--resume {shown} --epochs {epochs}: this run's cosine schedule ends at epoch "
                f"{t_max} (its --epochs); past it the lr would climb back up. Resume to at most "
                f"--epochs {t_max}, or start a new run with --scheduler cosine --epochs {epochs}"
            )
