"""Reading a table's columns: one by one, or a block of them in one call.

A served row's cost is per column read: a DataFrame's ``iloc`` costs tens of
microseconds a column, so the tabular input reads its numeric and its
categorical columns as one block each, and a small frame as one object array.
"""

import numpy as np

from ._checks import is_frame

__all__ = ["SMALL_FRAME_ROWS", "column", "frame_block", "small_frame_values"]

# Frames of at most this many rows are read whole as objects (42 us for one
# row of 12 columns), larger ones by the columns asked for (136 us for one row
# of 10 columns, but no object per value of a large frame).
SMALL_FRAME_ROWS = 64


def small_frame_values(X):
    """Every column of a DataFrame of at most :data:`SMALL_FRAME_ROWS` rows as
    one object array; None for other X."""
    if is_frame(X) and len(X) <= SMALL_FRAME_ROWS:
        return X.to_numpy(dtype=object)
    return None


def frame_block(X, positions, dtype, values=None):
    """A DataFrame's columns at ``positions`` as one 2-d array of ``dtype``
    (missing values NaN for floats), read in one call rather than column by
    column (a served row's cost is per column read); None for other X, or
    where a column does not convert (the caller reads them one by one and names
    it). ``values``: the frame's :func:`small_frame_values`, if read."""
    if not is_frame(X) or not positions:
        return None
    try:
        if len(X) <= SMALL_FRAME_ROWS:
            values = small_frame_values(X) if values is None else values
            block = values[:, positions]
            return block if dtype is object else block.astype(dtype)
        block = X.iloc[:, positions]
        if dtype is object:
            return block.to_numpy(dtype=object)
        return block.to_numpy(dtype=dtype, na_value=np.nan)
    except (TypeError, ValueError):
        return None


def column(X, j):
    """Column ``j`` of a DataFrame or a 2-d array."""
    if is_frame(X):
        return X.iloc[:, j]
    return X[:, j]
