"""The value view of mostly-one-value numeric columns (sk_mtl/_data/_values.py)."""

import pickle

import numpy as np
import pandas as pd
import pytest

from sk_mtl import MixedTaskEstimator, MultiTaskClassifier, MultiTaskRegressor
from sk_mtl._data._categories import MISSING, OTHER
from sk_mtl._data._inputs import NumericInput
from sk_mtl._data._tabular import TabularInput
from sk_mtl._data._values import fit_value_view, has_recurring_values, value_codes
from sk_mtl.embeddings import CategoricalEmbeddings


def gain_column(n_zeros=140):
    """0 in most rows; 7688, 3103 and 99999 recur; three amounts are rare."""
    recurring = [7688.0] * 30 + [3103.0] * 20 + [99999.0] * 6
    return np.array([0.0] * n_zeros + recurring + [1234.0, 1234.0, 5555.0, 42.0])


def test_a_mostly_zero_column_with_recurring_amounts_gets_its_frequent_values():
    gain = gain_column()
    n = len(gain)
    smooth = np.arange(n, dtype=float)  # every value once
    binary = (np.arange(n) % 4 == 0).astype(float)  # two values: the column itself
    spread = np.arange(n) % 10.0  # ten values, none holding half the rows
    empty = np.full(n, np.nan)
    numeric = np.column_stack([smooth, gain, binary, spread, empty])
    columns, kept = fit_value_view(numeric, min_count=5, max_values=255)
    assert columns == [1]
    # most frequent first; the amounts seen fewer than 5 times are left out
    np.testing.assert_array_equal(kept[0], [0.0, 7688.0, 3103.0, 99999.0])
    _, fewer = fit_value_view(numeric, min_count=5, max_values=3)
    np.testing.assert_array_equal(fewer[0], [0.0, 7688.0, 3103.0])


def test_missing_values_do_not_count_towards_the_share_of_the_mode():
    gain = np.r_[gain_column(n_zeros=100), np.full(150, np.nan)]
    columns, _ = fit_value_view(gain[:, None], min_count=5, max_values=255)
    assert columns == [0]  # 100 of 200 present values are 0


def test_a_sample_of_numeric_x_tells_whether_a_column_recurs():
    gain = np.tile(gain_column(), 100)
    X = np.column_stack([np.arange(len(gain), dtype=float), gain])
    assert has_recurring_values(X, min_count=5)
    assert not has_recurring_values(X[:, :1], min_count=5)
    assert not has_recurring_values(np.array([["a", "b"]] * 3, object), min_count=5)


def test_codes_of_kept_rare_unseen_and_missing_values():
    kept = np.array([0.0, 7688.0, 3103.0])
    codes = value_codes([3103.0, 0.0, 1234.0, 12345.0, np.nan, 7688.0], kept)
    np.testing.assert_array_equal(codes, [4, 2, OTHER, OTHER, MISSING, 3])


def frame(n_zeros=140, seed=0):
    gain = gain_column(n_zeros)
    rng = np.random.RandomState(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40, 10, size=len(gain)),
            "gain": gain,
            "job": pd.Categorical(rng.choice(["a", "b", "c"], len(gain))),
        }
    )


def test_the_tabular_input_adds_the_view_after_the_categorical_columns():
    X = frame()
    owner = MultiTaskClassifier()
    on = TabularInput(value_view=True)
    data = on.fit(X, owner)
    assert on.value_columns_ == ["gain"]
    assert on.cardinalities_ == [3 + 2, 4 + 2]  # job's 3 categories, gain's 4 values
    codes = on.tensors(data)["categorical"].numpy()
    assert codes.shape == (len(X), 2)
    np.testing.assert_array_equal(
        codes[:, 1], value_codes(X["gain"], on.kept_values_[0])
    )
    new = X.iloc[:3].assign(gain=[99999.0, 12345.0, np.nan])
    served = on.tensors(on.transform(new, owner))["categorical"].numpy()
    np.testing.assert_array_equal(served[:, 1], [5, OTHER, MISSING])
    off = TabularInput().fit(X, owner)  # the input's default: no view
    np.testing.assert_array_equal(off.categorical, codes[:, :1])
    np.testing.assert_array_equal(off.numeric, data.numeric)


def test_an_input_fitted_before_the_value_view_still_encodes():
    X = frame()
    owner = MultiTaskClassifier()
    old = TabularInput()
    expected = old.fit(X, owner)
    for name in ("_value_at", "kept_values_", "value_columns_"):
        vars(old).pop(name)
    old = pickle.loads(pickle.dumps(old))
    again = old.transform(X, owner)
    np.testing.assert_array_equal(again.categorical, expected.categorical)
    assert old._layout()[1] == [2] and old.value_columns_ == []


@pytest.mark.parametrize(
    "value_view, n_zeros, seen",
    [
        ("auto", 16_000, ["gain"]),
        ("auto", 1_000, []),
        (True, 1_000, ["gain"]),
        (False, 16_000, []),
    ],
)
def test_auto_reads_values_above_the_large_fit_gate(value_view, n_zeros, seen):
    X = frame(n_zeros)
    y = (X["age"] > 40).astype(int)
    clf = MultiTaskClassifier((4,), max_epochs=1, value_view=value_view)
    clf.fit(X, y)
    assert clf.input_.value_columns_ == seen
    # the network embeds each value view as a categorical column
    (embeddings,) = [
        m for m in clf.module_.modules() if isinstance(m, CategoricalEmbeddings)
    ]
    assert embeddings.cardinalities == clf.input_.cardinalities_
    assert len(embeddings.cardinalities) == 1 + len(seen)
    assert np.isfinite(clf.predict_proba(X[:5])).all()


def test_auto_counts_the_labelled_rows_of_the_task_with_the_fewest():
    X = frame(16_000)
    Y = np.stack([X["age"] > 40, X["gain"] > 0], axis=1).astype(float)
    Y[:-1_000, 1] = np.nan  # the second task labelled on the last 1,000 rows
    clf = MultiTaskClassifier((4,), max_epochs=1).fit(X, Y)
    assert clf.input_.value_columns_ == []
    Y[:, 1] = (X["gain"] > 0).astype(float)
    assert MultiTaskClassifier((4,), max_epochs=1).fit(X, Y).input_.value_columns_ == [
        "gain"
    ]


@pytest.mark.parametrize("as_frame", [False, True])
def test_numeric_x_with_recurring_values_is_read_by_the_front_end(as_frame):
    numeric = frame(16_000)[["age", "gain"]]
    X = numeric if as_frame else numeric.to_numpy()
    y = (numeric["age"] > 40).astype(int)
    clf = MultiTaskClassifier((4,), max_epochs=1).fit(X, y)
    assert isinstance(clf.input_, TabularInput)
    assert clf.input_.value_columns_ == (["gain"] if as_frame else [1])
    assert np.isfinite(clf.predict_proba(X[:3])).all()
    small = numeric.iloc[:2_000]  # below the gate: the plain numeric input
    X_small = small if as_frame else small.to_numpy()
    fitted = MultiTaskClassifier((4,), max_epochs=1).fit(X_small, y[:2_000])
    assert isinstance(fitted.input_, NumericInput)
    smooth = numeric.assign(gain=np.arange(len(numeric), dtype=float))
    plain = MultiTaskClassifier((4,), max_epochs=1).fit(smooth.to_numpy(), y)
    assert isinstance(plain.input_, NumericInput)  # no column recurs


def test_a_warm_start_keeps_the_value_view_of_the_fit_it_continues():
    X = frame(16_000)
    clf = MultiTaskClassifier((4,), max_epochs=1, warm_start=True)
    clf.fit(X, (X["age"] > 40).astype(int))
    trained = clf.module_.state_dict()["front_end.categorical.embedding.weight"]
    small = frame(1_000, seed=1)  # below the gate: a new fit would have no view
    clf.fit(small, (small["age"] > 40).astype(int))
    assert clf.input_.value_columns_ == ["gain"]
    weights = clf.module_.state_dict()["front_end.categorical.embedding.weight"]
    assert weights.shape == trained.shape  # job's 5 codes and gain's 6
    assert (
        MultiTaskClassifier((4,), max_epochs=1)
        .fit(small, small["age"] > 40)
        .input_.value_columns_
        == []
    )


def test_a_model_with_the_value_view_saves_loads_and_pickles(tmp_path):
    import sk_mtl

    X = frame()
    y = (X["gain"] > 0).astype(int)
    clf = MultiTaskClassifier(
        (8,), max_epochs=3, value_view=True, n_bags=1, random_state=0
    )
    clf.fit(X, y)
    expected = clf.predict_proba(X)
    sk_mtl.save(clf, tmp_path / "m.skmtl")
    loaded = sk_mtl.load(tmp_path / "m.skmtl")
    assert loaded.input_.value_columns_ == ["gain"]
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    unpickled = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(unpickled.predict_proba(X), expected)


@pytest.mark.parametrize(
    "estimator, y",
    [
        (MultiTaskRegressor, lambda X: X["age"].to_numpy()),
        (
            MixedTaskEstimator,
            lambda X: np.column_stack([X["age"], X["gain"] > 0]).astype(float),
        ),
    ],
)
def test_every_shared_trunk_estimator_reads_values(estimator, y):
    X = frame()
    kwargs = {"task_kinds": ["regression", "classification"]}
    kwargs = kwargs if estimator is MixedTaskEstimator else {}
    model = estimator((8,), max_epochs=2, value_view=True, n_bags=1, **kwargs)
    model.fit(X, y(X))
    assert model.input_.value_columns_ == ["gain"]
    assert np.isfinite(np.asarray(model.predict(X[:5]), dtype=float)).all()


def test_value_view_is_validated():
    X = frame()
    y = (X["age"] > 40).astype(int)
    with pytest.raises(ValueError, match="value_view"):
        MultiTaskClassifier(value_view="yes").fit(X, y)
