"""The data block for NumPy files (`nnscratch.data.arrays`, `nnscratch.data.images`), read with
``numpy.load(..., allow_pickle=False)`` as nnscratch reads them: the same columns, the same
class numbering (the k-th smallest label, or the k-th in sorted text order)."""

from __future__ import annotations

from nnscratch.lab.export.source import literal
from nnscratch.lab.export.spec import Spec


def npy(spec: Spec) -> list[str]:
    """A .npy array (N, F + 1): columns named col0, col1, ... by position (`data.arrays`)."""
    columns = [int(name.removeprefix("col")) for name in spec.data["features"].raw]
    target = int(spec.data["target"].raw.removeprefix("col"))
    lines = [
        "# -- data: the columns of the .npy file (numpy.load, never with pickle)",
        "PATH = args.data  # --data, by default the run's file",
        "array = np.load(PATH, allow_pickle=False)  # (N, F + 1)",
        f"X = array[:, {columns}].astype(np.float64)  # (N, F) the feature columns",
        "X = torch.from_numpy(X).to(DTYPE)",
    ]
    if not spec.classification:
        y = f"torch.from_numpy(array[:, {target}].astype(np.float64))"
        return lines + [f"y = {y}.to(DTYPE).view(-1, 1)  # (N, 1)"]
    return lines + [
        f"CLASSES = {literal(spec.data['classes'])}  # class k stands for CLASSES[k]",
        "index = {label: k for k, label in enumerate(CLASSES)}  # label → class index",
        f"labels = array[:, {target}].tolist()",
        "y = torch.tensor([index[label] for label in labels])  # (N,) class indices",
    ]


def npz(spec: Spec) -> list[str]:
    """A .npz with arrays X and y: a table (columns x0, x1, ...) or images (rows of pixels)."""
    lines = [
        "# -- data: the arrays X and y of the .npz file (numpy.load, never pickle)",
        "PATH = args.data  # --data, by default the run's file",
        "with np.load(PATH, allow_pickle=False) as archive:",
        '    X_np, y_np = archive["X"], archive["y"].reshape(-1)',
    ]
    if spec.data.get("image_shape"):
        return lines + [
            "X = X_np.astype(np.float64).reshape(len(X_np), -1)  # (N, C·H·W) rows of pixels",
            "X = torch.from_numpy(X).to(DTYPE)",
            "classes, y = np.unique(y_np, return_inverse=True)  # class k: the k-th label",
            "y = torch.from_numpy(y.astype(np.int64).reshape(-1))  # (N,) class indices",
        ]
    columns = [int(name.removeprefix("x")) for name in spec.data["features"].raw]
    every = columns == list(range(len(columns)))
    lines.append("X = X_np" + ("" if every else f"[:, {columns}]") + ".astype(np.float64)")
    lines.append("X = torch.from_numpy(X).to(DTYPE)  # (N, F)")
    if not spec.classification:
        return lines + ["y = torch.from_numpy(y_np.astype(np.float64)).to(DTYPE).view(-1, 1)"]
    text = all(isinstance(c, str) for c in spec.data["classes"].raw)
    label = "str" if text else "float"
    return lines + [
        f"CLASSES = {literal(spec.data['classes'])}  # class k stands for CLASSES[k]",
        "index = {label: k for k, label in enumerate(CLASSES)}  # label → class index",
        f"y = torch.tensor([index[{label}(v)] for v in y_np])  # (N,) class indices",
    ]
