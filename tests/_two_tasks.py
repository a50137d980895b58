"""A small two-task classification set and model, shared by the prediction tests."""

import numpy as np

from sk_mtl import MultiTaskClassifier


def two_task_data():
    """60 x 5 float32 X and two binary tasks read from its first columns."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5)).astype(np.float32)
    Y = np.stack([(X[:, 0] > 0), (X[:, 1] + X[:, 2] > 0)], axis=1).astype(int)
    return X, Y


def fit_small(data, **params):
    """A one-hidden-layer (8 units) MultiTaskClassifier fitted for 2 epochs."""
    X, Y = data
    return MultiTaskClassifier((8,), max_epochs=2, random_state=0, **params).fit(X, Y)
