"""Which input object reads training X: :func:`make_input`.

Dense numeric X (an array, or a DataFrame of numbers) gets a
:class:`~sk_mtl._data._inputs.NumericInput` that scales each column; X with a
categorical column or a missing value, or (with the value view) a column that
is mostly one value with a few others recurring, gets the tabular front-end
(:class:`~sk_mtl._data._tabular.TabularInput`); sparse X is read as given.
"""

import numpy as np

from ._categories import from_dtype
from ._checks import is_frame
from ._inputs import NumericInput
from ._tabular import TabularInput
from ._values import has_recurring_values

__all__ = ["make_input"]

# Rows per block when looking for NaN in a float array (a small boolean temporary).
_NAN_BLOCK_ROWS = 8192


def _has_missing(X):
    if is_frame(X):
        return bool(X.isna().to_numpy().any())
    if isinstance(X, np.ndarray) and X.dtype.kind not in "fO":
        return False  # ints, bools cannot hold NaN; complex is rejected later
    if isinstance(X, np.ndarray) and X.dtype.kind == "f":
        # No float64 copy, no mask as large as X: a NaN makes the sum NaN (and so
        # can inf - inf, which the exact block-wise look then tells apart).
        if not np.isnan(X.sum()):
            return False
        blocks = range(0, len(X), _NAN_BLOCK_ROWS)
        return any(np.isnan(X[i : i + _NAN_BLOCK_ROWS]).any() for i in blocks)
    try:
        values = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return bool(np.isnan(values).any())


def make_input(
    X,
    categorical_features="from_dtype",
    *,
    tabular=False,
    linear_view=True,
    value_view=False,
):
    """The input object for training X: a :class:`TabularInput` or a NumericInput.

    X is read as tabular (scaled numerics, encoded categories, missing values
    allowed) when it has a categorical column, a missing value, or when
    ``tabular`` is True (the network needs the tabular front-end); otherwise as
    plain numbers, each dense column scaled the same way (sparse X is read as
    given). ``linear_view``: the numeric columns come quantile-normal and
    robust-scaled (else quantile-normal alone); ``value_view``: the tabular
    front-end also reads a numeric column that is mostly one value as a
    categorical column of its values (:mod:`._values`), and reads numeric X
    that has such a column.
    """
    if hasattr(X, "toarray") or hasattr(X, "tocsr"):  # sparse
        return NumericInput()
    tabular = tabular or _has_missing(X) or _has_categories(X, categorical_features)
    if not tabular and value_view:  # numbers alone: the front-end reads values
        tabular = has_recurring_values(X, TabularInput().min_category_count)
    if tabular:
        return TabularInput(
            categorical_features, linear_view=linear_view, value_view=value_view
        )
    return NumericInput(scale=True, linear_view=linear_view)


def _has_categories(X, categorical_features):
    """Whether ``categorical_features`` finds a categorical column in X."""
    if categorical_features is None:
        return False
    if isinstance(categorical_features, str) and categorical_features == "from_dtype":
        if not (is_frame(X) or isinstance(X, np.ndarray)):
            X = np.asarray(X, dtype=object)
        return X.ndim == 2 and bool(from_dtype(X))
    mask = np.asarray(categorical_features)
    return not (mask.size == 0 or (mask.dtype == bool and not mask.any()))
