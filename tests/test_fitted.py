"""same_fit: whether two fitted objects hold the same fitted values."""

import copy

import numpy as np

from sk_mtl import MultiTaskClassifier
from sk_mtl._data._fitted import same_fit


def _fit(X, y):
    return MultiTaskClassifier((4,), max_epochs=1, n_bags=1).fit(X, y)


def test_inputs_fitted_on_the_same_rows_are_the_same_fit():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    model = _fit(X, y)
    a, b = model.input_, _fit(X, y).input_
    assert a is not b and same_fit(a, b)
    a.transform(X[:2], model)  # may build caches left out of the state
    assert same_fit(a, b)
    assert not same_fit(a, _fit(X[:40], y[:40]).input_)  # other rows: other scaling
    shifted = copy.deepcopy(b)
    shifted.robust_center_ = shifted.robust_center_ + 1.0
    assert not same_fit(a, shifted)


def test_containers_and_types():
    assert same_fit({"a": [1, np.arange(3)]}, {"a": [1, np.arange(3)]})
    assert not same_fit({"a": [1, np.arange(3)]}, {"a": [1, np.arange(4)]})
    assert not same_fit([1, 2], (1, 2))  # another type
    assert not same_fit({"a": 1}, {"b": 1})
