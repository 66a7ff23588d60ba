"""The CNN and the character transformer next to their torch.nn equivalents with the same weights:
the same initial numbers from the same seed, the same outputs (float64, tight; float32), and a few
training steps with nnscratch.optim next to torch.optim giving the same parameters."""

import pytest
import torch
from torch import nn

from nnscratch.losses import cross_entropy
from nnscratch.models.cnn import CNN
from nnscratch.models.transformer import CharTransformer, next_token_loss
from nnscratch.optim import Adam, AdamW

F64 = {"atol": 1e-12, "rtol": 1e-10}


def torch_cnn(in_shape, channels, out, dropout=0.0) -> nn.Sequential:
    C, H, W = in_shape
    layers: list[nn.Module] = [nn.Unflatten(1, tuple(in_shape))]
    for c_in, c_out in zip([C, *channels[:-1]], channels, strict=True):
        layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out)]
        layers += [nn.ReLU(), nn.MaxPool2d(2)]
        H, W = H // 2, W // 2
    layers += [nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels[-1] * H * W, out)]
    return nn.Sequential(*layers)


class TorchCharTransformer(nn.Module):
    """nanoGPT's GPT from torch.nn pieces: nn.TransformerEncoderLayer(norm_first, gelu) blocks."""

    def __init__(self, V, T, n_layer, n_head, C, dropout=0.0):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(T, C)
        self.drop = nn.Dropout(dropout)
        layer = dict(dim_feedforward=4 * C, dropout=dropout, activation="gelu")
        self.blocks = nn.Sequential(
            *[
                nn.TransformerEncoderLayer(C, n_head, **layer, batch_first=True, norm_first=True)
                for _ in range(n_layer)
            ]
        )
        self.ln_f, self.head = nn.LayerNorm(C), nn.Linear(C, V)

    def forward(self, idx):
        T = idx.shape[1]
        x = self.drop(self.wte(idx) + self.wpe(torch.arange(T)))
        mask = nn.Transformer.generate_square_subsequent_mask(T, dtype=x.dtype)
        for block in self.blocks:
            x = block(x, src_mask=mask, is_causal=True)
        return self.head(self.ln_f(x))


def same_state(ours, theirs, atol=0.0, rtol=0.0):
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b)
    for k in a:
        torch.testing.assert_close(a[k], b[k].to(a[k].dtype), atol=atol, rtol=rtol, msg=k)


def assert_params_close(ours, theirs, **tol):
    b = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.detach(), b[name].detach(), **tol, msg=name)


# -- CNN ------------------------------------------------------------------------------------------
def cnn_pair(in_shape, channels, out, dtype=torch.float64, seed=0):
    """Both drawn in float32 from the same seed (the same numbers), then cast to ``dtype``."""
    torch.manual_seed(seed)
    ours = CNN(in_shape, channels, out)
    torch.manual_seed(seed)
    theirs = torch_cnn(in_shape, channels, out)
    same_state(ours, theirs)
    return ours.to(dtype=dtype), theirs.to(dtype)


def test_cnn_draws_torch_numbers_and_matches_in_train_and_eval():
    ours, theirs = cnn_pair((1, 8, 8), (4, 6), 10)
    x = torch.randn(16, 64, dtype=torch.float64)
    torch.testing.assert_close(ours(x), theirs(x), **F64)  # batch statistics
    same_state(ours, theirs, **F64)  # running mean/var updated the same way
    ours.eval(), theirs.eval()
    torch.testing.assert_close(ours(x), theirs(x), **F64)  # running statistics
    torch.testing.assert_close(ours(x.view(16, 1, 8, 8)), theirs(x), **F64)  # images pass too


def test_cnn_adam_steps_match_torch_nn_and_optim():
    ours, theirs = cnn_pair((2, 8, 6), (3, 5), 4, seed=1)
    opt_a, opt_b = Adam(ours.parameters(), lr=1e-2), torch.optim.Adam(theirs.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    for _ in range(4):
        x = torch.randn(8, 2 * 8 * 6, dtype=torch.float64, generator=g)
        y = torch.randint(0, 4, (8,), generator=g)
        cross_entropy(ours(x), y).backward()
        nn.functional.cross_entropy(theirs(x), y).backward()
        opt_a.step(), opt_b.step()
        opt_a.zero_grad(), opt_b.zero_grad()
    assert_params_close(ours, theirs, atol=1e-10, rtol=1e-8)
    for name, buf in ours.named_buffers():
        torch.testing.assert_close(buf, dict(theirs.named_buffers())[name], atol=1e-12, rtol=0)


def test_cnn_float32_forward_close_to_torch():
    ours, theirs = cnn_pair((1, 8, 8), (8, 16), 10, dtype=torch.float32)
    x = torch.randn(32, 64)
    torch.testing.assert_close(ours(x), theirs(x), atol=1e-5, rtol=1e-5)


def test_cnn_refuses_images_too_small_for_its_poolings():
    with pytest.raises(ValueError, match="too small"):
        CNN((1, 3, 8), (4, 4), 2)


# -- transformer ----------------------------------------------------------------------------------
def pair(dtype=torch.float64, dropout=0.0, **sizes):
    kw = dict(n_layer=2, n_head=2, n_embd=8) | sizes
    torch.manual_seed(0)
    ours = CharTransformer(11, 6, **kw, dropout=dropout)
    torch.manual_seed(0)
    theirs = TorchCharTransformer(11, 6, kw["n_layer"], kw["n_head"], kw["n_embd"], dropout)
    same_state(ours, theirs)  # the same draws from the same seed (float32)
    return ours.to(dtype=dtype), theirs.to(dtype)


def test_transformer_draws_torch_numbers_and_gives_the_same_logits():
    ours, theirs = pair()
    idx = torch.randint(0, 11, (3, 6))
    torch.testing.assert_close(ours(idx), theirs(idx), **F64)  # (B, T, V)
    torch.testing.assert_close(ours(idx[:, :4]), theirs(idx[:, :4]), **F64)  # shorter context


def test_transformer_is_causal():
    """Changing the last character changes no earlier position's logits."""
    ours, _ = pair()
    idx = torch.randint(0, 11, (2, 6))
    changed = idx.clone()
    changed[:, -1] = (changed[:, -1] + 1) % 11
    a, b = ours(idx), ours(changed)
    torch.testing.assert_close(a[:, :-1], b[:, :-1], atol=0, rtol=0)
    assert not torch.allclose(a[:, -1], b[:, -1])


def test_transformer_adamw_steps_match_torch_nn_and_optim():
    ours, theirs = pair()
    opt_a = AdamW(ours.parameters(), lr=3e-3, weight_decay=0.01)
    opt_b = torch.optim.AdamW(theirs.parameters(), lr=3e-3, weight_decay=0.01)
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        idx = torch.randint(0, 11, (4, 6), generator=g)
        y = torch.randint(0, 11, (4, 6), generator=g)
        next_token_loss(ours(idx), y).backward()
        nn.functional.cross_entropy(theirs(idx).reshape(-1, 11), y.reshape(-1)).backward()
        opt_a.step(), opt_b.step()
        opt_a.zero_grad(), opt_b.zero_grad()
    assert_params_close(ours, theirs, atol=1e-10, rtol=1e-8)


def test_transformer_float32_logits_close_to_torch():
    ours, theirs = pair(dtype=torch.float32, n_embd=16, n_head=4)
    idx = torch.randint(0, 11, (5, 6))
    torch.testing.assert_close(ours(idx), theirs(idx), atol=1e-5, rtol=1e-5)


def test_next_token_loss_is_cross_entropy_over_every_position():
    logits = torch.randn(3, 5, 7, dtype=torch.float64)
    y = torch.randint(0, 7, (3, 5))
    expected = nn.functional.cross_entropy(logits.permute(0, 2, 1), y)  # torch's (N, C, T) form
    torch.testing.assert_close(next_token_loss(logits, y), expected, **F64)


def test_generate_same_seed_same_text_and_temperature_sharpens():
    ours, _ = pair()
    ours.eval()
    start = torch.tensor([[1, 2]])
    a = ours.generate(start, 20, 1.0, torch.Generator().manual_seed(3))
    b = ours.generate(start, 20, 1.0, torch.Generator().manual_seed(3))
    assert a.shape == (1, 22) and torch.equal(a, b) and torch.equal(a[:, :2], start)
    # a temperature near 0 picks the argmax at every step (greedy decoding)
    cold = ours.generate(start, 8, 1e-310, torch.Generator().manual_seed(4))  # logits/t: ±inf
    greedy = start
    for _ in range(8):
        nxt = ours(greedy[:, -6:])[:, -1].argmax(-1, keepdim=True)
        greedy = torch.cat([greedy, nxt], dim=1)
    assert torch.equal(cold, greedy)


def test_verify_rows_pass():
    from nnscratch.lab.verify import cnn_transformer

    rows = list(cnn_transformer.rows())
    assert len(rows) == 4 and all(r.passed for r in rows), rows
