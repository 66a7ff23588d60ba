"""Every public class and function carries its math and its arguments in its own docstring:
``help(nnscratch.optim.Adam)`` is the first thing a learner types."""

import importlib
import inspect
import re

import pytest

MODULES = [
    "nnscratch.optim",
    "nnscratch.optim.lr_scheduler",
    "nnscratch.losses",
    "nnscratch.functional",
    "nnscratch.layers",
    "nnscratch.models",
    "nnscratch.data",
]
OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop"]
SCHEDULERS = ["LRScheduler", "StepLR", "CosineAnnealingLR", "LinearLR"]


def public(module_name):
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    for name in names:
        obj = getattr(module, name)
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__.startswith(
            "nnscratch"
        ):
            yield f"{module_name}.{name}", obj


def arguments(obj):
    fn = obj.__init__ if inspect.isclass(obj) else obj
    skip = {"self", "args", "kwargs"}
    return [p for p in inspect.signature(fn).parameters if p not in skip]


PUBLIC = sorted({name: obj for m in MODULES for name, obj in public(m)}.items())


def test_the_modules_have_public_names():
    assert len(PUBLIC) >= 40


@pytest.mark.parametrize(("name", "obj"), PUBLIC, ids=[n for n, _ in PUBLIC])
def test_docstring_is_there_and_names_every_argument(name, obj):
    doc = obj.__doc__ or ""  # its own, not inherited
    assert doc.strip(), f"{name} has no docstring"
    missing = [a for a in arguments(obj) if not re.search(rf"\b{re.escape(a)}\b", doc)]
    assert not missing, f"{name}'s docstring does not mention {missing}"


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_docstring_is_the_algorithm_box_args_and_an_example(name):
    from nnscratch import optim

    doc = inspect.getdoc(getattr(optim, name))
    for part in ("input:", "for t = 1 to ... do", "return θ_t", "Args:", "Example:", ">>> "):
        assert part in doc, f"{name}: {part!r} missing"
    for line in doc.split("Args:")[1].split("Example:")[0].splitlines()[1:]:
        if line.startswith("    ") and ":" in line and not line.startswith("     "):
            arg = line.split(":")[0].strip()
            default = inspect.signature(getattr(optim, name)).parameters[arg].default
            if default is not inspect.Parameter.empty:
                assert "default" in line or "(default" in doc, f"{name}.{arg}: no default"


@pytest.mark.parametrize("name", SCHEDULERS)
def test_scheduler_docstring_has_args_and_an_example(name):
    from nnscratch.optim import lr_scheduler

    doc = inspect.getdoc(getattr(lr_scheduler, name))
    assert "Args:" in doc and "Example:" in doc and ">>> " in doc
