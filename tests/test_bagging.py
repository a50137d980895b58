"""Cross-fitted bagging of the multi-task estimators (``n_bags``)."""

import copy
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from _two_tasks import linear_tasks_with_missing
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

import sk_mtl
from sk_mtl import MixedTaskEstimator, MultiTaskClassifier, MultiTaskRegressor
from sk_mtl._engine import _base
from sk_mtl._engine._base import BaseNeuralEstimator
from sk_mtl.ensembles import log_mean_probabilities
from sk_mtl.multitask._bagging import shared_input
from sk_mtl.transfer._reuse import best_member

FAST = dict(hidden_units=(16,), max_epochs=20, lr=2e-2, random_state=0)


@pytest.fixture(scope="module")
def data():
    """150 rows (early stopping on), a binary and a 3-class task with NaN."""
    return linear_tasks_with_missing(150)


@pytest.fixture(scope="module")
def bagged(data):
    X, Y = data
    return MultiTaskClassifier(**FAST, n_bags=3).fit(X, Y)


def _state(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def test_n_bags_1_is_the_one_network_fit(data):
    X, Y = data
    ours = MultiTaskClassifier(**FAST, n_bags=1).fit(X, Y)
    plain = MultiTaskClassifier(**FAST)
    BaseNeuralEstimator.fit(plain, X, Y)  # the fit of one network, no bagging
    for (k, a), b in zip(_state(ours.module_).items(), _state(plain.module_).values()):
        assert torch.equal(a, b), k
    assert ours.history_[:, "valid_loss"] == plain.history_[:, "valid_loss"]
    assert not hasattr(ours, "estimators_")


def test_members_train_on_the_other_folds_and_validate_on_their_own(data, monkeypatch):
    X, Y = data
    seen = []

    def spy(phase, targets, weights, rows):
        seen.append(rows)
        return phase_dataset(phase, targets, weights, rows)

    phase_dataset = _base.phase_dataset
    monkeypatch.setattr(_base, "phase_dataset", spy)
    model = MultiTaskClassifier(**FAST, n_bags=3).fit(X, Y)
    assert len(model.estimators_) == 3 and len(seen) == 6  # (train, valid) each
    folds = model.bag_folds_
    valid = [seen[2 * i + 1] for i in range(3)]
    np.testing.assert_array_equal(np.sort(np.concatenate(valid)), np.arange(len(X)))
    for i, member in enumerate(model.estimators_):
        np.testing.assert_array_equal(valid[i], np.flatnonzero(folds == i))
        np.testing.assert_array_equal(seen[2 * i], np.flatnonzero(folds != i))
        assert member.n_bags == 1 and "valid_loss" in member.history_[-1]
    # stratified on the first task (labelled everywhere): classes spread evenly
    for c in (0, 1):
        counts = np.bincount(folds[Y[:, 0] == c], minlength=3)
        assert counts.max() - counts.min() <= 1
    seeds = {m.random_state for m in model.estimators_}
    assert len(seeds) == 3 and 0 not in seeds


def test_probabilities_are_the_members_mean(data, bagged):
    X, Y = data
    proba = bagged.predict_proba(X)
    members = [m.predict_proba(X) for m in bagged.estimators_]
    for t in range(2):
        mean = np.mean([p[t] for p in members], axis=0)
        np.testing.assert_allclose(proba[t], mean, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(proba[t].sum(axis=1), 1.0)
        classes = bagged.classes_[t]
        np.testing.assert_array_equal(bagged.predict(X)[:, t], classes[mean.argmax(1)])
    assert bagged.score(X, Y) > 0.7
    assert bagged.n_features_in_ == 4 and bagged.n_tasks_ == 2


@pytest.mark.parametrize("linear_blend", [False, True])
def test_tasks_of_one_width_average_in_numpy_as_in_torch(linear_blend):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 4))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0]).astype(int)
    model = MultiTaskClassifier(**FAST, linear_blend=linear_blend).fit(X, Y)
    assert len(model.estimators_) == 3  # n_bags="auto" on 300 rows
    outputs = [m._forward(X[:7]) for m in model.estimators_]
    fast = model._forward(X[:7])
    assert fast.probabilities is not None  # the numpy path, carrying the mean
    for t in range(2):
        members = torch.stack([out[t] for out in outputs]).double()
        torch.testing.assert_close(fast[t], log_mean_probabilities(members, 0))
    mean = np.mean([m.predict_proba(X[:7]) for m in model.estimators_], axis=0)
    np.testing.assert_allclose(model.predict_proba(X[:7]), list(mean), atol=1e-12)


def test_members_fitted_alike_scale_x_once(data, bagged, monkeypatch):
    X, _ = data
    model = copy.deepcopy(bagged)
    members = model.estimators_
    assert shared_input(model, members) is members[0].input_
    kind = type(members[0].input_)
    calls = []
    transform = kind.transform
    monkeypatch.setattr(
        kind, "transform", lambda *a, **k: calls.append(1) or transform(*a, **k)
    )
    expected = model.predict_proba(X)
    assert len(calls) == 1
    # a member whose input differs (a replaced input_ is looked at again)
    changed = copy.deepcopy(members[2].input_)
    changed.robust_center_ = changed.robust_center_ + 1.0
    members[2].input_ = changed
    assert shared_input(model, members) is None
    calls.clear()
    proba = model.predict_proba(X)
    assert len(calls) == 3
    for t in range(2):
        mean = np.mean([m.predict_proba(X)[t] for m in members], axis=0)
        np.testing.assert_allclose(proba[t], mean, atol=1e-12)
        assert not np.allclose(proba[t], expected[t])


def test_regressor_predicts_the_members_mean(data):
    X, _ = data
    Y = np.column_stack([3 * X[:, 0] + 10, X[:, 1] - X[:, 2]])
    Y[::4, 1] = np.nan
    reg = MultiTaskRegressor(**FAST, n_bags=2).fit(X, Y)
    mean = np.mean([m.predict(X) for m in reg.estimators_], axis=0)
    np.testing.assert_allclose(reg.predict(X), mean, rtol=1e-6)
    assert reg.score(X, Y) > 0.5
    # the first task is not a classification task: plain shuffled folds
    assert sorted(np.bincount(reg.bag_folds_)) == [75, 75]


def test_mixed_tasks_average_probabilities_and_values(data):
    X, _ = data
    Y = pd.DataFrame({"side": np.where(X[:, 0] > 0, "up", "down"), "v": X[:, 1] * 5})
    Y.loc[:20, "v"] = np.nan
    est = MixedTaskEstimator(**FAST, n_bags=2).fit(X, Y)
    pred = est.predict(X)
    assert list(pred.columns) == ["side", "v"]
    values = np.mean([m.predict(X)["v"] for m in est.estimators_], axis=0)
    np.testing.assert_allclose(pred["v"], values, rtol=1e-6)
    proba = np.mean([m.predict_proba(X)[0] for m in est.estimators_], axis=0)
    np.testing.assert_allclose(est.predict_proba(X)[0], proba, rtol=1e-10)
    assert est.predict_proba(X)[1] is None
    assert est.task_kinds_ == ["classification", "regression"]


def test_first_task_with_missing_labels_uses_plain_folds(data):
    X, Y = data
    model = MultiTaskClassifier(**FAST, n_bags=3).fit(X, Y[:, ::-1])
    assert sorted(np.bincount(model.bag_folds_)) == [50, 50, 50]
    assert np.isfinite(model.predict_proba(X)[0]).all()


def test_same_random_state_same_model(data, bagged):
    X, Y = data
    again = MultiTaskClassifier(**FAST, n_bags=3).fit(X, Y)
    np.testing.assert_array_equal(again.bag_folds_, bagged.bag_folds_)
    np.testing.assert_array_equal(again.predict_proba(X)[1], bagged.predict_proba(X)[1])


def test_save_load_and_pickle_keep_the_predictions(data, bagged, tmp_path):
    X, _ = data
    expected = bagged.predict_proba(X)
    path = tmp_path / "bagged.skmtl"
    sk_mtl.save(bagged, path)
    for model in (sk_mtl.load(path), pickle.loads(pickle.dumps(bagged))):
        assert len(model.estimators_) == 3 and not hasattr(model, "module_")
        for a, b in zip(model.predict_proba(X), expected):
            np.testing.assert_array_equal(a, b)


def test_clone_and_grid_search_over_n_bags(data):
    X, Y = data
    y = Y[:, 0].astype(int)
    assert clone(MultiTaskClassifier(n_bags=4)).n_bags == 4
    search = GridSearchCV(MultiTaskClassifier(**FAST), {"n_bags": [1, 2]}, cv=2)
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 2
    best = search.best_estimator_
    assert hasattr(best, "estimators_") == (search.best_params_["n_bags"] == 2)


def test_a_bagged_model_has_no_single_network(bagged):
    for name in ("module_", "net_", "input_", "history_", "loss_curve_"):
        with pytest.raises(AttributeError, match=f"n_bags=3.*no {name}"):
            getattr(bagged, name)
    assert bagged.estimators_[0].module_ is not None


def test_refit_replaces_one_kind_of_model_by_the_other(data):
    X, Y = data
    model = MultiTaskClassifier(**FAST, n_bags=2).fit(X, Y)
    model.set_params(n_bags=1).fit(X, Y)
    assert hasattr(model, "module_") and not hasattr(model, "estimators_")
    assert not hasattr(model, "bag_folds_")
    model.set_params(n_bags=2).fit(X, Y)
    assert len(model.estimators_) == 2 and not hasattr(model, "history_")


@pytest.mark.parametrize("n_bags", [0, 1.5, "many"])
def test_n_bags_must_be_a_positive_int(data, n_bags):
    X, Y = data
    with pytest.raises(ValueError, match="n_bags"):
        MultiTaskRegressor(n_bags=n_bags).fit(X, Y[:, 0])


def test_more_bags_than_rows_warm_start_and_partial_fit_are_errors(data):
    """partial_fit is absent with n_bags > 1, as MLPClassifier's with lbfgs."""
    X, Y = data
    with pytest.raises(ValueError, match="n_bags=5 .* 3 sample"):
        MultiTaskClassifier(n_bags=5).fit(X[:3], Y[:3, 0])
    with pytest.raises(ValueError, match="warm_start=True .* n_bags=2"):
        MultiTaskClassifier(n_bags=2, warm_start=True).fit(X, Y)
    for model in (
        MultiTaskClassifier(n_bags=2),
        MixedTaskEstimator(n_bags=2),
        MultiTaskClassifier(**FAST, n_bags=2).fit(X, Y),
    ):
        assert not hasattr(model, "partial_fit")
        with pytest.raises(AttributeError, match="no attribute 'partial_fit'") as err:
            model.partial_fit(X, Y[:, 0].astype(int), classes=[0, 1])
        assert "partial_fit trains one network" in str(err.value.__cause__)
        assert not hasattr(model, "module_")
    assert hasattr(MixedTaskEstimator(n_bags="auto"), "partial_fit")
    # a bagged model cannot be continued, whatever n_bags now says
    model = MultiTaskClassifier(**FAST, n_bags="auto").fit(X, Y)
    assert len(model.estimators_) == 3 and not hasattr(model, "partial_fit")
    model.set_params(n_bags=1).fit(X, Y)
    model.partial_fit(X, Y)
    assert model.n_iter_ == len(model.history_) > 1


def test_a_failed_bagged_fit_leaves_the_previous_model(data, bagged):
    X, Y = data
    model = pickle.loads(pickle.dumps(bagged))
    with pytest.raises(ValueError, match="classifier needs at least 2 classes"):
        model.fit(X, np.zeros(len(X)))
    assert len(model.estimators_) == 3
    np.testing.assert_array_equal(model.predict(X), bagged.predict(X))


def test_auto_bags_three_members_where_early_stopping_holds_rows_out():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(1_000, 3))
    y = X[:, 0] + 0.1 * rng.normal(size=1_000)
    fast = dict(hidden_units=(4,), max_epochs=2)
    assert MultiTaskRegressor().n_bags == "auto"  # the default
    assert len(MultiTaskRegressor(**fast).fit(X[:999], y[:999]).estimators_) == 3
    assert len(MultiTaskRegressor(**fast).fit(X[:101], y[:101]).estimators_) == 3
    assert hasattr(MultiTaskRegressor(**fast).fit(X, y), "module_")
    # early stopping off ("auto" at 100 rows or fewer, or False): one network
    assert hasattr(MultiTaskRegressor(**fast).fit(X[:100], y[:100]), "module_")
    off = MultiTaskRegressor(**fast, early_stopping=False).fit(X[:500], y[:500])
    assert hasattr(off, "module_")
    on = MultiTaskRegressor(**fast, early_stopping=True).fit(X[:50], y[:50])
    assert len(on.estimators_) == 3
    warm = MultiTaskClassifier(**fast, warm_start=True).fit(X[:500], y[:500] > 0)
    assert hasattr(warm, "module_")  # a warm start continues one network


def test_a_bagged_source_lends_its_member_of_best_held_out_score(data, bagged):
    X, Y = data
    scores = [m.best_validation_score_ for m in bagged.estimators_]
    best = bagged.estimators_[int(np.argmax(scores))]
    assert best_member(bagged.estimators_) is best
    tuned = sk_mtl.FineTuner(bagged, max_epochs=2, random_state=0).fit(X, Y[:, 0])
    from_best = sk_mtl.FineTuner(best, max_epochs=2, random_state=0).fit(X, Y[:, 0])
    np.testing.assert_array_equal(tuned.predict_proba(X), from_best.predict_proba(X))
    transfer = sk_mtl.TransferClassifier(bagged, max_epochs=1).fit(X, Y[:, 0])
    assert transfer.predict(X).shape == (len(X),)
    # members that held no rows out have no score to compare: the first
    plain = MultiTaskClassifier(**FAST, n_bags=2, early_stopping=False).fit(X, Y)
    assert plain.estimators_[0].best_validation_score_ is None
    assert best_member(plain.estimators_) is plain.estimators_[0]


def test_a_missing_attribute_looks_the_class_up_once(data):
    # scikit-learn asks getattr(model, "feature_names_in_", None) on every
    # prediction of a model fitted without names: __getattr__ must not search
    # the class each time.
    from sk_mtl.multitask import _bagging

    X, Y = data
    model = MultiTaskClassifier((4,), max_epochs=1, random_state=0).fit(X, Y)
    getattr(model, "feature_names_in_", None)
    before = _bagging._class_attribute.cache_info()
    for _ in range(3):
        assert getattr(model, "feature_names_in_", None) is None
    after = _bagging._class_attribute.cache_info()
    assert after.misses == before.misses and after.hits == before.hits + 3
