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
character (→ 0: always the argmax), above 1 flattens it. The same seed gives the same text.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from nnscratch.data.text import Vocabulary
from nnscratch.errors import UserError
from nnscratch.run.predict import load_model


def sample(
    path: str | Path, prompt: str, tokens: int = 200, temperature: float = 1.0, seed: int = 0
) -> str:
    """The prompt followed by ``tokens`` characters drawn from the run at ``path``."""
    if tokens < 0:
        raise UserError(f"--tokens must be >= 0, got {tokens}")
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
    vocab = Vocabulary([str(c) for c in saved.data["classes"]])
    if prompt == "":
        raise UserError("--prompt is empty; give at least one character to start from")
    ids = vocab.encode(prompt, what=f"--prompt {prompt!r}")[None, :]  # (1, t)
    generator = torch.Generator().manual_seed(seed)
    out = saved.model.generate(ids, tokens, temperature, generator)  # (1, t + tokens)
    return vocab.decode(out[0])
