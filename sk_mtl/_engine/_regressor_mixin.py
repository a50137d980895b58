"""predict, score and tags of the regressors of one or several tasks (a mixin)."""

from sklearn.base import RegressorMixin

from .._data._tasks import predict_tasks
from ._classifier_mixin import TaskClassifierMixin
from ._inference import check_fitted

__all__ = ["TaskRegressorMixin"]


class TaskRegressorMixin(RegressorMixin):
    """predict, score and tags of regressors of one or several tasks.

    Needs ``_forward`` and the fitted ``tasks_`` and ``_multitask``.
    """

    def predict(self, X):
        """Predicted value of every task, in the units of the training targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_tasks)
        """
        check_fitted(self)
        return predict_tasks(self.tasks_, self._forward(X), self._multitask)

    def score(self, X, y, sample_weight=None):
        """Mean over tasks of the R² on the labelled entries.

        Unlike sklearn's :class:`~sklearn.base.RegressorMixin` (R² of the
        flattened multi-output ``y``), each task is scored on its own labelled
        entries (missing targets are skipped) and the task scores are averaged,
        as ``r2_score(..., multioutput="uniform_average")`` does without missing
        values.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            True targets; missing ones (NaN/None) are ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
        """
        # The per-task loop of the classifiers: each task scores itself (R² here).
        return TaskClassifierMixin.score(self, X, y, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
