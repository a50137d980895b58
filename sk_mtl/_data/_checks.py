"""What X may hold: checks run before an input object converts X.

Text or strings where numbers are read, column dtypes no estimator reads (dates, time
spans, periods, intervals, dicts, complex numbers) and finite values beyond
float32's range are each a clear error naming the column, instead of a numpy
traceback or a silent conversion.
"""

import numbers

import numpy as np
import scipy.sparse as sp

__all__ = [
    "check_column_types",
    "is_frame",
    "check_float32_range",
    "has_fitted_names",
    "reject_strings",
    "reject_text",
]

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _holds_text(X):
    if isinstance(X, str):
        return True
    if hasattr(X, "iloc") and getattr(X, "ndim", 2) == 1:  # pandas Series
        X = X.to_numpy()
    if isinstance(X, np.ndarray):
        return (
            X.dtype.kind in "USO"
            and X.ndim == 1
            and len(X) > 0
            and isinstance(X.flat[0], str)
        )
    if isinstance(X, list | tuple) and len(X) > 0:
        return isinstance(X[0], str)
    return False


def reject_text(X, reader):
    """TypeError when X is a sequence of strings but ``reader`` reads numbers."""
    if _holds_text(X):
        raise TypeError(
            f"X is a sequence of strings, but {reader} reads numeric features "
            "(n_samples, n_features). For text, use "
            "TransferClassifier('all-MiniLM-L6-v2'), or put a "
            "sk_mtl.text.SentenceEncoder in front of the model in a pipeline."
        )


def reject_strings(X, owner):
    """sklearn's ``dtype="numeric"`` rule: arrays of strings are not numbers."""
    if sp.issparse(X) or hasattr(X, "iloc"):
        return
    kind = getattr(X, "dtype", None)
    if kind is None and isinstance(X, list | tuple):
        kind = np.asarray(X).dtype
    if kind is not None and kind.kind in "USa":
        raise ValueError(
            f"X holds strings (dtype {kind}), but {type(owner).__name__} reads "
            "numeric features: convert your data to numbers explicitly (e.g. "
            "np.asarray(X, dtype=float)) or encode the text columns first."
        )


# Column dtypes that are neither numbers nor categories: what they are, in words.
_UNSUPPORTED_KINDS = {"M": "dates/times", "m": "time spans", "V": "raw bytes"}
_UNSUPPORTED_DTYPES = {
    "DatetimeTZDtype": "dates/times",
    "PeriodDtype": "periods",
    "IntervalDtype": "intervals",
}


def _unsupported_dtype(dtype):
    """What ``dtype`` holds, in words, when no estimator reads it; else None."""
    name = type(dtype).__name__
    if name == "CategoricalDtype":
        return _unsupported_dtype(dtype.categories.dtype)
    if name in _UNSUPPORTED_DTYPES:
        return _UNSUPPORTED_DTYPES[name]
    return _UNSUPPORTED_KINDS.get(getattr(dtype, "kind", None))


def _unsupported_value(values):
    """The first value of an object column that is neither a string, a real
    number, a bool nor missing; None if there is none."""
    for kind in set(map(type, values)):
        if issubclass(kind, str | bool | np.bool_) or kind is type(None):
            continue
        if issubclass(kind, numbers.Real) and not issubclass(kind, np.datetime64):
            continue
        for value in values:
            if type(value) is kind and not _is_missing(value):
                return value
    return None


def _is_missing(value):
    try:
        return bool(value != value) or str(value) in ("<NA>", "NaT")
    except (TypeError, ValueError):
        return False


def is_frame(X):
    """Whether X is a 2-d DataFrame-like table (``iloc``, ``dtypes``), asked
    of its type: a DataFrame's ``dtypes`` is a Series built on each access."""
    return (
        hasattr(X, "iloc") and hasattr(type(X), "dtypes") and getattr(X, "ndim", 0) == 2
    )


def has_fitted_names(X, owner):
    """Whether the frame X has exactly the column names ``owner`` was fitted
    on, in order (then its width is the fitted one too): what scikit-learn's
    feature-name and width checks ask at predict."""
    names = getattr(owner, "feature_names_in_", None)
    return names is not None and X.columns.tolist() == names.tolist()


def check_column_types(X, owner):
    """TypeError naming the first column of X that holds neither numbers nor
    categories (dates, time spans, periods, intervals, dicts, ...); ValueError for
    complex numbers (sklearn's message).

    Runs on DataFrames and numpy arrays, at fit and at predict, before anything
    converts X (numpy would raise ``DTypePromotionError``, or read dates as
    numbers).
    """
    if sp.issparse(X):
        return
    # (name, position, dtype) of each column; its values are read only where
    # the dtype says object.
    if is_frame(X):
        columns = [
            (f"column {c!r}", j, dt)
            for j, (c, dt) in enumerate(zip(X.columns, X.dtypes))
        ]
        rows = X.iloc
    elif isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1]:
        # One dtype for all columns: only object arrays are read column by column.
        n = X.shape[1] if X.dtype.kind == "O" else 1
        columns = [(f"column {j}", j, X.dtype) for j in range(n)]
        rows = X
    else:
        return
    caller = type(owner).__name__
    for name, j, dtype in columns:
        if getattr(dtype, "kind", None) == "c":
            raise ValueError(
                f"Complex data not supported: X's {name} holds complex numbers "
                f"({dtype}), which {caller} cannot read as features."
            )
        what = _unsupported_dtype(dtype)
        bad = None
        if what is None and getattr(dtype, "kind", None) == "O":
            if type(dtype).__name__ == "CategoricalDtype":  # values among these
                values = dtype.categories.tolist()
            else:
                column = rows[:, j]
                values = column.tolist() if hasattr(column, "tolist") else list(column)
            bad = _unsupported_value(values)
            if bad is None:
                continue
            what = f"{type(bad).__name__} values (e.g. {bad!r})"
        if what is None:
            continue
        raise TypeError(
            f"X's {name} holds {what} (dtype {dtype}), which {caller} cannot read: "
            "a feature's argument must be a string (categorical column) or a "
            "number. Convert the column first (e.g. a date to its year, month and "
            "day, or to days since a reference date)."
        )


def check_float32_range(values, X, owner):
    """ValueError naming the column of a finite value that float32 cannot hold."""
    if values.size == 0 or values.dtype.kind != "f" or values.dtype.itemsize <= 4:
        return
    # Reductions only: no temporary as large as X.
    if values.max() <= _FLOAT32_MAX and values.min() >= -_FLOAT32_MAX:
        return
    if sp.issparse(X):
        col = int(X.tocsc().indices[np.abs(X.tocsc().data) > _FLOAT32_MAX][0])
    else:
        over = (X.max(axis=0) > _FLOAT32_MAX) | (X.min(axis=0) < -_FLOAT32_MAX)
        col = int(np.flatnonzero(over)[0])
    names = getattr(owner, "feature_names_in_", None)
    name = f"column {col}" if names is None else f"column {names[col]!r}"
    raise ValueError(
        f"X has a value outside the float32 range (|x| > 3.4e38) in {name}; "
        f"{type(owner).__name__} computes in float32. Scale X first."
    )
