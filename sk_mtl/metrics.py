"""Per-task scoring for multi-task estimators."""

import numpy as np
from sklearn.metrics import get_scorer
from sklearn.metrics._scorer import _BaseScorer

from .utils import labelled_values, task_columns

__all__ = ["make_task_scorer"]

_RESPONSE_METHODS = ("predict", "predict_proba")


class _TaskScorer(_BaseScorer):
    """Scorer ``(estimator, X, y) -> float`` built by :func:`make_task_scorer`.

    An sklearn scorer (``set_score_request`` routes ``sample_weight`` to it
    under metadata routing) that scores task by task on the labelled entries.
    """

    def __init__(self, metric, task, response_method, greater_is_better, kwargs):
        sign = 1 if greater_is_better else -1
        super().__init__(metric, sign, kwargs, response_method=response_method)
        self.task = task

    def __repr__(self):
        name = getattr(self._score_func, "__name__", repr(self._score_func))
        task = "mean over tasks" if self.task is None else f"task={self.task!r}"
        method = self._response_method
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

    def _outputs(self, estimator, X, n_samples):
        output = getattr(estimator, self._response_method)(X)
        if self._response_method == "predict":
            output = np.asarray(output).reshape(n_samples, -1)
            # object columns (tasks of mixed label types) back to their own dtype
            return [np.asarray(output[:, t].tolist()) for t in range(output.shape[1])]
        return output if isinstance(output, list) else [output]

    def _score(self, method_caller, estimator, X, y_true, **kwargs):
        # The estimator is called directly: sklearn's response helpers read a
        # single ``classes_`` array, and multi-task estimators have one per task.
        cols, names, _ = task_columns(y_true)
        outputs = self._outputs(estimator, X, len(cols[0]))
        if len(outputs) != len(cols):
            raise ValueError(
                f"y has {len(cols)} task(s) but the estimator predicts {len(outputs)}."
            )
        sample_weight = kwargs.pop("sample_weight", None)
        scores = []
        for t in self._task_indices(estimator, names):
            if outputs[t] is None:
                raise ValueError(
                    f"Task {names[t]!r} has no predict_proba (a regression task); "
                    "score it with response_method='predict'."
                )
            values, missing = labelled_values(cols[t], names[t])
            classes = _task_classes(estimator, t, len(cols))
            if classes is not None:
                _check_known_labels(values, classes, names[t])
            pred = outputs[t][~missing]
            if self._response_method == "predict_proba" and pred.shape[1] == 2:
                pred = pred[:, 1]  # binary metrics take the positive-class score
            task_kwargs = {**self._kwargs, **kwargs}
            if sample_weight is not None:
                task_kwargs["sample_weight"] = np.asarray(sample_weight)[~missing]
            name = getattr(self._score_func, "__name__", "the metric")
            try:
                score = self._score_func(values, pred, **task_kwargs)
            except ValueError as exc:
                raise ValueError(f"{name} failed on task {names[t]!r}: {exc}") from exc
            if np.isnan(score):
                raise ValueError(
                    f"{name} is undefined (NaN) on task {names[t]!r}, e.g. its "
                    f"{len(values)} labelled entries here have a single class; "
                    "stratify the folds on it (TaskStratifiedKFold(task=...))."
                )
            scores.append(score)
        return self._sign * float(np.mean(scores))


def _check_known_labels(values, classes, name):
    """Raise a ValueError naming the labels of ``values`` not among ``classes``.

    ``values`` are the labelled entries of task ``name``'s column.
    """
    known = np.isin(values, classes)
    if known.all():
        return
    unknown = list(dict.fromkeys(np.asarray(values)[~known].tolist()))
    shown = ", ".join(repr(v) for v in unknown[:5]) + (
        ", ..." if len(unknown) > 5 else ""
    )
    raise ValueError(
        f"y (task {name!r}) has label{'s' if len(unknown) > 1 else ''} {shown} "
        "that the fitted model(s) do not "
        f"predict; the classes of task {name!r} are {np.asarray(classes).tolist()}."
    )


def _task_classes(estimator, t, n_tasks):
    """Classes of task ``t`` from the (final) estimator's ``classes_``, or None.

    None for a regression task and for an estimator without ``classes_``.
    """
    final = estimator[-1] if hasattr(estimator, "steps") else estimator
    classes = getattr(final, "classes_", None)
    if isinstance(classes, list):
        return classes[t] if len(classes) == n_tasks else None
    return classes if n_tasks == 1 else None


def _from_scorer_name(name):
    """``(metric, response_method, greater_is_better, kwargs)`` of an sklearn name."""
    try:
        scorer = get_scorer(name)
    except ValueError:
        raise ValueError(
            f"{name!r} is not an sklearn scoring name (see "
            "sklearn.metrics.get_scorer_names())."
        ) from None
    methods = scorer._response_method
    methods = (methods,) if isinstance(methods, str) else tuple(methods)
    usable = [m for m in _RESPONSE_METHODS[::-1] if m in methods]
    if not usable:
        raise ValueError(
            f"scoring {name!r} needs {methods}; make_task_scorer scores "
            f"{_RESPONSE_METHODS}."
        )
    return scorer._score_func, usable[0], scorer._sign > 0, dict(scorer._kwargs)


def make_task_scorer(
    metric, *, task=None, response_method=None, greater_is_better=True, **kwargs
):
    """Make a scorer for one task of a multi-task estimator, or their mean.

    sklearn's scorers treat a 2-D ``y`` as one multi-output problem: with
    missing labels (NaN) or string labels, ``scoring="roc_auc"`` fails on every
    split and ``GridSearchCV`` reports NaN for every candidate. This one scores
    task by task, on the labelled entries only (missing labels are skipped), so
    ``GridSearchCV(scoring=make_task_scorer("roc_auc"))`` selects on the mean
    AUC over tasks, or on the task you care about with ``task=``.

    The scorer is an sklearn scorer: under metadata routing,
    ``make_task_scorer(...).set_score_request(sample_weight=True)`` receives
    the ``sample_weight`` given to ``GridSearchCV.fit`` / ``cross_validate``.

    Parameters
    ----------
    metric : callable or str
        ``metric(y_true, y_pred, **kwargs)``, e.g.
        :func:`sklearn.metrics.roc_auc_score` (or
        :func:`sklearn.metrics.r2_score` for a regression task), or an sklearn
        scoring name (``"roc_auc"``, ``"accuracy"``, ``"r2"``,
        ``"neg_log_loss"``, ...) whose metric, sign, options and response method
        are used.
    task : int, str or None, default=None
        Task index or name (a column of a DataFrame ``y``). None averages the
        metric over all tasks.
    response_method : {"predict", "predict_proba"} or None, default=None
        What the metric scores; None: ``"predict"`` for a callable, the
        scoring name's own for a name (``"predict_proba"`` for ``"roc_auc"``).
        With ``"predict_proba"``, binary tasks pass the probability of the
        second class (``classes_[t][1]``), multiclass tasks the full probability
        matrix.
    greater_is_better : bool, default=True
        Set to False for losses; the scorer then returns the negated metric.
        Ignored for a scoring name (it has its sign).
    **kwargs
        Passed to ``metric``.

    Returns
    -------
    scorer : sklearn scorer
        ``scorer(estimator, X, y, sample_weight=None) -> float``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.metrics import roc_auc_score
    >>> from sk_mtl import MultiTaskClassifier, make_task_scorer
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(100, 3))
    >>> Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(float)
    >>> clf = MultiTaskClassifier(max_epochs=10, random_state=0).fit(X, Y)
    >>> auc_1 = make_task_scorer(roc_auc_score, task=1, response_method="predict_proba")
    >>> auc_1(clf, X, Y) > 0.9
    True
    >>> Y[:30, 1] = np.nan  # missing labels: skipped, per task
    >>> make_task_scorer("roc_auc")(clf, X, Y) > 0.9  # mean AUC over the tasks
    True

    A regression task, scored on its labelled entries only:

    >>> from sk_mtl import MultiTaskRegressor
    >>> Y = np.column_stack([X[:, 0] * 10, X[:, 1] - X[:, 2]])
    >>> Y[:30, 1] = np.nan
    >>> reg = MultiTaskRegressor((16,), max_epochs=30, lr=1e-2, random_state=0)
    >>> mae_1 = make_task_scorer("neg_mean_absolute_error", task=1)
    >>> -mae_1(reg.fit(X, Y), X, Y) < 0.3
    True
    """
    if isinstance(metric, str):
        metric, own_method, greater_is_better, own_kwargs = _from_scorer_name(metric)
        response_method = response_method or own_method
        kwargs = {**own_kwargs, **kwargs}
    response_method = response_method or "predict"
    if response_method not in _RESPONSE_METHODS:
        raise ValueError(
            f"response_method must be one of {_RESPONSE_METHODS}, got "
            f"{response_method!r}."
        )
    if not callable(metric):
        raise TypeError(f"metric must be callable, got {type(metric).__name__}.")
    return _TaskScorer(metric, task, response_method, greater_is_better, kwargs)
