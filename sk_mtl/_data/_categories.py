"""Codes of a categorical column: what the tabular front-end embeds.

Code 0 is "missing" (NaN, None, ``pd.NA``), code 1 is "other": the categories
seen fewer than ``min_count`` times in fit, those past the ``max_categories``
most frequent, and, at predict time, categories never seen in fit; codes 2, 3,
... are the kept categories, most frequent first. Rare and unseen categories
thus share one trained slot instead of each getting an embedding learned from
a handful of rows (or never trained at all). The value view of a numeric
column (:mod:`._values`) uses the same codes.
"""

import numbers
from collections import Counter

import numpy as np

from ._checks import is_frame

__all__ = [
    "MISSING",
    "OTHER",
    "categorical_positions",
    "category_codes",
    "fit_categories",
    "from_dtype",
]

MISSING, OTHER = 0, 1


def _is_missing(values):
    """Which entries of a 1-d array are missing (NaN, None, ``pd.NA``)."""
    values = np.asarray(values, dtype=object)
    try:
        import pandas as pd

        return np.asarray(pd.isna(values), dtype=bool)
    except ImportError:  # pragma: no cover - pandas is optional
        return np.array(
            [v is None or (isinstance(v, float) and v != v) for v in values]
        )


def fit_categories(values, min_count, max_categories):
    """The kept categories of a column, most frequent first (ties by their
    text), as an object array."""
    present = values[~_is_missing(values)]
    counts = Counter(present.tolist())
    kept = [(c, v) for v, c in counts.items() if c >= max(1, min_count)]
    kept.sort(key=lambda cv: (-cv[0], str(cv[1])))
    categories = np.empty(min(len(kept), max_categories), dtype=object)
    categories[:] = [v for _, v in kept[: len(categories)]]
    return categories


def category_codes(values, categories):
    """int64 codes of a column against its kept ``categories``."""
    values = np.asarray(values, dtype=object)
    lookup = {v: i + 2 for i, v in enumerate(categories.tolist())}
    codes = np.fromiter((lookup.get(v, OTHER) for v in values.tolist()), np.int64)
    codes[_is_missing(values)] = MISSING
    return codes


def _categorical_dtype(dtype):
    name = type(dtype).__name__
    return name in ("CategoricalDtype", "StringDtype") or getattr(
        dtype, "kind", None
    ) in ("O", "U", "S")


def from_dtype(X):
    """Indices of the DataFrame columns that are categorical by their dtype.

    An array has none (as for HistGradientBoosting): name its categorical columns.
    """
    if is_frame(X):
        return [j for j, dt in enumerate(X.dtypes) if _categorical_dtype(dt)]
    return []


def categorical_positions(spec, X, names):
    """Positions of the categorical columns of X that ``spec`` (a
    ``categorical_features`` value) names; ``names``: X's column names or None."""
    n = X.shape[1]
    if spec is None:
        return []
    if isinstance(spec, str):
        if spec != "from_dtype":
            raise ValueError(
                "categorical_features must be 'from_dtype', None, a list of "
                f"column names or indices, or a boolean mask; got {spec!r}."
            )
        return from_dtype(X)
    spec = list(spec)
    if spec and all(isinstance(s, bool | np.bool_) for s in spec):
        if len(spec) != n:
            raise ValueError(
                f"categorical_features is a boolean mask of length {len(spec)}, "
                f"but X has {n} columns."
            )
        return [j for j, s in enumerate(spec) if s]
    return sorted({_column_index(s, n, names) for s in spec})


def _column_index(s, n, names):
    if isinstance(s, str):
        if names is None:
            raise ValueError(
                f"categorical_features names column {s!r}, but X has no column "
                "names (pass a DataFrame, or give column indices)."
            )
        found = np.flatnonzero(np.asarray(names) == s)
        if len(found) == 0:
            raise ValueError(
                f"categorical_features names column {s!r}, which is not a column "
                f"of X; the columns are {list(names)[:10]}..."
            )
        return int(found[0])
    if isinstance(s, numbers.Integral) and -n <= s < n:
        return int(s) % n
    raise ValueError(
        f"categorical_features has {s!r}, which is neither a column name nor an "
        f"index in [0, {n}) of X's columns."
    )
