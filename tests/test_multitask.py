"""Behaviour of MultiTaskClassifier as a user meets it."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import sparse
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skorch.callbacks import Callback

from sk_mtl import (
    MixedTaskEstimator,
    MultiTaskClassifier,
    MultiTaskRegressor,
    make_task_scorer,
)
from sk_mtl.model_selection import TaskStratifiedKFold
from sk_mtl.multitask._shared_network import (
    AUTO_DROPOUT,
    AUTO_LR,
    AUTO_PATIENCE,
    EARLY_STOPPING_AUTO_SAMPLES,
    LARGE_FIT_BATCH_SIZE,
    LARGE_FIT_DROPOUT,
    LARGE_FIT_LR,
    LARGE_FIT_PATIENCE,
    LARGE_FIT_SAMPLES,
    MID_FIT_BATCH_GROWTH,
    MID_FIT_SAMPLES,
)

FAST = dict(max_epochs=15, hidden_units=(32,), batch_size=32, n_bags=1, random_state=0)


def make_tasks(n=300, seed=0):
    """Two related binary tasks and one 3-class task on 6 features."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 6))
    y0 = (X[:, 0] + X[:, 1] > 0).astype(int)
    y1 = np.where(X[:, 0] - X[:, 2] > 0, "yes", "no")
    y2 = np.digitize(X[:, 3], [-0.5, 0.5])
    return X, y0, y1, y2


def test_fit_predict_shapes_and_per_task_classes():
    X, y0, y1, y2 = make_tasks()
    Y = np.empty((len(X), 3), dtype=object)
    Y[:, 0], Y[:, 1], Y[:, 2] = y0, y1, y2
    clf = MultiTaskClassifier(**FAST).fit(X, Y)
    assert clf.n_tasks_ == 3
    assert [list(c) for c in clf.classes_] == [[0, 1], ["no", "yes"], [0, 1, 2]]
    pred = clf.predict(X)
    assert pred.shape == (len(X), 3)
    assert set(pred[:, 1]) <= {"no", "yes"}
    proba = clf.predict_proba(X)
    assert [p.shape for p in proba] == [(len(X), 2), (len(X), 2), (len(X), 3)]
    for p in proba:
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
    # predictions are the argmax of the probabilities, in each task's labels
    for t in range(3):
        np.testing.assert_array_equal(pred[:, t], clf.classes_[t][proba[t].argmax(1)])
    assert clf.score(X, Y) > 0.85


def test_one_dimensional_y_is_a_plain_classifier():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = MultiTaskClassifier(**{**FAST, "max_epochs": 40, "lr": 1e-2}).fit(X, y)
    assert isinstance(clf.classes_, np.ndarray)
    assert clf.predict(X).shape == (len(X),)
    assert clf.predict_proba(X).shape == (len(X), 3)
    assert clf.score(X, y) > 0.9


def test_missing_labels_are_ignored_by_loss_and_score():
    X, y0, y1, _ = make_tasks()
    Y = np.column_stack([y0, (y1 == "yes")]).astype(float)
    Y_missing = Y.copy()
    hidden = np.random.RandomState(1).rand(len(X)) < 0.5
    Y_missing[hidden, 1] = np.nan
    # The value under a missing label must not matter: NaN (float Y) and None
    # (object Y) give the same model.
    Y_obj = Y_missing.astype(object)
    Y_obj[hidden, 1] = None
    a = MultiTaskClassifier(**FAST).fit(X, Y_missing)
    b = MultiTaskClassifier(**FAST).fit(X, Y_obj)
    np.testing.assert_allclose(a.predict_proba(X)[1], b.predict_proba(X)[1])
    # score averages per-task accuracy over the labelled entries only
    pred = a.predict(X)
    expected = np.mean(
        [np.mean(pred[:, 0] == Y[:, 0]), np.mean(pred[~hidden, 1] == Y[~hidden, 1])]
    )
    assert a.score(X, Y_missing) == pytest.approx(expected)
    assert a.score(X, Y_missing) > 0.85


def test_missing_labels_from_pandas_na():
    X, y0, y1, _ = make_tasks(120)
    Y = pd.DataFrame(
        {"a": pd.array(y0, dtype="Int64"), "b": pd.array(y1, dtype="string")}
    )
    Y.loc[:30, "a"] = pd.NA
    Y.loc[50:80, "b"] = pd.NA
    clf = MultiTaskClassifier(**FAST).fit(X, Y)
    assert clf.task_names_ == ["a", "b"]
    assert list(clf.classes_[1]) == ["no", "yes"]
    assert clf.predict(X).shape == (120, 2)


def test_task_without_labels_or_with_one_class_is_a_clear_error():
    X, y0, _, _ = make_tasks(50)
    Y = np.column_stack([y0, np.full(50, np.nan)])
    with pytest.raises(ValueError, match="every sample of task 'task_1'"):
        MultiTaskClassifier(**FAST).fit(X, Y)
    Y = pd.DataFrame({"income": y0, "constant": np.ones(50)})
    with pytest.raises(ValueError, match="Task 'constant' has 1 class"):
        MultiTaskClassifier(**FAST).fit(X, Y)


def test_sample_weight_reaches_the_loss():
    # Most positives with 0 < x0 < 1 are mislabelled as 0; zero weight on them
    # must recover the clean boundary x0 = 0, unweighted training moves it.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 2))
    y = (X[:, 0] > 0).astype(int)
    noisy = (X[:, 0] > 0) & (X[:, 0] < 1) & (rng.rand(400) < 0.8)
    y_noisy = np.where(noisy, 0, y)
    w = (~noisy).astype(float)
    params = {**FAST, "max_epochs": 30, "linear_blend": False}  # the network's loss
    plain = MultiTaskClassifier(**params).fit(X, y_noisy)
    weighted = MultiTaskClassifier(**params).fit(X, y_noisy, sample_weight=w)
    assert weighted.score(X, y) > plain.score(X, y) + 0.05
    # The scale of the weights does not matter (each task's weights are normalised).
    scaled = MultiTaskClassifier(**params).fit(X, y_noisy, sample_weight=7.5 * w)
    np.testing.assert_allclose(
        scaled.predict_proba(X), weighted.predict_proba(X), rtol=1e-4, atol=1e-5
    )


def test_pipeline_with_column_transformer_on_dataframe():
    X, y0, y1, _ = make_tasks(200)
    df = pd.DataFrame(X[:, :3], columns=["f0", "f1", "f2"])
    df["colour"] = np.where(X[:, 0] > 0, "red", "blue")
    Y = pd.DataFrame({"income": y0, "married": y1})
    pre = ColumnTransformer(
        [
            ("num", StandardScaler(), ["f0", "f1", "f2"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["colour"]),
        ],
        sparse_threshold=1.0,  # sparse output, as with many categories
    )
    assert sparse.issparse(pre.fit_transform(df))
    pipe = make_pipeline(pre, MultiTaskClassifier(**FAST)).fit(df, Y)
    assert pipe.predict(df).shape == (200, 2)
    assert pipe[-1].task_names_ == ["income", "married"]
    assert pipe.score(df, Y) > 0.8


def test_dataframe_feature_names_are_recorded_and_checked():
    X, y0, _, _ = make_tasks(80)
    df = pd.DataFrame(X, columns=[f"c{i}" for i in range(6)])
    clf = MultiTaskClassifier(**FAST).fit(df, y0)
    assert list(clf.feature_names_in_) == list(df.columns)
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(df[df.columns[::-1]])


def test_grid_search_with_per_task_scorer_and_missing_labels():
    X, y0, y1, _ = make_tasks(200)
    Y = pd.DataFrame({"income": y0, "married": y1})
    Y.loc[::5, "married"] = None
    auc_income = make_task_scorer(
        roc_auc_score, task="income", response_method="predict_proba"
    )
    grid = GridSearchCV(
        MultiTaskClassifier(**{**FAST, "max_epochs": 10, "lr": 1e-2}),
        {
            "hidden_units": [(8,), (16, 8)],
            "dropout": [0.0, 0.2],
            "task_weighting": ["equal", "uncertainty"],
        },
        scoring={
            "auc_income": auc_income,
            "mean_acc": make_task_scorer(lambda yt, yp: np.mean(yt == yp)),
        },
        refit="auc_income",
        cv=TaskStratifiedKFold(2, task="income"),
    ).fit(X, Y)
    assert len(grid.cv_results_["params"]) == 8
    assert np.all(np.isfinite(grid.cv_results_["mean_test_auc_income"]))
    assert grid.best_score_ > 0.8
    assert grid.predict(X).shape == (200, 2)


def test_cross_val_score():
    X, y0, y1, _ = make_tasks(150)
    Y = np.column_stack([y0, y1 == "yes"]).astype(int)
    scores = cross_val_score(MultiTaskClassifier(**FAST), X, Y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.75
    # With missing labels, sklearn's cv=3 shortcut rejects Y before the estimator
    # sees it; TaskStratifiedKFold is the way.
    Y_missing = Y.astype(float)
    Y_missing[::4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        cross_val_score(MultiTaskClassifier(**FAST), X, Y_missing, cv=3)
    scores = cross_val_score(
        MultiTaskClassifier(**FAST), X, Y_missing, cv=TaskStratifiedKFold(3)
    )
    assert scores.mean() > 0.75


def test_same_random_state_same_model_and_pickle_round_trip():
    X, y0, y1, _ = make_tasks(150)
    Y = np.column_stack([y0, y1])
    a = MultiTaskClassifier(**FAST).fit(X, Y)
    b = clone(a).fit(X, Y)
    for pa, pb in zip(a.predict_proba(X), b.predict_proba(X)):
        np.testing.assert_array_equal(pa, pb)
    c = MultiTaskClassifier(**{**FAST, "random_state": 1}).fit(X, Y)
    assert not np.allclose(a.predict_proba(X)[0], c.predict_proba(X)[0])
    restored = pickle.loads(pickle.dumps(a))
    for pa, pr in zip(a.predict_proba(X), restored.predict_proba(X)):
        np.testing.assert_array_equal(pa, pr)
    np.testing.assert_array_equal(a.predict(X), restored.predict(X))


def test_seeding_leaves_the_global_torch_rng_alone():
    X, y0, _, _ = make_tasks(60)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    MultiTaskClassifier(**FAST).fit(X, y0)
    np.testing.assert_array_equal(torch.rand(3), expected)


@pytest.mark.parametrize("weighting", ["equal", "uncertainty", "dwa", "pcgrad"])
@pytest.mark.parametrize("architecture", ["shared_bottom", "mmoe"])
def test_every_weighting_and_architecture_learns(weighting, architecture):
    X, y0, y1, y2 = make_tasks(200)
    Y = np.column_stack([y0, y1 == "yes", y2]).astype(float)
    Y[::3, 2] = np.nan
    clf = MultiTaskClassifier(
        **{**FAST, "max_epochs": 25},
        task_weighting=weighting,
        architecture=architecture,
        n_experts=3,
    ).fit(X, Y)
    assert clf.score(X, Y) > 0.8


def test_uncertainty_and_dwa_weights_move():
    X, y0, y1, _ = make_tasks(200)
    Y = np.column_stack([y0, y1 == "yes"]).astype(int)
    unc = MultiTaskClassifier(**FAST, task_weighting="uncertainty").fit(X, Y)
    assert not torch.allclose(unc.net_.criterion_.weighting.weights(), torch.ones(2))
    dwa = MultiTaskClassifier(**FAST, task_weighting="dwa").fit(X, Y)
    w = dwa.net_.criterion_.weighting.weights()
    assert not torch.allclose(w, torch.ones(2))
    assert float(w.sum()) == pytest.approx(2.0)


@pytest.mark.parametrize("loss", ["focal", "ohem"])
def test_hard_example_losses_train(loss):
    X, y0, y1, _ = make_tasks(200)
    Y = np.column_stack([y0, y1]).astype(object)
    Y[::4, 1] = None
    clf = MultiTaskClassifier(**{**FAST, "max_epochs": 25}, loss=loss).fit(X, Y)
    assert clf.score(X, Y) > 0.8


def test_early_stopping_restores_best_and_records_history():
    X, y0, _, _ = make_tasks(300)
    rng = np.random.RandomState(0)
    y_random = rng.randint(0, 2, size=len(X))  # nothing to learn: overfits fast
    clf = MultiTaskClassifier(
        hidden_units=(64, 64),
        max_epochs=200,
        early_stopping=True,
        n_iter_no_change=3,
        random_state=0,
        n_bags=1,
    ).fit(X, y_random)
    assert clf.n_iter_ < 200
    losses = clf.history_[:, "valid_task_loss"]
    best = int(np.argmin(losses))
    assert clf.n_iter_ == best + 1 + 3
    # the restored weights are those of the best epoch, not the last one
    restored = clf.net_.module_
    assert restored is clf.module_


def _fit_on_rows(make, rows, **params):
    """``make(**params)`` fitted on ``rows`` rows of 2 features, and its X, y."""
    X = np.random.RandomState(rows).normal(size=(rows, 2))
    y = (X[:, 0] > 0).astype(int if make is MultiTaskClassifier else float)
    return make(**params).fit(X, y), X, y


@pytest.mark.parametrize(
    "make", [MultiTaskClassifier, MultiTaskRegressor, MixedTaskEstimator]
)
def test_early_stopping_auto_is_on_above_a_hundred_rows(make):
    params = dict(
        hidden_units=(4,), max_epochs=2, batch_size=256, n_bags=1, random_state=0
    )
    n = EARLY_STOPPING_AUTO_SAMPLES
    for rows, on in [(n, False), (n + 1, True), (600, True)]:
        model, X, y = _fit_on_rows(make, rows, **params)
        assert ("valid_loss" in model.history_[-1]) is on, rows
    off = make(**params, early_stopping=False).fit(X, y)
    assert "valid_loss" not in off.history_[-1]


@pytest.mark.parametrize(
    "make", [MultiTaskClassifier, MultiTaskRegressor, MixedTaskEstimator]
)
def test_auto_patience_is_shorter_above_the_large_fit_gate(make):
    # tol=10: no epoch after the first improves, so the fit stops after the
    # first epoch and `patience` more
    params = dict(
        hidden_units=(4,), max_epochs=20, batch_size=8192, tol=10.0, random_state=0
    )
    n = LARGE_FIT_SAMPLES
    for rows, patience in [(n, AUTO_PATIENCE), (n + 1, LARGE_FIT_PATIENCE)]:
        model, X, y = _fit_on_rows(make, rows, **params)
        assert model.n_iter_no_change_ == patience, rows
        assert model.n_iter_ == 1 + patience, rows
    fixed = make(**params, n_iter_no_change=7).fit(X, y)
    assert fixed.n_iter_no_change_ == 7 and fixed.n_iter_ == 8
    with pytest.raises(ValueError, match="n_iter_no_change"):
        make(**params, n_iter_no_change="fast").fit(X, y)


def _rate(model):
    return model.net_.optimizer_.param_groups[0]["lr"]


@pytest.mark.parametrize(
    "make", [MultiTaskClassifier, MultiTaskRegressor, MixedTaskEstimator]
)
def test_auto_batch_and_rate_are_larger_above_the_large_fit_gate(make):
    params = dict(hidden_units=(4,), max_epochs=1, random_state=0)
    n = LARGE_FIT_SAMPLES
    for rows, batch, lr in [
        (n, 128, AUTO_LR),
        (n + 1, LARGE_FIT_BATCH_SIZE, LARGE_FIT_LR),
    ]:
        model, X, y = _fit_on_rows(make, rows, **params)
        assert model.batch_size_ == batch and _rate(model) == lr, rows
        assert model.get_params()["lr"] == model.get_params()["batch_size"] == "auto"
    # a batch size given: the rate stays 1e-3; a rate given: used as given
    given = make(**params, batch_size=LARGE_FIT_BATCH_SIZE).fit(X, y)
    assert given.batch_size_ == LARGE_FIT_BATCH_SIZE and _rate(given) == AUTO_LR
    given = make(**params, lr=5e-3).fit(X, y)
    assert given.batch_size_ == LARGE_FIT_BATCH_SIZE and _rate(given) == 5e-3
    with pytest.raises(ValueError, match="'lr' parameter"):
        make(**params, lr="fast").fit(X, y)
    mmoe = make(**params, architecture="mmoe").fit(X, y)  # not the studied trunk
    assert mmoe.batch_size_ == 128 and _rate(mmoe) == AUTO_LR


def _batch_counts(model):
    return [row["train_batch_count"] for row in model.history_]


@pytest.mark.parametrize(
    "make", [MultiTaskClassifier, MultiTaskRegressor, MixedTaskEstimator]
)
def test_auto_batches_grow_between_the_mid_and_large_fit_gates(make):
    params = dict(hidden_units=(4,), max_epochs=22, n_iter_no_change=30, random_state=0)
    n = MID_FIT_SAMPLES
    model, X, y = _fit_on_rows(make, n, **params)
    assert model.batch_growth_ == () and set(_batch_counts(model)) == {36}
    model, X, y = _fit_on_rows(make, n + 1, **params)
    assert model.batch_size_ == 128 and model.batch_growth_ == MID_FIT_BATCH_GROWTH
    # 4,501 training rows (10 % held out): 128 rows, then 256 from epoch 11,
    # 512 from epoch 21
    assert _batch_counts(model) == [36] * 10 + [18] * 10 + [9] * 2
    for other in (dict(batch_size=128), dict(architecture="mmoe")):
        kept = make(**params, **other).fit(X, y)
        assert kept.batch_growth_ == () and set(_batch_counts(kept)) == {36}, other
    large, _, _ = _fit_on_rows(
        make, LARGE_FIT_SAMPLES + 1, **{**params, "max_epochs": 1}
    )
    assert large.batch_growth_ == () and large.batch_size_ == LARGE_FIT_BATCH_SIZE


def _dropouts(model):
    return {m.p for m in model.module_.modules() if isinstance(m, torch.nn.Dropout)}


@pytest.mark.parametrize(
    "make", [MultiTaskClassifier, MultiTaskRegressor, MixedTaskEstimator]
)
def test_auto_dropout_is_off_above_the_large_fit_gate(make):
    params = dict(hidden_units=(4, 4), max_epochs=1, random_state=0)
    n = LARGE_FIT_SAMPLES
    for rows, p in [(n, AUTO_DROPOUT), (n + 1, LARGE_FIT_DROPOUT)]:
        model, X, y = _fit_on_rows(make, rows, **params)
        assert _dropouts(model) == ({p} if p else set()), rows  # 0: no layer
    given = make(**params, dropout=0.2).fit(X, y)
    assert _dropouts(given) == {0.2}
    mmoe = make(**params, architecture="mmoe").fit(X, y)  # not the studied trunk
    assert _dropouts(mmoe) == {AUTO_DROPOUT}


class _Snapshots(Callback):
    """Copies the network's weights at the end of every epoch (kept when the
    net re-initialises its callbacks after fit)."""

    def __init__(self):
        self.states = []

    def on_epoch_end(self, net, **kwargs):
        state = net.module_.state_dict()
        self.states.append({k: v.clone() for k, v in state.items()})


def test_auto_early_stopping_restores_the_best_epoch_on_600_rows():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(600, 6))
    y = rng.randint(0, 2, size=600)  # nothing to learn: later epochs overfit
    clf = MultiTaskClassifier(
        (64, 64), max_epochs=60, callbacks=[_Snapshots()], random_state=0, n_bags=1
    ).fit(X, y)
    best = int(np.argmin(clf.history_[:, "valid_task_loss"]))
    assert best + 1 < clf.n_iter_ < 60  # stopped early, after the best epoch
    states = dict(clf.net_.callbacks_)["user_0__Snapshots"].states
    restored = clf.module_.state_dict()
    assert all(torch.equal(v, states[best][k]) for k, v in restored.items())
    assert not all(torch.equal(v, states[-1][k]) for k, v in restored.items())


def test_verbose_prints_per_task_losses(capsys):
    X, y0, y1, _ = make_tasks(100)
    Y = pd.DataFrame({"income": y0, "married": y1})
    MultiTaskClassifier(**{**FAST, "max_epochs": 2}, verbose=1).fit(X, Y)
    out = capsys.readouterr().out
    assert "train_loss_income" in out and "train_loss_married" in out
    MultiTaskClassifier(**{**FAST, "max_epochs": 2}).fit(X, Y)
    assert capsys.readouterr().out == ""


def test_user_callbacks_run_and_are_not_mutated():
    class CountEpochs(Callback):
        def initialize(self):
            self.epochs = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs += 1

    cb = CountEpochs()
    X, y0, _, _ = make_tasks(60)
    clf = MultiTaskClassifier(**{**FAST, "max_epochs": 4}, callbacks=[cb]).fit(X, y0)
    used = dict(clf.net_.callbacks_)["user_0_CountEpochs"]
    assert used.epochs == 4
    assert not hasattr(cb, "epochs")  # the parameter itself is left untouched


def test_per_batch_callback_hooks_are_called():
    # The engine calls per-batch hooks only on callbacks that implement them.
    class CountBatches(Callback):
        def initialize(self):
            self.calls = {"begin": 0, "grad": 0, "end": 0, "grad_norms": []}
            return self

        def on_batch_begin(self, net, training=False, **kwargs):
            self.calls["begin"] += training

        def on_grad_computed(self, net, named_parameters, **kwargs):
            self.calls["grad"] += 1
            norms = [float(p.grad.norm()) for _, p in named_parameters]
            self.calls["grad_norms"].append(sum(norms))

        def on_batch_end(self, net, training=False, **kwargs):
            self.calls["end"] += training

    X, y0, _, _ = make_tasks(60)
    clf = MultiTaskClassifier(
        **{**FAST, "max_epochs": 3, "batch_size": 20}, callbacks=[CountBatches()]
    ).fit(X, y0)
    calls = dict(clf.net_.callbacks_)["user_0_CountBatches"].calls
    assert calls["begin"] == calls["grad"] == calls["end"] == 9  # 3 epochs x 3
    assert all(n > 0 for n in calls["grad_norms"])


@pytest.mark.parametrize(
    "X, Y, match",
    [
        (np.array([[0.0, np.inf]] * 4), [0, 1, 0, 1], "infinity"),
        (np.zeros((4, 2)), [0, 1, 0], "inconsistent numbers of samples"),
        (np.zeros((4, 2)), np.zeros((4, 2, 2)), "1-D .* or 2-D"),
        (np.array([["a", "b"]] * 4), [0, 1, 0, 1], "convert|numeric"),
        (np.zeros((4, 2)), [0.5, 1.5, 0.2, 0.1], "Unknown label type"),
        (np.zeros((4, 2)), [0, 1, np.inf, 1], "infinity"),
        (
            np.zeros((4, 2)),
            np.array([[0, "a"], [1, 2], [0, "b"], [1, 1]], object),
            "mixes string",
        ),
    ],
)
def test_bad_input_is_a_clear_error(X, Y, match):
    with pytest.raises((ValueError, TypeError), match=match):
        MultiTaskClassifier(**FAST).fit(X, Y)


def test_errors_at_predict_and_score():
    X, y0, y1, _ = make_tasks(60)
    clf = MultiTaskClassifier(**FAST)
    with pytest.raises(NotFittedError):
        clf.predict(X)
    clf.fit(X, np.column_stack([y0, y1]))
    with pytest.raises(ValueError, match="X has 5 features"):
        clf.predict(X[:, :5])
    with pytest.raises(ValueError, match="y has 1 task"):
        clf.score(X, y0)
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(np.full_like(X, np.nan))


def test_parameter_validation():
    X, y0, _, _ = make_tasks(40)
    with pytest.raises(ValueError, match="dropout"):
        MultiTaskClassifier(dropout=1.5).fit(X, y0)
    with pytest.raises(ValueError, match="task_weighting"):
        MultiTaskClassifier(task_weighting="magic").fit(X, y0)
    with pytest.raises(ValueError, match="hidden_units"):
        MultiTaskClassifier(hidden_units=(8, 0)).fit(X, y0)
    with pytest.raises(ValueError, match="mmoe"):
        MultiTaskClassifier(hidden_units=(), architecture="mmoe").fit(X, y0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_cuda_request_without_cuda_is_a_clear_error():
    X, y0, _, _ = make_tasks(40)
    with pytest.raises(ValueError, match="CUDA is not available"):
        MultiTaskClassifier(device="cuda").fit(X, y0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_fit_matches_cpu_predictions_shape():
    X, y0, y1, _ = make_tasks(100)
    Y = np.column_stack([y0, y1])
    clf = MultiTaskClassifier(**FAST, device="cuda").fit(X, Y)
    assert next(clf.module_.parameters()).is_cuda
    assert clf.predict(X).shape == (100, 2)
    assert clf.score(X, Y) > 0.8


_THREADS_SEEN = []


class _RecordThreads(Callback):
    def on_epoch_begin(self, net, **kwargs):
        _THREADS_SEEN.append(torch.get_num_threads())


@pytest.mark.parametrize("n_threads, expected", [(2, 2), ("auto", 1)])
def test_n_threads_applies_during_fit_only(n_threads, expected):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    before = torch.get_num_threads()
    _THREADS_SEEN.clear()
    clf = MultiTaskClassifier(
        (8,), max_epochs=2, n_threads=n_threads, callbacks=[_RecordThreads()]
    )
    clf.fit(X, y)
    # A tiny network gets one thread under "auto"; the caller's setting is back.
    assert _THREADS_SEEN == [expected, expected]
    assert torch.get_num_threads() == before
    clf.predict(X)
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="n_threads"):
        MultiTaskClassifier(n_threads="many").fit(X, y)


@pytest.mark.parametrize(
    "estimator", [MultiTaskClassifier, MultiTaskRegressor, MixedTaskEstimator]
)
def test_linear_view_switches_the_second_numeric_view(estimator, tmp_path):
    import sk_mtl

    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 5))
    frame = pd.DataFrame(X, columns=list("abcde")).assign(
        c=pd.Categorical(rng.choice(["x", "y"], 60))
    )
    y = (X[:, 0] > 0).astype(int)
    for data in (X, frame):
        both = estimator(**FAST).fit(data, y)
        alone = estimator(**FAST, linear_view=False).fit(data, y)
        # the numeric block of the input is twice as wide with both views
        width = both.input_.tensors(both.input_.transform(data[:2], both))
        narrow = alone.input_.tensors(alone.input_.transform(data[:2], alone))
        if isinstance(width, dict):
            width, narrow = width["numeric"], narrow["numeric"]
        n_numeric = 5 if data is X else 4
        assert width.shape[1] - narrow.shape[1] == n_numeric
        assert getattr(alone.input_, "robust_center_", None) is None
        path = tmp_path / "alone.sk_mtl"
        sk_mtl.save(alone, path)
        loaded = sk_mtl.load(path)
        assert loaded.linear_view is False
        np.testing.assert_allclose(
            np.asarray(loaded.predict(data[:5])), np.asarray(alone.predict(data[:5]))
        )
    with pytest.raises(ValueError, match="linear_view"):
        estimator(linear_view="yes").fit(X, y)
