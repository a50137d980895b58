"""QuantileScaling: scikit-learn's quantile-to-normal rule, vectorised."""

import numpy as np
import pytest
from scipy.special import ndtri
from sklearn.preprocessing import QuantileTransformer

from sk_mtl._data import _quantiles
from sk_mtl._data._quantiles import (
    QuantileScaling,
    check_quantiles,
    check_tied_extremes,
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


def _column_share(column, value):
    return float(np.mean(column == value))


def test_mid_maps_a_binary_columns_values_to_the_middle_of_their_runs():
    rng = np.random.default_rng(4)
    flags = (rng.random(400) < 0.3).astype(float)
    q = fit_quantile_transformer(flags[:, None]).quantiles_
    bound = QuantileScaling(q).transform(flags[:, None])[:, 0]
    np.testing.assert_allclose(np.abs(bound), _quantiles._CLIP, rtol=1e-6)
    mid = QuantileScaling(q, "mid")
    got = mid.transform(np.array([[-1.0], [0.0], [1.0], [2.0]]))[:, 0]
    # Phi^-1(p / 2) and Phi^-1(1 - p / 2), p the value's share of the rows as
    # the quantiles hold it: to a quantile (1 / 399 here).
    p0, p1 = np.mean(flags == 0), np.mean(flags == 1)
    np.testing.assert_allclose(got[1:3], ndtri([p0 / 2, 1 - p1 / 2]), atol=0.02)
    assert got[0] == got[1] and got[3] == got[2]  # beyond: as the extreme
    assert -1 < got[1] < 0 < got[2] < 1.5  # not about -5.2 and 5.2


def test_mid_maps_the_zeros_of_a_count_column_and_leaves_the_rest():
    rng = np.random.default_rng(5)
    counts = rng.poisson(0.7, 3000).astype(float)
    counts[0] = 40.0  # a maximum held by one row: not tied
    X = np.column_stack([counts, rng.normal(size=3000)])
    q = fit_quantile_transformer(X).quantiles_
    bound, mid = QuantileScaling(q).transform(X), QuantileScaling(q, "mid").transform(X)
    zeros = counts == 0
    expected = ndtri(_column_share(counts, 0) / 2)
    np.testing.assert_allclose(mid[zeros, 0], expected, atol=0.01)
    assert (bound[zeros, 0] < -5.1).all()
    # Interior ties, the untied maximum and the untied column: unchanged.
    np.testing.assert_array_equal(mid[~zeros], bound[~zeros])
    assert mid[0, 0] > 5.1
    order = np.argsort(counts, kind="stable")
    assert (np.diff(mid[order, 0]) >= 0).all()  # the order of the values kept


@pytest.mark.parametrize("n", [1, 7, 300, 2500])
def test_mid_equals_bound_where_no_extreme_is_tied(n):
    rng = np.random.default_rng(n)
    X = np.column_stack([rng.normal(size=n), rng.exponential(size=n)])
    q = fit_quantile_transformer(X).quantiles_
    new = np.vstack([X, rng.normal(size=(50, 2)) * 1e3, X[:3] + 1e-9, X[:3] - 1e-3])
    np.testing.assert_array_equal(
        QuantileScaling(q, "mid").transform(new), QuantileScaling(q).transform(new)
    )


def test_mid_rows_one_at_a_time_equal_the_batch():
    rng = np.random.default_rng(6)
    X = awkward_columns(500, rng)
    scaling = QuantileScaling.fit(X, "mid")
    new = np.vstack([X[:40], rng.normal(size=(10, 5)) * 1e4])
    batch = scaling.transform(new)
    rows = np.vstack([scaling.transform(row[None]) for row in new])
    np.testing.assert_array_equal(rows, batch)
    np.testing.assert_array_equal(batch[:, 2], 0.0)  # a constant column: its middle


def test_fit_reads_the_default_for_new_inputs(monkeypatch):
    X = np.random.default_rng(7).integers(0, 3, (60, 2)).astype(float)
    assert QuantileScaling.fit(X).tied_extremes == _quantiles.TIED_EXTREMES
    for choice in ("bound", "mid"):
        monkeypatch.setattr(_quantiles, "TIED_EXTREMES", choice)
        assert QuantileScaling.fit(X).tied_extremes == choice


def test_pickle_keeps_the_choice_and_an_old_pickle_reads_bound():
    import pickle

    X = np.random.default_rng(8).integers(0, 2, (100, 3)).astype(float)
    mid = QuantileScaling.fit(X, "mid")
    back = pickle.loads(pickle.dumps(mid))
    assert back.tied_extremes == "mid"
    np.testing.assert_array_equal(back.transform(X), mid.transform(X))
    old = QuantileScaling.__new__(QuantileScaling)
    old.__setstate__({"quantiles": mid.quantiles})  # pickled before the choice
    assert old.tied_extremes == "bound"
    np.testing.assert_array_equal(
        old.transform(X), QuantileScaling.fit(X, "bound").transform(X)
    )


@pytest.mark.parametrize("value", ["middle", None, 1, ["mid"]])
def test_an_unknown_choice_is_refused(value):
    with pytest.raises(ValueError, match="tied_extremes must be one of"):
        check_tied_extremes(value)
    with pytest.raises(ValueError, match="tied_extremes"):
        QuantileScaling(np.zeros((3, 1)), value)
