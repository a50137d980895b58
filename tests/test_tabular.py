"""Tabular X straight from a DataFrame: categories, missing values, embeddings, TabM."""

import pickle
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV

from sk_mtl import FineTuner, MultiTaskClassifier, TransferClassifier
from sk_mtl._data._inputs import NumericInput
from sk_mtl._data._tabular import TabularInput
from sk_mtl.embeddings import TabularNetwork
from sk_mtl.ensembles import MemberAveragedLoss, MemberEnsemble
from sk_mtl.losses import MultiTaskLoss
from sk_mtl.modules import MMoE, MultiHeadNetwork

FAST = dict(
    max_epochs=25, hidden_units=(32,), batch_size=32, lr=3e-3, n_bags=1, random_state=0
)
pytest.importorskip("rtdl_num_embeddings")
pytest.importorskip("tabm")


def make_frame(n=400, seed=0):
    """Numeric (with NaN), category, object and string columns; two tasks.

    ``grade`` depends on the category ``color`` and on ``x``; ``city_x`` on the
    object column ``city`` (which has missing values).
    """
    rng = np.random.RandomState(seed)
    X = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "amount": rng.exponential(size=n) * 1e4,  # heavy-tailed, large scale
            "color": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
            "city": rng.choice(["a", "b", "c", "d"], n).astype(object),
            "kind": pd.array(rng.choice(["k1", "k2"], n), dtype="string"),
        }
    )
    Y = pd.DataFrame(
        {
            "grade": ((X["x"] > 0) ^ (X["color"] == "red")).astype(int),
            "city_x": (X["city"] == "a").astype(int),
        }
    )
    X.loc[::9, "x"] = np.nan
    X.loc[::13, "city"] = None
    return X, Y


def test_dataframe_with_categories_and_nan_needs_no_preprocessing():
    X, Y = make_frame(600)
    train, test = slice(0, 450), slice(450, None)
    clf = MultiTaskClassifier(**FAST).fit(X[train], Y[train])
    assert isinstance(clf.input_, TabularInput)
    assert isinstance(clf.module_, TabularNetwork)
    # category, object, string dtypes; named as X's columns
    assert clf.input_.categorical_columns_ == ["color", "city", "kind"]
    assert clf.input_.numeric_columns_ == ["x", "amount"]
    assert clf.input_.missing_columns_ == ["x"]  # only "x" had NaN in fit
    assert list(clf.feature_names_in_) == list(X.columns)
    proba = clf.predict_proba(X[test])
    assert all(np.isfinite(p).all() for p in proba)
    # Both tasks need a category: the XOR with "color", the "city" column.
    assert clf.score(X[test], Y[test]) > 0.9
    rows_with_nan = X[test]["x"].isna().to_numpy()
    pred = clf.predict(X[test])[:, 1]
    assert (pred[rows_with_nan] == Y[test]["city_x"].to_numpy()[rows_with_nan]).all()


def test_categorical_features_as_names_indices_or_mask_agree():
    X, Y = make_frame(120)
    X = X.astype({"color": object, "kind": object})
    fitted = [
        MultiTaskClassifier(**{**FAST, "max_epochs": 2}, categorical_features=spec)
        .fit(X, Y)
        .input_
        for spec in (
            ["color", "city", "kind"],
            [2, -2, 4],
            [False, False, True, True, True],
        )
    ]
    for inp in fitted:
        assert inp.categorical_columns_ == ["color", "city", "kind"]
        assert [list(c) for c in inp.categories_] == [
            list(c) for c in fitted[0].categories_
        ]


def test_numeric_codes_can_be_declared_categorical_in_a_numpy_array():
    rng = np.random.RandomState(0)
    code = rng.randint(0, 6, size=400)
    X = np.column_stack([rng.normal(size=400), code]).astype(float)
    y = np.isin(code, [1, 4]).astype(int)  # not monotone in the code
    clf = MultiTaskClassifier(**FAST, categorical_features=[1]).fit(X, y)
    assert clf.input_.cardinalities_ == [8]  # 6 codes + missing + other
    assert clf.score(X, y) == 1.0


@pytest.mark.parametrize(
    "spec, match",
    [
        (["colour"], "'colour', which is not a column of X"),
        ([7], "neither a column name nor an index"),
        ([True, False], "boolean mask of length 2, but X has 5 columns"),
        ("auto", "must be 'from_dtype', None"),
    ],
)
def test_bad_categorical_features_are_clear_errors(spec, match):
    X, Y = make_frame(40)
    with pytest.raises(ValueError, match=match):
        MultiTaskClassifier(**FAST, categorical_features=spec).fit(X, Y)


def test_column_names_need_a_dataframe():
    X = np.random.RandomState(0).normal(size=(30, 2))
    with pytest.raises(ValueError, match="X has no column names"):
        MultiTaskClassifier(**FAST, categorical_features=["a"]).fit(X, X[:, 0] > 0)


def test_undeclared_text_column_and_infinity_are_clear_errors():
    X, Y = make_frame(40)
    with pytest.raises(
        ValueError, match=r"column 'city' is not numeric \(e.g. '[a-d]'"
    ):
        MultiTaskClassifier(**FAST, categorical_features=["color", "kind"]).fit(X, Y)
    X["amount"] = X["amount"].astype(float)
    X.loc[3, "amount"] = np.inf
    with pytest.raises(ValueError, match="column 'amount' has an infinite value"):
        MultiTaskClassifier(**FAST).fit(X, Y)


def _unsupported_columns(n):
    days = pd.to_datetime("2020-01-01") + pd.to_timedelta(np.arange(n), "D")
    return {
        "datetime": (days, TypeError, "dates/times"),
        "datetime_tz": (days.tz_localize("UTC"), TypeError, "dates/times"),
        "timedelta": (pd.to_timedelta(np.arange(n), "D"), TypeError, "time spans"),
        "period": (
            pd.period_range("2020-01", periods=n, freq="D"),
            TypeError,
            "period",
        ),
        "interval": (pd.interval_range(0, n), TypeError, "intervals"),
        "complex": (np.arange(n) + 1j, ValueError, "complex"),
        "dict": ([{"k": i} for i in range(n)], TypeError, "dict values"),
        "date objects": ([days[0].date()] * n, TypeError, "date values"),
    }


@pytest.fixture(scope="module")
def fitted_on_numbers():
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "when"])
    frame["colour"] = pd.Categorical(rng.choice(["red", "blue"], 60))
    y = (frame["a"] > 0).astype(int).to_numpy()
    fast = dict(hidden_units=(4,), max_epochs=1, random_state=0)
    return (
        frame,
        y,
        MultiTaskClassifier(**fast).fit(frame, y),
        MultiTaskClassifier(**fast).fit(frame[["a", "b", "when"]].to_numpy(), y),
    )


@pytest.mark.parametrize("kind", list(_unsupported_columns(2)))
def test_unsupported_column_types_are_named_at_fit_and_predict(fitted_on_numbers, kind):
    frame, y, model, _ = fitted_on_numbers
    values, error, what = _unsupported_columns(len(frame))[kind]
    bad = frame.assign(when=values)
    for plain in (True, False):  # numeric only (NumericInput) or with a category
        X = bad.drop(columns="colour") if plain else bad
        with pytest.raises(error, match=f"column 'when' holds {what}"):
            MultiTaskClassifier(max_epochs=1).fit(X, y)
    with pytest.raises(error, match=f"column 'when' holds {what}"):
        model.predict_proba(bad)


@pytest.mark.parametrize(
    "dtype, error, what",
    [
        ("datetime64[D]", TypeError, "dates/times"),
        ("timedelta64[s]", TypeError, "time spans"),
        ("complex128", ValueError, "complex"),
    ],
)
def test_unsupported_numpy_dtypes_are_named_at_fit_and_predict(
    fitted_on_numbers, dtype, error, what
):
    frame, y, _, model = fitted_on_numbers
    X = np.arange(len(frame) * 3).reshape(-1, 3).astype(dtype)
    with pytest.raises(error, match=f"column 0 holds {what}"):
        MultiTaskClassifier(max_epochs=1).fit(X, y)
    with pytest.raises(error, match=f"column 0 holds {what}"):
        model.predict_proba(X)
    # An object array holding dates is named by its column too.
    mixed = frame[["a", "b", "when"]].to_numpy().astype(object)
    mixed[5, 2] = pd.Timestamp("2020-01-01")
    with pytest.raises(TypeError, match="column 2 holds Timestamp values"):
        model.predict_proba(mixed)


def test_unknown_rare_and_missing_categories_get_their_slots():
    X, Y = make_frame(200)
    X["city"] = X["city"].astype(object)
    X.loc[:2, "city"] = "rare"  # 3 rows < min_category_count=5: pooled as "other"
    clf = MultiTaskClassifier(**{**FAST, "max_epochs": 2}).fit(X, Y)
    inp = clf.input_
    city = inp.categorical_columns_.index("city")
    assert "rare" not in inp.categories_[city]
    assert set(inp.categories_[city]) == {"a", "b", "c", "d"}
    new = X.head(4).copy()
    new["city"] = ["rare", "never seen", None, "a"]
    new["color"] = pd.Categorical(["purple", "red", np.nan, "blue"])
    codes = inp.transform(new, clf).categorical
    assert list(codes[:, city]) == [1, 1, 0, 2 + list(inp.categories_[city]).index("a")]
    assert list(codes[:2, 0]) == [1, 2 + list(inp.categories_[0]).index("red")]
    assert codes[2, 0] == 0
    assert np.isfinite(clf.predict_proba(new)[0]).all()
    capped = TabularInput(max_categories=2)
    capped.fit(X, clone(clf))
    assert [len(c) for c in capped.categories_] == [2, 2, 2]


def test_missing_numeric_values_are_indicated_and_learnable():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 3))
    y = rng.rand(300) < 0.5
    X[y, 1] = np.nan  # the label is "x1 is missing"
    clf = MultiTaskClassifier(**FAST).fit(X, y)
    assert isinstance(clf.input_, TabularInput)
    assert clf.input_.missing_columns_ == [1]
    assert clf.score(X, y) == 1.0
    # A column without NaN in fit reads a NaN at predict as its median.
    X_new = X[:5].copy()
    X_new[:, 0] = np.nan
    assert np.isfinite(clf.predict_proba(X_new)).all()


def test_column_attributes_share_one_convention():
    # An array: positions among all columns, for every list. Column 0 is
    # categorical, so the NaN column 2 is the second numeric column.
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.randint(0, 3, 60), rng.normal(size=(60, 3))])
    X[::5, 2] = np.nan
    y = X[:, 1] > 0
    inp = MultiTaskClassifier(**FAST, categorical_features=[0]).fit(X, y).input_
    assert inp.categorical_columns_ == [0]
    assert inp.numeric_columns_ == [1, 2, 3]
    assert inp.missing_columns_ == [2]
    # The same table with column names: the names.
    frame = pd.DataFrame(X, columns=["code", "a", "b", "c"])
    clf = MultiTaskClassifier(**FAST, categorical_features=["code"]).fit(frame, y)
    assert clf.input_.categorical_columns_ == ["code"]
    assert clf.input_.numeric_columns_ == ["a", "b", "c"]
    assert clf.input_.missing_columns_ == ["b"]
    assert set(clf.input_.missing_columns_) <= set(clf.feature_names_in_)


def test_input_fitted_by_an_older_version_still_transforms():
    # Older files hold positions, missing_columns_ among the numeric columns,
    # and no private positions.
    X, Y = make_frame(100)
    clf = MultiTaskClassifier(**{**FAST, "max_epochs": 1}).fit(X, Y)
    expected = clf.predict_proba(X)
    old = clf.input_
    for name in ("_numeric_at", "_categorical_at", "_missing_at"):
        delattr(old, name)
    old.categorical_columns_, old.numeric_columns_ = [2, 3, 4], [0, 1]
    old.missing_columns_ = [0]
    for a, b in zip(pickle.loads(pickle.dumps(clf)).predict_proba(X), expected):
        np.testing.assert_array_equal(a, b)
    assert old.n_numeric == 4  # columns 0 and 1, in both views
    for a, b in zip(clf.predict_proba(X), expected):
        np.testing.assert_array_equal(a, b)
    assert old.missing_columns_ == ["x"] and old.categorical_columns_[0] == "color"


def test_numeric_scaling_is_fitted_in_fit():
    X, Y = make_frame(300)
    inp = MultiTaskClassifier(**{**FAST, "max_epochs": 1}).fit(X, Y).input_
    data = inp.transform(X, MultiTaskClassifier().fit(X, Y))
    amount = data.numeric[:, 1]
    # Quantile-normal: a 1e4-scale exponential column lands near N(0, 1).
    assert abs(np.median(amount)) < 0.1 and 0.7 < amount.std() < 1.3
    assert data.numeric.dtype == np.float32 and not np.isnan(data.numeric).any()


def test_numeric_columns_reach_the_front_end_in_both_views():
    X, Y = make_frame(300)
    clf = MultiTaskClassifier(**{**FAST, "max_epochs": 1}).fit(X, Y)
    inp = clf.input_
    data = inp.transform(X, clf)
    assert inp.n_numeric == 4 and data.numeric.shape == (300, 4)
    assert clf.module_.front_end.n_numeric == 4
    missing = X["x"].isna().to_numpy()
    # NaN: 0 in both views, with its indicator.
    assert (data.numeric[missing][:, [0, 2]] == 0).all()
    assert (data.missing[:, 0] == missing).all()
    # The linear view: median 0, robust scale, bounded outliers (an exponential
    # column's long tail is clipped near 3).
    amount = X["amount"].to_numpy()
    q1, median, q3 = np.quantile(amount, [0.25, 0.5, 0.75])
    z = (amount - median) / ((q3 - q1) / 1.349)
    expected = z / np.sqrt(1 + (z / 3) ** 2)
    np.testing.assert_allclose(data.numeric[:, 3], expected, rtol=1e-5, atol=1e-6)
    assert data.numeric[:, 3].max() < 3
    # Without the view: the quantile columns alone, the same values.
    alone = TabularInput(linear_view=False)
    np.testing.assert_array_equal(alone.fit(X, clf).numeric, data.numeric[:, :2])


def test_tabular_input_unpickled_without_the_linear_view_reads_the_quantiles():
    X, Y = make_frame(100)
    clf = MultiTaskClassifier(**{**FAST, "max_epochs": 1}).fit(X, Y)
    both = clf.input_.transform(X, clf).numeric
    old = pickle.loads(pickle.dumps(clf.input_))
    del old.robust_center_, old.robust_scale_, old.linear_view  # an older sk_mtl
    assert old.n_numeric == 2
    np.testing.assert_array_equal(old.transform(X, clf).numeric, both[:, :2])
    clf.input_ = pickle.loads(pickle.dumps(clf.input_))
    clf.input_.robust_scale_ = clf.input_.robust_scale_[:1]  # a damaged file
    with pytest.raises(ValueError, match=r"robust scales have shape \(1,\)"):
        clf.predict(X)


def test_plain_numeric_numpy_x_keeps_the_numeric_input():
    X = np.random.RandomState(0).normal(size=(50, 3))
    clf = MultiTaskClassifier(**{**FAST, "max_epochs": 1}).fit(X, X[:, 0] > 0)
    assert isinstance(clf.input_, NumericInput)
    assert isinstance(clf.module_, MultiHeadNetwork)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    clf.fit(frame, X[:, 0] > 0)
    assert isinstance(clf.input_, NumericInput)


def test_string_array_columns_are_categorical_when_named():
    X = np.array([["a", "u"], ["b", "v"]] * 20)
    y = (X[:, 0] == "a").astype(int)
    with pytest.raises(ValueError, match="convert|numeric"):
        MultiTaskClassifier(**FAST).fit(X, y)  # an array's dtype says nothing
    clf = MultiTaskClassifier(**FAST, categorical_features=[0, 1]).fit(X, y)
    assert clf.input_.categorical_columns_ == [0, 1]
    assert clf.score(X, y) == 1.0


@pytest.mark.parametrize("embedding", ["periodic", "piecewise_linear"])
def test_numeric_embeddings_learn_a_non_monotone_rule(embedding):
    import rtdl_num_embeddings as rtdl

    rng = np.random.RandomState(0)
    X = rng.uniform(-3, 3, size=(600, 3))
    X[:, 1] = 1.0  # a constant column
    X[:, 2] = np.where(rng.rand(600) < 0.97, 0.0, X[:, 2])  # mostly zero
    y = (np.sin(3 * X[:, 0]) > 0).astype(int)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = MultiTaskClassifier(
            **{**FAST, "max_epochs": 40}, numeric_embedding=embedding
        ).fit(X[:400], y[:400])
    assert not [w for w in caught if "bin" in str(w.message)]
    emb = clf.module_.front_end.numeric
    expected = {
        "periodic": rtdl.PeriodicEmbeddings,
        "piecewise_linear": rtdl.PiecewiseLinearEmbeddings,
    }[embedding]
    assert isinstance(emb, expected)
    assert clf.score(X[400:], y[400:]) > 0.8
    # An embedding reads the quantile-normal values alone.
    assert clf.input_.robust_center_ is None and clf.input_.n_numeric == 3


def test_mmoe_on_the_front_end():
    X, Y = make_frame(500)
    clf = MultiTaskClassifier(**FAST, architecture="mmoe", n_experts=3).fit(X, Y)
    assert isinstance(clf.module_.network, MMoE)
    assert clf.score(X, Y) > 0.9


def test_tabm_trains_members_and_predicts_their_mean():
    X, Y = make_frame(500)
    # The network alone: its members' mean, no linear model blended in.
    clf = MultiTaskClassifier(
        **FAST, architecture="tabm", n_members=4, linear_blend=False
    ).fit(X, Y)
    net = clf.module_.network
    assert isinstance(net, MemberEnsemble) and net.n_members == 4
    assert clf.score(X, Y) > 0.9
    inputs = clf.input_.tensors(clf.input_.transform(X, clf))
    clf.module_.eval()  # no dropout
    with torch.no_grad():
        z = net.member_features(clf.module_.front_end(inputs))
        members = [head(z) for head in net.heads]
    assert members[0].shape == (len(X), 4, 2)
    mean = torch.softmax(members[1].double(), dim=-1).mean(dim=1).numpy()
    np.testing.assert_allclose(clf.predict_proba(X)[1], mean, atol=1e-5)
    # The members differ: an ensemble, not k copies.
    assert float(members[0].std(dim=1).mean()) > 1e-3


@pytest.mark.parametrize("weighting", ["equal", "uncertainty", "dwa", "pcgrad"])
def test_tabm_with_missing_labels_weights_and_task_weightings(weighting):
    X, Y = make_frame(400)
    Y = Y.astype(float)
    Y.loc[::3, "city_x"] = np.nan
    sw = np.ones(len(X))
    clf = MultiTaskClassifier(
        **FAST, architecture="tabm", n_members=4, task_weighting=weighting
    ).fit(X, Y, sample_weight=sw)
    assert clf.score(X, Y) > 0.85


def test_tabm_sample_weight_reaches_every_member():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] > 0).astype(int)
    y_flipped = 1 - y
    X2, y2 = np.vstack([X, X]), np.concatenate([y, y_flipped])
    # Weight 0 on the flipped copy: the model learns y; weight 0 on y: learns 1 - y.
    sw = np.r_[np.ones(300), np.zeros(300)]
    params = dict(**FAST, architecture="tabm", n_members=4)
    a = MultiTaskClassifier(**params).fit(X2, y2, sample_weight=sw)
    b = MultiTaskClassifier(**params).fit(X2, y2, sample_weight=1 - sw)
    assert roc_auc_score(y, a.predict_proba(X)[:, 1]) > 0.95
    assert roc_auc_score(y, b.predict_proba(X)[:, 1]) < 0.05


def test_member_averaged_loss_is_the_mean_of_member_losses():
    torch.manual_seed(0)
    logits = (torch.randn(6, 3, 2), torch.randn(6, 3, 4))
    y = torch.tensor([[0, 1], [1, 3], [0, 0], [1, 2], [1, 1], [0, 3]])
    w = torch.rand(6, 2)
    w[::2, 1] = 0.0  # missing labels
    for loss in ("cross_entropy", "focal"):
        got = MemberAveragedLoss(2, loss=loss).task_losses(logits, y, w)
        plain = MultiTaskLoss(2, loss=loss)
        per_member = [
            plain.task_losses(tuple(lg[:, i] for lg in logits), y, w) for i in range(3)
        ]
        for t in range(2):
            expected = sum(m[t] for m in per_member) / 3
            assert float(got[t]) == pytest.approx(float(expected), rel=1e-5)
    two_d = tuple(lg[:, 0] for lg in logits)
    assert [float(v) for v in MemberAveragedLoss(2).task_losses(two_d, y, w)] == [
        float(v) for v in MultiTaskLoss(2).task_losses(two_d, y, w)
    ]


@pytest.mark.parametrize(
    "params, package",
    [
        ({"architecture": "tabm"}, "tabm"),
        ({"numeric_embedding": "periodic"}, "rtdl_num_embeddings"),
    ],
)
def test_missing_extra_is_a_clear_import_error(monkeypatch, params, package):
    monkeypatch.setitem(sys.modules, package, None)  # makes the import fail
    X, Y = make_frame(40)
    with pytest.raises(ImportError, match=r"pip install 'sk_mtl\[tabular\]'"):
        MultiTaskClassifier(**FAST, **params).fit(X, Y)


def test_pickle_clone_and_grid_search_on_a_dataframe():
    X, Y = make_frame(300)
    clf = MultiTaskClassifier(**{**FAST, "max_epochs": 5}, architecture="tabm")
    clf.set_params(n_members=2).fit(X, Y)
    again = pickle.loads(pickle.dumps(clf))
    for a, b in zip(clf.predict_proba(X), again.predict_proba(X)):
        np.testing.assert_array_equal(a, b)
    search = GridSearchCV(
        MultiTaskClassifier(**{**FAST, "max_epochs": 3}),
        {"numeric_embedding": [None, "periodic"]},
        cv=2,
    ).fit(X, Y)
    assert search.best_params_["numeric_embedding"] in (None, "periodic")
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(X[list(reversed(X.columns))])


def test_fine_tuner_and_transfer_reuse_the_embeddings():
    X, Y = make_frame(500)
    source = MultiTaskClassifier(**FAST, architecture="tabm", n_members=4).fit(X, Y)
    y_new = Y[["city_x"]]  # a task the source learned: its head is kept
    tuned = FineTuner(source, max_epochs=1, lr=1e-4, random_state=0).fit(X, y_new)
    src_emb = source.module_.front_end.categorical.embedding.weight
    new_emb = tuned.module_.front_end.categorical.embedding.weight
    assert torch.allclose(src_emb, new_emb, atol=1e-2)  # started from the source's
    assert tuned.score(X, y_new) > 0.9
    transfer = TransferClassifier(source, max_epochs=10, random_state=0)
    assert transfer.fit(X, y_new).score(X, y_new) > 0.9


def test_missing_values_of_float_arrays_are_found_without_a_copy():
    from sk_mtl._data._choice import _has_missing

    X = np.zeros((20_000, 3), dtype=np.float32)
    assert not _has_missing(X)
    X[19_999, 2] = np.nan  # in the last block
    assert _has_missing(X)
    X[19_999, 2] = np.inf
    X[0, 0] = -np.inf  # the sum is NaN, yet no value is missing
    assert not _has_missing(X)


def test_pickled_tabular_input_leaves_its_fast_transform_out():
    X, Y = make_frame(120)
    clf = MultiTaskClassifier(**{**FAST, "max_epochs": 1}).fit(X, Y)
    assert clf.input_._fast_scaling is not None  # made in fit
    back = pickle.loads(pickle.dumps(clf.input_))
    assert "_fast_scaling" not in vars(back)
    np.testing.assert_array_equal(
        back.transform(X, clf).numeric, clf.input_.transform(X, clf).numeric
    )


@pytest.mark.parametrize("rows", [[0, 2, 3, 9, 12], slice(None)])
def test_a_frame_read_in_blocks_equals_it_read_column_by_column(monkeypatch, rows):
    # A few rows are read as one object array, many by DataFrame blocks.
    from sk_mtl._data import _columns

    X, Y = make_frame(120)
    X["count"] = pd.array([1, None, 3] * 40, dtype="Int64")
    X["share"] = pd.array([0.5, None, 2.0] * 40, dtype="Float64")
    X["flag"] = pd.array([True, None, False] * 40, dtype="boolean")
    X["code"] = np.arange(120) % 3  # declared categorical below: numbers as codes
    clf = MultiTaskClassifier(**{**FAST, "max_epochs": 1})
    clf.set_params(categorical_features=["color", "city", "kind", "code"]).fit(X, Y)
    new = X.iloc[rows]
    blocks = clf.input_.transform(new, clf)
    numeric_at, categorical_at, _ = clf.input_._layout()
    assert _columns.frame_block(new, numeric_at, np.float64) is not None
    assert _columns.frame_block(new, categorical_at, object) is not None
    monkeypatch.setattr(_columns, "frame_block", lambda *args: None)
    one_by_one = clf.input_.transform(new, clf)
    for name in ("numeric", "missing", "categorical"):
        np.testing.assert_array_equal(getattr(blocks, name), getattr(one_by_one, name))
    assert blocks.missing.any() and (blocks.categorical == 0).any()  # NaN, None read


def test_a_few_rows_with_a_nullable_missing_value_are_read_column_by_column():
    from sk_mtl._data import _columns

    X = pd.DataFrame({"n": pd.array([1, None], dtype="Int64"), "x": [0.5, 1.0]})
    assert _columns.frame_block(X, [0, 1], np.float64) is None  # pd.NA: no float
    assert _columns.frame_block(X.iloc[:, 1:], [0], np.float64).tolist() == [
        [0.5],
        [1.0],
    ]


def test_a_served_frame_with_other_column_names_is_still_refused():
    X, Y = make_frame(120)
    clf = MultiTaskClassifier(**{**FAST, "max_epochs": 1}).fit(X, Y)
    row = X.iloc[:1]
    clf.predict_proba(row)  # the fitted names, in order
    with pytest.raises(ValueError, match="feature names"):
        clf.predict_proba(row[list(reversed(row.columns))])
    with pytest.raises(ValueError, match="feature names"):
        clf.predict_proba(row.rename(columns={"x": "y"}))


def test_tabular_input_reads_its_tied_extremes_and_checks_them(monkeypatch):
    from sk_mtl._data import _quantiles

    X, Y = make_frame(100)
    X["flag"] = (X["x"] > 0.5).astype(float)  # a 0/1 column
    monkeypatch.setattr(_quantiles, "TIED_EXTREMES", "mid")
    clf = MultiTaskClassifier(**{**FAST, "max_epochs": 1}).fit(X, Y)
    assert clf.input_.tied_extremes_ == "mid"
    flag = clf.input_.transform(X, clf).numeric[:, 2]
    assert 0 < np.abs(flag).max() < 2
    old = pickle.loads(pickle.dumps(clf.input_))
    del old.tied_extremes_  # pickled by an older sk_mtl: about +-5.2
    np.testing.assert_allclose(np.abs(old.transform(X, clf).numeric[:, 2]), 5.2, 0.01)
    clf.input_ = pickle.loads(pickle.dumps(clf.input_))
    clf.input_.tied_extremes_ = "middle"  # a damaged file
    with pytest.raises(ValueError, match="tied_extremes must be one of"):
        clf.predict(X)
