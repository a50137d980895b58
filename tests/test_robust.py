"""sk_mtl._data._robust: the linear view of numeric columns."""

import numpy as np

from sk_mtl._data._robust import fit_robust, robust_clip


def test_robust_clip_writes_into_columns_of_a_wider_float32_array():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 3)) * [1.0, 10.0, 1e4]
    center, scale = fit_robust(X)
    alone = robust_clip(X, center, scale)
    assert alone.dtype == np.float64
    # linear near the median, bounded by the smooth clip
    assert np.abs(alone).max() < 3
    wide = np.zeros((7, 6), dtype=np.float32)
    got = robust_clip(X, center, scale, out=wide[:, 3:])
    assert np.shares_memory(got, wide)
    np.testing.assert_array_equal(wide[:, 3:], alone.astype(np.float32))
    np.testing.assert_array_equal(wide[:, :3], 0.0)  # the other columns untouched
