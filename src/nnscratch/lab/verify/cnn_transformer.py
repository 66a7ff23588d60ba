"""Mapping-table rows for the models built from the new layers: `CNN` ↔ the matching
nn.Sequential, `CharTransformer` ↔ nanoGPT's GPT from nn.Embedding + nn.TransformerEncoderLayer.

Each pair is drawn from the same seed in float32 (the same numbers: ``state_dict`` equal), then
compared in float64 (outputs in training and eval mode, gradients, three Adam/AdamW steps next to
torch.optim) and in float32 (outputs). `torch_cnn` and `TorchCharTransformer` are the references
the tests and the bench use too.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn, optim

from nnscratch.lab.verify.check import Row, compare
from nnscratch.losses import cross_entropy
from nnscratch.models.cnn import CNN
from nnscratch.models.transformer import CharTransformer, next_token_loss
from nnscratch.optim import Adam, AdamW

ORDER = 16
F64 = torch.float64


def torch_cnn(model: CNN) -> nn.Sequential:
    """The nn.Sequential `CNN` stands for, holding ``model``'s numbers."""
    C, H, W = model.in_shape
    layers: list[nn.Module] = [nn.Unflatten(1, (C, H, W))]
    for c_in, c_out in zip([C, *model.channels[:-1]], model.channels, strict=True):
        layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out)]
        layers += [nn.ReLU(), nn.MaxPool2d(2)]
        H, W = H // 2, W // 2
    layers += [nn.Flatten(), nn.Dropout(model.dropout)]
    layers.append(nn.Linear(model.channels[-1] * H * W, model.out_features))
    ref = nn.Sequential(*layers).to(next(model.parameters()).dtype)
    ref.load_state_dict(model.state_dict())
    return ref


class TorchCharTransformer(nn.Module):
    """`CharTransformer` from torch.nn pieces, with the same parameter names and numbers."""

    def __init__(self, model: CharTransformer) -> None:
        super().__init__()
        C, H = model.n_embd, model.n_head
        self.wte, self.wpe = nn.Embedding(model.vocab_size, C), nn.Embedding(model.block_size, C)
        self.drop = nn.Dropout(model.dropout)
        kw = dict(dim_feedforward=4 * C, dropout=model.dropout, activation="gelu")
        self.blocks = nn.Sequential(
            *[
                nn.TransformerEncoderLayer(C, H, **kw, batch_first=True, norm_first=True)
                for _ in range(model.n_layer)
            ]
        )
        self.ln_f, self.head = nn.LayerNorm(C), nn.Linear(C, model.vocab_size)
        self.to(next(model.parameters()).dtype)
        self.load_state_dict(model.state_dict())

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        n = idx.shape[1]
        x = self.drop(self.wte(idx) + self.wpe(torch.arange(n)))  # (B, n, C)
        mask = nn.Transformer.generate_square_subsequent_mask(n, dtype=x.dtype)  # −inf above
        for block in self.blocks:
            x = block(x, src_mask=mask, is_causal=True)
        return self.head(self.ln_f(x))  # (B, n, V)


def _same_draws(ours, theirs) -> bool:
    a, b = ours.state_dict(), theirs.state_dict()
    return list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)


def cnn_rows() -> Iterator[Row]:
    torch.manual_seed(0)
    ours = CNN((2, 8, 6), (3, 5), 4)
    torch.manual_seed(0)
    drawn = torch_cnn(CNN((2, 8, 6), (3, 5), 4))  # a second draw from the same seed
    same = _same_draws(ours, drawn)
    x32 = torch.randn(8, 96)
    ref32 = torch_cnn(ours)
    yield compare(
        "CNN((2, 8, 6), (3, 5), 4)",
        "nn.Sequential(Conv2d, BatchNorm2d, ...)",
        "initial draws; float32 output",
        ours(x32),
        ref32(x32),
        atol=1e-5,
        rtol=1e-5,
        extra_ok=same,
    )
    ours = ours.to(dtype=F64)
    ref = torch_cnn(ours)
    opt, ref_opt = Adam(ours.parameters(), lr=1e-2), optim.Adam(ref.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        x = torch.randn(8, 96, dtype=F64, generator=g)
        y = torch.randint(0, 4, (8,), generator=g)
        cross_entropy(ours(x), y).backward()
        nn.CrossEntropyLoss()(ref(x), y).backward()
        opt.step(), ref_opt.step()
        opt.zero_grad(), ref_opt.zero_grad()
    ours.eval(), ref.eval()
    yield compare(
        "CNN + Adam, 3 steps, then eval()",
        "nn.Sequential + optim.Adam",
        "float64 parameters, running statistics, eval output",
        [*ours.parameters(), *ours.buffers(), ours(x)],
        [*ref.parameters(), *ref.buffers(), ref(x)],
        atol=1e-10,
        rtol=1e-8,
    )


def transformer_rows() -> Iterator[Row]:
    sizes = dict(n_layer=2, n_head=2, n_embd=8)
    torch.manual_seed(0)
    ours = CharTransformer(11, 6, **sizes)
    torch.manual_seed(0)
    same = _same_draws(ours, TorchCharTransformer(CharTransformer(11, 6, **sizes)))
    idx = torch.randint(0, 11, (3, 6), generator=torch.Generator().manual_seed(1))
    yield compare(
        "CharTransformer(11, 6, 2 layers, 2 heads, 8)",
        "nn.Embedding + nn.TransformerEncoderLayer",
        "initial draws; float32 logits",
        ours(idx),
        TorchCharTransformer(ours)(idx),
        atol=1e-5,
        rtol=1e-5,
        extra_ok=same,
    )
    ours = ours.to(dtype=F64)
    ref = TorchCharTransformer(ours)
    opt = AdamW(ours.parameters(), lr=3e-3, weight_decay=0.01)
    ref_opt = optim.AdamW(ref.parameters(), lr=3e-3, weight_decay=0.01)
    g = torch.Generator().manual_seed(2)
    for _ in range(3):
        x, y = torch.randint(0, 11, (4, 6), generator=g), torch.randint(0, 11, (4, 6), generator=g)
        next_token_loss(ours(x), y).backward()
        nn.CrossEntropyLoss()(ref(x).reshape(-1, 11), y.reshape(-1)).backward()
        opt.step(), ref_opt.step()
        opt.zero_grad(), ref_opt.zero_grad()
    yield compare(
        "CharTransformer + AdamW, 3 steps",
        "GPT from torch.nn + optim.AdamW",
        "float64 parameters and logits",
        [*ours.parameters(), ours(idx)],
        [*ref.parameters(), ref(idx)],
        atol=1e-10,
        rtol=1e-8,
    )


def rows() -> Iterator[Row]:
    yield from cnn_rows()
    yield from transformer_rows()
