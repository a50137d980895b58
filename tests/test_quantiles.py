"""QuantileScaling: scikit-learn's quantile-to-normal rule, vectorised."""

import numpy as np
import pytest
from sklearn.preprocessing import QuantileTransformer

from sk_mtl._data import _quantiles
from sk_mtl._data._quantiles import (
    QuantileScaling,
    check_quantiles,
    fit_quantile_transformer,
)


def awkward_columns(n, rng):
    """Normal, binary, constant, few-valued and mostly-zero heavy-tailed columns."""
    return np.column_stack(
        [
            rng.normal(size=n),
            rng.integers(0, 2, n),
            np.full(n, 3.0),
            rng.integers(0, 5, n),
            rng.exponential(size=n) * 1e4 * (rng.random(n) < 0.2),
        ]
    ).astype(float)


@pytest.mark.parametrize("n", [1, 7, 300, 2500])
def test_transform_is_sklearns_on_ties_constants_and_unseen_values(n):
    rng = np.random.default_rng(n)
    X = awkward_columns(n, rng)
    sklearn_qt = fit_quantile_transformer(X)
    assert isinstance(sklearn_qt, QuantileTransformer)
    scaling = QuantileScaling(sklearn_qt.quantiles_)
    # Training rows, values far outside their range and values just off them.
    new = np.vstack([X, rng.normal(size=(100, 5)) * 1e5, X[:3] + 1e-9, X[:3] - 1e-3])
    got = scaling.transform(new)
    assert got.dtype == np.float32 and got.shape == new.shape
    np.testing.assert_allclose(got, sklearn_qt.transform(new), atol=1e-6)
    assert np.abs(got).max() < 5.3  # bounded: about +-5.2 at the extremes


def test_blocks_give_the_same_rows_as_one_pass(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 4))
    scaling = QuantileScaling.fit(X)
    whole = scaling.transform(X)
    monkeypatch.setattr(_quantiles, "_CHUNK_ROWS", 64)
    np.testing.assert_array_equal(scaling.transform(X), whole)
    # Quantile-normal: each column's median near 0 and spread near 1.
    assert np.abs(np.median(whole, axis=0)).max() < 0.05
    assert np.all(np.abs(whole.std(axis=0) - 1) < 0.1)


def test_float32_input_is_not_changed_in_place():
    X = np.random.default_rng(1).normal(size=(50, 3)).astype(np.float32)
    before = X.copy()
    QuantileScaling.fit(X).transform(X)
    np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize(
    "quantiles, match",
    [
        (np.zeros((10, 3), dtype=np.float32), "float64"),
        (np.zeros((10, 2)), r"shape \(10, 2\), expected \(n_quantiles, 3\)"),
        (np.zeros(10), "shape"),
        (np.zeros((1001, 3)), "1001 quantiles"),
        (np.zeros((0, 3)), "0 quantiles"),
        (np.full((10, 3), np.nan), "finite and non-decreasing"),
        (np.linspace(1, 0, 30).reshape(10, 3), "non-decreasing"),
        ([[0.0, 1.0, 2.0]], "float64 array"),
    ],
)
def test_quantiles_read_from_a_file_are_checked(quantiles, match):
    with pytest.raises(ValueError, match=match):
        check_quantiles(quantiles, 3)


def test_checked_quantiles_pass_unchanged():
    q = np.sort(np.random.default_rng(2).normal(size=(20, 3)), axis=0)
    assert check_quantiles(q, 3) is q


def test_pickle_keeps_only_the_quantiles():
    import pickle

    X = np.random.default_rng(3).normal(size=(2000, 40))
    scaling = QuantileScaling.fit(X)
    data = pickle.dumps(scaling)
    assert len(data) < 1.1 * scaling.quantiles.nbytes  # not the derived tables
    back = pickle.loads(data)
    np.testing.assert_array_equal(back.transform(X[:50]), scaling.transform(X[:50]))
    np.testing.assert_array_equal(back.quantiles, scaling.quantiles)


def test_transform_writes_into_columns_of_a_wider_array():
    X = np.random.default_rng(2).normal(size=(20, 3))
    scaling = QuantileScaling.fit(X)
    wide = np.full((20, 5), 7.0, dtype=np.float32)
    scaling.transform(X, out=wide[:, 1:4])
    np.testing.assert_array_equal(wide[:, 1:4], scaling.transform(X))
    np.testing.assert_array_equal(wide[:, [0, 4]], 7.0)
