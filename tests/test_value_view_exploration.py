"""The value view's exploration (benchmarks/value_view_exploration.py)."""

import numpy as np
import pandas as pd

from benchmarks import value_view_exploration as exploration


def test_each_contender_copies_the_columns_it_picks_as_categories():
    X = pd.DataFrame(
        {
            "gain": [0.0] * 6 + [5.0, 5.0, np.nan, 7.0],
            "age": np.arange(10.0),
            "job": pd.Categorical(list("ababababab")),
        }
    )
    spike, picked = exploration.with_values(X, np.arange(10), exploration.picks_spike)
    assert picked == ["gain"]
    assert isinstance(spike["gain__value"].dtype, pd.CategoricalDtype)
    assert spike["gain__value"].isna().tolist() == X["gain"].isna().tolist()
    _, picked = exploration.with_values(X, np.arange(10), exploration.picks_v255)
    assert picked == ["gain", "age"]  # never the categorical column


def test_the_report_marks_a_contender_that_picked_nothing():
    rows = [
        dict(table="t", seed=0, model="defaults", picked=[], score=0.7),
        dict(table="t", seed=0, model="v255", picked=["a", "b"], score=0.69),
    ]
    (line,) = exploration.summary(rows)[2:]
    assert line == "| t | 0.7000 | -0.0100 | = | v255 2 |"
