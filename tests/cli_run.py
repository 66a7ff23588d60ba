"""The command line run in-process, for the tests: ``run`` and the user-error contract."""

from __future__ import annotations

import contextlib
import io

from nnscratch.run.cli import main


def run(*argv):
    """(exit status, stdout, stderr) of ``nnscratch *argv``, in-process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def assert_user_error(argv, *fragments):
    """A user mistake: exit 2, one ``error:`` line holding every fragment, no traceback."""
    code, _, err = run(*argv)
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err
    return err
