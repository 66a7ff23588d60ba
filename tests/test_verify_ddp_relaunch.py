"""The DDP mapping row relaunches once after a rank killed by a signal, and only then."""

import pytest
import torch.multiprocessing as mp

from nnscratch.lab.verify import ddp


def killed(signal_name="SIGABRT"):
    return mp.ProcessExitedException("process 0 terminated", 0, 1, -6, signal_name)


def test_a_signal_death_is_relaunched_once_and_the_note_says_so(monkeypatch):
    launches = iter([killed(), ["rank results"]])

    def fake_run():
        outcome = next(launches)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(ddp, "run", fake_run)
    ranks, note = ddp.run_with_one_relaunch()
    assert ranks == ["rank results"]
    assert note == " (relaunched once: a rank ended with SIGABRT)"


def test_a_second_signal_death_is_a_failed_row(monkeypatch):
    def fake_run():
        raise killed()

    monkeypatch.setattr(ddp, "run", fake_run)
    (row,) = ddp.rows()
    assert not row.passed
    assert "SIGABRT" in row.compared or "terminated" in row.compared


def test_a_rank_that_exits_with_an_error_code_is_not_relaunched(monkeypatch):
    calls = []

    def fake_run():
        calls.append(1)
        raise mp.ProcessExitedException("process 1 terminated with exit code 1", 1, 2, 1)

    monkeypatch.setattr(ddp, "run", fake_run)
    with pytest.raises(mp.ProcessExitedException):
        ddp.run_with_one_relaunch()
    assert len(calls) == 1
