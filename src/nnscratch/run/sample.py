"""Generating text with a saved character-level language model (``nnscratch sample``).
Replaces nanoGPT's ``sample.py``: load the checkpoint, ``model.eval()``, encode the prompt,
``model.generate``, decode.

    ids  ← encode(prompt)                        the run's vocabulary; an unseen character is an error
    repeat N times:
        p    ← softmax(model(ids[−T:])[−1] / temperature)      T = the run's block size
        next ~ p                                 ``torch.multinomial`` with a generator seeded by S
        ids  ← ids + [next]
    text ← decode(ids)

Temperature 1 samples the model's own distribution; below 1 sharpens it toward the most likely
character (→ 0: always the argmax), above 1 flattens it; it must be at least the smallest normal
number of the model's dtype (float32: 1.2·10⁻³⁸), below which 0/temperature is 0/0 in the
tensor. The same seed gives the same text.

Budget: at most `MAX_TOKENS` characters, each one written out as soon as it is drawn (`stream`);
only the last T ids are kept as the context, so memory stays flat however long the text is.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import torch

from nnscratch.data.text import Vocabulary
from nnscratch.errors import UserError
from nnscratch.run.predict import load_model

MAX_TOKENS = 1_000_000


def sample(
    path: str | Path, prompt: str, tokens: int = 200, temperature: float = 1.0, seed: int = 0
) -> str:
    """The prompt followed by ``tokens`` characters drawn from the run at ``path``."""
    return "".join(stream(path, prompt, tokens, temperature, seed))


def stream(
    path: str | Path, prompt: str, tokens: int = 200, temperature: float = 1.0, seed: int = 0
) -> Iterator[str]:
    """The prompt, then each character as it is drawn (the text of `sample`, piece by piece);
    every argument is checked before the first piece."""
    if not 0 <= tokens <= MAX_TOKENS:
        raise UserError(f"--tokens must be from 0 to {MAX_TOKENS:,}, got {tokens}")
    if not 0 <= seed < 2**63:
        raise UserError(f"--seed must be in [0, 2⁶³), got {seed}")
    if not (math.isfinite(temperature) and temperature > 0):
        raise UserError(
            f"--temperature must be a number > 0 (1.0 samples as trained), got {temperature}"
        )
    saved = load_model(path)  # in eval mode
    if saved.config.model != "transformer":
        raise UserError(
            f"{saved.path} is a --model {saved.config.model} run, not a language model; "
            f"use `nnscratch predict --model {saved.path} --data FILE`"
        )
    tiny = torch.finfo(getattr(torch, saved.config.dtype)).tiny
    if temperature < tiny:
        raise UserError(
            f"--temperature must be at least {tiny:.3g} for a {saved.config.dtype} model (the "
            f"smallest normal {saved.config.dtype}; a tiny one already picks the likeliest "
            f"character), got {temperature}"
        )
    vocab = Vocabulary([str(c) for c in saved.data["classes"]])
    if prompt == "":
        raise UserError("--prompt is empty; give at least one character to start from")
    ids = vocab.encode(prompt, what=f"--prompt {prompt!r}")[None, :]  # (1, t)
    return _draw(saved.model, vocab, ids, tokens, temperature, seed)


def _draw(model, vocab, ids, tokens, temperature, seed) -> Iterator[str]:
    """`model.generate`, one character at a time: the same draws from the same generator."""
    generator = torch.Generator().manual_seed(seed)
    yield vocab.decode(ids[0])
    context = ids[:, -model.block_size :]  # (1, ≤ T)
    for _ in range(tokens):
        context = model.generate(context, 1, temperature, generator)[:, -model.block_size :]
        yield vocab.decode(context[0, -1:])
