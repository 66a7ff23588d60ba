"""The data blocks of a CSV run: the file read exactly as `nnscratch.data.table.read_csv` and
`nnscratch.data.files.load_file` read it, and its missing cells handled where ``prepare`` does.

    read      the run's CsvFormat: --skip-rows (the file's first lines are not read, counted
              by "\\n" as `table._skip` does), --delimiter (the one the run detected or was
              given, recorded in its config), --no-header (columns x0, x1, ...), blank lines
              skipped, cells stripped
    numbers   float(cell), with --decimal , first replacing the comma by a point; a missing
              cell (empty, NA, N/A, NaN, ?, null in any case: `data.missing.TOKENS`) is NaN
    drop      --missing drop: the rows with a missing feature or target are left out before
              the split; --missing mean: the rows with a missing target
    impute    --missing mean, after the split and before standardizing: μ_j of the training
              rows' present values (float64, divided by their count), put in every part's gaps
              (`data.missing.MeanImputer`, ≙ ``SimpleImputer(strategy="mean")``)

Columns and classes are found through dicts (name → index), one lookup per name or row.
The delimiter, column names and class labels enter the script only through `source.literal`.
"""

from __future__ import annotations

from nnscratch.data.missing import TOKENS
from nnscratch.lab.export.source import call, literal
from nnscratch.lab.export.spec import Spec


def imports(spec: Spec) -> list[str]:
    return ["import csv", "import io"] if spec.config.skip_rows else ["import csv"]


def load(spec: Spec) -> list[str]:
    c = spec.config
    sep = [] if c.delimiter in (None, ",") else [f"delimiter={literal(c.delimiter)}"]
    lines = [
        "# -- data: the columns of the CSV file, read with the csv module as the run read it",
        "PATH = args.data  # --data, by default the run's file",
        f"FEATURES = {literal(spec.data['features'])}",
        'with open(PATH, newline="", encoding="utf-8-sig") as f:',
    ]
    if c.skip_rows:
        lines += [
            "    text = f.read()",
            f'text = text.split("\\n", {c.skip_rows})[-1]  # --skip-rows: lines not read at all',
            *call("reader = csv.reader", ['io.StringIO(text, newline="")', *sep]),
            "rows = [[cell.strip() for cell in row] for row in reader]",
        ]
    else:
        lines += [
            *call("    reader = csv.reader", ["f", *sep]),
            "    rows = [[cell.strip() for cell in row] for row in reader]",
        ]
    lines.append('rows = [row for row in rows if row not in ([], [""])]  # blank lines are skipped')
    if c.header:
        lines.append("columns, rows = rows[0], rows[1:]  # the header names the columns")
    else:
        lines.append('columns = [f"x{j}" for j in range(len(rows[0]))]  # no header row')
    lines += [
        "position = {name: j for j, name in enumerate(columns)}  # column name → index",
        "features = [position[name] for name in FEATURES]",
        f"target = position[{literal(spec.data['target'])}]",
        *_numbers(spec),
        *_drop(spec),
        "X = [[number(row[j]) for j in features] for row in rows]",
        "X = torch.tensor(X, dtype=torch.float64).to(DTYPE)  # (N, F)"
        + ("  NaN: a missing cell" if c.missing == "mean" else ""),
    ]
    if not spec.classification:
        return lines + [
            "y = [[number(row[target])] for row in rows]",
            "y = torch.tensor(y, dtype=torch.float64).to(DTYPE)  # (N, 1)",
        ]
    text = all(isinstance(v, str) for v in spec.data["classes"].raw)
    label = "row[target]" if text else "number(row[target])"
    return lines + [
        f"CLASSES = {literal(spec.data['classes'])}  # class k stands for CLASSES[k] (sorted)",
        "index = {label: k for k, label in enumerate(CLASSES)}  # label → class index",
        f"y = torch.tensor([index[{label}] for row in rows])  # (N,) class indices",
    ]


def _numbers(spec: Spec) -> list[str]:
    c = spec.config
    text = 'cell.replace(",", ".")' if c.decimal == "," else "cell"
    what = "a decimal comma (--decimal ,)" if c.decimal == "," else "a number"
    if c.missing == "error":  # the run refused any missing cell: every cell is a number
        return ["", "", f"def number(cell):  # {what}", f"    return float({text})", "", ""]
    tokens = sorted(TOKENS)
    return [
        f"MISSING = {literal(tokens)}  # a missing cell, in lower case",
        "",
        "",
        f"def number(cell):  # {what}; a missing cell is NaN",
        f'    return float("nan") if cell.lower() in MISSING else float({text})',
        "",
        "",
    ]


def _drop(spec: Spec) -> list[str]:
    c = spec.config
    if c.missing == "drop":
        return [
            "# --missing drop: the rows with a missing feature or target are left out",
            "wanted = [*features, target]",
            "rows = [row for row in rows if not any(row[j].lower() in MISSING for j in wanted)]",
        ]
    if c.missing == "mean":
        return [
            "# --missing mean: a row without a target is left out (nothing to learn from it)",
            "rows = [row for row in rows if row[target].lower() not in MISSING]",
        ]
    return []


def impute(spec: Spec) -> list[str]:
    """--missing mean: the training rows' μ in every gap (after the split, before standardizing)."""
    if spec.config.missing != "mean":
        return []
    from nnscratch.lab.export.data import parts

    lines = [
        "# -- fill missing cells with the training rows' mean (as SimpleImputer(strategy='mean'))",
        "present = ~torch.isnan(X_train)  # (N, F)",
        "fill = torch.where(present, X_train.double(), 0.0).sum(dim=0)",
        "fill = fill / present.sum(dim=0)  # (F,) μ over the present values only",
    ]
    for p in parts(spec)[::-1]:
        lines.append(f"X_{p} = torch.where(torch.isnan(X_{p}), fill.to(DTYPE), X_{p})")
    return lines
