"""NumericInput: numeric X validated, remembered and (dense, by default) scaled."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.datasets import make_classification

from sk_mtl import MultiTaskClassifier, TransferClassifier
from sk_mtl._data._choice import make_input
from sk_mtl._data._inputs import NumericInput

FAST = dict(
    max_epochs=30, hidden_units=(16,), batch_size=32, lr=1e-2, n_bags=1, random_state=0
)


def wide_scales(n=300, seed=0):
    """Informative columns whose units differ by up to 1e6."""
    X, y = make_classification(
        n, n_features=5, n_informative=4, n_redundant=0, random_state=seed
    )
    return X * np.array([1e-3, 1.0, 1e2, 1e4, 1e6]), y


def test_default_model_reads_dense_columns_on_one_scale():
    X, y = wide_scales()
    clf = MultiTaskClassifier(**FAST).fit(X, y)
    assert isinstance(clf.input_, NumericInput) and clf.input_.scaling_ is not None
    seen = clf.input_.transform(X, clf)
    assert seen.dtype == np.float32 and np.abs(seen).max() < 5.3
    assert np.abs(np.median(seen, axis=0)).max() < 0.05
    # Units do not matter: a positive affine change of every column gives the
    # same model, and so the same probabilities.
    shifted = X * np.array([7.0, 0.01, 3.0, 1e-5, 2.0]) + 40.0
    again = MultiTaskClassifier(**FAST).fit(shifted, y)
    np.testing.assert_allclose(
        again.predict_proba(shifted), clf.predict_proba(X), atol=1e-4
    )
    assert clf.score(X, y) > 0.9  # a scaled linear model: 0.72


def test_sparse_x_and_pretrained_modules_read_x_as_given():
    X, y = wide_scales(100)
    assert make_input(sp.csr_matrix(X)).scale is False
    clf = MultiTaskClassifier(**FAST).fit(sp.csr_matrix(X), y)
    assert clf.input_.scaling_ is None
    # A pretrained torch module was trained on X's own numbers.
    tc = TransferClassifier(torch.nn.Linear(5, 4), max_epochs=2).fit(X, y)
    assert tc.input_.scaling_ is None
    np.testing.assert_array_equal(tc.input_.transform(X, tc), X.astype(np.float32))


def test_config_round_trip_keeps_the_scaling_and_old_configs_read_x_as_given():
    X, y = wide_scales(80)
    inp = NumericInput(scale=True)
    owner = MultiTaskClassifier()
    fitted = inp.fit(X, owner)
    config = inp.to_config()
    assert config["quantiles"].shape == (80, 5)
    back = NumericInput.from_config(config)
    np.testing.assert_array_equal(back.transform(X, owner), fitted)
    # A configuration without quantiles (written before inputs were scaled).
    old = NumericInput.from_config(
        {k: v for k, v in config.items() if k != "quantiles"}
    )
    assert old.scaling_ is None
    np.testing.assert_array_equal(old.transform(X, owner), X.astype(np.float32))


def test_input_unpickled_without_scaling_reads_x_as_given():
    X, y = wide_scales(60)
    inp = NumericInput()
    owner = MultiTaskClassifier()
    inp.fit(X, owner)
    del inp.scaling_  # as an input pickled by an older version
    np.testing.assert_array_equal(inp.transform(X, owner), X.astype(np.float32))


def _count_validate_data(monkeypatch):
    """A list that gains an item at each call of validate_data by the inputs."""
    from sk_mtl._data import _inputs

    calls = []
    full = _inputs.validate_data

    def counted(*args, **kwargs):
        calls.append(1)
        return full(*args, **kwargs)

    monkeypatch.setattr(_inputs, "validate_data", counted)
    return calls


def test_plain_float_rows_skip_validate_data_and_keep_its_errors(monkeypatch):
    X, y = wide_scales(60)
    clf = MultiTaskClassifier(**FAST).fit(X, y)
    calls = _count_validate_data(monkeypatch)
    expected = clf.predict_proba(X[:1].tolist())  # a list: the full checks
    assert len(calls) == 1
    np.testing.assert_array_equal(clf.predict_proba(X[:1]), expected)
    assert len(calls) == 1  # plain float rows: no second look
    bad = X[:2].copy()
    bad[1, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(bad)
    with pytest.raises(ValueError, match="5 features"):
        clf.predict(X[:2, :4])
    huge = X[:2].copy()
    huge[0, 2] = 1e300
    with pytest.raises(ValueError, match="float32 range"):
        clf.predict(huge)
    framed = MultiTaskClassifier(**FAST).fit(pd.DataFrame(X, columns=list("abcde")), y)
    with pytest.warns(UserWarning, match="feature names"):
        framed.predict(X[:2])


def test_plain_numeric_frames_skip_validate_data_and_keep_its_errors(monkeypatch):
    X, y = wide_scales(60)
    frame = pd.DataFrame(X, columns=list("abcde"))
    frame["e"] = np.arange(60)  # an int column among the floats
    clf = MultiTaskClassifier(**FAST).fit(frame, y)
    calls = _count_validate_data(monkeypatch)
    rows = frame.iloc[:3]
    fast = clf.predict_proba(rows)
    assert calls == []  # the fitted names, numbers, finite: no validate_data
    slow = clf.predict_proba(rows.astype(object))  # object columns: the full checks
    assert calls == [1]
    np.testing.assert_array_equal(fast, slow)
    bad = frame.iloc[:2].copy()
    bad.iloc[1, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(bad)
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(rows[list("edcba")])
    huge = frame.iloc[:2].copy()
    huge.iloc[0, 2] = 1e300
    with pytest.raises(ValueError, match="float32 range"):
        clf.predict(huge)


def _smooth_clip(X):
    """The linear view, written out: robust z, then z / sqrt(1 + (z / 3)^2)."""
    q1, median, q3 = np.quantile(X, [0.25, 0.5, 0.75], axis=0)
    z = (X - median) / ((q3 - q1) / 1.349)
    return z / np.sqrt(1 + (z / 3) ** 2)


def test_scaled_rows_hold_the_quantile_view_then_the_linear_view():
    X, y = wide_scales(120)
    owner = MultiTaskClassifier()
    both = NumericInput(scale=True).fit(X, owner)
    alone = NumericInput(scale=True, linear_view=False).fit(X, owner)
    assert both.shape == (120, 10) and both.dtype == np.float32
    np.testing.assert_array_equal(both[:, :5], alone)
    np.testing.assert_allclose(both[:, 5:], _smooth_clip(X), rtol=1e-5, atol=1e-6)
    assert np.abs(both[:, 5:]).max() < 3  # outliers bounded near 3
    clf = MultiTaskClassifier(**{**FAST, "max_epochs": 2}).fit(X, y)
    assert clf.input_.width == 10 and clf.module_.trunk[0].in_features == 10
    assert NumericInput(scale=False).fit(X, owner).shape == (120, 5)


def test_linear_view_falls_back_to_the_std_for_a_zero_iqr():
    X = np.column_stack([np.r_[np.zeros(90), np.ones(10)], np.full(100, 2.0)])
    inp = NumericInput(scale=True)
    rows = inp.fit(X, MultiTaskClassifier())
    np.testing.assert_allclose(inp.robust_scale_, [0.3, 1.0])
    np.testing.assert_allclose(rows[-1, 2:], [(1 / 0.3) / np.sqrt(1 + 1 / 0.81), 0])


def test_linear_view_round_trips_and_configs_without_it_read_the_quantiles():
    X, y = wide_scales(80)
    owner = MultiTaskClassifier()
    inp = NumericInput(scale=True)
    fitted = inp.fit(X, owner)
    config = inp.to_config()
    back = NumericInput.from_config(config)
    np.testing.assert_array_equal(back.transform(X, owner), fitted)
    assert back.width == 10
    # Written before the linear view: quantiles alone.
    old = NumericInput.from_config(
        {k: v for k, v in config.items() if not k.startswith("robust")}
    )
    assert old.width == 5 and old.robust_center_ is None
    np.testing.assert_array_equal(old.transform(X, owner), fitted[:, :5])
    for bad, match in (
        (config["robust_scale"][:3], r"shape \(3,\), expected \(5,\)"),
        (-config["robust_scale"], "positive"),
        (config["robust_scale"].astype(np.float32), "float64"),
    ):
        with pytest.raises(ValueError, match=match):
            NumericInput.from_config({**config, "robust_scale": bad})


def test_input_unpickled_without_the_linear_view_reads_the_quantiles():
    X, y = wide_scales(60)
    owner = MultiTaskClassifier()
    inp = NumericInput(scale=True)
    fitted = inp.fit(X, owner)
    del inp.robust_center_, inp.robust_scale_  # pickled by an older version
    assert inp.width == 5
    np.testing.assert_array_equal(inp.transform(X, owner), fitted[:, :5])


def test_reinit_reuse_compares_feature_counts_not_views():
    X, y = wide_scales(80)
    source = MultiTaskClassifier(**{**FAST, "max_epochs": 2}).fit(X, y)
    tc = TransferClassifier(source, input_mismatch="reinit", max_epochs=2).fit(X, y)
    assert tc.input_ is source.input_  # same 5 features: the source's input
    wider = np.column_stack([X, X[:, :1]])
    tc = TransferClassifier(source, input_mismatch="reinit", max_epochs=2)
    assert tc.fit(wider, y).input_.width == 12


def test_scaled_rows_do_not_depend_on_their_order_in_the_batch():
    X, y = wide_scales(50)
    inp = NumericInput(scale=True)
    owner = MultiTaskClassifier()
    inp.fit(X, owner)
    order = np.random.default_rng(0).permutation(50)
    np.testing.assert_array_equal(
        inp.transform(X[order], owner), inp.transform(X, owner)[order]
    )


def test_config_keeps_tied_extremes_and_an_older_config_reads_bound(monkeypatch):
    from sk_mtl._data import _quantiles

    rng = np.random.default_rng(0)
    X = np.column_stack([rng.integers(0, 2, 80), rng.poisson(0.5, 80)]).astype(float)
    owner = MultiTaskClassifier()
    monkeypatch.setattr(_quantiles, "TIED_EXTREMES", "mid")
    inp = NumericInput(scale=True)
    fitted = inp.fit(X, owner)
    config = inp.to_config()
    assert config["tied_extremes"] == "mid"
    back = NumericInput.from_config(config)
    np.testing.assert_array_equal(back.transform(X, owner), fitted)
    # Written before the choice existed: the map that model was trained on.
    old = NumericInput.from_config(
        {k: v for k, v in config.items() if k != "tied_extremes"}
    )
    assert old.scaling_.tied_extremes == "bound"
    assert np.abs(old.transform(X, owner)[:, :2]).max() > 5
    with pytest.raises(ValueError, match="tied_extremes must be one of"):
        NumericInput.from_config({**config, "tied_extremes": "middle"})
