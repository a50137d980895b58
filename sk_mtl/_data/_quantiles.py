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
        rows = np.ascontiguousarray(quantiles.T)
        # Each column's quantiles as a row, then +inf, for torch.searchsorted
        # (the step numpy cannot do for all columns in one call): the first
        # entry >= x, lo in 0..n_quantiles, is the same as without the +inf.
        padded = np.column_stack([rows, np.full(n_features, np.inf)])
        self._sorted = torch.from_numpy(padded)
        self._flat = padded.ravel()  # a view: the quantile at lo
        self._offsets = np.arange(n_features)[:, None] * (n_quantiles + 1)
        self._low = rows[:, :1] + _BOUND  # below: the lowest reference, 0
        self._high = rows[:, -1:] - _BOUND  # above: the highest, 1
        refs = np.linspace(0, 1, n_quantiles)
        # Every table is indexed by lo (plus the column's offset), so that a
        # transform needs no clamping. lo's interval is (inner - 1, inner] with
        # inner = lo within 1..n_quantiles - 1: values below the first quantile
        # or above the last get the bounds' references anyway.
        inner = np.minimum(np.maximum(np.arange(n_quantiles + 1), 1), n_quantiles - 1)
        self._left_reference = refs[inner - 1]
        self._left = rows[:, inner - 1].ravel()
        # The slope of the references over the interval (0 where its two
        # quantiles are equal).
        rise = np.diff(rows, axis=1, prepend=rows[:, :1])
        step = np.diff(refs, prepend=0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            self._slope = np.where(rise > 0, step / rise, 0.0)[:, inner].ravel()
        # For a value on quantile lo, the mean of the references at both ends
        # of the run of quantiles equal to it (what the upward and the downward
        # interpolation give); lo = n_quantiles (+inf) is never one.
        last = np.empty(rows.shape, dtype=np.int64)
        last[:, -1] = n_quantiles - 1
        for i in range(n_quantiles - 2, -1, -1):
            last[:, i] = np.where(rows[:, i] == rows[:, i + 1], last[:, i + 1], i)
        on_quantile = (refs + refs[last]) / 2
        self._on_quantile = np.column_stack([on_quantile, np.ones(n_features)]).ravel()

    @property
    def quantiles(self):
        """The quantiles, of shape (n_quantiles, n_features)."""
        return self._sorted.numpy()[:, :-1].T

    def __getstate__(self):
        # The quantiles alone: the rest is rebuilt from them when unpickled.
        return {"quantiles": self.quantiles}

    def __setstate__(self, state):
        self.__init__(state["quantiles"])

    @classmethod
    def fit(cls, X):
        """The scaling of finite 2-d X's columns."""
        return cls(fit_quantile_transformer(X).quantiles_)

    def transform(self, X, out=None):
        """Finite X of shape (n_samples, n_features) as a new float32 array, or
        written into ``out`` (float32, of X's shape; e.g. columns of a wider
        array) and returned."""
        if out is None:
            out = np.empty(X.shape, dtype=np.float32)
        for start in range(0, X.shape[0], _CHUNK_ROWS):
            block = X[start : start + _CHUNK_ROWS]
            out[start : start + _CHUNK_ROWS] = self._normal(block).T
        return out

    def _normal(self, X):
        """The transform of a block, as (n_features, n_rows) float64."""
        # One float64 copy, column by column, that torch can wrap (writable).
        x = np.array(X.T, dtype=np.float64, order="C")
        # First quantile >= x, as a position within its column. One thread:
        # torch splits a search of 200 values or more across its threads,
        # which on a busy machine made 256 rows 10 times slower, and it runs
        # before the estimator sizes its threads.
        with torch_threads(1):
            k = torch.searchsorted(self._sorted, torch.from_numpy(x)).numpy()
        # (ufuncs with out= rather than np.clip or masked assignment: a served
        # row's cost is the number of array operations, not their size.)
        u = self._left_reference[k]
        k += self._offsets  # the tables' flat index
        du = np.subtract(x, self._left[k])
        du *= self._slope[k]
        u += du
        np.copyto(u, self._on_quantile[k], where=self._flat[k] == x)
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
