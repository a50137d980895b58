"""Multi-task targets with missing labels: validation and encoding.

A target is either 1-D (one task) or 2-D ``(n_samples, n_tasks)``. Each column is
its own classification task with its own classes (ints, strings, ...). NaN in a
float column and ``None`` / ``pd.NA`` / NaN in an object column mark a missing
label.

Labels keep the type the user gave. NaN can only live in a float array, so an
int label array with missing labels arrives as floats (numpy, or a pandas int
column with NaN) or as a pandas nullable ``Int64`` column: when a float array
holds NaN and all its labels are whole numbers, the labels are read back as
ints (classes ``[0, 1]``, not ``[0.0, 1.0]``), and a nullable int column's labels
are ints. A float array without NaN keeps float labels, as in sklearn.
"""

import math
from dataclasses import dataclass

import numpy as np
from sklearn.utils.multiclass import check_classification_targets

__all__ = [
    "TaskTargets",
    "encode_targets",
    "is_missing",
    "labelled_values",
    "stack_task_columns",
    "task_columns",
]


def _missing_scalar(v):
    if v is None:
        return True
    if isinstance(v, float | np.floating):
        return math.isnan(v)
    # pandas' NA and NaT, without importing pandas
    return type(v).__name__ in ("NAType", "NaTType")


def is_missing(column):
    """Boolean mask of the missing labels of a 1-D column."""
    column = np.asarray(column)
    if column.dtype.kind == "f":
        return np.isnan(column)
    if column.dtype.kind == "O":
        return np.fromiter((_missing_scalar(v) for v in column), bool, len(column))
    return np.zeros(len(column), dtype=bool)


def _ints_with_missing(arr):
    """A float array that NaN made float, back to int labels (object, None = missing).

    ``arr`` unchanged unless it is a float array holding NaN whose labelled
    values are all finite whole numbers.
    """
    if arr.dtype.kind != "f":
        return arr
    missing = np.isnan(arr)
    values = arr[~missing]
    if not missing.any() or not np.isfinite(values).all():
        return arr
    if not np.array_equal(values, np.round(values)):
        return arr
    out = np.full(arr.shape, None, dtype=object)
    out[~missing] = values.astype(np.int64)
    return out


def _pandas_column(col):
    """A pandas column as numpy; nullable int columns as ints with None."""
    dtype = col.dtype
    if getattr(dtype, "kind", None) in "iu" and hasattr(dtype, "na_value"):
        return col.to_numpy(dtype=object, na_value=None)
    return _ints_with_missing(np.asarray(col.to_numpy()))


def task_columns(y):
    """Split a target into ``(columns, task_names, is_multitask)``.

    ``columns`` is a list of 1-D numpy arrays, one per task.
    """
    if y is None:
        raise ValueError("requires y to be passed, but the target y is None.")
    if hasattr(y, "columns") and hasattr(y, "iloc"):  # pandas DataFrame
        names = [str(c) for c in y.columns]
        cols = [_pandas_column(y.iloc[:, j]) for j in range(y.shape[1])]
        if len(cols) == 0:
            raise ValueError("Y has no column: expected at least one task.")
        return cols, names, True
    if hasattr(y, "iloc"):  # pandas Series
        name = "task_0" if y.name is None else str(y.name)
        return [_pandas_column(y)], [name], False
    if hasattr(y, "__array__") or isinstance(y, list | tuple):
        arr = np.asarray(y)
    else:
        raise TypeError(
            "y should be an array-like of labels (1-D for one task, 2-D "
            f"(n_samples, n_tasks) for several), got {type(y).__name__}."
        )
    if arr.ndim == 0:
        raise ValueError(
            "y should be a 1d array or 2-D (n_samples, n_tasks); got a scalar."
        )
    if arr.ndim > 2:
        raise ValueError(
            f"Y must be 1-D (one task) or 2-D (n_samples, n_tasks); got a {arr.ndim}-D "
            f"array of shape {arr.shape}."
        )
    # NaN anywhere made the whole array float: its int tasks are ints again.
    arr = _ints_with_missing(arr)
    if arr.ndim == 1:
        return [arr], ["task_0"], False
    if arr.shape[1] == 0:
        raise ValueError("Y has no column: expected at least one task.")
    cols = [arr[:, j] for j in range(arr.shape[1])]
    return cols, [f"task_{j}" for j in range(len(cols))], True


def labelled_values(col, name):
    """The labelled entries of a column as a numpy array of one consistent type."""
    mask = is_missing(col)
    values = col[~mask]
    if col.dtype.kind == "f" and np.isinf(values).any():
        raise ValueError(f"Input y contains infinity (task {name!r}).")
    if col.dtype.kind == "O":
        kinds = {isinstance(v, str) for v in values}
        if len(kinds) > 1:
            raise TypeError(
                f"Task {name!r} mixes string and non-string labels; use one type "
                "per task."
            )
        values = np.asarray(values.tolist())
    return values, mask


@dataclass
class TaskTargets:
    """Encoded targets.

    Attributes
    ----------
    codes : ndarray of shape (n_samples, n_tasks), int64
        Index of each label in its task's classes; 0 where missing.
    labelled : ndarray of shape (n_samples, n_tasks), bool
        False where the label is missing.
    classes : list of ndarray
        Sorted classes of each task.
    task_names : list of str
    multitask : bool
        False when the target was 1-D (or a Series).
    """

    codes: np.ndarray
    labelled: np.ndarray
    classes: list
    task_names: list
    multitask: bool


def encode_targets(y):
    """Validate a (multi-task) classification target and encode it as class codes.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_tasks)
        Labels; missing labels are NaN, None or ``pd.NA``.

    Returns
    -------
    TaskTargets
    """
    cols, names, multitask = task_columns(y)
    n = len(cols[0])
    codes = np.zeros((n, len(cols)), dtype=np.int64)
    labelled = np.zeros((n, len(cols)), dtype=bool)
    found = []
    for t, (col, name) in enumerate(zip(cols, names)):
        values, mask = labelled_values(col, name)
        if len(values) == 0:
            raise ValueError(
                f"Input y contains NaN for every sample of task {name!r}: each task "
                "needs at least one label (missing labels are NaN/None)."
            )
        check_classification_targets(values)
        task_classes = np.unique(values)
        if len(task_classes) < 2:
            raise ValueError(
                f"Task {name!r} has 1 class ({task_classes[:1].tolist()[0]!r}) among "
                "its labelled samples; a classifier needs at least 2 classes."
            )
        codes[~mask, t] = np.searchsorted(task_classes, values)
        labelled[:, t] = ~mask
        found.append(task_classes)
    return TaskTargets(codes, labelled, found, names, multitask)


def stack_task_columns(columns):
    """Stack per-task label columns into ``(n_samples, n_tasks)``.

    One numpy dtype when every task's labels share a kind; an object array when
    they differ (e.g. integer and string tasks), so no label is converted.
    """
    kinds = {c.dtype.kind for c in columns}
    dtype = np.result_type(*columns) if len(kinds) == 1 else object
    out = np.empty((len(columns[0]), len(columns)), dtype=dtype)
    for t, col in enumerate(columns):
        out[:, t] = col
    return out
