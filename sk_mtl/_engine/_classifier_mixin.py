"""The classifier side shared by every sk_mtl classifier of one or several tasks."""

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.utils.validation import (
    _check_sample_weight,
    _num_samples,
    check_is_fitted,
)

from .._data._tasks import predict_tasks
from ..utils import labelled_values, task_columns
from ..utils._docs import DocLinkMixin
from ._inference import check_fitted

__all__ = ["TaskClassifierMixin"]


class TaskClassifierMixin(DocLinkMixin, ClassifierMixin):
    """predict, score and tags of classifiers of one or several tasks.

    Needs ``predict_proba`` and the fitted ``tasks_`` and ``_multitask``.
    """

    def predict(self, X):
        """Predicted label of every task.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_tasks)
            Labels in each task's own classes.
        """
        check_fitted(self)
        probas = self.predict_proba(X)
        probas = probas if self._multitask else [probas]
        outputs = [torch.from_numpy(np.asarray(p)) for p in probas]
        return predict_tasks(self.tasks_, outputs, self._multitask)

    def score(self, X, y, sample_weight=None):
        """Mean over tasks of the accuracy on the labelled entries.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            True labels; missing labels (NaN/None) are ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        cols, _, _ = task_columns(y)
        name = type(self).__name__
        if len(cols) != len(self.tasks_):
            raise ValueError(
                f"y has {len(cols)} task(s) but {name} was fitted on "
                f"{len(self.tasks_)} task(s) ({self.task_names_})."
            )
        n_rows = _num_samples(X)
        if len(cols[0]) != n_rows:
            raise ValueError(
                f"{name}.score: X has {n_rows} rows but y has {len(cols[0])}."
            )
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(
                sample_weight,
                np.empty((n_rows, 0)),
                dtype=np.float64,
                ensure_non_negative=True,
            )
        scored = [
            _check_score_column(task, col, sw) for task, col in zip(self.tasks_, cols)
        ]
        if not any(scored):
            what = (
                "has no label" if sw is None else "has no label with a positive weight"
            )
            raise ValueError(
                f"{name}.score: y {what} in any task (every entry is missing "
                "or has sample_weight 0); the score is undefined."
            )
        y_pred = np.asarray(self.predict(X))  # also a DataFrame of mixed tasks
        y_pred = y_pred.reshape(len(y_pred), -1)
        scores = [
            task.score(col, y_pred[:, t], sw)
            for t, (task, col, ok) in enumerate(zip(self.tasks_, cols, scored))
            if ok
        ]
        return float(np.mean(scores))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.classifier_tags.multi_label = True
        return tags


def _check_score_column(task, column, sample_weight):
    """Whether a task has something to score; TypeError-free label type check.

    Labels of another type than the fitted classes (strings for a model fitted on
    numbers, or the reverse) raise a ValueError, as sklearn's metrics do.
    """
    values, missing = labelled_values(np.asarray(column), task.name)
    if len(values) and task.classes is not None and len(task.classes):
        text = values.dtype.kind in "USO"
        fitted_text = np.asarray(task.classes).dtype.kind in "USO"
        if text != fitted_text:
            kinds = ("strings", "numbers")
            raise ValueError(
                f"y (task {task.name!r}) holds {kinds[not text]} (e.g. "
                f"{values[0]!r}) but the model was fitted on {kinds[not fitted_text]}"
                f" (classes {task.classes}); give labels of the fitted type."
            )
    if sample_weight is None:
        return len(values) > 0
    return bool(sample_weight[~missing].sum() > 0)
