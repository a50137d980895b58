"""Numeric columns mapped to a standard normal through their training quantiles.

The quantiles are fitted by scikit-learn's
:class:`~sklearn.preprocessing.QuantileTransformer`
(``output_distribution="normal"``, at most 1,000 quantiles);
:class:`QuantileScaling` applies the same rule as its ``transform`` (the mean of
the upward and the downward interpolation, so a value shared by many training
rows maps to the middle of its quantiles; the smallest and largest training
values and beyond map to about -5.2 and 5.2), vectorised over all columns at
once: one row costs microseconds, where scikit-learn's loop over columns costs
milliseconds, which every one-row ``predict`` would pay.
"""

import numpy as np
import torch
from scipy.special import ndtri
from sklearn.preprocessing import QuantileTransformer

from .._runtime._threads import torch_threads

__all__ = ["QuantileScaling", "check_quantiles", "fit_quantile_transformer"]

N_QUANTILES = 1000
# scikit-learn's BOUNDS_THRESHOLD: values this close to the extreme training
# quantiles map to the extremes, which the normal's clipping then bounds.
_BOUND = 1e-7
_CLIP = float(ndtri(1 - (_BOUND - np.spacing(1))))
# Rows transformed at a time: the index and float64 temporaries stay small.
_CHUNK_ROWS = 1024


def fit_quantile_transformer(X):
    """scikit-learn's quantile transformer to a normal, fitted on finite X."""
    return QuantileTransformer(
        output_distribution="normal",
        n_quantiles=max(1, min(N_QUANTILES, len(X))),
        random_state=0,
    ).fit(X)


class QuantileScaling:
    """Columns to a standard normal by their quantiles (see the module docstring).

    Parameters
    ----------
    quantiles : ndarray of shape (n_quantiles, n_features)
        Non-decreasing quantiles of each column, as
        ``QuantileTransformer.quantiles_``.
    """

    def __init__(self, quantiles):
        quantiles = np.asarray(quantiles, dtype=np.float64)
        n_quantiles, n_features = quantiles.shape
        # Each column's quantiles as a row (the one copy kept), for
        # torch.searchsorted (the step numpy cannot do for all columns in one
        # call), and flat.
        rows = np.ascontiguousarray(quantiles.T)
        self._sorted = torch.from_numpy(rows)
        self._flat = rows.ravel()
        self._offsets = np.arange(n_features)[:, None] * n_quantiles
        self._low = rows[:, :1] + _BOUND  # below: the lowest reference, 0
        self._high = rows[:, -1:] - _BOUND  # above: the highest, 1
        self._references = refs = np.linspace(0, 1, n_quantiles)
        # For a value on a quantile, the mean of the references at both ends of
        # the run of quantiles equal to it (what the upward and the downward
        # interpolation give).
        last = np.empty(rows.shape, dtype=np.int64)
        last[:, -1] = n_quantiles - 1
        for i in range(n_quantiles - 2, -1, -1):
            last[:, i] = np.where(rows[:, i] == rows[:, i + 1], last[:, i + 1], i)
        self._on_quantile = ((refs + refs[last]) / 2).ravel()
        # For a value between quantiles i - 1 and i: the slope of the references
        # over that interval, stored at i (0 where the two are equal).
        rise = np.diff(rows, axis=1, prepend=rows[:, :1])
        step = np.diff(refs, prepend=0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            self._slope = np.where(rise > 0, step / rise, 0.0).ravel()

    @property
    def quantiles(self):
        """The quantiles, of shape (n_quantiles, n_features)."""
        return self._flat.reshape(self._sorted.shape).T

    def __getstate__(self):
        # The quantiles alone: the rest is rebuilt from them when unpickled.
        return {"quantiles": self.quantiles}

    def __setstate__(self, state):
        self.__init__(state["quantiles"])

    @classmethod
    def fit(cls, X):
        """The scaling of finite 2-d X's columns."""
        return cls(fit_quantile_transformer(X).quantiles_)

    def transform(self, X):
        """Finite X of shape (n_samples, n_features) as a new float32 array."""
        out = np.empty(X.shape, dtype=np.float32)
        for start in range(0, X.shape[0], _CHUNK_ROWS):
            block = X[start : start + _CHUNK_ROWS]
            out[start : start + _CHUNK_ROWS] = self._normal(block).T
        return out

    def _normal(self, X):
        """The transform of a block, as (n_features, n_rows) float64."""
        flat, n = self._flat, self._sorted.shape[1]
        # One float64 copy, column by column, that torch can wrap (writable).
        x = np.array(X.T, dtype=np.float64, order="C")
        # First quantile >= x, as a position within its column. One thread:
        # torch splits a search of 200 values or more across its threads,
        # which on a busy machine made 256 rows 10 times slower, and it runs
        # before the estimator sizes its threads.
        with torch_threads(1):
            lo = torch.searchsorted(self._sorted, torch.from_numpy(x)).numpy()
        # (ufuncs with out= rather than np.clip or masked assignment: a served
        # row's cost is the number of array operations, not their size.)
        at = np.minimum(lo, n - 1)
        at += self._offsets
        # Between quantiles inner - 1 and inner of the column (flat: left, right).
        inner = np.minimum(np.maximum(lo, 1, out=lo), n - 1, out=lo)
        u = self._references[inner - 1]
        right = np.add(inner, self._offsets, out=inner)
        du = flat[right - 1]
        np.subtract(x, du, out=du)
        du *= self._slope[right]
        u += du
        np.copyto(u, self._on_quantile[at], where=flat[at] == x)
        np.putmask(u, x > self._high, 1.0)
        np.putmask(u, x < self._low, 0.0)
        z = ndtri(u, out=u)
        np.maximum(z, -_CLIP, out=z)
        return np.minimum(z, _CLIP, out=z)


def check_quantiles(quantiles, n_features):
    """Quantiles read from a file, checked: ValueError saying what is wrong."""
    if not isinstance(quantiles, np.ndarray) or quantiles.dtype != np.float64:
        raise ValueError("the input's quantiles must be a float64 array")
    if quantiles.ndim != 2 or quantiles.shape[1] != n_features:
        raise ValueError(
            f"the input's quantiles have shape {quantiles.shape}, expected "
            f"(n_quantiles, {n_features})"
        )
    if not 1 <= quantiles.shape[0] <= N_QUANTILES:
        raise ValueError(
            f"the input has {quantiles.shape[0]} quantiles per column, expected "
            f"1 to {N_QUANTILES}"
        )
    if not np.isfinite(quantiles).all() or (np.diff(quantiles, axis=0) < 0).any():
        raise ValueError("the input's quantiles must be finite and non-decreasing")
    return quantiles
