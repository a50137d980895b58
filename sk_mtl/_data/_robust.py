"""The linear view of a numeric column: robust scaling, then smooth clipping.

The default estimators read each dense numeric column twice. The quantile-normal
value (:mod:`._quantiles`) keeps the order of the values but bends linear
relations, which a small network fitted on few rows does not straighten; beside
it comes RealMLP-TD's numeric preprocessing (Holzmüller et al., 2024):
``z = (x - median) / (IQR / 1.349)``, with the standard deviation in place of a
zero IQR and 1 for a constant column, then ``z / sqrt(1 + (z / 3) ** 2)``, which
is linear near the median and bounds outliers near ±3.
``benchmarks/numeric_dual_study.py`` chose it (validation splits of 18 tables:
better on 13, worse on 1, at the same CPU time).
"""

import numpy as np

__all__ = ["check_robust", "fit_robust", "robust_clip", "two_views"]

# The IQR of a standard normal: the robust scale of normal data is its std.
_NORMAL_IQR = 1.349


def fit_robust(X):
    """``(center, scale)`` of each column of 2-d float X, as float64 arrays.

    NaN are ignored; an all-NaN column gets centre 0 and scale 1.
    """
    X = np.asarray(X, dtype=np.float64)
    empty = np.isnan(X).all(axis=0)
    if empty.any():
        X = np.where(empty, 0.0, X)
    center = np.nanmedian(X, axis=0)
    q1, q3 = np.nanquantile(X, [0.25, 0.75], axis=0)
    iqr = (q3 - q1) / _NORMAL_IQR
    std = np.nanstd(X, axis=0)
    scale = np.where(iqr > 0, iqr, np.where(std > 0, std, 1.0))
    return center, scale


def robust_clip(X, center, scale, out=None):
    """X's columns robust-scaled and smoothly clipped, as a new float64 array
    or written into ``out`` (e.g. float32 columns of a wider array).

    Five array operations whatever the number of columns (NaN stay NaN); float
    X of either precision gives float64 (``center`` is float64).
    """
    z = np.subtract(X, center)
    z /= scale
    root = np.multiply(z, 1 / 3)
    np.hypot(root, 1.0, out=root)  # sqrt(1 + (z / 3) ** 2)
    return np.divide(z, root, out=z if out is None else out, casting="same_kind")


def two_views(X, scaling, center, scale):
    """X's quantile view (``scaling``, a :class:`~._quantiles.QuantileScaling`)
    then its linear view, side by side in one new float32 array of twice X's
    width (each view written in place: no concatenation)."""
    n = X.shape[1]
    out = np.empty((X.shape[0], 2 * n), dtype=np.float32)
    scaling.transform(X, out=out[:, :n])
    robust_clip(X, center, scale, out=out[:, n:])
    return out


def check_robust(center, scale, n_features):
    """A centre and scale read from a file, checked: ValueError saying what is
    wrong."""
    for name, values in (("centres", center), ("scales", scale)):
        if not isinstance(values, np.ndarray) or values.dtype != np.float64:
            raise ValueError(f"the input's robust {name} must be a float64 array")
        if values.shape != (n_features,):
            raise ValueError(
                f"the input's robust {name} have shape {values.shape}, expected "
                f"({n_features},)"
            )
        if not np.isfinite(values).all():
            raise ValueError(f"the input's robust {name} must be finite")
    if (scale <= 0).any():
        raise ValueError("the input's robust scales must be positive")
    return center, scale
