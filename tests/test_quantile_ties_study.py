"""The tied-extremes study's switch, column profile and rule (no data folder)."""

import numpy as np
import pandas as pd

from benchmarks import quantile_ties_study as study


class _Table:
    name = "t"


def test_contenders_fit_the_defaults_with_each_choice(monkeypatch):
    seen = []

    def fit(params, X, Y, kinds, rows, val, seed):
        from sk_mtl._data import _quantiles

        seen.append(_quantiles.TIED_EXTREMES)
        return [0.5], 0.1, 3

    monkeypatch.setattr(study, "_fit_sk_mtl", fit)
    for choice in study.CONTENDERS.values():
        assert study.fit_with_ties(choice, None, None, None, None, None, 0)[0] == [0.5]
    assert seen == ["bound", "mid"]


def test_column_profile_counts_binary_count_and_tied_columns():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "flag": rng.integers(0, 2, 200).astype(float),
            "visits": rng.poisson(0.5, 200).astype(float),
            "x": rng.normal(size=200),
            "constant": np.ones(200),
            "color": pd.Categorical(rng.choice(["r", "g"], 200)),
        }
    )
    X.loc[::10, "x"] = np.nan
    profile = study.column_profile(X)
    assert {k: profile[k] for k in study.PROFILE[:-1]} == {
        "numeric": 4,
        "binary": 1,
        "count": 1,
        "tied": 2,
    }
    visits = X["visits"].to_numpy()
    top = visits == visits.max()
    at_tie = 200 + np.sum(visits == 0) + (top.sum() > 1) * top.sum()
    # Non-missing values of the non-constant numeric columns: 200 + 200 + 180.
    assert profile["tied_values"] == round(at_tie / 580, 4)


def _rows(table, defaults, mid, cpu=(1.0, 1.0)):
    profile = dict(fit_rows=100, numeric=2, binary=1, count=0, tied=1, tied_values=0.5)
    return [
        dict(table=table, seed=0, model=m, score=s, cpu_s=c, **profile)
        for m, s, c in zip(study.CONTENDERS, (defaults, mid), cpu)
    ]


def test_summary_applies_the_rule():
    rows = _rows("a", 0.80, 0.81) + _rows("b", 0.60, 0.60) + _rows("c", 0.7, 0.703)
    text = "\n".join(study.summary(rows))
    assert "| a | 100 | 2 | 1 | 0 | 1 | 50 % | 0.8000 | 0.8100 | +0.0100 |" in text
    assert "(b) better / tie / worse 2 / 1 / 0: pass" in text
    assert "verdict: adopt" in text
    text = "\n".join(study.summary(rows + _rows("d", 0.7, 0.694)))
    assert "(c) worst table -0.0060: FAIL" in text and "not adopted" in text
    slow = _rows("a", 0.8, 0.81, cpu=(1.0, 1.5))
    assert "(d) median CPU ratio mid_ties / defaults 1.50x: FAIL" in "\n".join(
        study.summary(slow)
    )
