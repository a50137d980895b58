"""Fixtures shared by the test modules."""

import numpy as np
import pytest
import torch

from sk_mtl import MultiTaskClassifier

# One torch thread: the tiny networks of the tests gain nothing from more, and on
# a shared 2-core machine idle-spinning threads slow them down many times over.
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def small():
    """``X`` (240 x 6), binary ``y``, and a source fitted on the first 120 rows."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(240, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    source = MultiTaskClassifier((16, 8), max_epochs=15, random_state=0)
    return X, y, source.fit(X[:120], y[:120])
