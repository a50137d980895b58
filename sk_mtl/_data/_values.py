"""The value view of a numeric column: its frequent values read as categories.

The tabular front-end reads a numeric column through smooth views (quantile-
normal, robust-scaled): a network learns from them what changes gradually with
the value. Some columns are mostly one value with a few others that recur, each
with its own meaning, which a tree isolates with two splits and a smooth view
blurs: a capital gain is 0 for most people, and a few exact amounts come back
again and again (adult's capital-gain and capital-loss). For such a column the
value view adds a categorical column of its values: each value seen at least
``min_count`` times in fit (at most ``max_values`` of them, the most frequent)
gets a learned embedding, as a category does, and the linear blend a
coefficient.

Which columns: those whose most frequent value holds at least
:data:`MODE_SHARE` of the non-missing training rows and that keep at least
:data:`MIN_VALUES` values (a 0/1 column's value view would repeat the column).
``benchmarks/value_view_exploration.py`` chose the rule and
``benchmarks/value_view_study.py`` measured it, on validation splits: a view
of every column of at most 255 distinct values lost up to 0.04 on tables of
ages and counts.

Codes as the categorical columns' (:mod:`._categories`): 0 is "missing" (NaN),
1 is "other" (a value kept by none of the slots, or never seen in fit), 2, 3,
... the kept values, most frequent first.
"""

import numpy as np

from ._categories import MISSING, OTHER

__all__ = [
    "MODE_SHARE",
    "MIN_VALUES",
    "fit_value_view",
    "has_recurring_values",
    "value_codes",
]

# Rows of a dense numeric X that has_recurring_values looks at.
_SAMPLE_ROWS = 10_000

MODE_SHARE = 0.5
MIN_VALUES = 3


def fit_value_view(numeric, min_count, max_values):
    """``(columns, values)`` of the value view of 2-d float ``numeric`` (NaN
    missing): the positions of the columns that get one, and each one's kept
    values (float64, most frequent first, ties by value)."""
    columns, kept = [], []
    for j in range(numeric.shape[1]):
        present = numeric[:, j][~np.isnan(numeric[:, j])]
        if present.size == 0:
            continue
        values, counts = np.unique(present, return_counts=True)
        if counts.max() < MODE_SHARE * present.size:
            continue
        order = np.lexsort((values, -counts))
        frequent = order[counts[order] >= max(1, min_count)][:max_values]
        if frequent.size >= MIN_VALUES:
            columns.append(j)
            kept.append(values[frequent].astype(np.float64))
    return columns, kept


def has_recurring_values(X, min_count):
    """Whether a column of dense numeric X (an array or a DataFrame of numbers)
    would get a value view, judged on at most ``_SAMPLE_ROWS`` evenly spaced
    rows; False for X that is not numeric."""
    rows = np.unique(np.linspace(0, len(X) - 1, min(len(X), _SAMPLE_ROWS)).astype(int))
    sample = X.iloc[rows] if hasattr(X, "iloc") else np.asarray(X)[rows]
    try:
        sample = np.asarray(sample, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if sample.ndim != 2:
        return False
    return bool(fit_value_view(sample, min_count, max_values=len(sample))[0])


def value_codes(column, values):
    """int64 codes of a float column against its kept ``values``."""
    column = np.asarray(column, dtype=np.float64)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    at = np.minimum(np.searchsorted(ordered, column), len(ordered) - 1)
    codes = np.where(ordered[at] == column, order[at] + 2, OTHER).astype(np.int64)
    codes[np.isnan(column)] = MISSING
    return codes
