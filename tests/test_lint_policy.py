"""Non-negotiable 1: training code never imports torch.nn / torch.optim; the linter enforces it."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = "from torch import nn\nimport torch.optim\nimport torch.nn.functional as F\n"


def ruff_check_stdin(filename: str) -> subprocess.CompletedProcess:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    return subprocess.run(
        [ruff, "check", "--no-cache", "--select", "TID251", "--stdin-filename", filename, "-"],
        cwd=ROOT,
        input=PROBE,
        capture_output=True,
        text=True,
    )


def test_ruff_bans_torch_nn_and_optim_in_training_code():
    out = ruff_check_stdin("src/nnscratch/loop.py")
    assert out.returncode == 1
    assert out.stdout.count("TID251") == 3
    assert "`torch.nn` is banned" in out.stdout and "`torch.optim` is banned" in out.stdout


def test_ruff_allows_them_in_verify_and_tests():
    assert ruff_check_stdin("src/nnscratch/lab/verify/linear.py").returncode == 0
    assert ruff_check_stdin("tests/test_x.py").returncode == 0
