"""Character-level text for ``--model transformer``.  Plays the part of nanoGPT's
``shakespeare_char/prepare.py``: a corpus becomes integer tokens and (input, next character)
windows.

    vocabulary   the V distinct characters of the corpus, sorted;  stoi[c] = its index
    encode       text (L characters) → ids (L,) int64;            decode: ids → text
    windows      x_i = ids[iT : iT + T],   y_i = ids[iT + 1 : iT + T + 1]     i = 0 … ⌊(L−1)/T⌋ − 1

so ``y_i[t]`` is the character that follows ``x_i[t]``: a language model is a classifier of the
next character at every position. The windows do not overlap, so the seeded random split of
windows into train / validation / test keeps the validation text unseen in training.

Sources (UTF-8, nothing downloaded):

    builtin:python_docs   Python's own help texts (``pydoc_data.topics``, shipped with the
                          standard library: the language reference behind ``help('for')``),
                          the topics in sorted order, ~465,000 characters
    a .txt file           any UTF-8 text (``--data notes.txt``)
"""

from __future__ import annotations

from pathlib import Path

import torch

from nnscratch.data.dataset import Dataset
from nnscratch.data.table import read_bytes
from nnscratch.errors import UserError

CORPORA = ("python_docs",)
TEXT_SUFFIXES = (".txt",)


def builtin_text(name: str) -> str:
    assert name == "python_docs", name
    from pydoc_data.topics import topics

    return "\n\n".join(topics[key].strip() for key in sorted(topics)) + "\n"


def read_text(path: str | Path) -> str:
    """The file's text; `UserError` if it is missing, empty, binary or not UTF-8."""
    raw = read_bytes(path)
    if not raw:
        raise UserError(f"{path}: the file is empty; a language model needs text to learn from")
    if b"\x00" in raw:
        raise UserError(f"{path}: a binary file (it holds NUL bytes), not text; give a UTF-8 .txt")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserError(
            f"{path}: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start}); "
            "save it as UTF-8"
        ) from None
    if not text.strip():
        raise UserError(f"{path}: holds only whitespace; a language model needs text to learn from")
    return text


class Vocabulary:
    """stoi / itos for the characters of a corpus (index order = sorted characters)."""

    def __init__(self, chars: list[str]) -> None:
        self.itos = list(chars)  # index → character
        self.stoi = {c: i for i, c in enumerate(self.itos)}  # character → index

    @classmethod
    def of(cls, text: str) -> Vocabulary:
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str, what: str = "the text") -> torch.Tensor:
        unseen = sorted({c for c in text if c not in self.stoi})
        if unseen:
            shown = ", ".join(repr(c) for c in unseen[:10])
            raise UserError(
                f"{what} has characters the model never saw in training: {shown}; "
                "use only characters of the training text"
            )
        return torch.tensor([self.stoi[c] for c in text], dtype=torch.int64)  # (L,)

    def decode(self, ids: list[int] | torch.Tensor) -> str:
        return "".join(self.itos[int(i)] for i in ids)


def windows(ids: torch.Tensor, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-overlapping (x, y) windows: x (N, T) and y (N, T), y shifted by one character."""
    T = block_size
    n = (len(ids) - 1) // T  # windows that have a next character for every position
    x = ids[: n * T].view(n, T)  # (N, T)
    y = ids[1 : n * T + 1].view(n, T)  # (N, T)
    return x, y


def text_dataset(text: str, name: str, block_size: int) -> Dataset:
    """The windows of ``text`` as a `Dataset`: X (N, T) int64 tokens, y (N, T) int64 next tokens,
    ``classes`` the vocabulary (so a saved run can encode prompts and decode samples)."""
    vocab = Vocabulary.of(text)
    ids = vocab.encode(text)  # (L,)
    x, y = windows(ids, block_size)
    if len(x) < 2:
        raise UserError(
            f"{name}: {len(text)} characters make {len(x)} window(s) of --block-size "
            f"{block_size} + 1; give a longer text or a smaller --block-size"
        )
    names = [f"t{t}" for t in range(block_size)]
    extra = {"kind": "text", "characters": len(text)}
    return Dataset(x, y, "classification", names, "next", list(vocab.itos), name, extra)


def load_text(source: str, block_size: int) -> Dataset:
    """``builtin:python_docs`` or a UTF-8 text file, as windows of ``block_size`` characters."""
    name = source.removeprefix("builtin:")
    if source.startswith("builtin:"):
        return text_dataset(builtin_text(name), name, block_size)
    return text_dataset(read_text(source), Path(source).name, block_size)


def is_text_source(source: str) -> bool:
    """Does ``--data`` name text (a built-in corpus or a .txt file)?"""
    if source.startswith("builtin:"):
        return source.removeprefix("builtin:") in CORPORA
    return Path(source).suffix.lower() in TEXT_SUFFIXES
