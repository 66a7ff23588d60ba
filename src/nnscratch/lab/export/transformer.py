"""The transformer blocks (`nnscratch.models.transformer`): a GPT-style character model.

Data: the characters of the text, sorted into a vocabulary, cut into non-overlapping windows
(`nnscratch.data.text`). Raw style: the embeddings, each block's attention, MLP and LayerNorms
as leaf tensors drawn in ``nn.TransformerEncoderLayer``'s order (``out_proj`` is an ``nn.Linear``
drawn first, then ``xavier_uniform_`` for the q, k, v weights), the forward pass written out
(projections, heads, pre-LN residual blocks) with the fused kernels the run itself calls for
layer norm, causal attention and GELU (their formulas in comments), so that float32 results
are the run's bit for bit. nn style: ``nn.Embedding``,
``nn.TransformerEncoderLayer(norm_first=True)``, ``nn.LayerNorm``, ``nn.Linear`` under the names
the checkpoint uses.
"""

from __future__ import annotations

from nnscratch.lab.export.source import call, literal
from nnscratch.lab.export.spec import Spec

BLOCK = (  # the names of one block's tensors, in the order the model lists its parameters
    "self_attn.in_proj_weight",
    "self_attn.in_proj_bias",
    "self_attn.out_proj.weight",
    "self_attn.out_proj.bias",
    "linear1.weight",
    "linear1.bias",
    "linear2.weight",
    "linear2.bias",
    "norm1.weight",
    "norm1.bias",
    "norm2.weight",
    "norm2.bias",
)


def sizes(spec: Spec) -> tuple[int, int, int, int, int]:
    """V, T, E, H, L: vocabulary, block size, width, heads, blocks."""
    c = spec.config
    return spec.out_features, c.block_size, c.n_embd, c.n_head, c.n_layer


def load(spec: Spec) -> list[str]:
    if spec.data_path is None:
        lines = [
            "# -- data: Python's help texts (pydoc_data, in the standard library)",
            'text = "\\n\\n".join(topics[key].strip() for key in sorted(topics)) + "\\n"',
        ]
    else:
        lines = [
            "# -- data: the characters of the text file (--data, by default the run's)",
            'with open(args.data, "rb") as f:',
            '    text = f.read().decode("utf-8")',
        ]
    return lines + [
        "chars = sorted(set(text))  # the vocabulary: class k is the character chars[k]",
        "stoi = {c: k for k, c in enumerate(chars)}",
        "ids = torch.tensor([stoi[c] for c in text])  # (L,) int64",
        "n = (len(ids) - 1) // BLOCK_SIZE  # windows with a next character at every position",
        "X = ids[: n * BLOCK_SIZE].view(n, BLOCK_SIZE)  # (N, T) characters",
        "y = ids[1 : n * BLOCK_SIZE + 1].view(n, BLOCK_SIZE)  # (N, T) the next characters",
    ]


def names(spec: Spec) -> list[tuple[str, str]]:
    """(checkpoint name, script expression), parameters in the model's order."""
    _, _, _, _, n_layer = sizes(spec)
    pairs = [("wte.weight", "wte"), ("wpe.weight", "wpe")]
    for i in range(n_layer):
        pairs += [(f"blocks.{i}.{k}", f"blocks[{i}][{literal(k)}]") for k in BLOCK]
    return pairs + [
        ("ln_f.weight", "ln_f_weight"),
        ("ln_f.bias", "ln_f_bias"),
        ("head.weight", "W"),
        ("head.bias", "b"),
    ]


def raw_parameters(spec: Spec) -> list[str]:
    """After ``linear_parameters``: the draws, in the model's order."""
    V, T, E, H, L = sizes(spec)
    params = ", ".join(["wte", "wpe", "*block_params", "ln_f_weight", "ln_f_bias", "W", "b"])
    zeros = "torch.zeros({}, dtype=DTYPE)"
    ones = "torch.ones(E, dtype=DTYPE)"
    values = ["in_w", zeros.format("3 * E"), "out_w", zeros.format("E"), "w1", "b1", "w2", "b2"]
    values += [ones, zeros.format("E"), ones, zeros.format("E")]
    rows = [f"        {literal(k)}: {v}," for k, v in zip(BLOCK, values, strict=True)]
    return [
        "def block_parameters(E):",
        '    """nn.TransformerEncoderLayer(E, H, 4·E, norm_first=True), drawn in its order."""',
        "    out_w, _ = linear_parameters(E, E)  # out_proj, an nn.Linear: drawn first...",
        "    bound = math.sqrt(3.0) * math.sqrt(2.0 / (E + 3 * E))  # ...then xavier_uniform_",
        "    in_w = torch.empty(3 * E, E, dtype=DTYPE).uniform_(-bound, bound)  # q, k, v",
        "    w1, b1 = linear_parameters(E, 4 * E)  # the MLP: E -> 4E -> E",
        "    w2, b2 = linear_parameters(4 * E, E)",
        "    p = {  # biases of the attention zeroed, LayerNorms γ = 1, β = 0",
        *rows,
        "    }",
        "    return {k: t.detach().requires_grad_() for k, t in p.items()}",
        "",
        "",
        "torch.manual_seed(SEED)",
        f"wte = torch.empty({V}, {E}, dtype=DTYPE).normal_().requires_grad_()  # nn.Embedding",
        f"wpe = torch.empty({T}, {E}, dtype=DTYPE).normal_().requires_grad_()  # positions",
        f"blocks = [block_parameters({E}) for _ in range({L})]",
        "block_params = [t for block in blocks for t in block.values()]",
        f"ln_f_weight = torch.ones({E}, dtype=DTYPE).requires_grad_()  # the last LayerNorm",
        f"ln_f_bias = torch.zeros({E}, dtype=DTYPE).requires_grad_()",
        f"W, b = linear_parameters({E}, {V})  # the head: (V, E), (V,)",
        f"params = [{params}]",
    ]


def raw_forward(spec: Spec) -> list[str]:
    _, _, _, H, _ = sizes(spec)
    return [
        "def layer_norm(x, weight, bias):",
        '    """nn.LayerNorm over the last dim: (x − μ) / √(σ² + 1e-5) · γ + β, σ² biased."""',
        "    # one torch.layer_norm kernel computes exactly that; the run used it: the same bits",
        "    return torch.layer_norm(x, x.shape[-1:], weight, bias, 1e-5)",
        "",
        "",
        "def attention(x, p):",
        f'    """Causal self-attention, {H} heads: position t sees positions ≤ t."""',
        "    B, T, E = x.shape",
        '    qkv = x @ p["self_attn.in_proj_weight"].T + p["self_attn.in_proj_bias"]',
        f"    q, k, v = (t.view(B, T, {H}, E // {H}).transpose(1, 2) for t in qkv.split(E, -1))",
        "    # softmax(q·kᵀ / √D, the positions after t masked to −∞) · v, in one fused kernel",
        "    # (the run's): scores (B, H, T, T), weights, then (B, H, T, D)",
        "    y = torch.ops.aten.scaled_dot_product_attention(q, k, v, None, 0.0, True)",
        "    y = y.transpose(1, 2).reshape(B, T, E)  # heads side by side",
        '    return y @ p["self_attn.out_proj.weight"].T + p["self_attn.out_proj.bias"]',
        "",
        "",
        "def forward(idx):",
        '    """Logits of the next character at every position: (B, T) -> (B, T, V)."""',
        "    x = wte[idx] + wpe[: idx.shape[1]]  # (B, T, E) token + position embeddings",
        "    for p in blocks:  # pre-LN: x + attn(LN(x)), then x + mlp(LN(x))",
        '        x = x + attention(layer_norm(x, p["norm1.weight"], p["norm1.bias"]), p)',
        '        h = layer_norm(x, p["norm2.weight"], p["norm2.bias"])',
        '        h = h @ p["linear1.weight"].T + p["linear1.bias"]  # (B, T, 4E)',
        "        h = torch.ops.aten.gelu(h)  # exact GELU h·Φ(h), one fused kernel (the run's)",
        '        x = x + (h @ p["linear2.weight"].T + p["linear2.bias"])  # residual last',
        "    return layer_norm(x, ln_f_weight, ln_f_bias) @ W.T + b  # (B, T, V)",
    ]


def nn_model(spec: Spec) -> list[str]:
    V, T, E, H, L = sizes(spec)
    args = [str(E), str(H), str(4 * E), "dropout=0.0", 'activation="gelu"']
    args += ["batch_first=True", "norm_first=True", "dtype=DTYPE"]
    return [
        "",
        "def transformer_block():",
        '    """GPT-2\'s pre-LN block: x + attn(LN(x)), then x + mlp(LN(x))."""',
        *call("return nn.TransformerEncoderLayer", args, indent="    "),
        "",
        "",
        "class CharTransformer(nn.Module):",
        '    """GPT-style: embeddings, pre-LN causal blocks, a final LayerNorm, a head."""',
        "",
        "    def __init__(self):",
        "        super().__init__()",
        f"        self.wte = nn.Embedding({V}, {E}, dtype=DTYPE)",
        f"        self.wpe = nn.Embedding({T}, {E}, dtype=DTYPE)",
        f"        self.blocks = nn.Sequential(*[transformer_block() for _ in range({L})])",
        f"        self.ln_f = nn.LayerNorm({E}, dtype=DTYPE)",
        f"        self.head = nn.Linear({E}, {V}, dtype=DTYPE)",
        "",
        "    def forward(self, idx):",
        "        T = idx.shape[1]",
        "        x = self.wte(idx) + self.wpe(torch.arange(T))  # (B, T, E)",
        "        mask = nn.Transformer.generate_square_subsequent_mask(T, dtype=DTYPE)",
        "        for block in self.blocks:",
        "            x = block(x, src_mask=mask, is_causal=True)",
        "        return self.head(self.ln_f(x))  # (B, T, V)",
        "",
        "",
        "# -- model: the layers draw their initial parameters from the seeded global RNG",
        "torch.manual_seed(SEED)",
        "model = CharTransformer()",
        "cross_entropy = nn.CrossEntropyLoss()",
        "",
        "",
        "def loss_fn(logits, y):",
        '    """Cross-entropy at every position: (B, T, V) logits, (B, T) next characters."""',
        "    return cross_entropy(logits.flatten(0, 1), y.flatten())",
        "",
        "",
    ]
