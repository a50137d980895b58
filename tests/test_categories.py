"""Codes of categorical columns (sk_mtl/_data/_categories.py)."""

import numpy as np
import pandas as pd
import pytest

from sk_mtl._data._categories import (
    MISSING,
    OTHER,
    categorical_positions,
    category_codes,
    fit_categories,
)


def test_kept_categories_are_the_frequent_ones_most_frequent_first():
    values = np.array(["b"] * 6 + ["a"] * 6 + ["c"] * 9 + ["rare"] + [None], object)
    kept = fit_categories(values, min_count=5, max_categories=255)
    assert kept.tolist() == ["c", "a", "b"]  # ties by their text
    assert fit_categories(values, 5, 2).tolist() == ["c", "a"]
    codes = category_codes(np.array(["a", "rare", "new", None, "c"], object), kept)
    np.testing.assert_array_equal(codes, [3, OTHER, OTHER, MISSING, 2])


def test_categorical_columns_by_dtype_name_index_or_mask():
    X = pd.DataFrame({"x": [1.0], "c": pd.Categorical(["a"]), "s": ["b"]})
    names = np.array(X.columns)
    assert categorical_positions("from_dtype", X, names) == [1, 2]
    assert categorical_positions(["s", 0], X, names) == [0, 2]
    assert categorical_positions([False, True, False], X, names) == [1]
    assert categorical_positions(None, X, names) == []
    with pytest.raises(ValueError, match="'z', which is not a column"):
        categorical_positions(["z"], X, names)
    with pytest.raises(ValueError, match="boolean mask of length 2"):
        categorical_positions([True, False], X, names)
    with pytest.raises(ValueError, match="X has no column names"):
        categorical_positions(["x"], X.to_numpy(), None)
