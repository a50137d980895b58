import pickle

import numpy as np
import pytest
import torch
from _digits_transfer import EPOCHS, LR, digits, few_shot, identity_source
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from sk_mtl import FineTuner, MergedClassifier, MultiTaskClassifier, merge_models


@pytest.fixture(scope="module")
def parity_models():
    X, y, _, half_b = digits()
    source = identity_source()
    labelled, rest = few_shot(half_b, 0)
    parity = y % 2
    models = [
        FineTuner(source, max_epochs=EPOCHS, lr=LR, random_state=s).fit(
            X[labelled], parity[labelled]
        )
        for s in range(3)
    ]
    return X, parity, rest[:150], rest[150:], models


def test_uniform_soup_is_one_network_and_as_good_as_its_members(parity_models):
    X, y, _, test, models = parity_models
    soup = merge_models(models, space="weights")
    np.testing.assert_allclose(soup.weights_, [1 / 3] * 3)
    expected = sum(m.module_.trunk[0].weight for m in models) / 3
    torch.testing.assert_close(soup.module_.trunk[0].weight, expected)
    members = [m.score(X[test], y[test]) for m in models]
    # Measured (seed 0): members 0.862-0.871, soup 0.885.
    assert soup.score(X[test], y[test]) >= min(members)
    # The members are untouched.
    assert not torch.equal(models[0].module_.trunk[0].weight, expected)


def test_soup_predicts_through_the_engine_inference_loop(parity_models, monkeypatch):
    import sk_mtl._engine._base as base

    X, y, _, test, models = parity_models
    soup = merge_models(models, space="weights")
    calls = []

    def counted(module, *args, **kwargs):
        calls.append(module)
        return predict_outputs(module, *args, **kwargs)

    predict_outputs = base.predict_outputs
    monkeypatch.setattr(base, "predict_outputs", counted)
    proba = soup.predict_proba(X[test])
    assert calls == [soup.merged_.module_]  # one network, one pass of the loop
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_output_space_is_the_weighted_mean_of_probabilities(parity_models):
    X, _, _, test, models = parity_models
    merged = merge_models(models, weights=[2, 1, 1])
    np.testing.assert_allclose(merged.weights_, [0.5, 0.25, 0.25])
    expected = sum(
        w * m.predict_proba(X[test]) for w, m in zip(merged.weights_, models)
    )
    np.testing.assert_allclose(merged.predict_proba(X[test]), expected)
    np.testing.assert_array_equal(
        merged.predict(X[test]), merged.classes_[expected.argmax(1)]
    )


def test_fitted_weights_on_held_out_data(parity_models):
    X, y, valid, test, models = parity_models
    rng = np.random.RandomState(0)
    bad = LogisticRegression().fit(X[valid], rng.permutation(y[valid]))
    merged = merge_models(models[:2] + [bad], "fit", X=X[valid], y=y[valid])
    assert merged.weights_.sum() == pytest.approx(1.0)
    assert merged.weights_[2] < 0.2
    soup = merge_models(models, "fit", space="weights", X=X[valid], y=y[valid])
    assert soup.weights_.shape == (3,) and np.all(soup.weights_ >= 0)
    assert soup.score(X[test], y[test]) > 0.7


def test_weight_space_needs_identical_architecture_and_classes():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] > 0).astype(int)
    a = MultiTaskClassifier((8,), max_epochs=2, random_state=0).fit(X, y)
    wider = MultiTaskClassifier((9,), max_epochs=2, random_state=0).fit(X, y)
    three = MultiTaskClassifier((8,), max_epochs=2, random_state=0).fit(
        X, np.digitize(X[:, 0], [-0.5, 0.5])
    )
    with pytest.raises(ValueError, match="identical architectures.*trunk.0"):
        merge_models([a, wider], space="weights")
    with pytest.raises(ValueError, match="same classes"):
        merge_models([a, three], space="weights")
    lr = LogisticRegression().fit(X, y)
    with pytest.raises(TypeError, match="not an sk_mtl neural estimator"):
        merge_models([a, lr], space="weights")
    # Fitted on other rows: another scaling of X, so averaged weights would
    # mean nothing; on the same rows, the same reading.
    other = MultiTaskClassifier((8,), max_epochs=2, random_state=1).fit(X[:60], y[:60])
    with pytest.raises(ValueError, match=r"read X the same way.*estimators\[1\]"):
        merge_models([a, other], space="weights")
    merge_models([a, other], space="output")
    same = MultiTaskClassifier((8,), max_epochs=2, random_state=1).fit(X, y)
    assert merge_models([a, same], space="weights").predict_proba(X).shape == (80, 2)
    # Output space only needs the same classes.
    assert merge_models([a, wider, lr]).score(X, y) > 0.6
    # A bagged model (3 networks on these 120 rows) merges in output space.
    X, y = np.vstack([X, X[:40] + 0.1]), np.concatenate([y, y[:40]])
    bagged = MultiTaskClassifier((8,), max_epochs=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"estimators\[1\].*n_bags=3.*'output'"):
        merge_models([a, bagged], space="weights")
    assert merge_models([a, bagged]).predict_proba(X).shape == (120, 2)


def test_bad_arguments():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    a = MultiTaskClassifier((4,), max_epochs=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="2 non-negative"):
        merge_models([a, a], weights=[1, -1])
    with pytest.raises(ValueError, match="2 non-negative"):
        merge_models([a, a], weights=[1, 1, 1])
    with pytest.raises(ValueError, match="held-out data"):
        merge_models([a, a], weights="fit")
    with pytest.raises(TypeError, match="list of fitted"):
        merge_models(a)
    with pytest.raises(ValueError, match="do not predict"):
        merge_models([a, a], "fit", X=X, y=y + 5)


def test_multitask_members_pickle_and_clone():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(150, 4))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(float)
    Y[::4, 1] = np.nan
    models = [
        MultiTaskClassifier((8,), max_epochs=5, random_state=s).fit(X[:100], Y[:100])
        for s in range(2)
    ]
    for space in ("output", "weights"):
        merged = merge_models(models, "fit", space=space, X=X[100:], y=Y[100:])
        assert merged.predict(X[:3]).shape == (3, 2)
        assert 0 <= merged.score(X, Y) <= 1
        loaded = pickle.loads(pickle.dumps(merged))
        for p, q in zip(loaded.predict_proba(X), merged.predict_proba(X)):
            np.testing.assert_allclose(p, q)
    cloned = clone(MergedClassifier(models))
    assert cloned.estimators is models
    assert cloned.fit().n_tasks_ == 2


def test_a_multitask_model_merges_with_a_scikit_learn_multi_output_classifier():
    # Boosting beside the network: scikit-learn's multi-output classifiers
    # (classes_ a list, one entry per task) merge task by task.
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.multioutput import MultiOutputClassifier

    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 4))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] * X[:, 2] > 0]).astype(int)
    net = MultiTaskClassifier((8,), max_epochs=5, random_state=0).fit(X[:200], Y[:200])
    boosting = HistGradientBoostingClassifier(max_iter=20, random_state=0)
    trees = MultiOutputClassifier(boosting).fit(X[:200], Y[:200])

    merged = merge_models([net, trees])
    assert merged.n_tasks_ == 2 and merged.task_names_ == net.task_names_
    for p, a, b in zip(
        merged.predict_proba(X[200:]), net.predict_proba(X), trees.predict_proba(X)
    ):
        np.testing.assert_allclose(p, (a[200:] + b[200:]) / 2)
    assert merged.predict(X[200:]).shape == (100, 2)
    fitted = merge_models([trees, net], "fit", X=X[200:], y=Y[200:])
    assert fitted.n_tasks_ == 2 and fitted.weights_.sum() == pytest.approx(1)

    one_task = boosting.fit(X[:200], Y[:200, 0])
    with pytest.raises(ValueError, match="other tasks or classes"):
        merge_models([net, one_task])
