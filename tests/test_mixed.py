"""Classification and regression tasks in one network: MixedTaskEstimator."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_mtl import MixedTaskEstimator, make_task_scorer

FAST = dict(hidden_units=(32,), lr=1e-2, max_epochs=30, batch_size=32, random_state=0)


def make_frame(n=300, seed=0):
    """A string class, a nullable-int class and a float target, with gaps."""
    rng = np.random.RandomState(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=list("abcd"))
    Y = pd.DataFrame(
        {
            "churn": np.where(X["a"] > 0, "yes", "no"),
            "tier": pd.array((X["b"] > 0).astype(int) + (X["c"] > 1), dtype="Int64"),
            "spend": 100 + 20 * X["a"] + 5 * X["b"],
        }
    )
    Y.loc[: n // 3, "spend"] = np.nan
    Y.loc[n // 2 : n // 2 + 40, "tier"] = pd.NA
    Y.loc[n - n // 10 :, "churn"] = None
    return X, Y


def test_kinds_inferred_from_dtypes_and_predict_keeps_each_type():
    X, Y = make_frame()
    est = MixedTaskEstimator(**FAST).fit(X, Y)
    assert not is_classifier(est) and not is_regressor(est)
    assert est.task_kinds_ == ["classification", "classification", "regression"]
    assert est.tasks_[1].classes.tolist() == [0, 1, 2]
    pred = est.predict(X.iloc[10:20])
    assert list(pred.columns) == ["churn", "tier", "spend"]
    assert pred.index.tolist() == list(range(10, 20))
    assert set(pred["churn"]) <= {"yes", "no"}
    assert pred["spend"].dtype == np.float64
    truth = 100 + 20 * X["a"] + 5 * X["b"]
    assert r2_score(truth, est.predict(X)["spend"]) > 0.95


def test_score_is_mean_of_accuracy_and_r2_on_labelled_entries():
    X, Y = make_frame()
    est = MixedTaskEstimator(**FAST).fit(X, Y)
    pred = est.predict(X)
    scores = []
    for name, metric in (
        ("churn", accuracy_score),
        ("tier", accuracy_score),
        ("spend", r2_score),
    ):
        keep = Y[name].notna().to_numpy()
        scores.append(metric(Y[name][keep].tolist(), pred[name][keep].tolist()))
    assert est.score(X, Y) == pytest.approx(np.mean(scores))
    assert est.score(X, Y) > 0.85


def test_predict_proba_per_task_and_task_scorers():
    X, Y = make_frame()
    est = MixedTaskEstimator(**FAST).fit(X, Y)
    proba = est.predict_proba(X)
    assert [None if p is None else p.shape for p in proba] == [
        (300, 2),
        (300, 3),
        None,
    ]
    np.testing.assert_allclose(proba[1].sum(axis=1), 1.0)
    auc = make_task_scorer(roc_auc_score, task="churn", response_method="predict_proba")
    assert auc(est, X, Y) > 0.95
    r2 = make_task_scorer(r2_score, task="spend")
    keep = Y["spend"].notna().to_numpy()
    assert r2(est, X, Y) == pytest.approx(
        r2_score(Y["spend"][keep], est.predict(X)["spend"][keep])
    )
    with pytest.raises(ValueError, match="'spend'.*regression task"):
        make_task_scorer(r2_score, task="spend", response_method="predict_proba")(
            est, X, Y
        )


def test_numpy_targets_with_explicit_kinds():
    X, Y = make_frame()
    Yn = np.column_stack([(X["a"] > 0).astype(float), Y["spend"]])
    Yn[:20, 0] = np.nan
    # float columns are inferred as regression targets: classes must be said
    est = MixedTaskEstimator(task_kinds=["classification", "regression"], **FAST)
    pred = est.fit(X.to_numpy(), Yn).predict(X.to_numpy())
    assert pred.dtype == np.float64 and pred.shape == (300, 2)
    assert set(np.unique(pred[:, 0])) <= {0.0, 1.0}
    assert est.score(X.to_numpy(), Yn) > 0.85
    inferred = MixedTaskEstimator(max_epochs=1).fit(X.to_numpy(), Yn)
    assert inferred.task_kinds_ == ["regression", "regression"]


def test_regression_loss_and_uncertainty_weighting():
    X, Y = make_frame()
    est = MixedTaskEstimator(
        regression_loss="huber", task_weighting="uncertainty", **FAST, n_bags=1
    ).fit(X, Y)
    assert est.score(X, Y) > 0.85
    crit = est.net_.criterion_
    assert crit.task_loss_names == ["cross_entropy", "cross_entropy", "huber"]


@pytest.mark.parametrize(
    "kinds, match",
    [
        (["classification", "regression"], "task_kinds has 2 entries.*3 task"),
        (["classification", "ordinal", "regression"], "Unknown kind 'ordinal'.*tier"),
        (["classification"] * 3, "'spend'.*continuous"),
        (["regression", "classification", "regression"], "churn.*non-numeric"),
    ],
)
def test_bad_task_kinds(kinds, match):
    X, Y = make_frame(n=30)
    with pytest.raises((ValueError, TypeError), match=match):
        MixedTaskEstimator(task_kinds=kinds, max_epochs=1).fit(X, Y)


def _spend(values, dtype=None):
    return lambda Y: Y.assign(spend=pd.array(values, dtype=dtype))


@pytest.mark.parametrize(
    "change, error, match",
    [
        (_spend([np.nan] * 30), ValueError, "task 'spend' has no finite value"),
        (_spend([None] * 30, "Float64"), ValueError, "'spend' has no finite value"),
        (_spend([1.0, np.inf] * 15), ValueError, "infinity.*task 'spend'"),
        (_spend([-np.inf, None] * 15, "Float64"), ValueError, "infinity.*'spend'"),
        (_spend([1.5, "12"] * 15, object), TypeError, "'spend'.*value '12'"),
        (_spend(["1.5", None] * 15, "string"), TypeError, "'spend'.*non-numeric"),
        (_spend([1e300, 3e300] * 15), ValueError, "task 'spend'.*too large"),
    ],
    ids=["all-nan", "all-na", "inf", "-inf", "str", "string-dtype", "overflow"],
)
def test_bad_regression_targets_name_the_task(change, error, match):
    X, Y = make_frame(n=30)
    kinds = ["classification", "classification", "regression"]
    with pytest.raises(error, match=match):
        MixedTaskEstimator(task_kinds=kinds, max_epochs=1).fit(X, change(Y))


def test_pipeline_search_cross_validation_clone_and_pickle():
    X, Y = make_frame()
    pipe = make_pipeline(StandardScaler(), MixedTaskEstimator(**FAST))
    search = GridSearchCV(
        pipe,
        {"mixedtaskestimator__regression_loss": ["squared_error", "absolute_error"]},
        scoring={
            "spend": make_task_scorer(r2_score, task="spend"),
            "churn": make_task_scorer(accuracy_score, task="churn"),
        },
        refit="spend",
        cv=KFold(3, shuffle=True, random_state=0),  # the gaps are blocks of rows
    ).fit(X, Y)
    assert search.best_score_ > 0.8
    scores = cross_val_score(pipe, X, Y, cv=KFold(3, shuffle=True, random_state=0))
    assert np.all(scores > 0.7)
    model = search.best_estimator_
    restored = pickle.loads(pickle.dumps(model))
    pd.testing.assert_frame_equal(restored.predict(X), model.predict(X))
    assert clone(model).get_params()["mixedtaskestimator__task_kinds"] == "infer"


def test_save_and_load_without_pickle(tmp_path):
    import sk_mtl

    X, Y = make_frame(n=80)
    est = MixedTaskEstimator((8,), max_epochs=3, random_state=0).fit(X, Y)
    sk_mtl.save(est, tmp_path / "mixed.skmtl")
    loaded = sk_mtl.load(tmp_path / "mixed.skmtl")
    pd.testing.assert_frame_equal(loaded.predict(X), est.predict(X))
    assert loaded.task_kinds_ == est.task_kinds_


# ------------------------------------------- at par with the other estimators
CLASSES = [["no", "yes"], [0, 1, 2], None]


def test_classes_per_task_none_for_regression_tasks():
    X, Y = make_frame(120)
    est = MixedTaskEstimator(**{**FAST, "max_epochs": 2}).fit(X, Y)
    assert [None if c is None else c.tolist() for c in est.classes_] == [
        ["no", "yes"],
        [0, 1, 2],
        None,
    ]
    single = MixedTaskEstimator(**{**FAST, "max_epochs": 2}).fit(X, Y["churn"])
    assert single.classes_.tolist() == ["no", "yes"]
    assert MixedTaskEstimator(**FAST).fit(X, Y["spend"]).classes_ is None


def test_partial_fit_over_chunks_learns_both_kinds():
    X, Y = make_frame(600)
    with pytest.raises(ValueError, match="with the targets of its first chunk"):
        MixedTaskEstimator(**FAST).partial_fit(X[:150], Y[:150], classes=CLASSES)
    order = np.random.RandomState(0).permutation(600)
    X, Y = X.iloc[order].reset_index(drop=True), Y.iloc[order].reset_index(drop=True)
    classes = [["no", "yes"], [0, 1, 2], None]
    est = MixedTaskEstimator((32,), lr=1e-2, batch_size=32, random_state=0)
    for epoch in range(10):
        for start in range(0, 450, 150):
            rows = slice(start, start + 150)
            est.partial_fit(X[rows], Y[rows], classes=classes if epoch == 0 else None)
    assert est.n_iter_ == 30 and est.task_kinds_ == ["classification"] * 2 + [
        "regression"
    ]
    # The regression task is standardised with the first chunk's targets.
    first = Y["spend"][:150].dropna()
    assert est.tasks_[2].mean == pytest.approx(first.mean())
    assert est.score(X[450:], Y[450:]) > 0.8
    predicted = est.predict(X[450:])
    assert list(predicted.columns) == ["churn", "tier", "spend"]
    # A later call may repeat the classes, never change them.
    est.partial_fit(X[:150], Y[:150], classes=classes)
    with pytest.raises(ValueError, match="not the same as on the first call"):
        est.partial_fit(X[:150], Y[:150], classes=[["no", "yes"], [0, 1], None])


@pytest.mark.parametrize(
    "classes, match",
    [
        ([["no", "yes"], [0, 1, 2], []], "'spend' is a regression task"),
        ([["no", "yes"], [0, 1, 2], [1, 2]], "'spend' is a regression task"),
        ([["no", "yes"], None, None], "list of 3 arrays"),
    ],
)
def test_partial_fit_bad_classes(classes, match):
    X, Y = make_frame(60)
    with pytest.raises(ValueError, match=match):
        MixedTaskEstimator(**FAST).partial_fit(X, Y, classes=classes)


def test_partial_fit_without_classes_takes_the_first_chunks():
    X, Y = make_frame(120)
    est = MixedTaskEstimator(**FAST).partial_fit(X, Y["spend"])
    assert est.classes_ is None and est.predict(X).shape == (120,)
    est = MixedTaskEstimator(**FAST).partial_fit(X[:60], Y[:60])
    assert est.classes_[0].tolist() == ["no", "yes"]
    assert est.classes_[1].tolist() == sorted(Y["tier"][:60].dropna().unique())
    Y_new = Y[60:].astype({"churn": object})
    Y_new.iloc[0, 0] = "maybe"
    with pytest.raises(ValueError, match="label 'maybe'.*given to its first call"):
        est.partial_fit(X[60:], Y_new)


def test_class_weight_applies_to_the_classification_tasks():
    X, Y = make_frame(300)
    Y["churn"] = np.where(X["a"] > 1, "yes", "no")  # about 1 in 6 is "yes"
    rare = Y["churn"] == "yes"
    kwargs = {**FAST, "max_epochs": 10}
    plain = MixedTaskEstimator(**kwargs).fit(X, Y)
    balanced = MixedTaskEstimator(class_weight="balanced", **kwargs).fit(X, Y)
    weighted = MixedTaskEstimator(class_weight={"churn": {"yes": 5.0}}, **kwargs).fit(
        X, Y
    )
    yes = [
        e.predict_proba(X)[0][rare.to_numpy(), 1].mean()
        for e in (plain, balanced, weighted)
    ]
    # The rare class weighs more: it gets more probability on its own rows.
    assert yes[1] > yes[0] and yes[2] > yes[0]
    # The regression task is unaffected by "balanced" and still learnt.
    assert make_task_scorer("r2", task="spend")(balanced, X, Y) > 0.5
    with pytest.raises(ValueError, match="'spend', a regression task"):
        MixedTaskEstimator(class_weight=[None, None, {1.0: 2.0}], **FAST).fit(X, Y)
