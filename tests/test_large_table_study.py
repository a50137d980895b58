"""The large-table study's rule and summary (no data folder)."""

import pytest

from benchmarks import large_table_study as study


def test_rule_passes_on_score_or_on_cost_only():
    # better on 2 tables, worse on none, mean +0.0016, 1.2x the CPU
    ok, mean, ratio, text = study.rule([0.003, 0.002, 0.0, 0.0, 0.003], [1.2] * 5)
    assert ok and mean == pytest.approx(0.0016) and "pass on score" in text
    # the same scores at 1.6x the CPU: too costly, and not cheaper
    assert not study.rule([0.003, 0.002, 0.0, 0.0, 0.003], [1.6] * 5)[0]
    # cheaper and at most 0.0005 worse on the mean
    ok, _, _, text = study.rule([-0.001, 0.0, 0.0, 0.0, -0.0015], [0.7] * 5)
    assert ok and "pass on cost" in text
    # cheaper but 0.0006 worse
    assert not study.rule([-0.003, 0.0, 0.0, 0.0, 0.0], [0.7] * 5)[0]
    # a better mean won on one table while worse on two: fails on score
    assert not study.rule([0.02, -0.003, -0.003, 0.0, 0.0], [1.0] * 5)[0]


def test_choose_takes_the_best_mean_or_the_cheaper_within_half_a_thousandth():
    verdicts = {
        "a": (True, 0.0000, 0.87, ""),
        "b": (True, -0.0004, 0.83, ""),
        "c": (True, -0.0008, 0.50, ""),  # cheapest but 0.0008 below the best
        "d": (False, 0.0100, 2.00, ""),
    }
    assert study.choose(verdicts) == "b"
    assert study.choose({"d": verdicts["d"]}) is None
    assert study.choose({"a": verdicts["a"], "c": verdicts["c"]}) == "a"


def _rows():
    rows = []
    for table, base in [("t1", 0.9), ("t2", 0.5)]:
        for seed in (0, 1):
            for model, gain, cpu in [
                ("histgb", -0.01, 0.5),
                *((m, 0.0, 4.0) for m in study.CONTENDERS),
            ]:
                gain = 0.003 if model == "ple" else gain
                rows.append(
                    dict(
                        table=table,
                        seed=seed,
                        model=model,
                        score=base + gain,
                        cpu_s=cpu * (1.2 if model == "ple" else 1.0),
                        fit_rows=18_000,
                    )
                )
    return rows


def test_summary_reports_differences_cpu_ratios_and_the_verdict():
    text = "\n".join(study.summary(_rows()))
    assert "| t1 | 18,000 | 0.8900 | 0.9000 | 0.9030 |" in text
    # ple: +0.003 on both tables at 1.2x the defaults' CPU, 9.6x HistGB's
    assert "| t1 | +0.0030 | +0.0000 |" in text
    assert "4.80 (9.6x)" in text and "4.00 (8.0x)" in text
    assert "- ple: mean +0.0030, better / tie / worse 2 / 0 / 0" in text
    assert "- verdict: ple" in text
