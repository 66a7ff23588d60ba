"""The model blocks: parameters with their initialisation, the forward pass, the loss.

Raw style: leaf tensors drawn as ``nn.Linear.reset_parameters`` draws them (same bounds, same
order: each layer's weight, then its bias), after ``torch.manual_seed(SEED)``, so they hold the
run's initial numbers; the forward pass is one line per layer. nn style: ``nn.Linear`` /
``nn.Sequential`` built after the same ``torch.manual_seed``, which draws the same numbers.
"""

from __future__ import annotations

from nnscratch.lab.export import cnn, transformer
from nnscratch.lab.export.spec import Spec

NN_ACTIVATIONS = {
    "relu": "nn.ReLU()",
    "tanh": "nn.Tanh()",
    "sigmoid": "nn.Sigmoid()",
    "gelu": "nn.GELU()",
}
RAW_ACTIVATIONS = {  # the expression, and the helper it needs (nnscratch.functional's form)
    "relu": "torch.relu(z)",
    "tanh": "tanh(z)",
    "sigmoid": "sigmoid(z)",
    "gelu": "z * (0.5 * torch.erfc(-z / math.sqrt(2.0)))  # exact GELU: z·Φ(z)",
}
SIGN = "s = torch.where(z >= 0, torch.ones_like(z), -torch.ones_like(z))  # sign, +1 at 0"
RAW_HELPERS = {
    "tanh": [
        "def tanh(z):",
        '    """tanh(z) = s·(1 − e^(−2a)) / (1 + e^(−2a)), a = s·z = |z|: never overflows."""',
        f"    {SIGN}",
        "    a = s * z",
        "    return s * -torch.expm1(-2.0 * a) / (1.0 + torch.exp(-2.0 * a))",
    ],
    "sigmoid": [
        "def sigmoid(z):",
        '    """σ(z) = 1 / (1 + e^(−a)) for z ≥ 0, e^(−a) / (1 + e^(−a)) below, a = |z|."""',
        f"    {SIGN}",
        "    e = torch.exp(-(s * z))  # in (0, 1]",
        "    return torch.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))",
    ],
}
NN_LOSSES = {
    "mse": "nn.MSELoss()",
    "l1": "nn.L1Loss()",
    "huber": "nn.HuberLoss()",
    "cross_entropy": "nn.CrossEntropyLoss()",
    "bce_with_logits": "nn.BCEWithLogitsLoss()",
}
RAW_LOSSES = {  # nnscratch.losses' operations, in its order: the same float32 bits
    "mse": ["return ((y_pred - y) ** 2).mean()  # mean squared error"],
    "l1": ["return (y_pred - y).abs().mean()  # mean absolute error"],
    "huber": [
        "d = y_pred - y",
        "a = d.abs()",
        "return torch.where(a < 1.0, 0.5 * d * d, 1.0 * (a - 0.5)).mean()  # quadratic below δ = 1",
    ],
    "cross_entropy": [
        "z = y_pred - y_pred.amax(dim=1, keepdim=True).detach()  # shifted by the max: z ≤ 0",
        "log_p = z - torch.log(torch.exp(z).sum(dim=1, keepdim=True))  # log-softmax",
        "nll = -log_p.gather(1, y.unsqueeze(1)).squeeze(1)  # (B,) -log p[true class]",
        "return nll.sum() / len(y)  # the mean",
    ],
    "bce_with_logits": [
        "# (1 - y)·z - log σ(z), with log σ(z) = min(z, 0) - log(1 + e^(-|z|)) (stable)",
        "s = torch.where(y_pred >= 0, torch.ones_like(y_pred), -torch.ones_like(y_pred))",
        "a = s * y_pred  # |z|, with the sign +1 at 0",
        "log_sigmoid = torch.where(y_pred >= 0, 0.0, y_pred) - torch.log1p(torch.exp(-a))",
        "return ((1.0 - y) * y_pred - log_sigmoid).mean()",
    ],
}
LOSS_NAMES = {
    "mse": "nn.MSELoss",
    "l1": "nn.L1Loss",
    "huber": "nn.HuberLoss",
    "cross_entropy": "nn.CrossEntropyLoss",
    "bce_with_logits": "nn.BCEWithLogitsLoss",
}


def raw_parameters(spec: Spec) -> list[str]:
    layers = spec.layers
    lines = [
        "# -- parameters: leaf tensors, drawn as nn.Linear's reset_parameters draws them",
        "def linear_parameters(fan_in, fan_out):",
        '    """weight ~ kaiming_uniform_(a=√5), bias ~ U(±1/√fan_in): nn.Linear\'s init."""',
        "    gain = math.sqrt(2.0 / (1 + math.sqrt(5) ** 2))",
        "    bound = math.sqrt(3.0) * (gain / math.sqrt(fan_in))",
        "    weight = torch.empty(fan_out, fan_in, dtype=DTYPE).uniform_(-bound, bound)",
        "    bound = 1 / math.sqrt(fan_in)",
        "    bias = torch.empty(fan_out, dtype=DTYPE).uniform_(-bound, bound)",
        "    return weight.requires_grad_(), bias.requires_grad_()  # leaves: set after the draws",
        "",
        "",
    ]
    if spec.config.model == "cnn":
        lines[0] = "# -- parameters: leaf tensors, drawn as nn.Linear and nn.Conv2d draw them"
        return lines + cnn.raw_parameters(spec)
    if spec.config.model == "transformer":
        lines[0] = "# -- parameters: leaf tensors, drawn as the nn layers draw them, in order"
        return lines + transformer.raw_parameters(spec)
    lines.append("torch.manual_seed(SEED)")
    if len(layers) == 1:
        layer = layers[0]
        lines.append(
            f"w, b = linear_parameters({layer.fan_in}, {layer.fan_out})  # ({layer.fan_out}, "
            f"{layer.fan_in}), ({layer.fan_out},)"
        )
        lines.append("params = [w, b]")
        return lines
    for k, layer in enumerate(layers, 1):
        lines.append(
            f"W{k}, b{k} = linear_parameters({layer.fan_in}, {layer.fan_out})  # "
            f"({layer.fan_out}, {layer.fan_in}), ({layer.fan_out},)"
        )
    lines.append(f"params = [{', '.join(f'W{k}, b{k}' for k in range(1, len(layers) + 1))}]")
    return lines


def raw_names(spec: Spec) -> list[tuple[str, str]]:
    """(checkpoint name, script variable) for every parameter, in ``params`` order."""
    if spec.config.model == "cnn":
        return cnn.names(spec)
    if spec.config.model == "transformer":
        return transformer.names(spec)
    layers = spec.layers
    if len(layers) == 1:
        return list(zip(layers[0].names, ("w", "b"), strict=True))
    pairs = []
    for k, layer in enumerate(layers, 1):
        pairs += list(zip(layer.names, (f"W{k}", f"b{k}"), strict=True))
    return pairs


def raw_forward(spec: Spec) -> list[str]:
    """``def forward(x)``: one line per layer (nn.Linear, the activation)."""
    if spec.config.model == "cnn":
        return cnn.raw_forward(spec)
    if spec.config.model == "transformer":
        return transformer.raw_forward(spec)
    layers = spec.layers
    shape = "(B, 1)" if spec.out_features == 1 else f"(B, {spec.out_features})"
    if len(layers) == 1:
        what = "logits" if spec.classification else "predictions"
        return [
            "def forward(x):",
            f'    """The {what} x @ w.T + b (nn.Linear)."""',
            f"    return torch.addmm(b, x, w.T)  # b + x @ w.T, one fused kernel -> {shape}",
        ]
    act = RAW_ACTIVATIONS[spec.config.activation]
    helper = RAW_HELPERS.get(spec.config.activation, [])
    lines = [
        *helper,
        *(["", ""] if helper else []),
        "def forward(x):",
        f'    """The MLP: nn.Linear layers, {spec.config.activation} between them."""',
    ]
    h = "x"
    for k, layer in enumerate(layers[:-1], 1):
        lines.append(
            f"    z = torch.addmm(b{k}, {h}, W{k}.T)  # {h} @ W{k}.T + b{k}: (B, {layer.fan_out})"
        )
        lines.append(f"    h = {act}")
        h = "h"
    last = len(layers)
    lines.append(f"    return torch.addmm(b{last}, h, W{last}.T)  # {shape}")
    return lines


def raw_loss(spec: Spec) -> list[str]:
    name = spec.config.loss
    lines = [
        "def loss_fn(y_pred, y):",
        f'    """What {LOSS_NAMES[name]}() computes (reduction="mean")."""',
    ]
    if spec.config.model == "transformer":  # every position: (B, T, V) vs (B, T)
        lines.append("    y_pred, y = y_pred.flatten(0, 1), y.flatten()  # (B·T, V), (B·T,)")
    return lines + ["    " + line for line in RAW_LOSSES[name]]


def nn_model(spec: Spec) -> list[str]:
    if spec.config.model == "cnn":
        return cnn.nn_model(spec)
    if spec.config.model == "transformer":
        return transformer.nn_model(spec)
    dtype = "dtype=DTYPE"
    layers = spec.layers
    lines = [
        "# -- model: nn.Linear draws its initial parameters from the seeded global RNG",
        "torch.manual_seed(SEED)",
    ]
    if len(layers) == 1:
        return lines + [f"model = nn.Linear({layers[0].fan_in}, {layers[0].fan_out}, {dtype})"]
    act = NN_ACTIVATIONS[spec.config.activation]
    lines.append("model = nn.Sequential(")
    for layer in layers[:-1]:
        lines += [f"    nn.Linear({layer.fan_in}, {layer.fan_out}, {dtype}),", f"    {act},"]
    lines += [f"    nn.Linear({layers[-1].fan_in}, {layers[-1].fan_out}, {dtype}),", ")"]
    return lines


def nn_loss(spec: Spec) -> list[str]:
    if spec.config.model == "transformer":  # defined with the model
        return []
    return [f"loss_fn = {NN_LOSSES[spec.config.loss]}"]
