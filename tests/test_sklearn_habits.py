"""What sklearn and skorch users do first, and what they should get (issue 14)."""

import io
import re
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
import torch
from sklearn.base import clone
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_val_score, cross_validate
from sklearn.model_selection import cross_val_predict as sk_cross_val_predict
from torch import nn

from sk_mtl import (
    FineTuner,
    MixedTaskEstimator,
    MultiTaskClassifier,
    MultiTaskRegressor,
    TransferClassifier,
    make_task_scorer,
)
from sk_mtl.model_selection import TaskStratifiedKFold, cross_val_predict


@pytest.fixture(scope="module")
def data():
    """X (150 x 4) and Y of two binary tasks, task 1 missing on rows 0, 4, 8..."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(150, 4)).astype(np.float32)
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + 0.5 * X[:, 0] > 0]).astype(float)
    Y[::4, 1] = np.nan
    return X, Y


def small(**params):
    params = {"max_epochs": 3, "n_bags": 1, "random_state": 0, **params}
    return MultiTaskClassifier((8,), **params)


# ------------------------------------------------------------ cross_val_predict
def test_sklearn_cross_val_predict_learns_nan_as_a_class_ours_does_not(data):
    X, Y = data
    cv = TaskStratifiedKFold(3)
    theirs = sk_cross_val_predict(small(), X, Y, cv=cv, method="predict_proba")
    assert [p.shape[1] for p in theirs] == [2, 3]  # NaN became a third class
    ours = cross_val_predict(small(), X, Y, cv=3, method="predict_proba")
    assert [p.shape for p in ours] == [(150, 2), (150, 2)]
    np.testing.assert_allclose([p.sum(axis=1) for p in ours], 1.0, rtol=1e-6)
    # Each row's prediction comes from the fold that did not train on it.
    train, test = next(iter(TaskStratifiedKFold(3).split(X, Y)))
    fold = small().fit(X[train], Y[train])
    np.testing.assert_allclose(ours[1][test], fold.predict_proba(X[test])[1])


def test_cross_val_predict_keeps_string_and_int_labels():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(90, 3))
    Y = pd.DataFrame(
        {
            "colour": pd.Series(np.where(X[:, 0] > 0, "red", "blue"), dtype=object),
            "size": pd.array(np.where(X[:, 1] > 0, 1, 0), dtype="Int64"),
        }
    )
    Y.loc[::5, "colour"] = None
    Y.loc[::7, "size"] = pd.NA
    pred = cross_val_predict(small(), X, Y, cv=3)
    assert pred.shape == (90, 2)
    assert set(pred[:, 0]) <= {"red", "blue"}
    assert {type(v) for v in pred[:, 1]} <= {int, np.int64}
    proba = cross_val_predict(small(), X, Y["colour"], cv=3, method="predict_proba")
    assert proba.shape == (90, 2)
    with pytest.raises(ValueError, match="partitions"):
        cross_val_predict(small(), X, Y, cv=[(np.arange(50), np.arange(50, 60))])


# ------------------------------------------------------------------ GridSearchCV
def test_grid_search_with_missing_and_string_labels_needs_task_cv(data):
    X, Y = data
    Ys = np.where(Y == 1, "yes", "no").astype(object)
    Ys[np.isnan(Y)] = None
    grid = {"lr": [1e-3, 1e-2]}
    # sklearn's cv=3 inspects y before the estimator sees it, and fails:
    with pytest.raises(ValueError, match="NaN"):
        GridSearchCV(small(), grid, cv=3).fit(X, Y)
    with pytest.raises(TypeError):
        GridSearchCV(small(), grid, cv=3).fit(X, Ys)
    # The documented route:
    for y in (Y, Ys):
        search = GridSearchCV(small(), grid, cv=TaskStratifiedKFold(3)).fit(X, y)
        assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_cross_val_score_with_missing_labels_through_task_cv(data):
    X, Y = data
    with pytest.raises(ValueError, match="NaN"):  # sklearn's splitter, not ours
        cross_val_score(small(), X, Y, cv=3)
    clf = small(max_epochs=20, lr=3e-2)
    scores = cross_val_score(clf, X, Y, cv=TaskStratifiedKFold(3))
    assert scores.shape == (3,) and (scores > 0.75).all()
    # The way out is named where a user looks first: fit's y.
    assert "cv=TaskStratifiedKFold" in MultiTaskClassifier.fit.__doc__
    assert "cv=TaskStratifiedKFold" in MixedTaskEstimator.fit.__doc__


def test_roc_auc_by_name_is_nan_but_task_scorer_is_the_mean_over_tasks(data):
    X, Y = data
    grid = {"lr": [1e-3, 1e-2]}
    cv = TaskStratifiedKFold(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nan = GridSearchCV(small(), grid, cv=cv, scoring="roc_auc").fit(X, Y)
    assert np.isnan(nan.cv_results_["mean_test_score"]).all()  # sklearn's limit
    trained = small(max_epochs=15)
    grid = {"lr": [1e-2, 3e-2]}
    search = GridSearchCV(trained, grid, cv=cv, scoring=make_task_scorer("roc_auc"))
    search.fit(X, Y)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and (scores > 0.5).all()
    fitted = search.best_estimator_
    proba = fitted.predict_proba(X)
    labelled = ~np.isnan(Y[:, 1])
    expected = np.mean(
        [
            roc_auc_score(Y[:, 0], proba[0][:, 1]),
            roc_auc_score(Y[labelled, 1], proba[1][labelled, 1]),
        ]
    )
    assert make_task_scorer("roc_auc")(fitted, X, Y) == pytest.approx(expected)


def test_metric_failure_names_the_task(data):
    X, Y = data
    clf = small().fit(X, Y)
    Y3 = Y.copy()
    Y3[:, 0] = 1.0  # one class only: AUC undefined
    with pytest.raises(ValueError, match="undefined \\(NaN\\) on task 'task_0'"):
        make_task_scorer("roc_auc")(clf, X, Y3)
    with pytest.raises(ValueError, match="f1_score failed on task 'task_1'"):
        make_task_scorer(f1_score, task=1, average="bogus")(clf, X, Y)


def test_task_scorer_receives_sample_weight_under_metadata_routing(data):
    X, Y = data
    w = np.where(np.arange(len(X)) % 2, 5.0, 0.2)
    scorer = make_task_scorer("accuracy")
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = scorer.set_score_request(sample_weight=True)
        clf = small().set_fit_request(sample_weight=False)
        cv = TaskStratifiedKFold(3)
        result = cross_validate(
            clf, X, Y, cv=cv, scoring=scorer, params={"sample_weight": w}
        )
        train, test = next(iter(cv.split(X, Y)))
        fold = small().fit(X[train], Y[train])
    weighted = make_task_scorer("accuracy")(
        fold, X[test], Y[test], sample_weight=w[test]
    )
    unweighted = make_task_scorer("accuracy")(fold, X[test], Y[test])
    assert result["test_score"][0] == pytest.approx(weighted)
    assert weighted != pytest.approx(unweighted)


# ------------------------------------------------------- skorch-style options
def test_optimizer_and_lr_scheduler_options_skorch_style(data):
    X, Y = data
    clf = small(optimizer="sgd", lr=0.1)
    clf.set_params(optimizer__momentum=0.9, optimizer__nesterov=True)
    assert clf.get_params()["optimizer_options"] == {"momentum": 0.9, "nesterov": True}
    clf.set_params(lr_scheduler="StepLR", lr_scheduler__step_size=1)
    clf.set_params(lr_scheduler__gamma=0.5)
    clf.fit(X, Y)
    group = clf.net_.optimizer_.param_groups[0]
    assert group["momentum"] == 0.9 and group["nesterov"] is True
    assert clf.history_[:, "event_lr"] == pytest.approx([0.1, 0.05, 0.025])
    assert clone(clf).optimizer_options == {"momentum": 0.9, "nesterov": True}
    search = GridSearchCV(
        small(optimizer="sgd"),
        {"optimizer__momentum": [0.0, 0.9]},
        cv=TaskStratifiedKFold(2),
    ).fit(X, Y)
    assert search.best_estimator_.optimizer_options["momentum"] in (0.0, 0.9)
    with pytest.raises(ValueError, match="torch.optim.lr_scheduler"):
        small(lr_scheduler="Nope").fit(X, Y)


def test_optimizer_options_in_the_constructor_as_in_skorch(data):
    X, Y = data
    clf = small(
        optimizer="sgd",
        optimizer__momentum=0.9,
        optimizer__weight_decay=1e-4,
        lr_scheduler="StepLR",
        lr_scheduler__step_size=1,
    )
    # Folded into the ordinary parameters: optimizer__weight_decay is weight_decay.
    params = clf.get_params()
    assert params["optimizer_options"] == {"momentum": 0.9}
    assert params["weight_decay"] == 1e-4
    assert params["lr_scheduler_options"] == {"step_size": 1}
    assert "optimizer__momentum" not in params
    assert clone(clf).get_params() == params
    clf.set_params(optimizer__weight_decay=1e-3, optimizer__lr=0.05).fit(X, Y)
    group = clf.net_.optimizer_.param_groups[0]
    assert (group["momentum"], group["weight_decay"]) == (0.9, 1e-3)
    assert clf.lr == 0.05 and clf.history_[0, "event_lr"] == 0.05
    with pytest.raises(TypeError, match="hiden_units"):
        small(hiden_units=(8,))
    with pytest.raises(TypeError, match="callbacks__x"):
        small(callbacks__x=1)


def test_adam_uses_torchs_fused_update_unless_told_otherwise(data):
    X, Y = data
    fused = small().fit(X, Y).net_.optimizer_.defaults
    assert fused["fused"] is True
    chosen = small(optimizer__foreach=True).fit(X, Y).net_.optimizer_.defaults
    assert chosen["foreach"] is True and not chosen["fused"]
    sgd = small(optimizer="sgd").fit(X, Y).net_.optimizer_.defaults
    assert not sgd.get("fused")
    # The same algorithm: the loop over tensors lands on the same model,
    # up to float rounding.
    looped = small(optimizer__fused=False).fit(X, Y)
    np.testing.assert_allclose(
        looped.predict_proba(X[:20])[0],
        small().fit(X, Y).predict_proba(X[:20])[0],
        atol=1e-4,
    )


class Trunk(nn.Module):
    def __init__(self, n_in=4, width=6):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(n_in, width), nn.Tanh())

    def forward(self, X):
        return self.layers(X)


def test_user_module_trunk_with_our_heads_and_missing_labels(data):
    X, Y = data
    clf = small(module=Trunk).set_params(module__width=5, max_epochs=20, lr=1e-2)
    clf.fit(X, Y)
    assert isinstance(clf.module_.trunk, Trunk)
    assert [h.in_features for h in clf.module_.heads] == [5, 5]
    assert clf.score(X, Y) > 0.8
    again = clone(clf).fit(X, Y)  # seeded: same weights
    np.testing.assert_array_equal(again.predict_proba(X)[1], clf.predict_proba(X)[1])
    instance = Trunk()
    before = [p.detach().clone() for p in instance.parameters()]
    small(module=instance).fit(X, Y)
    assert all(torch.equal(a, b) for a, b in zip(before, instance.parameters()))
    with pytest.raises(ValueError, match=r"module \(Trunk\) failed on a float"):
        small(module=Trunk, module_options={"n_in": 7}).fit(X, Y)
    with pytest.raises(ValueError, match="architecture='shared_bottom'"):
        small(module=Trunk, architecture="mmoe").fit(X, Y)


# ------------------------------------------------------------------ class_weight
def test_class_weight_balanced_and_per_task_dicts():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 4)).astype(np.float32)
    rare = (X[:, 0] > 1.3).astype(int)  # ~10% positives
    Y = np.column_stack([rare, X[:, 1] > 0]).astype(float)
    params = {"max_epochs": 15, "lr": 1e-2}
    plain = small(**params).fit(X, Y)
    balanced = small(class_weight="balanced", **params).fit(X, Y)
    by_name = small(class_weight={"task_0": "balanced"}, **params).fit(X, Y)
    as_list = small(class_weight=["balanced", None], **params).fit(X, Y)
    as_dict = small(class_weight=[{1: 9.0}, None], **params).fit(X, Y)
    positives = [m.predict(X)[:, 0].sum() for m in (plain, balanced, as_dict)]
    assert positives[1] > positives[0] and positives[2] > positives[0]
    np.testing.assert_array_equal(
        by_name.predict_proba(X)[0], as_list.predict_proba(X)[0]
    )
    with pytest.raises(ValueError, match="label 7 for task 'task_0'"):
        small(class_weight=[{7: 2.0}, None]).fit(X, Y)
    with pytest.raises(ValueError, match="single task"):
        small(class_weight={1: 2.0}).fit(X, Y)
    with pytest.raises(ValueError, match="2 task"):
        small(class_weight=["balanced"]).fit(X, Y)
    single = small(class_weight={1: 9.0}, **params).fit(X, rare)
    assert single.predict(X).sum() > plain.predict(X)[:, 0].sum()


# ------------------------------------------------------- MLPClassifier attributes
def test_loss_curve_and_validation_scores(data):
    X, Y = data
    clf = small(max_epochs=4, early_stopping=False).fit(X, Y)
    assert clf.loss_curve_ == pytest.approx(clf.history_[:, "train_loss"])
    assert len(clf.loss_curve_) == 4
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    es = small(max_epochs=6, early_stopping=True, validation_fraction=0.3).fit(X, Y)
    scores = es.validation_scores_
    assert len(scores) == es.n_iter_ and all(0 <= s <= 1 for s in scores)
    assert es.best_validation_score_ == max(scores)
    assert not hasattr(small(), "loss_curve_")


# --------------------------------------------------------------- label types
@pytest.mark.parametrize(
    "make_y",
    [
        lambda y0, y1: np.column_stack([y0, y1]).astype(float),  # NaN made floats
        lambda y0, y1: pd.DataFrame(
            {"a": pd.array(y0, dtype="Int64"), "b": pd.array(y1, dtype="Int64")}
        ),
        lambda y0, y1: pd.DataFrame({"a": y0, "b": y1.astype(float)}),
    ],
)
def test_int_labels_with_missing_values_stay_ints(data, make_y):
    X, _ = data
    y0 = (X[:, 0] > 0).astype(int)
    y1 = (X[:, 1] > 0).astype(int)
    Y = make_y(y0, y1)
    if isinstance(Y, pd.DataFrame):
        Y.loc[::4, "b"] = pd.NA if Y["b"].dtype == "Int64" else np.nan
    else:
        Y[::4, 1] = np.nan
    clf = small(max_epochs=20, lr=1e-2).fit(X, Y)
    assert [c.dtype.kind for c in clf.classes_] == ["i", "i"]
    pred = clf.predict(X)
    assert pred.dtype.kind == "i"
    assert clf.score(X, Y) > 0.8  # int predictions match the given labels


def test_float_labels_without_missing_values_stay_floats(data):
    X, Y = data
    clf = small().fit(X, Y[:, 0])
    assert clf.classes_.dtype.kind == "f"


# ------------------------------------------------------------------- docs link
def test_html_repr_links_to_our_api_page():
    html = MultiTaskClassifier()._repr_html_()
    links = set(re.findall(r'href="([^"#]+)', html))
    page = "generated/sk_mtl.MultiTaskClassifier.html"
    assert any(link.endswith(page) for link in links)
    assert not any("scikit-learn.org" in link for link in links)
    assert FineTuner(None)._get_doc_link().endswith("sk_mtl.FineTuner.html")
    assert (
        TransferClassifier(None)
        ._get_doc_link()
        .endswith("sk_mtl.TransferClassifier.html")
    )


# ---------------------------------------------------------------- verbose output
class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_epoch_table_is_plain_off_a_terminal_and_progress_bar_only_on_one(
    data, capsys, monkeypatch
):
    X, Y = data
    small(verbose=1, early_stopping=True).fit(X, Y)
    out, err = capsys.readouterr()
    assert "train_loss" in out and "valid_score" in out
    assert "\x1b[" not in out  # captured output is not a terminal: no colours
    assert err == ""
    # verbose=2 into a log file: the epoch lines, no bar debris ("0%| | 0/2").
    small(verbose=2, early_stopping=False).fit(X, Y)
    out, err = capsys.readouterr()
    assert out.count("\n") == 5  # header, rule, one line per epoch
    assert err == ""
    # On a terminal, one tqdm bar per epoch over its 2 batches (150 rows, batch
    # 128), on stderr.
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    small(verbose=2, early_stopping=False).fit(X, Y)
    assert terminal.getvalue().count("0/2 [") == 3


def test_progress_helper_writes_plain_lines_off_a_terminal(capsys, monkeypatch):
    from sk_mtl._engine._monitoring import progress

    assert list(progress(range(3), verbose=1, desc="folds")) == [0, 1, 2]
    assert capsys.readouterr().err == ""
    assert list(progress(range(3), verbose=2, desc="folds")) == [0, 1, 2]
    assert capsys.readouterr().err == "folds: 1/3\nfolds: 2/3\nfolds: 3/3\n"
    assert sum(progress(range(1000), verbose=2, desc="texts")) == 499500
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 10 and lines[-1] == "texts: 1000/1000"
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert list(progress(range(3), verbose=2, desc="folds")) == [0, 1, 2]
    assert "folds:   0%|" in terminal.getvalue()  # a tqdm bar


# ---------------------------------------------------------- mistakes in y and X
@pytest.mark.parametrize(
    "make", [MultiTaskClassifier, MultiTaskRegressor, MixedTaskEstimator]
)
def test_transposed_y_is_a_length_mismatch(data, make):
    X, Y = data
    est = make((4,), max_epochs=1)
    message = re.escape("inconsistent numbers of samples: [150, 2]")
    with pytest.raises(ValueError, match=message):
        est.fit(X, Y.T)
    if hasattr(est, "partial_fit"):
        with pytest.raises(ValueError, match=message):
            est.partial_fit(X, Y.T, classes=[[0, 1]] * 150)
