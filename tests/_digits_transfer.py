"""Digits set-ups shared by the transfer-learning tests (each built once per run).

Half A of sklearn's digits trains the sources; the new tasks sample 60 labelled
images from half B and are scored on the rest of B.
"""

from functools import lru_cache

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sk_mtl import MultiTaskClassifier

N_LABELLED = 60
# Fine-tuning budget shared by hot and cold starts in the comparisons.
EPOCHS = 20
LR = 1e-2


@lru_cache(maxsize=1)
def digits():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    half_a, half_b = train_test_split(
        np.arange(len(y)), test_size=0.5, stratify=y, random_state=0
    )
    return X, y, half_a, half_b


@lru_cache(maxsize=1)
def identity_source():
    """10-class digit identity on half A (about 0.95 accuracy on half B)."""
    X, y, half_a, _ = digits()
    return MultiTaskClassifier(
        (64,), max_epochs=40, lr=3e-3, linear_blend=False, n_bags=1, random_state=0
    ).fit(X[half_a], y[half_a])


@lru_cache(maxsize=1)
def low_digits_source():
    """Identity of the digits 0-4 only, on half A (as many steps as above)."""
    X, y, half_a, _ = digits()
    rows = half_a[y[half_a] < 5]
    return MultiTaskClassifier(
        (64,), max_epochs=80, lr=3e-3, n_bags=1, random_state=0
    ).fit(X[rows], y[rows])


def few_shot(pool, seed, n=N_LABELLED):
    """(labelled rows, test rows) of ``pool`` for one seed."""
    labelled = np.random.default_rng(seed).choice(pool, n, replace=False)
    return labelled, np.setdiff1d(pool, labelled)
