"""The scarce-task study (benchmarks/scarce_task_study.py)."""

import numpy as np
import pandas as pd
import pytest

from benchmarks import scarce_task_study


@pytest.fixture(scope="module")
def census_like():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    Y = pd.DataFrame(
        {
            "income": (X["a"] + rng.normal(size=300) > 0).astype(int),
            "marital": (X["b"] > 0).astype(int),
        }
    )
    return X, Y, np.arange(240), np.arange(240, 300), np.arange(0, 240, 4)


@pytest.mark.parametrize("name", scarce_task_study.CONTENDERS)
def test_each_contender_is_scored_on_the_validation_rows(census_like, name):
    X, Y, rows, val, keep = census_like
    income, marital, cpu, epochs = scarce_task_study.fit_contender(
        name, X, Y, rows, val, keep, seed=0
    )
    assert 0.5 < income <= 1 and cpu > 0 and epochs >= 1
    assert (marital is None) == (name == "single_task")


def _rows(gain, marital_gain=0.0):
    rows = []
    for seed in (0, 1, 2):
        for fraction, labels in ((0.1, 600), (0.02, 120)):
            for model, income, marital in (
                ("defaults", 0.90, 0.99),
                ("label_gate", 0.90 + gain, 0.99 + marital_gain),
                ("single_task", 0.89, None),
            ):
                rows.append(
                    {
                        "seed": seed,
                        "fraction": fraction,
                        "labels": labels,
                        "model": model,
                        "income": income,
                        "marital": marital,
                        "cpu_s": 1.0,
                    }
                )
    return rows


def test_the_rule_takes_a_gain_on_income_that_costs_marital_nothing():
    assert "pass" in scarce_task_study.summary(_rows(0.001)).splitlines()[-3]
    assert "fail" in scarce_task_study.summary(_rows(-0.001)).splitlines()[-3]
    costly = scarce_task_study.summary(_rows(0.001, marital_gain=-0.001))
    assert "fail" in costly.splitlines()[-3]
    assert "higher on 6 of 6" in costly.splitlines()[-2]  # defaults vs single task
