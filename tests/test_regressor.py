"""Behaviour of MultiTaskRegressor as a user meets it."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_mtl import MultiTaskRegressor, make_task_scorer

FAST = dict(
    hidden_units=(32,), lr=1e-2, max_epochs=30, batch_size=32, n_bags=1, random_state=0
)


def make_tasks(n=300, seed=0):
    """Two related regression tasks on 5 features, in very different units."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 5))
    Y = np.column_stack(
        [
            1000 * (X[:, 0] + 0.5 * X[:, 1]) + 5e4,
            0.01 * (X[:, 0] - X[:, 2]) + rng.normal(scale=0.001, size=n),
        ]
    )
    return X, Y


def test_targets_are_standardised_and_predictions_come_back_in_their_units():
    X, Y = make_tasks()
    reg = MultiTaskRegressor(**FAST).fit(X, Y)
    assert is_regressor(reg)
    np.testing.assert_allclose([t.mean for t in reg.tasks_], Y.mean(axis=0))
    np.testing.assert_allclose([t.scale for t in reg.tasks_], Y.std(axis=0))
    # The network sees the same standardised targets whatever the units: an
    # affine change of y changes the predictions by the same map.
    moved = MultiTaskRegressor(**FAST).fit(X, Y * [2.0, 3.0] + [7.0, 1.0])
    np.testing.assert_allclose(
        moved.predict(X), reg.predict(X) * [2.0, 3.0] + [7.0, 1.0], rtol=1e-4
    )
    assert reg.score(X, Y) > 0.9


def test_score_is_mean_r2_over_tasks_on_labelled_entries():
    X, Y = make_tasks()
    Y[:120, 1] = np.nan
    reg = MultiTaskRegressor(**FAST).fit(X, Y)
    pred = reg.predict(X)
    assert np.isfinite(pred).all()
    labelled = ~np.isnan(Y[:, 1])
    expected = np.mean(
        [r2_score(Y[:, 0], pred[:, 0]), r2_score(Y[labelled, 1], pred[labelled, 1])]
    )
    assert reg.score(X, Y) == pytest.approx(expected)
    # the per-task scorer also skips the missing entries
    r2_1 = make_task_scorer(r2_score, task=1)
    assert r2_1(reg, X, Y) == pytest.approx(r2_score(Y[labelled, 1], pred[labelled, 1]))
    sw = np.linspace(0.5, 2, len(X))
    assert reg.score(X, Y, sample_weight=sw) == pytest.approx(
        np.mean(
            [
                r2_score(Y[:, 0], pred[:, 0], sample_weight=sw),
                r2_score(Y[labelled, 1], pred[labelled, 1], sample_weight=sw[labelled]),
            ]
        )
    )


def test_one_dimensional_y_is_a_plain_regressor():
    X, Y = make_tasks()
    y = pd.Series(Y[:, 0], name="price")
    reg = MultiTaskRegressor(**FAST).fit(X, y)
    pred = reg.predict(X)
    assert pred.shape == (len(X),)
    assert reg.task_names_ == ["price"]
    assert reg.score(X, y) == pytest.approx(r2_score(y, pred))


def test_zero_sample_weight_ignores_corrupted_rows():
    X, Y = make_tasks(n=400)
    y = Y[:, 0].copy()
    y[:100] = 9e4  # corrupted targets
    sw = np.ones(len(y))
    sw[:100] = 0.0
    clean = MultiTaskRegressor(**FAST).fit(X, y, sample_weight=sw)
    plain = MultiTaskRegressor(**FAST).fit(X, y)
    err_clean = mean_absolute_error(Y[100:, 0], clean.predict(X[100:]))
    err_plain = mean_absolute_error(Y[100:, 0], plain.predict(X[100:]))
    assert err_clean < 0.5 * err_plain


def test_absolute_error_and_huber_resist_outliers():
    X, Y = make_tasks(n=400)
    y = Y[:, 0].copy()
    y[::10] += 3e4  # 10% large outliers
    errors = {
        loss: mean_absolute_error(
            Y[:, 0],
            MultiTaskRegressor(loss=loss, linear_blend=False, **FAST)
            .fit(X, y)
            .predict(X),
        )
        for loss in ("squared_error", "absolute_error", "huber")
    }
    assert errors["absolute_error"] < 0.5 * errors["squared_error"]
    assert errors["huber"] < errors["squared_error"]


@pytest.mark.parametrize("weighting", ["uncertainty", "dwa", "pcgrad"])
def test_task_weightings_and_mmoe_train(weighting):
    X, Y = make_tasks()
    Y[::3, 0] = np.nan
    reg = MultiTaskRegressor(
        architecture="mmoe", task_weighting=weighting, early_stopping=True, **FAST
    ).fit(X, Y)
    assert reg.score(X, Y) > 0.85
    assert "train_loss_task_1" in reg.history_[-1]


@pytest.mark.parametrize(
    "column, error, match",
    [
        ([np.nan] * 6, ValueError, "task_1.*no finite value"),
        ([1.0, np.inf, 2.0, 3.0, 4.0, 5.0], ValueError, "infinity.*task_1"),
        (["a", "b", "c", "a", "b", "c"], TypeError, "task_1.*non-numeric value 'a'"),
        ([1.0, 2.0, "x", None, 3.0, 4.0], TypeError, "task_1.*non-numeric value 'x'"),
        # finite, but the standard deviation overflows: was silently all zeros
        ([1e300, -1e300, 3e300, 0.0, 2e300, 1e300], ValueError, "task_1.*too large"),
    ],
)
def test_bad_targets_name_the_task(column, error, match):
    X = np.random.RandomState(0).normal(size=(6, 3))
    Y = np.empty((6, 2), dtype=object)
    Y[:, 0] = np.arange(6.0)
    Y[:, 1] = column
    with pytest.raises(error, match=match):
        MultiTaskRegressor(max_epochs=1).fit(X, Y)


def test_bad_parameters_and_unfitted_use():
    X, Y = make_tasks(n=20)
    with pytest.raises(ValueError, match="loss"):
        MultiTaskRegressor(loss="cross_entropy").fit(X, Y)
    with pytest.raises(NotFittedError):
        MultiTaskRegressor().predict(X)
    reg = MultiTaskRegressor(max_epochs=1).fit(X, Y)
    with pytest.raises(ValueError, match="1 task.*fitted on 2"):
        reg.score(X, Y[:, 0])


def test_pipeline_grid_search_clone_and_pickle():
    X, Y = make_tasks()
    Y[:60, 1] = np.nan
    pipe = make_pipeline(StandardScaler(), MultiTaskRegressor(**FAST))
    search = GridSearchCV(
        pipe,
        {"multitaskregressor__architecture": ["shared_bottom", "mmoe"]},
        scoring=make_task_scorer(r2_score, task=1),
        cv=3,
    ).fit(X, Y)
    assert search.best_score_ > 0.7
    model = search.best_estimator_
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    assert clone(model).get_params()["multitaskregressor__lr"] == FAST["lr"]


def test_save_and_load_without_pickle(tmp_path):
    import sk_mtl

    X, Y = make_tasks(n=80)
    reg = MultiTaskRegressor((8,), max_epochs=3, random_state=0).fit(X, Y)
    sk_mtl.save(reg, tmp_path / "reg.skmtl")
    loaded = sk_mtl.load(tmp_path / "reg.skmtl")
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
    assert [t.mean for t in loaded.tasks_] == [t.mean for t in reg.tasks_]


def test_tabular_front_end_reads_categories_and_missing_values():
    rng = np.random.RandomState(0)
    n = 300
    X = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "city": pd.Categorical(rng.choice(["a", "b", "c"], size=n)),
        }
    )
    y = 2 * X["x"] + X["city"].map({"a": 0.0, "b": 3.0, "c": -3.0}).astype(float)
    X.loc[::10, "x"] = np.nan
    reg = MultiTaskRegressor(**FAST).fit(X, y)
    assert type(reg.input_).__name__ == "TabularInput"
    assert np.isfinite(reg.predict(X)).all()
    assert reg.score(X, y) > 0.8
