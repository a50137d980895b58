"""The classifier side shared by every sk_mtl classifier of one or several tasks."""

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from ._tasks import predict_tasks
from .utils import task_columns

__all__ = ["DOC_LINK_TEMPLATE", "TaskClassifierMixin"]

# The API reference page of an estimator (docs/api.rst builds generated/).
DOC_LINK_TEMPLATE = (
    "https://sk-mtl.readthedocs.io/en/latest/generated/sk_mtl.{estimator_name}.html"
)


class TaskClassifierMixin(ClassifierMixin):
    """predict, score and tags of classifiers of one or several tasks.

    Needs ``predict_proba`` and the fitted ``tasks_`` and ``_multitask``.
    """

    # The "?" of the HTML repr links to our API page (sklearn's doc-link hooks).
    _doc_link_module = "sk_mtl"
    _doc_link_template = DOC_LINK_TEMPLATE

    def _doc_link_url_param_generator(self):
        return {"estimator_name": type(self).__name__}

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
        check_is_fitted(self)
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
        if len(cols) != len(self.tasks_):
            raise ValueError(
                f"y has {len(cols)} task(s) but {type(self).__name__} was fitted on "
                f"{len(self.tasks_)} task(s) ({self.task_names_})."
            )
        y_pred = self.predict(X)
        y_pred = y_pred.reshape(len(y_pred), -1)
        check_consistent_length(y_pred, cols[0])
        sw = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        scores = [
            task.score(col, y_pred[:, t], sw)
            for t, (task, col) in enumerate(zip(self.tasks_, cols))
        ]
        return float(np.mean([s for s in scores if s is not None]))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.classifier_tags.multi_label = True
        return tags
