"""Solutions for `nnscratch practice`'s tests: correct ones written in different ways, and wrong
ones with one known mistake each (its id first), written as a learner would, not as the
checker's own variants."""

import textwrap

CORRECT = {
    "five-steps": [
        """
        def train_step(w, b, X, y, lr):
            for p in (w, b):
                if p.grad is not None:
                    p.grad.zero_()  # reset first, zeros in place
            pred = torch.matmul(X, w.t()) + b
            loss = ((pred - y) ** 2).sum() / X.shape[0]
            loss.backward()
            with torch.no_grad():
                w.sub_(lr * w.grad)
                b.sub_(lr * b.grad)
            return float(loss)
        """,
        """
        def train_step(w, b, X, y, lr):
            err = X @ w.T + b - y
            loss = (err * err).mean()
            loss.backward()
            with torch.no_grad():
                for p in (w, b):
                    p -= lr * p.grad
                    p.grad = None
            return loss.item()
        """,
    ],
    "linear-gradients": [
        """
        def gradients(w, b, X, y):
            N = len(X)
            r = torch.matmul(X, w.t()) + b - y
            return 2 * (X * r).sum(0, keepdim=True) / N, 2 * r.mean(0)
        """,
        """
        def gradients(w, b, X, y):
            dw = torch.zeros_like(w)
            db = torch.zeros_like(b)
            for i in range(X.shape[0]):
                r = (X[i] @ w[0] + b[0] - y[i, 0])
                dw[0] += 2 * r * X[i] / X.shape[0]
                db[0] += 2 * r / X.shape[0]
            return dw, db
        """,
    ],
    "softmax-cross-entropy": [
        """
        def cross_entropy(logits, targets):
            z = logits - logits.max(dim=1, keepdim=True).values
            logp = z - z.exp().sum(dim=1, keepdim=True).log()
            return -logp.gather(1, targets[:, None]).mean()

        def cross_entropy_grad(logits, targets):
            z = logits - logits.max(dim=1, keepdim=True).values
            p = z.exp() / z.exp().sum(dim=1, keepdim=True)
            onehot = torch.zeros_like(p)
            onehot[torch.arange(len(targets)), targets] = 1.0
            return (p - onehot) / len(targets)
        """,
        """
        def cross_entropy(logits, targets):
            total = 0.0
            for row, t in zip(logits, targets):
                total = total + torch.logsumexp(row, 0) - row[t]
            return total / len(targets)

        def cross_entropy_grad(logits, targets):
            grad = torch.softmax(logits, dim=1)
            grad = grad - torch.eye(logits.shape[1], dtype=logits.dtype)[targets]
            return grad / logits.shape[0]
        """,
    ],
}

STEP = """
def train_step(w, b, X, y, lr):
    loss = {loss}
    loss.backward()
    {update}
    {reset}
    return {ret}
"""
NO_GRAD = "with torch.no_grad():\n        w -= lr * w.grad\n        b -= lr * b.grad"
MSE = "((X @ w.T + b - y) ** 2).mean()"
RESET = "w.grad = None; b.grad = None"


def step(loss=MSE, update=NO_GRAD, reset=RESET, ret="loss.item()"):
    return STEP.format(loss=loss, update=update, reset=reset, ret=ret)


GRADIENTS = """
def gradients(w, b, X, y):
    N = X.shape[0]
    {body}
"""


def grads(body):
    return GRADIENTS.format(body=textwrap.indent(textwrap.dedent(body), "    ").strip())


CE_GRAD = """
def cross_entropy_grad(logits, targets):
    p = torch.softmax(logits, 1)
    p[torch.arange(len(targets)), targets] -= 1
    return p / len(targets)
"""
CE = """
def cross_entropy(logits, targets):
    return torch.logsumexp(logits, 1).sub(logits[torch.arange(len(targets)), targets]).mean()
"""

WRONG = [
    # five-steps
    ("five-steps", "not-written", "def train_step(w, b, X, y, lr):\n    raise NotImplementedError"),
    ("five-steps", "no-zero-grad", step(reset="pass")),
    ("five-steps", "no-zero-grad", step(reset="b.grad = None  # w is not reset")),
    ("five-steps", "update-without-no-grad", step(update="w -= lr * w.grad; b -= lr * b.grad")),
    (
        "five-steps",
        "rebind-parameter",
        step(update="w = w.detach() - lr * w.grad; b = b.detach() - lr * b.grad", reset="pass"),
    ),
    (
        "five-steps",
        "gradient-ascent",
        step(update="with torch.no_grad():\n        w.add_(lr * w.grad); b.add_(lr * b.grad)"),
    ),
    ("five-steps", "half-mse", step(loss="0.5 * ((X @ w.T + b - y) ** 2).mean()")),
    ("five-steps", "sum-not-mean", step(loss="((X @ w.T + b - y) ** 2).sum()")),
    ("five-steps", "returns-tensor", step(ret="loss")),
    (
        "five-steps",
        "reset-before-backward",
        """
def train_step(w, b, X, y, lr):
    w.grad.zero_(); b.grad.zero_()
    loss = ((X @ w.T + b - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= lr * w.grad; b -= lr * b.grad
    return loss.item()
""",
    ),
    # linear-gradients
    (
        "linear-gradients",
        "missing-factor-2",
        grads("r = X @ w.T + b - y\nreturn r.T @ X / N, r.mean(0)"),
    ),
    (
        "linear-gradients",
        "sum-not-mean",
        grads("r = X @ w.T + b - y\nreturn 2 * r.T @ X, 2 * r.sum(0)"),
    ),
    (
        "linear-gradients",
        "wrong-sign",
        grads("r = y - (X @ w.T + b)\nreturn 2 / N * (r.T @ X), 2 / N * r.sum(0)"),
    ),
    (
        "linear-gradients",
        "transposed",
        grads("r = X @ w.T + b - y\nreturn 2 / N * X.T @ r, 2 / N * r.sum(0)"),
    ),
    (
        "linear-gradients",
        "used-autograd",
        grads("loss = ((X @ w.T + b - y) ** 2).mean()\nloss.backward()\nreturn w.grad, b.grad"),
    ),
    (
        "linear-gradients",
        "changed-inputs",
        grads("y -= X @ w.T + b\ny *= -2 / N\nreturn y.T @ X, y.sum(0)"),
    ),
    # softmax-cross-entropy
    (
        "softmax-cross-entropy",
        "unstable-softmax",
        """
def cross_entropy(logits, targets):
    p = logits.exp() / logits.exp().sum(1, keepdim=True)
    return -p[torch.arange(len(targets)), targets].log().mean()
"""
        + CE_GRAD,
    ),
    (
        "softmax-cross-entropy",
        "wrong-axis",
        """
def cross_entropy(logits, targets):
    logp = torch.log_softmax(logits, dim=0)
    return -logp[torch.arange(len(targets)), targets].mean()

def cross_entropy_grad(logits, targets):
    p = torch.softmax(logits, dim=0)
    p[torch.arange(len(targets)), targets] -= 1
    return p / len(targets)
""",
    ),
    (
        "softmax-cross-entropy",
        "sum-not-mean",
        """
def cross_entropy(logits, targets):
    return (torch.logsumexp(logits, 1) - logits[torch.arange(len(targets)), targets]).sum()

def cross_entropy_grad(logits, targets):
    p = torch.softmax(logits, 1)
    p[torch.arange(len(targets)), targets] -= 1
    return p
""",
    ),
    (
        "softmax-cross-entropy",
        "forgot-one-hot",
        CE
        + "\ndef cross_entropy_grad(logits, targets):\n    return torch.softmax(logits, 1) / len(targets)\n",
    ),
    (
        "softmax-cross-entropy",
        "wrong-sign",
        CE
        + """
def cross_entropy_grad(logits, targets):
    onehot = torch.nn.functional.one_hot(targets, logits.shape[1]).to(logits.dtype)
    return (onehot - torch.softmax(logits, 1)) / len(targets)
""",
    ),
    (
        "softmax-cross-entropy",
        "index-columns",
        """
def cross_entropy(logits, targets):
    return (torch.logsumexp(logits, 1, keepdim=True) - logits[:, targets]).mean()
"""
        + CE_GRAD,
    ),
    (
        "softmax-cross-entropy",
        "changed-inputs",
        """
def cross_entropy(logits, targets):
    logits -= logits.max(1, keepdim=True).values
    return (logits.exp().sum(1).log() - logits[torch.arange(len(targets)), targets]).mean()
"""
        + CE_GRAD,
    ),
]


def source(code: str) -> str:
    """A whole solution file: torch imported, the code dedented."""
    return "import torch\n\n" + textwrap.dedent(code).strip() + "\n"


CORRECT["parameters"] = [
    """
    import math

    def make_parameters(in_features, out_features):
        k = 1 / math.sqrt(in_features)
        w = torch.empty(out_features, in_features).uniform_(-k, k).requires_grad_()
        b = torch.empty(out_features).uniform_(-k, k).requires_grad_()
        return w, b
    """,
    """
    def make_parameters(in_features, out_features):
        k = in_features ** -0.5
        w = torch.rand(out_features, in_features) * (2 * k) - k
        b = torch.rand(out_features) * (2 * k) - k
        w.requires_grad = True
        b.requires_grad = True
        return w, b
    """,
]
CORRECT["forward"] = [
    "def linear(x, w, b):\n    return torch.matmul(x, w.t()) + b",
    """
    def linear(x, w, b):
        out = torch.zeros(x.shape[0], w.shape[0], dtype=x.dtype)
        for j in range(w.shape[0]):
            out[:, j] = (x * w[j]).sum(1) + b[j]
        return out
    """,
]
CORRECT["mse"] = [
    "def mse_loss(pred, y):\n    d = pred - y.view_as(pred)\n    return (d * d).sum() / d.numel()",
    "def mse_loss(pred, y):\n    return ((pred.flatten() - y.flatten()) ** 2).mean()",
]

PARAMS = """
def make_parameters(in_features, out_features):
    k = {k}
    w = {w}
    b = {b}
    return {ret}
"""


def params(k="in_features ** -0.5", w=None, b=None, ret="w.requires_grad_(), b.requires_grad_()"):
    w = w or "(torch.rand(out_features, in_features) * 2 - 1) * k"
    b = b or "(torch.rand(out_features) * 2 - 1) * k"
    return PARAMS.format(k=k, w=w, b=b, ret=ret)


WRONG += [
    (
        "parameters",
        "transposed-shape",
        params(w="(torch.rand(in_features, out_features) * 2 - 1) * k"),
    ),
    (
        "parameters",
        "not-leaf",
        params(
            w="(torch.rand(out_features, in_features, requires_grad=True) * 2 - 1) * k",
            ret="w, b.requires_grad_()",
        ),
    ),
    ("parameters", "no-requires-grad", params(ret="w, b")),
    ("parameters", "fan-out-bound", params(k="1 / out_features ** 0.5")),
    ("parameters", "bound-one-over-fan-in", params(k="1 / in_features")),
    ("parameters", "zero-bias", params(b="torch.zeros(out_features)")),
    ("parameters", "normal-init", params(w="torch.randn(out_features, in_features)")),
    ("forward", "transposed", "def linear(x, w, b):\n    return x @ w + b"),
    ("forward", "missing-bias", "def linear(x, w, b):\n    return torch.mm(x, w.T)"),
    ("forward", "elementwise-product", "def linear(x, w, b):\n    return w * x + b"),
    ("forward", "bias-per-row", "def linear(x, w, b):\n    return x @ w.T + b.unsqueeze(1)"),
    ("forward", "changed-inputs", "def linear(x, w, b):\n    return x @ w.t_() + b"),
    ("mse", "broadcast-n-by-n", "def mse_loss(pred, y):\n    return ((pred - y) ** 2).mean()"),
    (
        "mse",
        "half-mse",
        "def mse_loss(pred, y):\n    return ((pred - y.reshape(pred.shape)) ** 2).mean() / 2",
    ),
    (
        "mse",
        "sum-not-mean",
        "def mse_loss(pred, y):\n    return ((pred - y.reshape(pred.shape)) ** 2).sum()",
    ),
    (
        "mse",
        "root-mse",
        "def mse_loss(pred, y):\n    return ((pred - y.view_as(pred)) ** 2).mean().sqrt()",
    ),
    (
        "mse",
        "square-of-mean",
        "def mse_loss(pred, y):\n    return (pred - y.view_as(pred)).mean() ** 2",
    ),
]

CORRECT["sgd-momentum"] = [
    """
    def sgd_momentum_step(p, grad, buf, lr, momentum):
        if buf is None:
            buf = torch.clone(grad).detach()
        else:
            buf.mul_(momentum).add_(grad)
        p.add_(buf, alpha=-lr)
        return buf
    """,
    """
    def sgd_momentum_step(p, grad, buf, lr, momentum):
        new = grad if buf is None else grad + momentum * buf
        p.sub_(lr * new)
        return new.clone()
    """,
]
CORRECT["adam"] = [
    """
    def adam_step(p, grad, m, v, t, lr, betas, eps):
        b1, b2 = betas
        m.mul_(b1).add_(grad, alpha=1 - b1)
        v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
        step = lr / (1 - b1 ** t)
        denom = (v.sqrt() / (1 - b2 ** t) ** 0.5).add_(eps)
        p.addcdiv_(m, denom, value=-step)
        return m, v
    """,
    """
    import math

    def adam_step(p, grad, m, v, t, lr, betas, eps):
        m = betas[0] * m + (1 - betas[0]) * grad
        v = betas[1] * v + (1 - betas[1]) * grad * grad
        mhat, vhat = m / (1 - math.pow(betas[0], t)), v / (1 - math.pow(betas[1], t))
        p -= lr * mhat / (torch.sqrt(vhat) + eps)
        return m, v
    """,
]

SGD = """
def sgd_momentum_step(p, grad, buf, lr, momentum):
    {body}
    return buf
"""


def sgd(body):
    return SGD.format(body=textwrap.indent(textwrap.dedent(body), "    ").strip())


ADAM = """
def adam_step(p, grad, m, v, t, lr, betas, eps):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * {g2}
    m_hat, v_hat = {hats}
    p -= lr * m_hat / {denominator}
    return m, v
"""
HATS = "m / (1 - b1 ** t), v / (1 - b2 ** t)"


def adam(g2="grad ** 2", hats=HATS, denominator="(v_hat.sqrt() + eps)"):
    return ADAM.format(g2=g2, hats=hats, denominator=denominator)


WRONG += [
    (
        "sgd-momentum",
        "lr-inside-buffer",
        sgd("buf = lr * grad if buf is None else momentum * buf + lr * grad\np -= buf"),
    ),
    (
        "sgd-momentum",
        "dampened-momentum",
        sgd(
            "buf = torch.zeros_like(p) if buf is None else buf\nbuf = momentum * buf + (1 - momentum) * grad\np -= lr * buf"
        ),
    ),
    ("sgd-momentum", "no-momentum", sgd("p -= lr * grad\nbuf = None")),
    (
        "sgd-momentum",
        "rebind-parameter",
        sgd("buf = grad if buf is None else momentum * buf + grad\np = p - lr * buf"),
    ),
    ("adam", "no-bias-correction", adam(hats="m, v")),
    ("adam", "eps-inside-sqrt", adam(denominator="torch.sqrt(v_hat + eps)")),
    ("adam", "step-off-by-one", adam(hats="m / (1 - b1 ** (t + 1)), v / (1 - b2 ** (t + 1))")),
    ("adam", "v-not-squared", adam(g2="grad")),
]

CORRECT["attention"] = [
    """
    import math

    def causal_self_attention(x, w_q, w_k, w_v):
        q, k, v = x @ w_q.T, x @ w_k.T, x @ w_v.T
        T = x.shape[1]
        att = (q @ k.transpose(1, 2)) / math.sqrt(q.shape[-1])
        mask = torch.tril(torch.ones(T, T)) == 0
        att = att.masked_fill(mask, float("-inf"))
        return torch.softmax(att, dim=-1) @ v
    """,
    """
    def causal_self_attention(x, w_q, w_k, w_v):
        q = torch.einsum("btc,dc->btd", x, w_q)
        k = torch.einsum("btc,dc->btd", x, w_k)
        v = torch.einsum("btc,dc->btd", x, w_v)
        B, T, d = q.shape
        y = torch.zeros(B, T, d, dtype=x.dtype)
        for i in range(T):
            s = torch.einsum("bd,bjd->bj", q[:, i], k[:, : i + 1]) / d ** 0.5
            y[:, i] = torch.einsum("bj,bjd->bd", s.softmax(-1), v[:, : i + 1])
        return y
    """,
]
CORRECT["batchnorm"] = [
    """
    def batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps):
        if training:
            mu = x.mean(dim=0)
            var = ((x - mu) ** 2).mean(dim=0)
            n = x.shape[0]
            with torch.no_grad():
                running_mean.copy_((1 - momentum) * running_mean + momentum * mu)
                running_var.copy_((1 - momentum) * running_var + momentum * var * n / (n - 1))
        else:
            mu, var = running_mean, running_var
        return (x - mu) / torch.sqrt(var + eps) * gamma + beta
    """,
    """
    def batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps):
        if not training:
            return gamma * (x - running_mean) * torch.rsqrt(running_var + eps) + beta
        mu, var = x.mean(0), x.var(0, correction=0)
        running_mean.lerp_(mu, momentum)
        running_var.lerp_(x.var(0, correction=1), momentum)
        return gamma * (x - mu) * torch.rsqrt(var + eps) + beta
    """,
]

ATTENTION = """
import math

def causal_self_attention(x, w_q, w_k, w_v):
    q, k, v = x @ w_q.T, x @ w_k.T, x @ w_v.T
    d, T = q.shape[-1], x.shape[1]
    scores = {scores}
    {mask}
    return torch.softmax(scores, dim={dim}) @ v
"""
SCALED = "q @ k.transpose(-2, -1) / math.sqrt(d)"
MASK = "scores = scores.masked_fill(torch.triu(torch.ones(T, T), diagonal={diagonal}).bool(), -math.inf)"


def attention(scores=SCALED, diagonal=1, dim=-1, mask=None):
    mask = MASK.format(diagonal=diagonal) if mask is None else mask
    return ATTENTION.format(scores=scores, mask=mask, dim=dim)


BATCHNORM = """
def batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps):
    if not training:
        {evaluation}
    n = x.shape[0]
    mean, var = x.mean(0), x.var(0, unbiased=False)
    {update}
    return gamma * (x - mean) / {root} + beta
"""
EVAL = "return gamma * (x - running_mean) / torch.sqrt(running_var + eps) + beta"
UPDATE = "running_mean.mul_(1 - momentum).add_(momentum * mean)\n    running_var.mul_(1 - momentum).add_(momentum * {kept})"


def batchnorm(evaluation=EVAL, update=None, root="torch.sqrt(var + eps)", kept="var * n / (n - 1)"):
    update = UPDATE.format(kept=kept) if update is None else update
    return BATCHNORM.format(evaluation=evaluation, update=update, root=root)


WRONG += [
    ("attention", "no-scale", attention(scores="q @ k.transpose(-2, -1)")),
    ("attention", "scale-by-d", attention(scores="q @ k.transpose(-2, -1) / d")),
    ("attention", "mask-hides-self", attention(diagonal=0)),
    ("attention", "mask-sees-next", attention(diagonal=2)),
    ("attention", "no-mask", attention(mask="pass")),
    ("attention", "softmax-wrong-axis", attention(dim=1)),
    ("batchnorm", "biased-running-var", batchnorm(kept="var")),
    (
        "batchnorm",
        "unbiased-normalisation",
        batchnorm(root="x.std(0)".join(["(", " ** 2 + eps) ** 0.5"])),
    ),
    (
        "batchnorm",
        "batch-stats-in-eval",
        batchnorm(
            evaluation="return gamma * (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + eps) + beta"
        ),
    ),
    (
        "batchnorm",
        "momentum-reversed",
        batchnorm(
            update="running_mean.mul_(momentum).add_((1 - momentum) * mean)\n    running_var.mul_(momentum).add_((1 - momentum) * var * n / (n - 1))"
        ),
    ),
    ("batchnorm", "eps-outside-sqrt", batchnorm(root="(var.sqrt() + eps)")),
    (
        "batchnorm",
        "running-stats-rebound",
        batchnorm(
            update="running_mean = 0.9 * running_mean + 0.1 * mean\n    running_var = 0.9 * running_var + 0.1 * var * n / (n - 1)"
        ),
    ),
]

CORRECT["minibatches"] = [
    """
    def epoch_batches(n, batch_size, generator, drop_last):
        torch.randint(-(2**63), 2**63 - 1, (), generator=generator)  # DataLoader's base seed
        perm = torch.randperm(n, generator=generator).tolist()
        torch.randperm(n, generator=generator)
        out = []
        for start in range(0, n, batch_size):
            batch = perm[start : start + batch_size]
            if len(batch) < batch_size and drop_last:
                break
            out.append(torch.tensor(batch))
        return out
    """,
    """
    def epoch_batches(n, batch_size, generator, drop_last):
        torch.empty((), dtype=torch.int64).random_(generator=generator)
        perm, _ = torch.randperm(n, generator=generator), torch.randperm(n, generator=generator)
        chunks = list(perm.split(batch_size))
        if drop_last and len(chunks[-1]) < batch_size:
            chunks.pop()
        return chunks
    """,
]
CORRECT["mlp-backward"] = [
    """
    def mlp_backward(x, targets, W1, b1, W2, b2):
        h = x @ W1.T + b1
        a = torch.tanh(h)
        z = a @ W2.T + b2
        N = x.shape[0]
        dz = torch.softmax(z, 1)
        dz[range(N), targets] -= 1
        dz /= N
        da = dz @ W2
        dh = (1 - torch.tanh(h) ** 2) * da
        return dict(dz=dz, dW2=dz.T @ a, db2=dz.sum(0), da=da, dh=dh, dW1=dh.T @ x, db1=dh.sum(0))
    """,
    """
    def mlp_backward(x, targets, W1, b1, W2, b2):
        N = len(targets)
        a = torch.tanh(torch.addmm(b1, x, W1.t()))
        z = torch.addmm(b2, a, W2.t())
        onehot = torch.zeros_like(z).scatter_(1, targets[:, None], 1.0)
        dz = (z.softmax(-1) - onehot) / N
        da = torch.mm(dz, W2)
        dh = da - da * a * a
        return {"dz": dz, "dW2": torch.einsum("nc,nh->ch", dz, a), "db2": dz.sum(0),
                "da": da, "dh": dh, "dW1": torch.einsum("nh,nd->hd", dh, x), "db1": dh.sum(0)}
    """,
]
CORRECT["conv2d"] = [
    """
    def conv2d(x, weight, bias, stride, padding):
        N, C, H, W = x.shape
        O, _, kh, kw = weight.shape
        x = torch.nn.functional.pad(x, (padding,) * 4)
        Ho = (H + 2 * padding - kh) // stride + 1
        Wo = (W + 2 * padding - kw) // stride + 1
        out = torch.empty(N, O, Ho, Wo, dtype=x.dtype)
        for i in range(Ho):
            for j in range(Wo):
                window = x[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
                out[:, :, i, j] = torch.einsum("nchw,ochw->no", window, weight) + bias
        return out
    """,
    """
    def conv2d(x, weight, bias, stride, padding):
        N = x.shape[0]
        O, C, kh, kw = weight.shape
        xp = torch.zeros(N, C, x.shape[2] + 2 * padding, x.shape[3] + 2 * padding, dtype=x.dtype)
        xp[:, :, padding : padding + x.shape[2], padding : padding + x.shape[3]] = x
        cols = torch.nn.functional.unfold(xp, (kh, kw), stride=stride)  # (N, C*kh*kw, L)
        Ho = (xp.shape[2] - kh) // stride + 1
        out = weight.view(O, -1) @ cols + bias.view(1, O, 1)
        return out.view(N, O, Ho, -1)
    """,
]

BATCHES = """
def epoch_batches(n, batch_size, generator, drop_last):
    {draws}
    {order}
    stop = {stop}
    return [order[i : i + batch_size] for i in range(0, stop, batch_size)]
"""
DRAWS = "torch.empty((), dtype=torch.int64).random_(generator=generator)"
ORDER = "order = torch.randperm(n, generator=generator); torch.randperm(n, generator=generator)"
STOP = "n - n % batch_size if drop_last else n"


def epoch(draws=DRAWS, order=ORDER, stop=STOP):
    return BATCHES.format(draws=draws, order=order, stop=stop)


MLP = """
def mlp_backward(x, targets, W1, b1, W2, b2):
    N = x.shape[0]
    h = x @ W1.T + b1
    a = h.tanh()
    z = a @ W2.T + b2
    dz = z.softmax(1)
    dz[torch.arange(N), targets] -= 1
    dz = dz / {n}
    da = dz @ W2
    dh = {dh}
    return {{"dz": dz, "dW2": {dW2}, "db2": {db2}, "da": da, "dh": dh, "dW1": {dW1}, "db1": {db1}}}
"""


def mlp(
    n="N", dh="da * (1 - a ** 2)", dW2="dz.T @ a", db2="dz.sum(0)", dW1="dh.T @ x", db1="dh.sum(0)"
):
    return MLP.format(n=n, dh=dh, dW2=dW2, db2=db2, dW1=dW1, db1=db1)


CONV = """
def conv2d(x, weight, bias, stride, padding):
    N, C, H, W = x.shape
    O, _, kh, kw = weight.shape
    xp = torch.zeros(N, C, H + 2 * {p}, W + 2 * {p}, dtype=x.dtype)
    xp[:, :, {p} : {p} + H, {p} : {p} + W] = x
    win = xp.unfold(2, kh, {s}).unfold(3, kw, {s})
    Ho, Wo = win.shape[2], win.shape[3]
    cols = win.permute({perm}).reshape(N, Ho * Wo, -1)
    out = cols @ {kernel}.reshape(O, -1).T {bias}
    return out.permute(0, 2, 1).reshape(N, O, Ho, Wo)
"""


def conv(p="padding", s="stride", perm="0, 2, 3, 1, 4, 5", kernel="weight", bias="+ bias"):
    return CONV.format(p=p, s=s, perm=perm, kernel=kernel, bias=bias)


WRONG += [
    ("minibatches", "no-shuffle", epoch(order="order = torch.arange(n)")),
    (
        "minibatches",
        "same-order-every-epoch",
        epoch(draws="generator = torch.Generator().manual_seed(0)"),
    ),
    ("minibatches", "not-dataloaders-draws", epoch(draws="pass")),
    ("minibatches", "drop-last-ignored", epoch(stop="n")),
    ("minibatches", "global-generator", epoch(draws="pass", order="order = torch.randperm(n)")),
    ("mlp-backward", "tanh-derivative-of-input", mlp(dh="da * (1 - h ** 2)")),
    ("mlp-backward", "skipped-activation", mlp(dh="da")),
    ("mlp-backward", "transposed", mlp(dW2="a.T @ dz")),
    (
        "mlp-backward",
        "divide-twice",
        mlp(dW2="dz.T @ a / N", db2="dz.mean(0)", dW1="dh.T @ x / N", db1="dh.mean(0)"),
    ),
    ("mlp-backward", "no-mean", mlp(n="1")),
    ("conv2d", "flipped-kernel", conv(kernel="weight.flip(-1, -2)")),
    ("conv2d", "padding-ignored", conv(p="0")),
    ("conv2d", "stride-ignored", conv(s="1")),
    ("conv2d", "im2col-order", conv(perm="0, 2, 3, 4, 5, 1")),
    ("conv2d", "missing-bias", conv(bias="")),
]
