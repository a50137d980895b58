"""The numeric scaling study's ways of reading X and its verdict (no data folder)."""

import numpy as np
import pandas as pd

from benchmarks import numeric_scaling_study as study
from sk_mtl import MultiTaskClassifier


def test_robust_clip_centres_scales_and_bounds():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(5, 2, 500), np.r_[np.zeros(499), 1e6]])
    Z = study.RobustClip().fit(X).transform(X)
    assert abs(np.median(Z[:, 0])) < 0.05 and 0.8 < Z[:, 0].std() < 1.2
    assert np.abs(Z).max() < 3  # the smooth clip bounds the outlier near 3


def test_as_given_turns_the_default_scaling_off():
    X = pd.DataFrame(np.random.default_rng(1).normal(size=(40, 3)) * 1e3)
    y = np.arange(40) % 2
    assert study._unscaled_input(X).scale is False
    idx = np.arange(40)
    given = study._fit_way(
        "as_given", X, pd.DataFrame({"y": y}), ["binary"], idx, idx, 0
    )
    scaled = study._fit_way(
        "quantile", X, pd.DataFrame({"y": y}), ["binary"], idx, idx, 0
    )
    assert given[0] != scaled[0]  # another model: X read as given
    assert MultiTaskClassifier().fit(X, y).input_.scale is True


def _rows(table, scores):
    return [
        dict(table=table, seed=0, model=m, score=s)
        for m, s in zip(["linear", *study.WAYS], scores)
    ]


def test_summary_counts_better_ties_and_worse_against_as_given():
    rows = _rows("a", [0.9, 0.80, 0.85, 0.80, 0.79])
    rows += _rows("b", [0.9, 0.70, 0.70, 0.71, 0.75])
    text = "\n".join(study.summary(rows))
    assert "| a | 0.9000 | 0.8000 | 0.8500 | 0.8000 | 0.7900 |" in text
    assert "| standard | +0.0250 | 1 / 1 / 0 |" in text
    assert "| robust_clip | +0.0050 | 1 / 1 / 0 |" in text
    assert "| quantile | +0.0200 | 1 / 0 / 1 |" in text
