"""The census defaults benchmark's report (benchmarks/census_defaults.py)."""

from benchmarks import census_defaults


def test_report_pairs_the_seeds_and_counts_the_wins():
    results = {
        0: {"defaults": (0.95, 0.99, 40.0, "12"), "histgb": (0.94, 0.995, 6.0, None)},
        1: {"defaults": (0.93, 0.99, 50.0, "9"), "histgb": (0.94, 0.99, 7.0, None)},
    }
    text = census_defaults.report(results, [1.0, 2.0])
    assert "| defaults | 2 | 0.9400 ± 0.0100 |" in text
    assert "| 45 | 12/9 |" in text
    assert (
        "**income**: +0.0000 (level or above on 1/2 seeds; per seed +0.0100 -0.0100)"
        in text
    )
    assert "**marital**: -0.0025 (level or above on 1/2 seeds" in text
    assert "load average 1.0 to 2.0" in text


def test_epochs_of_a_bagged_model_are_its_members():
    class Member:
        def __init__(self, n):
            self.n_iter_ = n

    class Bagged:
        estimators_ = [Member(3), Member(5)]

    assert census_defaults._epochs(Bagged()) == "3+5"
    assert census_defaults._epochs(Member(7)) == "7"


def test_a_seed_merges_the_defaults_with_histgb(monkeypatch):
    import numpy as np
    import pandas as pd

    rng = np.random.RandomState(0)
    X = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    X["c"] = pd.Categorical(rng.choice(["x", "y"], size=400))
    Y = pd.DataFrame(
        {"income": (X.a + rng.normal(size=400) > 0), "marital": (X.b > 0)}
    ).astype(int)
    rows = np.arange(400)
    monkeypatch.setattr(census_defaults._census, "load", lambda *a: (X, Y, 0, 0))
    monkeypatch.setattr(
        census_defaults._census,
        "split",
        lambda *a: (rows[:250], rows[250:300], rows[300:]),
    )
    monkeypatch.setattr(census_defaults, "MultiTaskClassifier", _quick(census_defaults))
    out = census_defaults.fit_seed("unused", 0)
    merged = out[census_defaults.MERGED]
    assert set(out) == {"defaults", "histgb", census_defaults.MERGED}
    assert merged[2] == out["defaults"][2] + out["histgb"][2]  # CPU of both fits
    for t in range(2):  # a mean of two scorers: not below the worse one by much
        assert merged[t] >= min(out["defaults"][t], out["histgb"][t]) - 0.02


def _quick(module):
    full = module.MultiTaskClassifier

    def build(**params):
        return full(max_epochs=3, **params)

    return build
