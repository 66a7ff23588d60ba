"""`nnscratch bench`: the output's structure (never its timings), the targets' verdicts, and that
the compared loops do the same work: from the same seed and data they reach the same parameters."""

import json
import math

import pytest
import torch

from nnscratch.lab.bench import cases, render, report, run_bench, targets
from nnscratch.lab.bench.timing import interleave
from nnscratch.run.cli import main


@pytest.fixture(scope="module")
def quick():
    before = torch.get_num_threads()
    result = run_bench(quick=True, threads=1, repeats=1)
    assert torch.get_num_threads() == before  # the thread count is restored
    return result


def test_quick_run_reports_every_case_with_its_ratio(quick):
    assert quick["settings"] == {"quick": True, "threads": 1, "repeats": 1}
    assert quick["machine"]["threads"] == 1 and quick["machine"]["torch"] == torch.__version__
    names = [c["name"] for c in quick["cases"]]
    assert [n.split(" ")[:3] for n in names[:4]] == [["linear", "full", "batch"]] * 4
    assert any(n.startswith("mini-batch") for n in names)
    assert any("SGD" in n for n in names) and any("Adam" in n for n in names)
    for case in quick["cases"]:
        assert case["unit"] in ("step", "epoch") and case["units_per_call"] >= 1
        assert all(s > 0 and math.isfinite(s) for s in case["seconds"].values())
        assert case["pairs"]
        for p in case["pairs"]:
            expected = case["seconds"][p["reference"]] / case["seconds"][p["manual"]]
            assert p["ratio"] == pytest.approx(expected)
    adam = next(c for c in quick["cases"] if "Adam" in c["name"])
    assert {"torch Adam (default)", "torch Adam foreach", "torch Adam fused"} <= set(
        adam["seconds"]
    )
    mini = next(c for c in quick["cases"] if c["name"].startswith("mini-batch"))
    assert {p["reference"] for p in mini["pairs"]} == {
        "nn/optim + indexing",
        "nn/optim + DataLoader",
    }


def test_quick_run_reports_bandwidth_time_to_target_and_memory(quick):
    assert quick["bandwidth"]["bytes_per_s"] > 0
    assert quick["bandwidth"]["bytes_per_s"] == max(quick["bandwidth"]["rates"].values())
    assert quick["bandwidth"]["threads"] == quick["settings"]["threads"]
    large = [c for c in quick["cases"] if "bandwidth" in c]
    assert {c["name"] for c in large} >= {
        "linear full batch 10,000×1",
        "linear full batch 1,000×100",
    }  # the quick run's "large" sizes
    for case in large:
        bw = case["bandwidth"]
        assert bw["bound_seconds"] == pytest.approx(
            bw["bytes_per_step"] / quick["bandwidth"]["bytes_per_s"]
        )
        assert set(bw["fraction"]) == set(case["seconds"])
        for name, fraction in bw["fraction"].items():
            assert fraction == pytest.approx(bw["bound_seconds"] / case["seconds"][name])
    ttt = quick["time_to_target"]
    assert set(ttt["runs"]) == {"nnscratch", "nn/optim + DataLoader"}
    assert all(r["epochs"] == 1 for r in ttt["runs"].values())  # quick: one epoch at most
    assert set(quick["memory"]["growth_bytes"]) == {"nnscratch", "nn/optim"}


def test_render_says_what_the_ratio_means_and_marks_each_target(quick):
    text = render(quick)
    assert "> 1 means nnscratch is faster" in text and "threads=1" in text
    assert "AMD" in text or quick["machine"]["cpu"] in text
    for case in quick["cases"]:
        assert case["name"] in text
    verdicts = targets(quick)
    assert len(verdicts) >= 5
    flat = " ".join(text.split())  # a long target name continues on the next line
    for t in verdicts:  # a smoke run's timings judge nothing
        assert f"not judged {' '.join(t['name'].split())}" in flat
    assert "PASS" not in text and "MISS" not in text
    full = render({**quick, "settings": {**quick["settings"], "quick": False}})
    flat = " ".join(full.split())
    for t in verdicts:
        assert f"{'PASS' if t['passed'] else 'MISS'} {' '.join(t['name'].split())}" in flat


@pytest.mark.parametrize("smoke", [True, False])
def test_the_report_fits_80_columns(quick, smoke):
    text = render({**quick, "settings": {**quick["settings"], "quick": smoke}})
    assert max(map(len, text.splitlines())) <= 80, max(text.splitlines(), key=len)


def fake_result(ratio, dataloader_ratio, rss_mb, fraction):
    return {
        "cases": [
            {
                "name": "a",
                "pairs": [
                    {"manual": "m", "reference": "r", "ratio": ratio, "target": 1.0,
                     "default_path": True},
                    {"manual": "m", "reference": "DataLoader", "ratio": dataloader_ratio,
                     "target": 5.0, "default_path": False},
                ],
                "bandwidth": {"fraction": {"m": fraction}},
            }
        ],
        "time_to_target": {"ratio": ratio},
        "memory": {"steps": 100_000, "growth_bytes": {"nnscratch": rss_mb * 2**20}},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((1.5, 6.0, 1.0, 0.7), [True, True, True, True, True]),
        ((1.2, 6.0, 1.0, 0.7), [True, False, True, True, True]),  # geometric mean < 1.4
        ((0.9, 4.0, 3.0, 0.5), [False, False, False, False, False]),
        ((1.5, 6.0, 1.0, 1.68), [True, True, True, True, False]),  # above 100 %: an error
    ],
)
def test_targets_pass_and_miss_at_their_thresholds(args, expected):
    verdicts = targets(fake_result(*args))
    assert [t["passed"] for t in verdicts] == expected
    assert verdicts[1]["value"] == pytest.approx(args[0])  # geometric mean of equal ratios


def test_a_compute_bound_case_shows_its_fraction_without_a_bandwidth_target():
    result = fake_result(1.5, 6.0, 1.0, 0.1)
    assert any("bandwidth bound" in t["name"] for t in targets(result))
    result["cases"][0]["bandwidth"]["target"] = False  # e.g. logistic regression's exp and log
    assert not any("bandwidth bound" in t["name"] for t in targets(result))
    assert [c.bandwidth_target for c in cases.manual_backward_cases([(50, 3, None)])] == [
        True,
        False,
    ]  # linear, logistic


@pytest.mark.parametrize(
    "make",
    [
        lambda: cases.full_batch(50, 3),
        lambda: cases.mini_batch(600, 4),
        lambda: cases.manual_backward_cases([(50, 3, 10.0)], ("linear",))[0],
        lambda: cases.manual_backward_cases([(50, 3, 10.0)], ("logistic",))[0],
    ],
    ids=["full batch", "mini-batch", "manual backward", "manual backward logistic"],
)
def test_compared_loops_reach_the_same_parameters(make):
    """Same seed, same data, same batches: every variant with a model ends where the others do."""
    case = make()
    assert len(case.models) >= 2
    for name in case.models:
        case.variants[name](2)
    manual, *references = (list(m.parameters()) for m in case.models.values())
    for reference in references:
        for a, b in zip(manual, reference, strict=True):
            torch.testing.assert_close(a.detach(), b.detach(), atol=1e-6, rtol=1e-5)
            assert not torch.equal(a.detach(), torch.zeros_like(a))


def test_mlp_case_pairs_hand_written_adam_with_all_torch_flavours():
    case = cases.mlp(300, 10, "adam")
    for run in case.variants.values():
        run(1)
    assert [(p.manual, p.reference) for p in case.pairs] == [
        ("nnscratch Adam", "torch Adam (default)"),
        ("nnscratch Adam", "torch Adam foreach"),
        ("nnscratch Adam", "torch Adam fused"),
        ("nnscratch Adam flat", "torch Adam fused"),
    ]
    assert case.pairs[0].default_path and case.pairs[-1].target == 1.0


def test_interleave_rotates_the_order_and_times_every_call():
    calls = []
    times = interleave({k: (lambda k=k: calls.append(k)) for k in "abc"}, repeats=3)
    assert calls == list("abcbcacab")
    assert all(len(t) == 3 and min(t) >= 0 for t in times.values())


@pytest.mark.parametrize(("kw", "bad"), [({"threads": 0}, "0"), ({"repeats": -1}, "-1")])
def test_run_bench_rejects_bad_settings(kw, bad):
    with pytest.raises(ValueError, match=bad):
        run_bench(quick=True, **kw)


def test_cli_json_and_bad_threads(capsys):
    assert main(["bench", "--quick", "--json", "--repeats", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"settings", "machine", "cases", "time_to_target", "memory", "targets"} <= set(out)
    assert all(t["passed"] in (True, False) for t in out["targets"])
    assert main(["bench", "--threads", "0"]) == 2
    assert "--threads" in capsys.readouterr().err


def test_a_fraction_above_100_percent_is_reported_as_a_measurement_error():
    from nnscratch.lab.bench.report import targets

    result = fake_result(1.5, 6.0, 1.0, 1.68)  # "reached 168 %" of a bound that is no bound
    row = targets(result)[-1]
    assert not row["passed"]
    assert "MEASUREMENT ERROR" in row["name"]


def test_streaming_bandwidth_is_the_best_kernel_and_counts_the_bytes_each_moves():
    from nnscratch.lab.bench import bandwidth

    bw = bandwidth.measure(4 * 2**20, threads=1, repeats=2)
    kinds = {name.split()[1] for name in bw.rates}
    assert kinds == {"copy", "scale", "add", "triad", "sum"}
    assert {name.split()[0] for name in bw.rates} == {"torch", "numpy"}  # numpy at 1 thread only
    assert bw.bytes_per_s == max(bw.rates.values())
    assert bw.method.startswith(max(bw.rates, key=bw.rates.get))
    assert bw.method.endswith("1 thread")
    two = bandwidth.measure(4 * 2**20, threads=2, repeats=1)
    assert all(name.startswith("torch") for name in two.rates)


def test_a_time_to_target_that_neither_run_reached_is_not_a_pass():
    runs = {name: {"seconds": 1.0, "epochs": 1, "reached": False}
            for name in ("nnscratch", "nn/optim + DataLoader")}  # fmt: skip
    ttt = {"target_accuracy": 0.97, "max_epochs": 1, "repeats": 1, "runs": runs, "ratio": 1.3}
    lines = "\n".join(report._time_to_target_lines(ttt))
    assert "PASS" not in lines and "NOT MEASURED" in lines
    result = fake_result(1.5, 6.0, 1.0, 0.7) | {"time_to_target": ttt}
    assert "digits time to target" not in dict(report.default_ratios(result))
