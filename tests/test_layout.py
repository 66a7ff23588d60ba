"""The package shows its three parts, and the run's modules import one another without a circle."""

import ast
import pathlib
import subprocess
import sys

import pytest

import nnscratch

SRC = pathlib.Path(nnscratch.__file__).parent


def _imports(path: pathlib.Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


@pytest.mark.slow
def test_data_preparation_does_not_import_the_training_job():
    code = "import sys, nnscratch.run.prepare; print('nnscratch.run.train' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_only_the_cli_and_the_lab_import_the_training_job():
    """summary, plots, checkpoint, lr_check, ... take `Prepared` from run/prepare.py: no circle."""
    importers = {
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if "nnscratch.run.train" in _imports(p) and p.name != "train.py"
    }
    assert all(p.startswith(("run/cli/", "lab/")) for p in importers), importers


def test_train_names_one_thing_in_the_run_layer():
    from nnscratch.run import train

    assert callable(train.train) and not hasattr(train, "run")
    assert not {"prepare", "load_dataset", "resolve_device", "check_part_sizes"} & set(vars(train))


def test_the_cli_only_prints_the_run_writes_its_plots(tmp_path):
    """The run folder has one writer: `train` writes summary.json and the plots; the CLI only
    prints the paths it gets back."""
    from nnscratch.run.config import TrainConfig
    from nnscratch.run.prepare import prepare
    from nnscratch.run.train import train

    cli = SRC / "run" / "cli"
    assert not [p for p in cli.rglob("*.py") if "nnscratch.run.plots" in _imports(p)]
    result = train(prepare(TrainConfig(epochs=3, n_samples=20)), out=tmp_path / "run")
    assert [p.name for p in result.plots] == ["loss.png", "fit.png"]
    assert all(p.parent == tmp_path / "run" and p.stat().st_size > 0 for p in result.plots)
    assert train(prepare(TrainConfig(epochs=2, n_samples=20))).plots == []


def test_no_module_reaches_into_another_modules_private_names():
    """A helper two modules use is public (``losses.check_reduction``, not ``_check_reduction``)."""
    offenders = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text())
        aliases = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nnscratch"):
                aliases.update(a.asname or a.name for a in node.names)
            elif isinstance(node, ast.Import):
                aliases.update(a.asname for a in node.names if a.name.startswith("nnscratch"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                offenders.append(
                    f"{path.relative_to(SRC)}:{node.lineno} {node.value.id}.{node.attr}"
                )
    assert not offenders, offenders


def test_commands_verify_rows_and_pitfalls_register_the_same_way():
    """Each is a module in its package, found by itself (pkgutil), ordered by its ``ORDER``."""
    from nnscratch.lab import pitfalls, verify

    tree = ast.parse((SRC / "lab" / "pitfalls" / "__init__.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    for module in pitfalls._modules():  # none listed by hand
        assert not {module.__name__, module.__name__.rsplit(".", 1)[1]} & imported
    assert [m.PITFALL.name for m in pitfalls._modules()] == list(pitfalls.PITFALLS)
    for found in (pitfalls._modules(), verify._modules()):
        orders = [getattr(m, "ORDER", 100) for m in found]
        assert orders == sorted(orders)
    assert "pkgutil.iter_modules" in (SRC / "run" / "cli" / "__init__.py").read_text()


def test_in_memory_and_on_disk_rows_are_one_interface():
    """Only data/rows.py asks whether X is a tensor or `MappedRows`; everything else calls it."""
    asking = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "isinstance"
                and "MappedRows" in ast.unparse(node.args[1])
            ):
                asking.append(str(path.relative_to(SRC)))
    assert set(asking) <= {"data/rows.py", "data/mapped.py"}, asking


def _package_map() -> dict[str, str]:
    """The map in nnscratch's docstring: {first column ('layers/', 'loop.py'): the rest}."""
    entries: dict[str, str] = {}
    last = None
    for line in nnscratch.__doc__.splitlines():
        words = line.split()
        if line.startswith("    ") and words and words[0].endswith(("/", ".py")):
            last = words[0]
            entries[last] = line.strip()[len(last) :]
        elif line.startswith(" " * 16) and last is not None:  # a continued description
            entries[last] += " " + line.strip()
        else:
            last = None
    return entries


def test_the_package_map_names_what_is_there_and_all_of_it():
    """Every module and folder the docstring's map names exists (the folders it names in an
    entry's description, inside that entry), and every top-level module and subpackage is named
    (issue 18: it listed models.py, explain/, ... long after they moved)."""
    entries = _package_map()
    there = {p.name + ("/" if p.is_dir() else "") for p in SRC.iterdir()}
    there = {n for n in there if n.endswith(".py") or (SRC / n / "__init__.py").exists()}
    there.discard("__init__.py")
    assert set(entries) == there, (set(entries) - there, there - set(entries))
    for name, text in entries.items():
        inner = {w.strip(",:;") for w in text.split() if w.strip(",:;").endswith(("/", ".py"))}
        for child in inner:
            assert (SRC / name / child).exists(), f"{name} names {child}, not in {SRC / name}"
