"""The CNN blocks (`nnscratch.models.cnn`): conv → batch norm → ReLU → max-pool, then a Linear.

Raw style: each 3×3 filter bank a leaf tensor drawn as ``nn.Conv2d`` draws it (in block order,
then the last layer's weight and bias), ``torch.conv2d`` and ``torch.max_pool2d`` (torch ops,
the ones `nnscratch.layers` call), batch normalization as ``torch.batch_norm`` (the kernel
`nnscratch.layers.norm` calls; its formula and running estimates in the comment above it).
nn style: the ``nn.Sequential`` whose layer indices give the checkpoint's names (the Dropout, at
p = 0 an identity, keeps its place). The checkpoint's buffers (running mean and variance, the
batch count) are saved too: they are part of the trained model.
"""

from __future__ import annotations

from nnscratch.lab.export.spec import Spec


def blocks(spec: Spec) -> list[tuple[int, int, int]]:
    """(c_in, c_out, Sequential index of the conv) per block; indices as `CNN` numbers them."""
    c_in = spec.data["image_shape"][0]
    out = []
    for k, c_out in enumerate(spec.config.channel_sizes()):
        out.append((c_in, c_out, 1 + 4 * k))
        c_in = c_out
    return out


def flat_size(spec: Spec) -> tuple[int, int]:
    """(inputs of the last Linear, its Sequential index)."""
    _, H, W = spec.data["image_shape"]
    n = len(spec.config.channel_sizes())
    for _ in range(n):
        H, W = H // 2, W // 2
    return spec.config.channel_sizes()[-1] * H * W, 1 + 4 * n + 2


def names(spec: Spec) -> list[tuple[str, str]]:
    """(checkpoint name, script expression) of every saved tensor, parameters in model order."""
    pairs = []
    for k, (_, _, i) in enumerate(blocks(spec), 1):
        pairs += [(f"{i}.weight", f"K{k}"), (f"{i + 1}.weight", f"gamma{k}")]
        pairs += [(f"{i + 1}.bias", f"beta{k}")]
        for stat in ("running_mean", "running_var", "num_batches_tracked"):
            pairs.append((f"{i + 1}.{stat}", f'stats{k}["{stat}"]'))
    _, last = flat_size(spec)
    return pairs + [(f"{last}.weight", "W"), (f"{last}.bias", "b")]


CONV_INIT = [
    "def conv_weight(c_in, c_out):",
    '    """nn.Conv2d(c_in, c_out, 3, bias=False)\'s init: kaiming_uniform_(a=√5)."""',
    "    gain = math.sqrt(2.0 / (1 + math.sqrt(5) ** 2))",
    "    bound = math.sqrt(3.0) * (gain / math.sqrt(c_in * 3 * 3))  # fan_in = C_in·3·3",
    "    weight = torch.empty(c_out, c_in, 3, 3, dtype=DTYPE).uniform_(-bound, bound)",
    "    return weight.requires_grad_()",
    "",
    "",
    "def batch_norm_parameters(channels):",
    '    """γ = 1 and β = 0 (leaves), and the running estimates nn.BatchNorm2d keeps."""',
    "    gamma = torch.ones(channels, dtype=DTYPE).requires_grad_()",
    "    beta = torch.zeros(channels, dtype=DTYPE).requires_grad_()",
    "    stats = {",
    '        "running_mean": torch.zeros(channels, dtype=DTYPE),',
    '        "running_var": torch.ones(channels, dtype=DTYPE),',
    '        "num_batches_tracked": torch.tensor(0),',
    "    }",
    "    return gamma, beta, stats",
]


def raw_parameters(spec: Spec) -> list[str]:
    """After `model.raw_parameters`' ``linear_parameters`` definition: the draws, in order."""
    lines = [*CONV_INIT, "", "", "torch.manual_seed(SEED)"]
    params = []
    for k, (c_in, c_out, _) in enumerate(blocks(spec), 1):
        lines += [
            f"K{k} = conv_weight({c_in}, {c_out})  # ({c_out}, {c_in}, 3, 3) filters",
            f"gamma{k}, beta{k}, stats{k} = batch_norm_parameters({c_out})",
        ]
        params += [f"K{k}", f"gamma{k}", f"beta{k}"]
    flat, _ = flat_size(spec)
    out = spec.out_features
    lines += [
        f"W, b = linear_parameters({flat}, {out})  # ({out}, {flat}), ({out},)",
        f"params = [{', '.join([*params, 'W', 'b'])}]",
    ]
    return lines


def raw_forward(spec: Spec) -> list[str]:
    C, H, W = spec.data["image_shape"]
    lines = [
        "def conv_block(h, kernel, gamma, beta, stats, training):",
        '    """nn.Conv2d(3×3, padding 1) → nn.BatchNorm2d → nn.ReLU → nn.MaxPool2d(2)."""',
        "    z = torch.conv2d(h, kernel, padding=1)  # (B, C_out, H, W)",
        "    # batch norm: ẑ = (z − μ) / √(σ² + 1e-5), then γ·ẑ + β, per channel. Training: μ, σ²",
        "    # of the batch (σ² biased), and running ← 0.9·running + 0.1·batch (σ² unbiased);",
        "    # evaluation: the running estimates. One torch.batch_norm kernel computes exactly",
        "    # that (the kernel nn.BatchNorm2d calls; the run used it too: the same bits).",
        "    if training:",
        '        stats["num_batches_tracked"].add_(1)',
        '    mean, var = stats["running_mean"], stats["running_var"]',
        "    z = torch.batch_norm(z, gamma, beta, mean, var, training, 0.1, 1e-5, False)",
        "    return torch.max_pool2d(torch.relu(z), 2)  # (B, C_out, H / 2, W / 2)",
        "",
        "",
        "def forward(x, training=True):",
        '    """The CNN: rows of pixels as images, the conv blocks, flatten, nn.Linear."""',
        f"    h = x.view(-1, {C}, {H}, {W})  # (B, C, H, W) nn.Unflatten",
    ]
    for k in range(1, len(blocks(spec)) + 1):
        lines.append(f"    h = conv_block(h, K{k}, gamma{k}, beta{k}, stats{k}, training)")
    return lines + [
        "    h = h.flatten(1)  # (B, C·H·W) nn.Flatten",
        f"    return torch.addmm(b, h, W.T)  # h @ W.T + b, fused: (B, {spec.out_features}) logits",
    ]


def nn_model(spec: Spec) -> list[str]:
    lines = [
        "# -- model: nn layers draw their initial parameters from the seeded global RNG",
        "torch.manual_seed(SEED)",
        "model = nn.Sequential(",
        f"    nn.Unflatten(1, {tuple(spec.data['image_shape'])}),",
    ]
    for c_in, c_out, _ in blocks(spec):
        lines += [
            f"    nn.Conv2d({c_in}, {c_out}, 3, padding=1, bias=False, dtype=DTYPE),",
            f"    nn.BatchNorm2d({c_out}, dtype=DTYPE),",
            "    nn.ReLU(),",
            "    nn.MaxPool2d(2),",
        ]
    flat, _ = flat_size(spec)
    return lines + [
        "    nn.Flatten(),",
        "    nn.Dropout(0.0),  # p = 0: the identity; it keeps the layer numbers of the run",
        f"    nn.Linear({flat}, {spec.out_features}, dtype=DTYPE),",
        ")",
    ]
