"""Per-task scoring for multi-task estimators."""

import numpy as np

from .utils import labelled_values, task_columns

__all__ = ["make_task_scorer"]

_RESPONSE_METHODS = ("predict", "predict_proba")


class _TaskScorer:
    """Scorer ``(estimator, X, y) -> float`` built by :func:`make_task_scorer`."""

    def __init__(self, metric, task, response_method, greater_is_better, kwargs):
        self.metric = metric
        self.task = task
        self.response_method = response_method
        self.greater_is_better = greater_is_better
        self.kwargs = kwargs

    def __repr__(self):
        name = getattr(self.metric, "__name__", repr(self.metric))
        task = "mean over tasks" if self.task is None else f"task={self.task!r}"
        method = self.response_method
        return f"make_task_scorer({name}, {task}, response_method={method!r})"

    def _task_indices(self, estimator, names):
        n_tasks = len(names)
        if self.task is None:
            return list(range(n_tasks))
        if isinstance(self.task, str):
            if self.task not in names:
                # y without column names (an array): use the fitted task names,
                # also through a Pipeline.
                final = estimator[-1] if hasattr(estimator, "steps") else estimator
                names = list(getattr(final, "task_names_", names))
            if self.task not in names:
                raise ValueError(f"Unknown task {self.task!r}; the tasks are {names}.")
            return [names.index(self.task)]
        if not -n_tasks <= self.task < n_tasks:
            raise ValueError(f"task={self.task} is out of range for {n_tasks} task(s).")
        return [self.task % n_tasks]

    def __call__(self, estimator, X, y, sample_weight=None):
        cols, names, _ = task_columns(y)
        output = getattr(estimator, self.response_method)(X)
        if self.response_method == "predict":
            output = np.asarray(output).reshape(len(cols[0]), -1)
            # object columns (tasks of mixed label types) back to their own dtype
            outputs = [
                np.asarray(output[:, t].tolist()) for t in range(output.shape[1])
            ]
        else:
            outputs = output if isinstance(output, list) else [output]
        if len(outputs) != len(cols):
            raise ValueError(
                f"y has {len(cols)} task(s) but the estimator predicts {len(outputs)}."
            )
        scores = []
        for t in self._task_indices(estimator, names):
            if outputs[t] is None:
                raise ValueError(
                    f"Task {names[t]!r} has no predict_proba (a regression task); "
                    "score it with response_method='predict'."
                )
            values, missing = labelled_values(cols[t], names[t])
            pred = outputs[t][~missing]
            if self.response_method == "predict_proba" and pred.shape[1] == 2:
                pred = pred[:, 1]  # binary metrics take the positive-class score
            kwargs = dict(self.kwargs)
            if sample_weight is not None:
                kwargs["sample_weight"] = np.asarray(sample_weight)[~missing]
            scores.append(self.metric(values, pred, **kwargs))
        sign = 1 if self.greater_is_better else -1
        return sign * float(np.mean(scores))


def make_task_scorer(
    metric, *, task=None, response_method="predict", greater_is_better=True, **kwargs
):
    """Make a scorer for one task of a multi-task estimator, or their mean.

    sklearn's scorers treat a 2-D ``y`` as one multi-output problem; this one
    scores task by task, on the labelled entries only (missing labels are
    skipped), so ``GridSearchCV(scoring=...)`` can select on the task you care
    about.

    Parameters
    ----------
    metric : callable
        ``metric(y_true, y_pred, **kwargs)``, e.g.
        :func:`sklearn.metrics.roc_auc_score`, or
        :func:`sklearn.metrics.r2_score` for a regression task.
    task : int, str or None, default=None
        Task index or name (a column of a DataFrame ``y``). None averages the
        metric over all tasks.
    response_method : {"predict", "predict_proba"}, default="predict"
        What the metric scores. With ``"predict_proba"``, binary tasks pass the
        probability of the second class (``classes_[t][1]``), multiclass tasks the
        full probability matrix.
    greater_is_better : bool, default=True
        Set to False for losses; the scorer then returns the negated metric.
    **kwargs
        Passed to ``metric``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, sample_weight=None) -> float``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.metrics import roc_auc_score
    >>> from sk_mtl import MultiTaskClassifier, make_task_scorer
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(100, 3))
    >>> Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(int)
    >>> clf = MultiTaskClassifier(max_epochs=10, random_state=0).fit(X, Y)
    >>> auc_1 = make_task_scorer(roc_auc_score, task=1, response_method="predict_proba")
    >>> auc_1(clf, X, Y) > 0.9
    True

    A regression task, scored on its labelled entries only:

    >>> from sklearn.metrics import mean_absolute_error
    >>> from sk_mtl import MultiTaskRegressor
    >>> Y = np.column_stack([X[:, 0] * 10, X[:, 1] - X[:, 2]])
    >>> Y[:30, 1] = np.nan
    >>> reg = MultiTaskRegressor((16,), max_epochs=30, lr=1e-2, random_state=0)
    >>> mae_1 = make_task_scorer(mean_absolute_error, task=1, greater_is_better=False)
    >>> -mae_1(reg.fit(X, Y), X, Y) < 0.3
    True
    """
    if response_method not in _RESPONSE_METHODS:
        raise ValueError(
            f"response_method must be one of {_RESPONSE_METHODS}, got "
            f"{response_method!r}."
        )
    if not callable(metric):
        raise TypeError(f"metric must be callable, got {type(metric).__name__}.")
    return _TaskScorer(metric, task, response_method, greater_is_better, kwargs)
