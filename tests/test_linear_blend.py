"""The linear blend of the multi-task estimators (``linear_blend``)."""

import os
import pickle
import tempfile

import numpy as np
import pandas as pd
import pytest
import torch
from _two_tasks import linear_tasks_with_missing
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

import sk_mtl
from sk_mtl import MixedTaskEstimator, MultiTaskClassifier, MultiTaskRegressor
from sk_mtl._data._tabular import TabularData
from sk_mtl._data._tasks import ClassificationTask, RegressionTask
from sk_mtl.multitask import _linear_blend as blend
from sk_mtl.multitask import _shared_network
from sk_mtl.utils import TaskTargets

# One epoch: a network far from fitted, which a linear model beats on a
# linear target.
WEAK = dict(hidden_units=(16,), max_epochs=1, lr=1e-3, n_bags=1, random_state=0)
FAST = dict(hidden_units=(32,), max_epochs=60, lr=2e-2, n_bags=1, random_state=0)


@pytest.fixture(scope="module")
def linear_tasks():
    """200 rows, a binary and a 3-class task of linear boundaries (NaN labels)."""
    return linear_tasks_with_missing(200)


@pytest.fixture(scope="module")
def blended(linear_tasks):
    X, Y = linear_tasks
    return MultiTaskClassifier(**WEAK, linear_blend=True).fit(X, Y)


def _proba_equal(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a, b))


def test_a_linear_target_blends_the_linear_model_in(linear_tasks, blended):
    X, Y = linear_tasks
    assert blended.linear_blend_weights_.shape == (2,)
    assert (blended.linear_blend_weights_ > 0).all()
    # two heads side by side: 2 + 3 columns over the 4 features as the network
    # reads them, quantile-normal then robust-scaled
    assert blended.input_.width == 8
    assert blended.linear_coef_.shape == (8, 5)
    assert blended.linear_intercept_.shape == (5,)
    alone = MultiTaskClassifier(**WEAK, linear_blend=False).fit(X, Y)
    assert not hasattr(alone, "linear_blend_weights_")
    # the same network, so the blend alone makes the difference on new rows
    rng = np.random.RandomState(1)
    X_new = rng.normal(size=(400, 4))
    y_new = np.digitize(X_new[:, 1], [-0.5, 0.5])
    for model in (blended, alone):
        proba = model.predict_proba(X_new)[1]
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    log_loss = [
        -np.log(m.predict_proba(X_new)[1][np.arange(400), y_new]).mean()
        for m in (blended, alone)
    ]
    assert log_loss[0] < log_loss[1] - 0.05
    labels = blended.predict(X_new)
    probas = blended.predict_proba(X_new)
    for t in range(2):
        np.testing.assert_array_equal(labels[:, t], probas[t].argmax(axis=1))


def test_a_network_that_wins_keeps_weight_zero_and_its_own_predictions():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(400, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)  # XOR: no linear boundary
    model = MultiTaskClassifier(**FAST, linear_blend=True).fit(X, y)
    np.testing.assert_array_equal(model.linear_blend_weights_, [0.0])
    assert model.linear_coef_ is None and model.linear_intercept_ is None
    alone = MultiTaskClassifier(**FAST, linear_blend=False).fit(X, y)
    np.testing.assert_array_equal(model.predict_proba(X), alone.predict_proba(X))


def test_weights_zero_skip_the_blend_on_the_one_row_path(monkeypatch):
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(400, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    model = MultiTaskClassifier(**FAST, linear_blend=True).fit(X, y)
    assert not model.linear_blend_weights_.any()

    def fail(*args):
        raise AssertionError("the blend ran with every weight 0")

    monkeypatch.setattr(_shared_network, "blend_outputs", fail)
    one = model.predict_proba(X[:1])
    assert one.shape == (1, 2)


def test_regression_blends_on_a_linear_target():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(150, 6))
    coef = rng.normal(size=6)
    y = X @ coef + 0.3 * rng.normal(size=150)
    model = MultiTaskRegressor(**WEAK, linear_blend=True).fit(X, y)
    assert model.linear_blend_weights_[0] > 0
    alone = MultiTaskRegressor(**WEAK, linear_blend=False).fit(X, y)
    X_new = rng.normal(size=(300, 6))
    y_new = X_new @ coef
    errors = [((m.predict(X_new) - y_new) ** 2).mean() for m in (model, alone)]
    assert errors[0] < 0.5 * errors[1]
    assert model.score(X_new, y_new) > alone.score(X_new, y_new)


def test_mixed_tasks_with_categories_and_missing_values():
    rng = np.random.RandomState(0)
    n = 300
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": pd.Categorical(rng.choice(["x", "y", "z"], n)),
            "c": np.where(rng.rand(n) < 0.1, np.nan, rng.normal(size=n)),
        }
    )
    Y = pd.DataFrame(
        {
            "r": 2 * X["a"] + (X["b"] == "x") + 0.3 * rng.normal(size=n),
            "k": (X["a"] - (X["b"] == "y") > 0).astype(int),
        }
    )
    model = MixedTaskEstimator(**WEAK, linear_blend=True).fit(X, Y)
    assert (model.linear_blend_weights_ > 0).all()
    # a, c in both views, c's missing indicator, b's codes (missing, other, x,
    # y, z)
    assert model.linear_coef_.shape == (4 + 1 + 5, 1 + 2)
    # the one-hot product splits the fitted input's columns where the design
    # matrix the linear models were fitted on put them
    data, cards = model.input_.transform(X, model), model.input_.cardinalities_
    assert data.numeric.shape[1] == 4
    coef, intercept = model.linear_coef_, model.linear_intercept_
    np.testing.assert_allclose(
        blend.linear_outputs(data, coef, intercept, cards),
        blend._design(data, cards) @ coef + intercept,
    )
    proba = model.predict_proba(X)
    assert proba[0] is None and proba[1].shape == (n, 2)
    pred = model.predict(X)
    np.testing.assert_array_equal(pred["k"], proba[1].argmax(axis=1))
    path = os.path.join(tempfile.mkdtemp(), "mixed.skmtl")
    sk_mtl.save(model, path)
    pd.testing.assert_frame_equal(sk_mtl.load(path).predict(X), pred)


def test_save_load_pickle_and_clone_keep_the_blend(linear_tasks, blended):
    X, _ = linear_tasks
    expected = blended.predict_proba(X)
    path = os.path.join(tempfile.mkdtemp(), "blend.skmtl")
    sk_mtl.save(blended, path)
    loaded = sk_mtl.load(path)
    np.testing.assert_array_equal(
        loaded.linear_blend_weights_, blended.linear_blend_weights_
    )
    assert _proba_equal(loaded.predict_proba(X), expected)
    assert _proba_equal(pickle.loads(pickle.dumps(blended)).predict_proba(X), expected)
    assert clone(blended).get_params()["linear_blend"] is True
    assert not hasattr(clone(blended), "linear_coef_")


def test_partial_fit_drops_the_blend(linear_tasks):
    X, Y = linear_tasks
    model = MultiTaskClassifier(**WEAK, linear_blend=True).fit(X, Y)
    assert model.linear_blend_weights_.any()
    model.partial_fit(X, Y)
    np.testing.assert_array_equal(model.linear_blend_weights_, [0.0, 0.0])
    assert model.linear_coef_ is None
    logits = model.module_(torch.from_numpy(model.input_.transform(X, model)))
    np.testing.assert_allclose(
        model.predict_proba(X)[0], torch.softmax(logits[0], 1).detach(), atol=1e-6
    )


def test_bagged_members_each_blend(linear_tasks):
    X, Y = linear_tasks
    params = {**WEAK, "n_bags": 2}
    model = MultiTaskClassifier(**params, linear_blend=True).fit(X, Y)
    for member in model.estimators_:
        assert member.linear_blend_weights_.any()
    with pytest.raises(AttributeError, match="estimators_"):
        _ = model.linear_blend_weights_
    mean = np.mean([m.predict_proba(X)[1] for m in model.estimators_], axis=0)
    np.testing.assert_allclose(model.predict_proba(X)[1], mean, atol=1e-12)


def test_held_out_rows_are_needed(linear_tasks):
    X, Y = linear_tasks
    with pytest.raises(ValueError, match="early_stopping"):
        MultiTaskClassifier(**WEAK, linear_blend=True).fit(X[:80], Y[:80])
    auto = MultiTaskClassifier(**WEAK, linear_blend="auto").fit(X[:80], Y[:80])
    assert not hasattr(auto, "linear_blend_weights_")
    on = MultiTaskClassifier(**WEAK, linear_blend="auto").fit(X, Y)
    assert on.linear_blend_weights_.any()
    with pytest.raises(ValueError, match="linear_blend"):
        MultiTaskClassifier(linear_blend="yes").fit(X, Y)


def test_a_refit_without_the_blend_forgets_it(linear_tasks, blended):
    X, Y = linear_tasks
    model = pickle.loads(pickle.dumps(blended))
    model.set_params(linear_blend=False).fit(X, Y)
    assert not hasattr(model, "linear_coef_")


def test_grid_search_over_the_blend(linear_tasks):
    X, Y = linear_tasks
    search = GridSearchCV(
        MultiTaskClassifier(**WEAK, early_stopping=True),
        {"linear_blend": [False, True]},
        cv=2,
    ).fit(X[:, :2], Y[:, 0])
    assert search.best_params_ == {"linear_blend": True}
    assert search.best_estimator_.linear_blend_weights_.any()


def test_one_hot_product_matches_the_design_matrix():
    rng = np.random.RandomState(0)
    X = TabularData(
        rng.normal(size=(20, 2)).astype(np.float32),
        (rng.rand(20, 1) < 0.3).astype(np.float32),
        np.column_stack([rng.randint(0, 4, 20), rng.randint(0, 3, 20)]),
        4,
    )
    cards = [4, 3]
    coef, intercept = rng.normal(size=(2 + 1 + 7, 3)), rng.normal(size=3)
    expected = blend._design(X, cards) @ coef + intercept
    np.testing.assert_allclose(
        blend.linear_outputs(X, coef, intercept, cards), expected
    )
    rows = np.array([3, 5])
    np.testing.assert_allclose(
        blend.linear_outputs(X[rows], coef, intercept, cards),
        expected[rows],
    )


def test_a_class_the_training_rows_lack_gets_no_probability():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 2)).astype(np.float32)
    codes = np.where(X[:, 0] > 0, 2, 0)[:, None]  # class 1 never seen
    targets = TaskTargets(codes, np.ones((60, 1), bool), [None], ["t"], False)
    task = ClassificationTask("t", np.array(["a", "b", "c"]))
    coef, intercept, fitted = blend.fit_linear_models(
        [task], X, targets, np.ones((60, 1)), np.arange(60), ()
    )
    assert fitted == [True] and coef.shape == (2, 3)
    proba = blend.softmax(blend.linear_outputs(X, coef, intercept, ()))
    assert proba[:, 1].max() < 1e-15
    assert (proba[:, [0, 2]].argmax(axis=1) * 2 == codes[:, 0]).mean() > 0.9


def test_choose_weights_picks_the_better_model_per_task():
    n = 40
    rng = np.random.RandomState(0)
    y = rng.normal(size=n)
    codes = np.column_stack([y, (y > 0).astype(float)])
    targets = TaskTargets(codes, np.ones((n, 2), bool), [None, None], ["r", "c"], True)
    tasks = [RegressionTask("r", 0.0, 1.0), ClassificationTask("c", np.array([0, 1]))]
    good_logits = np.column_stack([np.zeros(n), 8 * np.sign(y)])
    # the network is right on the regression task and wrong on the other
    network = [
        torch.from_numpy(y[:, None]).float(),
        torch.from_numpy(-good_logits).float(),
    ]
    linear = np.column_stack([np.zeros(n), good_logits])
    weights = np.ones((n, 2))
    chosen = blend.choose_weights(
        tasks, network, linear, [True, True], targets, weights, np.arange(n)
    )
    np.testing.assert_array_equal(chosen, [0.0, 1.0])
    # no linear model for a task: its weight stays 0
    chosen = blend.choose_weights(
        tasks, network, linear, [True, False], targets, weights, np.arange(n)
    )
    np.testing.assert_array_equal(chosen, [0.0, 0.0])


def _binary_tasks(n):
    return [ClassificationTask(f"t{j}", np.array([0, 1])) for j in range(n)]


def test_tasks_of_one_width_blend_at_once_as_each_alone():
    rng = np.random.RandomState(0)
    tasks, weights = _binary_tasks(3), np.array([0.0, 0.25, 1.0])
    network = [torch.from_numpy(rng.normal(size=(5, 2))) for _ in tasks]
    linear = rng.normal(size=(5, 6))
    together = blend._blend_stacked(network, linear, weights, 3, 2)
    for t, task in enumerate(tasks):
        alone = blend._mixed(task, network[t], linear[:, 2 * t : 2 * t + 2], weights[t])
        if weights[t] == 0:
            alone = network[t].numpy()
        # the same probabilities (log-probabilities are logits up to a shift);
        # softmax writes into float64 logits: on copies
        expected = blend.softmax(np.array(alone, dtype=np.float64))
        np.testing.assert_allclose(
            blend.softmax(np.array(together[t].numpy(), dtype=np.float64)),
            expected,
            rtol=1e-12,
        )
        np.testing.assert_allclose(together.probabilities[:, t], expected, rtol=1e-12)


def test_task_probas_reads_a_blends_probabilities():
    from sk_mtl._data._tasks import task_probas

    tasks = _binary_tasks(2)
    stacked = torch.zeros(4, 2, 2, dtype=torch.float64)  # softmax would be 0.5
    known = np.tile([[0.9, 0.1], [0.2, 0.8]], (4, 1, 1))
    outputs = blend.TaskOutputs(stacked.unbind(-2), stacked, known)
    probas = task_probas(tasks, outputs)
    np.testing.assert_array_equal(probas[0], known[:, 0])
    np.testing.assert_array_equal(probas[1], known[:, 1])


def test_weights_one_skip_the_network(linear_tasks, blended, monkeypatch):
    X, _ = linear_tasks
    model = clone(blended).fit(*linear_tasks)
    model.linear_blend_weights_ = np.full(2, 0.5)
    expected = model.predict_proba(X[:3])  # half the network's
    model.linear_blend_weights_ = np.ones(2)
    linear_only = model.predict_proba(X[:3])

    def no_network(X):
        raise AssertionError("the network ran although no task reads it")

    monkeypatch.setattr(model, "_network_outputs", no_network)
    for got in (model.predict_proba(X[:3]), model.predict_proba(X[:1])):
        assert all(np.isfinite(p).all() for p in got)
    np.testing.assert_allclose(model.predict_proba(X[:3])[0], linear_only[0])
    assert not _proba_equal(expected, linear_only)


def test_non_finite_linear_outputs_are_an_error(linear_tasks, blended):
    X, _ = linear_tasks
    model = clone(blended).fit(*linear_tasks)
    model.linear_coef_ = model.linear_coef_.copy()
    model.linear_coef_[0, 0] = np.inf
    with pytest.raises(ValueError, match="linear blend gives non-finite outputs"):
        model.predict_proba(X[:3])
