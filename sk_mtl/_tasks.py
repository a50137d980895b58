"""The task seam: what one column of ``y`` is, and how the network serves it.

A task object knows its targets (which values are labels, which are missing), the
width of the head it needs, how that head's output becomes a prediction, and how
predictions are scored. The estimators hold one per column of ``y`` in
``tasks_``; the engine only sees the ``(codes, weights)`` tensors the tasks make,
where a zero weight is a missing label.
"""

import numpy as np
import torch

from .utils import encode_targets, labelled_values, stack_task_columns

__all__ = ["ClassificationTask", "fit_tasks", "predict_tasks"]


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
        known = np.isin(values, self.classes)
        if not known.all():
            raise ValueError(
                f"y contains label {values[~known][0]!r} (task {self.name!r}) that "
                f"the fitted model(s) do not predict; the classes are {self.classes}."
            )
        codes = np.zeros(len(missing), dtype=np.int64)
        codes[~missing] = np.searchsorted(self.classes, values)
        return codes, ~missing

    def proba(self, output):
        """Class probabilities (float64 numpy) from the head's logits."""
        return torch.softmax(output.double(), dim=1).numpy()

    def predict(self, output):
        """Labels from the head's logits."""
        return self.classes[output.argmax(dim=1).numpy()]

    def score(self, y_true, y_pred, sample_weight=None):
        """Accuracy on the labelled entries of ``y_true``; None if none is labelled."""
        values, missing = labelled_values(np.asarray(y_true), self.name)
        if len(values) == 0:
            return None
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


def fit_tasks(y):
    """Tasks of a classification target and its encoding.

    Returns
    -------
    tasks : list of ClassificationTask
    targets : sk_mtl.utils.TaskTargets
        Codes and labelled masks, ``(n_samples, n_tasks)``.
    """
    targets = encode_targets(y)
    tasks = [
        ClassificationTask(name, classes)
        for name, classes in zip(targets.task_names, targets.classes)
    ]
    return tasks, targets


def predict_tasks(tasks, outputs, multitask):
    """Per-task predictions stacked as ``y`` was: 1-D for a single task."""
    columns = [task.predict(out) for task, out in zip(tasks, outputs)]
    return stack_task_columns(columns) if multitask else columns[0]
