"""The task seam: what one column of ``y`` is, and how the network serves it.

Two kinds of task: :class:`ClassificationTask` (class codes, one logit per class)
and :class:`RegressionTask` (a number, standardised inside fit, one output).

A task object knows its targets (which values are labels, which are missing), the
width of the head it needs, how that head's output becomes a prediction, and how
predictions are scored. The estimators hold one per column of ``y`` in
``tasks_``; the engine only sees the ``(codes, weights)`` tensors the tasks make,
where a zero weight is a missing label.
"""

import numpy as np
from sklearn.metrics import r2_score

from ..metrics import _check_known_labels
from ..utils import (
    TaskTargets,
    encode_class_column,
    is_missing,
    labelled_values,
    stack_task_columns,
    task_columns,
)

__all__ = [
    "ClassificationTask",
    "RegressionTask",
    "TASK_KINDS",
    "fit_tasks",
    "infer_task_kinds",
    "predict_tasks",
    "softmax",
    "task_probas",
]

TASK_KINDS = ("classification", "regression")


class ClassificationTask:
    """A classification column: its own classes, one logit per class.

    Parameters
    ----------
    name : str
        Name of the task (the column name of a DataFrame ``y``).
    classes : ndarray
        Sorted classes seen in fit.
    """

    kind = "classification"

    def __init__(self, name, classes):
        self.name = name
        self.classes = classes

    @property
    def n_outputs(self):
        """Width of the task's head."""
        return len(self.classes)

    def encode(self, column):
        """``(codes, labelled)`` of a column of labels from these classes.

        Raises a ValueError naming the task for a label it does not know.
        """
        values, missing = labelled_values(np.asarray(column), self.name)
        _check_known_labels(values, self.classes, self.name)
        codes = np.zeros(len(missing), dtype=np.int64)
        codes[~missing] = np.searchsorted(self.classes, values)
        return codes, ~missing

    def proba(self, output):
        """Class probabilities (float64 numpy) from the head's logits."""
        return softmax(output.numpy().astype(np.float64))

    def predict(self, output):
        """Labels from the head's logits."""
        return self.classes[output.argmax(dim=1).numpy()]

    def score(self, y_true, y_pred, sample_weight=None):
        """Accuracy on the labelled entries of ``y_true``; None if none is labelled.

        A label outside ``classes`` (a typo) is a ValueError, not a miss.
        """
        values, missing = labelled_values(np.asarray(y_true), self.name)
        if len(values) == 0:
            return None
        _check_known_labels(values, self.classes, self.name)
        hits = (np.asarray(y_pred)[~missing] == values).astype(float)
        w = None if sample_weight is None else sample_weight[~missing]
        return float(np.average(hits, weights=w))

    def to_config(self):
        """The task as JSON-able values (``classes`` stays an array; for saving)."""
        return {"kind": self.kind, "name": self.name, "classes": self.classes}

    @classmethod
    def from_config(cls, config):
        """The task that :meth:`to_config` describes."""
        return cls(config["name"], np.asarray(config["classes"]))


class RegressionTask:
    """A regression column: one output, trained on the standardised target.

    Parameters
    ----------
    name : str
        Name of the task.
    mean, scale : float
        Mean and standard deviation of the labelled training targets (scale 1 for
        a constant target): the network learns ``(y - mean) / scale`` and its
        predictions are mapped back to the target's units.
    """

    kind = "regression"
    n_outputs = 1
    classes = None

    def __init__(self, name, mean, scale):
        self.name = name
        self.mean = mean
        self.scale = scale

    def to_config(self):
        """The task as JSON-able values (for saving)."""
        return {
            "kind": self.kind,
            "name": self.name,
            "mean": self.mean,
            "scale": self.scale,
        }

    @classmethod
    def from_config(cls, config):
        """The task that :meth:`to_config` describes."""
        return cls(config["name"], float(config["mean"]), float(config["scale"]))

    @classmethod
    def from_column(cls, column, name):
        """The task fitted on a training column (its mean and scale)."""
        values, _ = numeric_values(column, name)
        if len(values) == 0:
            raise ValueError(
                f"Regression task {name!r} has no finite value: each task needs at "
                "least one label (missing targets are NaN/None)."
            )
        with np.errstate(over="ignore", invalid="ignore"):
            mean, scale = float(values.mean()), float(values.std())
        if not (np.isfinite(mean) and np.isfinite(scale)):
            # e.g. values near 1e300: the squares overflow and every standardised
            # target would be 0 (silent garbage)
            raise ValueError(
                f"Regression task {name!r} has targets too large to standardise "
                f"(largest |value| {np.abs(values).max():.3g}: their mean or "
                "standard deviation overflows float64); rescale the target."
            )
        return cls(name, mean, scale if scale > 0 else 1.0)

    def encode(self, column):
        """``(standardised targets, labelled)``; 0 where the target is missing."""
        values, missing = numeric_values(column, self.name)
        codes = np.zeros(len(missing))
        codes[~missing] = (values - self.mean) / self.scale
        return codes, ~missing

    def predict(self, output):
        """Predictions in the target's units (float64) from the head's output."""
        return output[:, 0].double().numpy() * self.scale + self.mean

    def score(self, y_true, y_pred, sample_weight=None):
        """R² on the labelled entries of ``y_true``; None if none is labelled."""
        values, missing = numeric_values(y_true, self.name)
        if len(values) == 0:
            return None
        if len(values) == 1:
            raise ValueError(
                f"y has 1 labelled target for regression task {self.name!r}; R² "
                "needs at least 2."
            )
        pred = np.asarray(y_pred, dtype=float)[~missing]
        w = None if sample_weight is None else sample_weight[~missing]
        return float(r2_score(values, pred, sample_weight=w))


def numeric_values(column, name):
    """``(labelled values as float64, missing mask)`` of a regression column.

    Raises a TypeError naming the task for a non-numeric value and a ValueError
    for an infinite one.
    """
    column = np.asarray(column)
    if column.dtype.kind in "biuf":
        values, missing = labelled_values(column, name)
        return values.astype(np.float64), missing
    missing = is_missing(column)
    values = column[~missing]
    bad = [v for v in values.tolist() if not _is_real(v)]
    if bad:
        raise TypeError(
            f"Regression task {name!r} holds non-numeric value {bad[0]!r}; its "
            "targets must be numbers (NaN/None for a missing target)."
        )
    values = values.astype(np.float64)
    if not np.isfinite(values).all():
        raise ValueError(f"Input y contains infinity (task {name!r}).")
    return values, missing


def _is_real(v):
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(
        v, bool | np.bool_
    )


def infer_kind(dtype_kind):
    """``"regression"`` for a float dtype kind, ``"classification"`` otherwise."""
    return "regression" if dtype_kind == "f" else "classification"


def _dtype_kinds(y, columns):
    """numpy kind of each column's dtype, read from pandas' dtypes where given.

    pandas turns a nullable integer column with missing values into floats; its
    own dtype (``Int64``, kind ``"i"``) still says it holds classes.
    """
    if hasattr(y, "dtypes") and hasattr(y, "columns"):
        return [getattr(d, "kind", "O") for d in y.dtypes]
    if hasattr(y, "dtype") and hasattr(y, "iloc"):
        return [getattr(y.dtype, "kind", "O")]
    return [col.dtype.kind for col in columns]


def _task_kinds(kinds, y, columns, names):
    if isinstance(kinds, str):
        kinds = [kinds] * len(columns)
    kinds = list(kinds)
    if len(kinds) != len(columns):
        raise ValueError(
            f"task_kinds has {len(kinds)} entries but y has {len(columns)} task(s) "
            f"({names})."
        )
    out = []
    for kind, dtype_kind, name in zip(kinds, _dtype_kinds(y, columns), names):
        if kind == "infer":
            kind = infer_kind(dtype_kind)
        if kind not in TASK_KINDS:
            raise ValueError(
                f"Unknown kind {kind!r} for task {name!r}; use one of "
                f"{TASK_KINDS + ('infer',)}."
            )
        out.append(kind)
    return out


def infer_task_kinds(y, kinds="infer"):
    """The kind of each task of ``y``: ``"classification"`` or ``"regression"``.

    ``kinds`` as for :func:`fit_tasks`; a float column is a regression task
    under ``"infer"``.
    """
    cols, names, _ = task_columns(y)
    return _task_kinds(kinds, y, cols, names)


def fit_tasks(y, kinds="classification"):
    """Tasks of a target and its encoding.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_tasks)
        Targets; NaN / None / ``pd.NA`` mark a missing entry.
    kinds : str or list of str, default="classification"
        ``"classification"``, ``"regression"`` or ``"infer"`` (float columns are
        regression tasks, every other column a classification task), for every
        task or one per task.

    Returns
    -------
    tasks : list of ClassificationTask or RegressionTask
    targets : sk_mtl.utils.TaskTargets
        Codes and labelled masks, ``(n_samples, n_tasks)``: int64 class codes when
        every task is a classification task, float64 otherwise (class codes and
        standardised regression targets side by side).
    """
    cols, names, multitask = task_columns(y)
    kinds = _task_kinds(kinds, y, cols, names)
    n = len(cols[0])
    regression = "regression" in kinds
    codes = np.zeros((n, len(cols)), dtype=np.float64 if regression else np.int64)
    labelled = np.zeros((n, len(cols)), dtype=bool)
    tasks = []
    for t, (col, name, kind) in enumerate(zip(cols, names, kinds)):
        if kind == "regression":
            task = RegressionTask.from_column(col, name)
            codes[:, t], labelled[:, t] = task.encode(col)
        else:
            classes, codes[:, t], labelled[:, t] = encode_class_column(col, name)
            task = ClassificationTask(name, classes)
        tasks.append(task)
    classes = [task.classes for task in tasks]
    return tasks, TaskTargets(codes, labelled, classes, names, multitask)


def softmax(logits):
    """Softmax over the last axis, as a float64 array: written into ``logits``
    itself when it is one (pass a copy to keep it).

    In numpy: for the few rows of a serving call, torch's per-op cost is most
    of the work.
    """
    z = logits.astype(np.float64, copy=False)
    z -= z.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


def task_probas(tasks, outputs):
    """Each task's class probabilities from its logits (None for a regression
    task), equal to ``task.proba(output)`` task by task.

    Classification tasks of one width take one softmax together: a serving
    call's cost is the number of array operations, not their size.
    """
    probas = [None] * len(tasks)
    chosen = [t for t, task in enumerate(tasks) if task.kind == "classification"]
    widths = {outputs[t].shape[1] for t in chosen}
    if len(chosen) < 2 or len(widths) > 1:
        for t in chosen:
            probas[t] = tasks[t].proba(outputs[t])
        return probas
    # (tasks, rows, width): each task's probabilities a contiguous block.
    stacked = getattr(outputs, "stacked", None)  # fused heads: all tasks at once
    known = getattr(outputs, "probabilities", None)  # a blend's, already mixed
    if known is not None and len(chosen) == len(tasks):
        z = np.ascontiguousarray(known.transpose(1, 0, 2))
    elif stacked is not None and len(chosen) == len(tasks):
        logits = np.array(stacked.transpose(0, 1).numpy(), np.float64, order="C")
        z = softmax(logits)
    else:
        z = softmax(np.stack([outputs[t].numpy() for t in chosen]))
    for t, proba in zip(chosen, z):
        probas[t] = proba
    return probas


def predict_tasks(tasks, outputs, multitask):
    """Per-task predictions stacked as ``y`` was: 1-D for a single task."""
    columns = [task.predict(out) for task, out in zip(tasks, outputs)]
    return stack_task_columns(columns) if multitask else columns[0]
