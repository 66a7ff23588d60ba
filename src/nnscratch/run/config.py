"""One typed configuration per run.

Every field has a commented default and a help text; the ``nnscratch train`` flags are derived from
these fields (``n_samples`` → ``--n-samples``), and the same object, with every ``None`` ("choose for
me") resolved by `nnscratch.run.defaults`, is saved with the run. `TrainConfig.validate` is the one
place where user-given values are checked.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from nnscratch.errors import UserError
from nnscratch.run import limits, ranges

# The CLI's choices. Losses, activations, optimizers and schedulers are the keys of the library's
# registries (`losses.LOSSES`, `layers.ACTIVATIONS`, `optim.OPTIMIZERS`,
# `optim.lr_scheduler.SCHEDULERS`), copied here because `nnscratch --help` must not import torch;
# tests/test_names.py ties each copy to its registry.
DTYPES = ("float32", "float64")
TASKS = ("auto", "regression", "classification")
MODELS = ("linear", "logistic", "mlp", "cnn", "transformer")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULERS = ("none", "step", "cosine", "linear")
LOSS_NAMES = ("mse", "l1", "huber", "cross_entropy", "bce_with_logits")
ACTIVATION_NAMES = ("relu", "tanh", "sigmoid", "gelu")
DEVICES = ("cpu", "cuda", "auto")
BACKWARDS = ("autograd", "manual", "engine")
MISSING = ("error", "drop", "mean")  # `nnscratch.data.missing.POLICIES`


def _opt(help: str, **extra: Any) -> dict[str, Any]:
    return {"help": help, **extra}


@dataclass
class TrainConfig:
    # -- data ---------------------------------------------------------------------------------
    data: str = field(
        default="synthetic",
        metadata=_opt(
            "'synthetic', 'builtin:NAME' (diabetes, digits, iris, wine, breast_cancer, moons, "
            "circles, blobs, xor, spiral; python_docs: text) or a .csv/.npy/.npz path (.npz of images for --model "
            "cnn) or a UTF-8 .txt file (text for --model transformer)"
        ),
    )
    target: str | None = field(
        default=None, metadata=_opt("target column of a CSV (default: the last column)")
    )
    task: str = field(
        default="auto",
        metadata=_opt(
            "regression or classification; auto decides from the target column: text labels, "
            "or whole numbers with at most 20 distinct values and at least 2 rows per value on "
            "average, are classes (classification); any other numbers are a regression. "
            "--task overrides it",
            choices=TASKS,
        ),
    )
    features: str | None = field(
        default=None,
        metadata=_opt(
            "feature columns of the data, comma-separated names, e.g. age,bmi "
            "(default: every column but the target)"
        ),
    )
    drop: str | None = field(
        default=None,
        metadata=_opt("columns to leave out, comma-separated names, e.g. id"),
    )
    header: bool = field(
        default=True,
        metadata=_opt(
            "the CSV's first row names the columns (--no-header: columns x0..xN, the last one "
            "the target)"
        ),
    )
    skip_rows: int = field(
        default=0,
        metadata=_opt(
            "lines at the top of a CSV that are not read (a title; the metadata line "
            "'150,4,setosa,...' of sklearn's iris.csv: --skip-rows 1 --no-header)"
        ),
    )
    delimiter: str | None = field(
        default=None,
        metadata=_opt(
            "the CSV's field separator: , ; | or tab (default: detected among those four, "
            "and recorded with the run)"
        ),
    )
    decimal: str = field(
        default=".",
        metadata=_opt("the decimal mark of the CSV's numbers (',' for 1,5)", choices=(".", ",")),
    )
    missing: str = field(
        default="error",
        metadata=_opt(
            "missing CSV cells (empty, NA, NaN, ?, null): error lists them; drop leaves their "
            "rows out; mean fills a feature with its mean over the training rows (saved for "
            "predict)",
            choices=MISSING,
        ),
    )
    n_samples: int = field(default=100, metadata=_opt("number of synthetic samples"))
    n_features: int = field(default=1, metadata=_opt("number of synthetic input features"))
    noise: float = field(default=0.1, metadata=_opt("std of the Gaussian noise in synthetic y"))
    val_fraction: float | None = field(
        default=None,
        metadata=_opt(
            "fraction held out for validation (default: 0 for synthetic, 0.15 otherwise)"
        ),
    )
    test_fraction: float | None = field(
        default=None,
        metadata=_opt("fraction held out for testing (default: 0 for synthetic, 0.2 otherwise)"),
    )
    # -- model --------------------------------------------------------------------------------
    model: str | None = field(
        default=None,
        metadata=_opt(
            "linear, logistic, mlp, cnn (images) or transformer (text) (default: per data set)",
            choices=MODELS,
        ),
    )
    hidden: str | None = field(
        default=None,
        metadata=_opt("MLP hidden sizes, comma-separated, e.g. 64,64 (default: per data set)"),
    )
    activation: str = field(
        default="relu", metadata=_opt("MLP activation", choices=ACTIVATION_NAMES)
    )
    # CNN and transformer (`nnscratch.models.cnn`, `nnscratch.models.transformer`)
    channels: str = field(
        default="32,64", metadata=_opt("CNN: output channels of each conv/pool block, e.g. 32,64")
    )
    block_size: int = field(default=64, metadata=_opt("transformer: context length in characters"))
    n_layer: int = field(default=2, metadata=_opt("transformer: number of blocks"))
    n_head: int = field(default=4, metadata=_opt("transformer: attention heads per block"))
    n_embd: int = field(default=64, metadata=_opt("transformer: width (a multiple of --n-head)"))
    dropout: float = field(default=0.0, metadata=_opt("CNN/transformer: dropout probability"))
    loss: str | None = field(
        default=None,
        metadata=_opt(
            "loss function (default: mse for regression, cross_entropy / bce_with_logits for "
            "classification)",
            choices=LOSS_NAMES,
        ),
    )
    # -- optimisation -------------------------------------------------------------------------
    optimizer: str | None = field(
        default=None,
        metadata=_opt("sgd, adam, adamw or rmsprop (default: per data set)", choices=OPTIMIZERS),
    )
    lr: float | None = field(
        default=None,
        metadata=_opt("learning rate (default: per data set and optimizer; 0.1 for the seed)"),
    )
    momentum: float = field(default=0.0, metadata=_opt("SGD/RMSprop momentum"))
    dampening: float = field(default=0.0, metadata=_opt("SGD momentum dampening"))
    nesterov: bool = field(default=False, metadata=_opt("SGD Nesterov momentum"))
    weight_decay: float = field(default=0.0, metadata=_opt("L2 penalty (decoupled for adamw)"))
    betas: str = field(default="0.9,0.999", metadata=_opt("Adam/AdamW betas, as b1,b2"))
    eps: float = field(default=1e-8, metadata=_opt("Adam/AdamW/RMSprop eps"))
    alpha: float = field(default=0.99, metadata=_opt("RMSprop smoothing constant"))
    scheduler: str = field(
        default="none",
        metadata=_opt("learning-rate schedule, stepped once per epoch", choices=SCHEDULERS),
    )
    step_size: int = field(default=30, metadata=_opt("StepLR: epochs between decays"))
    gamma: float = field(default=0.1, metadata=_opt("StepLR: decay factor"))
    start_factor: float = field(default=1 / 3, metadata=_opt("LinearLR (warm-up): first factor"))
    total_iters: int = field(default=5, metadata=_opt("LinearLR (warm-up): epochs to reach lr"))
    batch_size: int | None = field(
        default=None,
        metadata=_opt("mini-batch size (default: per data set; the seed uses the full batch)"),
    )
    epochs: int | None = field(
        default=None,
        metadata=_opt("passes over the training data (default: per data set; 200 for the seed)"),
    )
    # -- reproducibility and numerics ---------------------------------------------------------
    seed: int = field(default=0, metadata=_opt("seed for data, split, initialisation, shuffling"))
    dtype: str = field(default="float32", metadata=_opt("floating-point type", choices=DTYPES))
    device: str = field(
        default="cpu", metadata=_opt("cpu, cuda or auto (cuda when available)", choices=DEVICES)
    )
    # -- stability ------------------------------------------------------------------------------
    clip_grad_norm: float | None = field(
        default=None,  # None: no clipping
        metadata=_opt("clip the total L2 norm of the gradients to this before each update"),
    )

    backward: str = field(
        default="autograd",
        metadata=_opt(
            "how gradients are computed: autograd (loss.backward()), manual (the chain rule "
            "written out by hand, nnscratch.backprop) or engine (nnscratch.autograd, the "
            "reverse-mode engine written from scratch)",
            choices=BACKWARDS,
        ),
    )

    compile: bool = field(
        default=False,
        metadata=_opt(
            "torch.compile forward + loss (helps on large full batches; costs seconds of "
            "compilation at the start)"
        ),
    )

    flat_parameters: bool = field(
        default=False,
        metadata=_opt(
            "keep all parameters in one flat buffer, so that each optimizer line is one kernel "
            "for the whole model (nnscratch.optim.flat; same numbers, faster on many tensors)"
        ),
    )

    # -- saving (with --out) --------------------------------------------------------------------
    checkpoint_every: int | None = field(
        default=None,  # None: SavePace's default (nnscratch.run.train)
        metadata=_opt(
            "with --out: save every N epochs (0: only at the end; default: every 10 epochs, "
            "less often if saving would take over 5 percent of the time); always at the end "
            "and on Ctrl-C. Saved with the run: --resume keeps it unless given again"
        ),
    )

    # -- health (`nnscratch.health`) -------------------------------------------------------------
    health: bool = field(
        default=False,
        metadata=_opt(
            "record activation, gradient and update statistics every few steps (with --out: "
            "health.jsonl and health.png; read them with `nnscratch health DIR`)"
        ),
    )
    init_gain: float = field(
        default=1.0,
        metadata=_opt(
            "multiply the initial weights of every linear and conv layer by this (not biases, "
            "embeddings or norms)"
        ),
    )
    overfit_batch: bool = field(
        default=False,
        metadata=_opt(
            "train on one batch only and say whether the loss fell to near zero (the "
            "'overfit a tiny subset first' check)"
        ),
    )

    def hidden_sizes(self) -> list[int]:
        return parse_int_list("--hidden", self.hidden or "")

    def channel_sizes(self) -> list[int]:
        return parse_int_list("--channels", self.channels)

    def feature_names(self) -> list[str] | None:
        return parse_names("--features", self.features)

    def drop_names(self) -> list[str] | None:
        return parse_names("--drop", self.drop)

    def betas_pair(self) -> tuple[float, float]:
        values = parse_float_list("--betas", self.betas)
        if len(values) != 2:
            raise UserError(f"--betas needs two numbers like 0.9,0.999, got {self.betas!r}")
        return values[0], values[1]

    def validate(self) -> TrainConfig:
        """Raise `UserError` naming the first out-of-range value and what to use instead."""

        def finite(x: float | None) -> bool:
            return x is None or math.isfinite(x)

        checks = [
            (self.n_samples >= 1, f"--n-samples must be at least 1, got {self.n_samples}"),
            (self.n_features >= 1, f"--n-features must be at least 1, got {self.n_features}"),
            (
                finite(self.noise) and self.noise >= 0,
                f"--noise must be a finite number >= 0, got {self.noise}",
            ),
            (
                self.lr is None or (finite(self.lr) and self.lr > 0),
                f"--lr must be a finite number > 0 (try 0.1 for sgd, 0.001 for adam), got {self.lr}",
            ),
            (self.epochs is None or self.epochs >= 0, f"--epochs must be >= 0, got {self.epochs}"),
            (
                self.batch_size is None or self.batch_size >= 1,
                f"--batch-size must be at least 1 (omit it for full batch), got {self.batch_size}",
            ),
            (self.seed >= 0, f"--seed must be >= 0, got {self.seed}"),
            (
                self.checkpoint_every is None or self.checkpoint_every >= 0,
                f"--checkpoint-every must be >= 0 (0: only at the end), got {self.checkpoint_every}",
            ),
            (
                finite(self.momentum) and self.momentum >= 0,
                f"--momentum must be >= 0 (0.9 is usual), got {self.momentum}",
            ),
            (0 <= self.dampening <= 1, f"--dampening must be in [0, 1], got {self.dampening}"),
            (
                not self.nesterov or self.momentum > 0,
                "--nesterov needs a --momentum > 0 (try --momentum 0.9)",
            ),
            (
                finite(self.weight_decay) and self.weight_decay >= 0,
                f"--weight-decay must be >= 0, got {self.weight_decay}",
            ),
            (finite(self.eps) and self.eps >= 0, f"--eps must be >= 0, got {self.eps}"),
            (0 <= self.alpha, f"--alpha must be >= 0, got {self.alpha}"),
            (self.step_size >= 1, f"--step-size must be at least 1, got {self.step_size}"),
            (finite(self.gamma) and self.gamma > 0, f"--gamma must be > 0, got {self.gamma}"),
            (
                0 < self.start_factor <= 1,
                f"--start-factor must be in (0, 1], got {self.start_factor}",
            ),
            (self.total_iters >= 1, f"--total-iters must be at least 1, got {self.total_iters}"),
            (
                finite(self.init_gain) and self.init_gain > 0,
                f"--init-gain must be a finite number > 0 (1: the layers' own init), "
                f"got {self.init_gain}",
            ),
            (
                self.clip_grad_norm is None
                or (finite(self.clip_grad_norm) and self.clip_grad_norm > 0),
                f"--clip-grad-norm must be a finite number > 0 (1.0 is usual), "
                f"got {self.clip_grad_norm}",
            ),
        ]
        if self.compile and self.backward != "autograd":
            raise UserError(
                f"--compile applies to the autograd backward; drop --backward {self.backward}"
            )
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            flag = "--" + name.replace("_", "-")
            checks.append(
                (value is None or 0 <= value < 1, f"{flag} must be in [0, 1), got {value}")
            )
        for ok, message in checks:
            if not ok:
                raise UserError(message)
        b1, b2 = self.betas_pair()
        for i, b in enumerate((b1, b2)):
            if not 0 <= b < 1:
                raise UserError(f"--betas: beta{i + 1} must be in [0, 1), got {b}")
        if self.feature_names() is not None and self.drop_names() is not None:
            raise UserError(
                "give --features (the columns to use) or --drop (to leave some out), not both"
            )
        if not self.channel_sizes() or any(c < 1 for c in self.channel_sizes()):
            raise UserError(
                f"--channels must be positive integers like 32,64, got {self.channels!r}"
            )
        for flag, value in (("block-size", self.block_size), ("n-layer", self.n_layer)):
            if value < 1:
                raise UserError(f"--{flag} must be at least 1, got {value}")
        if self.n_head < 1 or self.n_embd < 1 or self.n_embd % self.n_head:
            raise UserError(
                f"--n-embd ({self.n_embd}) must be a positive multiple of --n-head ({self.n_head})"
            )
        if self.skip_rows < 0:
            raise UserError(f"--skip-rows must be >= 0, got {self.skip_rows}")
        from nnscratch.data.delimiter import parse

        parse(self.delimiter, self.decimal)  # one character, not the decimal mark
        if not 0 <= self.dropout < 1:
            raise UserError(f"--dropout must be in [0, 1), got {self.dropout}")
        if self.hidden is not None:
            sizes = self.hidden_sizes()
            if not sizes or any(s < 1 for s in sizes):
                raise UserError(
                    f"--hidden sizes must be positive integers like 64,64, got {self.hidden!r}"
                )
        limits.check(self)  # a seed torch takes, sizes this machine can hold
        ranges.check(self)  # real numbers a float32 tensor can be used with
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_int_list(flag: str, text: str) -> list[int]:
    if text.strip() == "":
        return []
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise UserError(
            f"{flag} must be comma-separated integers like 64,64, got {text!r}"
        ) from None


def parse_float_list(flag: str, text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise UserError(f"{flag} must be comma-separated numbers, got {text!r}") from None


def parse_names(flag: str, text: str | None) -> list[str] | None:
    """``"a, b,c"`` → ``["a", "b", "c"]``; None stays None; an empty name is a `UserError`."""
    if text is None:
        return None
    if not isinstance(text, str):  # e.g. "features": 3 in a config.json from before --n-features
        raise UserError(
            f"{flag} takes column names like a,b,c, got {text!r} (a run saved by an older "
            "nnscratch, where --features was the number of synthetic features: train it again)"
        )
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise UserError(f"{flag} takes column names separated by commas, like a,b,c; got {text!r}")
    return names
