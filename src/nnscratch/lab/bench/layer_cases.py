"""Timed cases for the CNN and the transformer, each next to torch.nn + torch.optim with the same
weights (the nnscratch state dict loaded into the torch model, `nnscratch.lab.verify.cnn_transformer`'s
references) on the same data.

    CNN epoch on digits     the run's digits split (standardised, 1168 training images 1×8×8),
                            `CNN` (1, 8, 8) → 32 → 64 → 10 with batch norm, Adam lr 2e-3, batch 32:
                            the five-step loop vs nn.Sequential(nn.Conv2d, ...) + optim.Adam, both
                            over the same shuffled `batches` (the ratio measures model, loss and
                            optimizer; `batches` itself is timed against DataLoader elsewhere)
    transformer step        `CharTransformer` (2 blocks, 4 heads, width 64, block 64, 103
                            characters) on one fixed batch of 32 windows, AdamW lr 3e-3, next-token
                            cross-entropy vs nn.Embedding + nn.TransformerEncoderLayer(norm_first,
                            gelu, causal mask) + nn.LayerNorm + nn.Linear + optim.AdamW
"""

from __future__ import annotations

import torch
from torch import nn, optim

from nnscratch.data.batches import batches
from nnscratch.lab.bench.loops import SEED, Case, Pair, five_steps
from nnscratch.lab.verify.cnn_transformer import TorchCharTransformer, torch_cnn
from nnscratch.losses import cross_entropy
from nnscratch.models.cnn import CNN
from nnscratch.models.transformer import CharTransformer, next_token_loss
from nnscratch.optim import Adam, AdamW

CHANNELS, CNN_LR, CNN_BATCH = (32, 64), 2e-3, 32
V, T, B, LAYERS, HEADS, WIDTH, LM_LR = 103, 64, 32, 2, 4, 64, 3e-3


def cnn_epoch() -> Case:
    from nnscratch.run.config import TrainConfig
    from nnscratch.run.prepare import prepare

    data = prepare(TrainConfig(data="builtin:digits", model="cnn"))
    X, y = data.train.X, data.train.y  # (1168, 64), (1168,)
    torch.manual_seed(SEED)
    model = CNN((1, 8, 8), CHANNELS, 10)
    ref = torch_cnn(model)
    opt = Adam(model.parameters(), lr=CNN_LR)
    ours = five_steps(
        model, opt, X, y, CNN_BATCH, torch.Generator().manual_seed(SEED), cross_entropy
    )
    ref_opt, loss_fn = optim.Adam(ref.parameters(), lr=CNN_LR), nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(SEED)

    def reference(epochs: int) -> None:
        for _ in range(epochs):
            for xb, yb in batches(X, y, CNN_BATCH, True, gen):  # the very same batches
                loss = loss_fn(ref(xb), yb)
                loss.item()
                loss.backward()
                ref_opt.step()
                ref_opt.zero_grad()

    name = f"CNN 1×8×8→{CHANNELS[0]}→{CHANNELS[1]}→10 on digits, Adam, batch {CNN_BATCH}"
    return Case(
        name,
        "epoch",
        {"nnscratch": ours, "nn/optim": reference},
        [Pair("nnscratch", "nn/optim", 1.0, default_path=True)],
        models={"nnscratch": model, "nn/optim": ref},
    )


def transformer_step() -> Case:
    g = torch.Generator().manual_seed(SEED)
    idx = torch.randint(0, V, (B, T), generator=g)  # (B, T) one fixed batch
    target = torch.randint(0, V, (B, T), generator=g)  # (B, T)
    torch.manual_seed(SEED)
    model = CharTransformer(V, T, n_layer=LAYERS, n_head=HEADS, n_embd=WIDTH)
    ref = TorchCharTransformer(model)
    opt = AdamW(model.parameters(), lr=LM_LR, weight_decay=0.01)
    ref_opt = optim.AdamW(ref.parameters(), lr=LM_LR, weight_decay=0.01)
    loss_fn = nn.CrossEntropyLoss()

    def ours(steps: int) -> None:
        for _ in range(steps):
            loss = next_token_loss(model(idx), target)  # 1. forward, 2. loss
            loss.item()
            loss.backward()  # 3.
            opt.step()  # 4.
            opt.zero_grad()  # 5.

    def reference(steps: int) -> None:
        for _ in range(steps):
            loss = loss_fn(ref(idx).reshape(-1, V), target.reshape(-1))
            loss.item()
            loss.backward()
            ref_opt.step()
            ref_opt.zero_grad()

    name = f"transformer {LAYERS}×{WIDTH}, {HEADS} heads, batch {B}×{T}, AdamW"
    return Case(
        name,
        "step",
        {"nnscratch": ours, "nn/optim": reference},
        [Pair("nnscratch", "nn/optim", 1.0, default_path=True)],
        models={"nnscratch": model, "nn/optim": ref},
    )


def layer_cases() -> list[Case]:
    return [cnn_epoch(), transformer_step()]
