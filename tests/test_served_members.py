"""A served request of a bagged model in one numpy pass (multitask._served_members)."""

import copy
import gc
import weakref

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from sk_mtl import MixedTaskEstimator, MultiTaskClassifier, MultiTaskRegressor
from sk_mtl._engine import _numpy_forward
from sk_mtl._engine._numpy_forward import NUMPY_MAX_ROWS
from sk_mtl.multitask import _served_members
from sk_mtl.multitask._bagging import shared_input
from sk_mtl.multitask._served_members import served_mean_outputs

FAST = dict(hidden_units=(16, 8), max_epochs=15, lr=2e-2, random_state=0)


def _data(n_rows=300):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n_rows, 4))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0]).astype(int)
    return X, Y


@pytest.fixture(scope="module")
def bagged():
    model = MultiTaskClassifier(**FAST).fit(*_data())
    assert len(model.estimators_) == 3  # n_bags="auto" on 300 rows
    return model


def _one_by_one(model, X):
    """The members' probabilities averaged member by member."""
    members = [m.predict_proba(X) for m in model.estimators_]
    return [np.mean([p[t] for p in members], axis=0) for t in range(model.n_tasks_)]


def _served(model, X):
    """The one-pass outputs (asserting that the call takes that path)."""
    shared = shared_input(model, model.estimators_)
    rows = shared.transform(X, model)
    served = served_mean_outputs(model.tasks_, model.estimators_, shared, rows)
    assert served is not None
    return served


def _assert_served_as_one_by_one(model, X):
    served = _served(model, X)
    expected = _one_by_one(model, X)
    for t, proba in enumerate(model.predict_proba(X)):
        np.testing.assert_allclose(proba, expected[t], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(served.probabilities[:, t], proba, atol=1e-12)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def _blends(model, weights):
    """Set each member's blend weight (one for all tasks); a member fitted
    without linear models borrows another member's."""
    fitted = [m for m in model.estimators_ if vars(m).get("linear_coef_") is not None]
    coef, intercept = fitted[0].linear_coef_, fitted[0].linear_intercept_
    for member, w in zip(model.estimators_, weights):
        member._set_blend(np.full(model.n_tasks_, w), coef, intercept)


@pytest.mark.parametrize(
    "weights",
    [None, (0.5, 0.5, 0.5), (0.0, 1.0, 0.25), (0.0, 0.0, 0.0)],
    ids=["as fitted", "mixing", "each its own", "networks alone"],
)
def test_served_rows_are_the_members_mean(bagged, weights):
    model, (X, _) = copy.deepcopy(bagged), _data()
    if weights is not None:
        _blends(model, weights)
    for n_rows in (1, 5, NUMPY_MAX_ROWS):
        _assert_served_as_one_by_one(model, X[:n_rows])


def test_linear_models_alone_leave_the_networks_unread(bagged, monkeypatch):
    model, (X, _) = copy.deepcopy(bagged), _data()
    _blends(model, (1.0, 1.0, 1.0))
    monkeypatch.setattr(_served_members, "numpy_member_logits", None)  # not called
    _assert_served_as_one_by_one(model, X[:3])


def test_without_linear_blend(bagged):
    X, Y = _data()
    model = MultiTaskClassifier(**FAST, linear_blend=False).fit(X, Y)
    assert all("linear_coef_" not in vars(m) for m in model.estimators_)
    _assert_served_as_one_by_one(model, X[:2])


@pytest.mark.parametrize("weights", [None, (0.5, 1.0, 0.0)])
def test_regression_rows_are_the_members_mean(weights):
    X, _ = _data()
    Y = np.column_stack([X[:, 0] + 0.1 * X[:, 1], X[:, 2] ** 2])
    model = MultiTaskRegressor(**FAST).fit(X, Y)
    assert len(model.estimators_) == 3
    if weights is not None:
        _blends(model, weights)
    for n_rows in (1, 4):
        served = _served(model, X[:n_rows])
        assert len(served) == 2 and served[0].shape == (n_rows, 1)
        members = np.mean([m.predict(X[:n_rows]) for m in model.estimators_], axis=0)
        np.testing.assert_allclose(model.predict(X[:n_rows]), members, rtol=1e-6)


def test_larger_batches_run_the_members_one_by_one(bagged):
    X, _ = _data()
    many = X[: NUMPY_MAX_ROWS + 1]
    shared = shared_input(bagged, bagged.estimators_)
    rows = shared.transform(many, bagged)
    assert served_mean_outputs(bagged.tasks_, bagged.estimators_, shared, rows) is None
    few, all_rows = bagged.predict_proba(many[:3]), bagged.predict_proba(many)
    for a, b in zip(few, all_rows):
        np.testing.assert_allclose(a, b[:3], rtol=1e-5, atol=1e-7)


def test_sparse_rows_run_the_members_one_by_one():
    X, Y = _data()
    model = MultiTaskClassifier(**FAST).fit(sp.csr_matrix(X), Y)
    assert len(model.estimators_) == 3
    few = model.predict_proba(sp.csr_matrix(X[:2]))
    for proba, expected in zip(few, _one_by_one(model, sp.csr_matrix(X[:2]))):
        np.testing.assert_allclose(proba, expected, rtol=1e-6, atol=1e-9)


def test_dataframe_rows_with_categories_and_missing_values():
    X, Y = _data()
    frame = pd.DataFrame(X, columns=list("abcd"))
    frame["kind"] = pd.Categorical(np.where(X[:, 3] > 0, "p", "n"))
    frame.loc[::7, "a"] = np.nan
    model = MultiTaskClassifier(**FAST).fit(frame, Y)
    assert len(model.estimators_) == 3
    _assert_served_as_one_by_one(model, frame.iloc[:4])


def test_members_changed_in_place_are_read_again(bagged):
    model, (X, _) = copy.deepcopy(bagged), _data()
    _blends(model, (0.0, 0.0, 0.0))
    before = model.predict_proba(X[:2])
    with torch.no_grad():
        model.estimators_[1].module_.trunk[0].weight.mul_(-1.0)
    _assert_served_as_one_by_one(model, X[:2])
    assert not np.allclose(model.predict_proba(X[:2])[0], before[0])
    state = model.estimators_[0].module_.state_dict()
    model.estimators_[2].module_.load_state_dict(state)
    _assert_served_as_one_by_one(model, X[:2])


def test_a_non_finite_member_output_is_the_error_that_names_the_rows(bagged):
    model, (X, _) = copy.deepcopy(bagged), _data()
    _blends(model, (0.0, 0.0, 0.0))
    with torch.no_grad():
        model.estimators_[2].module_.trunk[0].weight.fill_(np.inf)
    with pytest.raises(ValueError, match="non-finite") as served:
        model.predict_proba(X[:1])
    with pytest.raises(ValueError, match="non-finite") as member:
        model.estimators_[2].predict_proba(X[:1])
    assert str(served.value) == str(member.value)


def test_tasks_of_several_widths_or_kinds_run_the_members_one_by_one():
    X, Y = _data()
    Y = np.column_stack([Y[:, 0], np.digitize(X[:, 1], [-0.5, 0.5])])
    model = MultiTaskClassifier(**FAST).fit(X, Y)  # a binary and a 3-class task
    shared = shared_input(model, model.estimators_)
    rows = shared.transform(X[:2], model)
    assert served_mean_outputs(model.tasks_, model.estimators_, shared, rows) is None
    kinds = ["classification", "regression"]
    mixed = MixedTaskEstimator(**FAST, task_kinds=kinds)
    mixed.fit(X, np.column_stack([Y[:, 0], X[:, 2]]))
    shared = shared_input(mixed, mixed.estimators_)
    rows = shared.transform(X[:2], mixed)
    assert served_mean_outputs(mixed.tasks_, mixed.estimators_, shared, rows) is None


def test_a_dropped_bagged_model_is_freed_after_serving():
    X, Y = _data()
    model = MultiTaskClassifier(**FAST).fit(X, Y)
    model.predict_proba(X[:1])
    assert len(_numpy_forward._STACKS) >= 1
    gone = [weakref.ref(m.module_) for m in model.estimators_]
    del model
    gc.collect()
    assert all(ref() is None for ref in gone)
