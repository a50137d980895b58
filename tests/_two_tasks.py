"""A small two-task classification set and model, shared by the prediction tests."""

import numpy as np

from sk_mtl import MultiTaskClassifier


def two_task_data():
    """60 x 5 float32 X and two binary tasks read from its first columns."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5)).astype(np.float32)
    Y = np.stack([(X[:, 0] > 0), (X[:, 1] + X[:, 2] > 0)], axis=1).astype(int)
    return X, Y


def linear_tasks_with_missing(n_rows):
    """``n_rows`` x 4 X, a binary and a 3-class task of linear boundaries; the
    first 30 rows miss the second task's label (NaN)."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n_rows, 4))
    Y = np.column_stack([X[:, 0] > 0, np.digitize(X[:, 1], [-0.5, 0.5])]).astype(float)
    Y[:30, 1] = np.nan
    return X, Y


def fit_small(data, **params):
    """A one-hidden-layer (8 units) MultiTaskClassifier fitted for 2 epochs."""
    X, Y = data
    return MultiTaskClassifier((8,), max_epochs=2, random_state=0, **params).fit(X, Y)
