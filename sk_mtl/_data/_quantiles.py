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

__all__ = [
    "QuantileScaling",
    "check_quantiles",
    "check_tied_extremes",
    "fit_quantile_transformer",
]

N_QUANTILES = 1000
# scikit-learn's BOUNDS_THRESHOLD: values this close to the extreme training
# quantiles map to the extremes, which the normal's clipping then bounds.
_BOUND = 1e-7
_CLIP = float(ndtri(1 - (_BOUND - np.spacing(1))))
# Rows transformed at a time: the index and float64 temporaries stay small.
_CHUNK_ROWS = 1024
# How tied extremes map: "bound" (about +-5.2) or "mid" (see the module
# docstring). TIED_EXTREMES is what newly fitted inputs use; an input fitted
# before the choice existed has none recorded, and means "bound".
TIED_EXTREMES_CHOICES = ("bound", "mid")
TIED_EXTREMES = "bound"


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
    tied_extremes : {"bound", "mid"}, default="bound"
        Where a smallest or largest training value shared by several
        quantiles maps: about -5.2 or 5.2, or the middle of its run (see the
        module docstring).
    """

    def __init__(self, quantiles, tied_extremes="bound"):
        self.tied_extremes = check_tied_extremes(tied_extremes)
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
        refs = np.linspace(0, 1, n_quantiles)
        # Every table is indexed by lo plus the column's offset, so that a
        # transform needs no clamping. lo's interval is (inner - 1, inner] with
        # inner = lo within 1..n_quantiles - 1: values below the first quantile
        # or above the last get the bounds' references (below).
        inner = np.minimum(np.maximum(np.arange(n_quantiles + 1), 1), n_quantiles - 1)
        left_reference = np.tile(refs[inner - 1], (n_features, 1))
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
        self._low = rows[:, :1] + _BOUND  # below: the lowest reference, 0
        self._high = rows[:, -1:] - _BOUND  # above: the highest, 1
        if self.tied_extremes == "mid" and n_quantiles > 1:
            self._mid_tied_extremes(rows, on_quantile, left_reference)
        self._left_reference = left_reference.ravel()

    def _mid_tied_extremes(self, rows, on_quantile, left_reference):
        """Tied extremes, and the values beyond them, to the middle of their
        run: no bound for them; below the first quantile (lo 0) and above the
        last (lo n_quantiles), whose slopes are 0 in a tied run, the run's
        reference."""
        low, high = rows[:, 0] == rows[:, 1], rows[:, -2] == rows[:, -1]
        self._low[low] = -np.inf
        self._high[high] = np.inf
        left_reference[low, 0] = on_quantile[low, 0]
        # The top run's first quantile: the first equal to the last.
        first = np.argmax(rows == rows[:, -1:], axis=1)
        left_reference[high, -1] = on_quantile[high, first[high]]

    @property
    def quantiles(self):
        """The quantiles, of shape (n_quantiles, n_features)."""
        return self._sorted.numpy()[:, :-1].T

    def __getstate__(self):
        # The quantiles and the choice: the rest is rebuilt from them when
        # unpickled.
        return {"quantiles": self.quantiles, "tied_extremes": self.tied_extremes}

    def __setstate__(self, state):
        # A scaling pickled before the choice existed has none: "bound".
        self.__init__(state["quantiles"], state.get("tied_extremes", "bound"))

    @classmethod
    def fit(cls, X, tied_extremes=None):
        """The scaling of finite 2-d X's columns (``tied_extremes`` None:
        :data:`TIED_EXTREMES`, the choice for newly fitted inputs)."""
        if tied_extremes is None:
            tied_extremes = TIED_EXTREMES
        return cls(fit_quantile_transformer(X).quantiles_, tied_extremes)

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
        k += self._offsets  # the tables' flat index
        u = self._left_reference[k]
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


def check_tied_extremes(value):
    """The choice of :class:`QuantileScaling`'s ``tied_extremes`` (maybe read
    from a file), checked: ValueError saying what is wrong."""
    if not isinstance(value, str) or value not in TIED_EXTREMES_CHOICES:
        raise ValueError(
            f"the input's tied_extremes must be one of {TIED_EXTREMES_CHOICES}, "
            f"got {value!r}"
        )
    return value
