"""Cross-validation for multi-task targets with missing labels.

sklearn's model-selection tools read a 2-D ``y`` as one multi-output target:

- ``cv=5`` (an int) runs ``type_of_target`` on ``y`` before any estimator sees
  it, and that fails on NaN ("Input y contains NaN") or on string labels with
  None (a numpy TypeError): pass ``cv=TaskStratifiedKFold(5)`` instead;
- ``sklearn.model_selection.cross_val_predict(method="predict_proba")``
  label-encodes each column of ``y`` first, so a missing label (NaN) becomes a
  class the model learns, silently (a binary task comes back with 3 columns):
  use :func:`cross_val_predict` from here.
"""

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.model_selection import StratifiedKFold, check_cv
from sklearn.utils import _safe_indexing
from sklearn.utils.parallel import Parallel, delayed

from .utils import encode_targets, labelled_values, stack_task_columns, task_columns

__all__ = ["TaskStratifiedKFold", "cross_val_predict"]


class TaskStratifiedKFold(StratifiedKFold):
    """Stratified K-fold on one task of a multi-task target.

    sklearn's ``cv=5`` shortcut inspects ``y`` with ``type_of_target`` before the
    estimator sees it, and that rejects a multi-task ``Y`` with missing labels
    (NaN) or with string and integer task columns side by side. Pass this splitter
    as ``cv`` instead: it stratifies on the labels of ``task`` (missing labels
    form their own stratum), so every fold keeps that task's class balance and
    its share of unlabelled rows.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds.
    task : int or str, default=0
        Index of the task column, or its name when ``y`` is a DataFrame.
    shuffle : bool, default=False
        Shuffle each stratum before splitting.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling when ``shuffle=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl.model_selection import TaskStratifiedKFold
    >>> X = np.zeros((8, 1))
    >>> Y = np.array([[0, 1], [1, np.nan], [0, 0], [1, 1],
    ...               [0, np.nan], [1, 0], [0, 1], [1, 0]])
    >>> cv = TaskStratifiedKFold(n_splits=2)
    >>> [len(test) for _, test in cv.split(X, Y)]
    [4, 4]
    """

    def __init__(self, n_splits=5, *, task=0, shuffle=False, random_state=None):
        super().__init__(n_splits=n_splits, shuffle=shuffle, random_state=random_state)
        self.task = task

    def _strata(self, y):
        cols, names, _ = task_columns(y)
        if isinstance(self.task, str):
            if self.task not in names:
                raise ValueError(f"Unknown task {self.task!r}; the tasks are {names}.")
            t = names.index(self.task)
        elif -len(cols) <= self.task < len(cols):
            t = self.task % len(cols)
        else:
            raise ValueError(
                f"task={self.task} is out of range for {len(cols)} task(s)."
            )
        values, missing = labelled_values(cols[t], names[t])
        strata = np.full(len(missing), -1)
        strata[~missing] = np.unique(values, return_inverse=True)[1]
        return strata

    def split(self, X, y, groups=None):
        """Generate train/test indices, stratified on the chosen task."""
        return super().split(X, self._strata(y), groups)


def _fit_and_predict(estimator, X, y, train, test, params, method):
    n = len(train) + len(test)
    fold = {
        k: _safe_indexing(v, train) if hasattr(v, "__len__") and len(v) == n else v
        for k, v in (params or {}).items()
    }
    estimator.fit(_safe_indexing(X, train), _safe_indexing(y, train), **fold)
    return estimator, getattr(estimator, method)(_safe_indexing(X, test))


def _place_proba(proba, fold_classes, classes):
    """A fold's probabilities in the columns of the task's classes in all of y."""
    out = np.zeros((len(proba), len(classes)))
    out[:, np.searchsorted(classes, fold_classes)] = proba
    return out


def cross_val_predict(
    estimator, X, y, *, cv=5, method="predict", params=None, n_jobs=None
):
    """Out-of-fold predictions of a multi-task estimator, missing labels kept out.

    Like :func:`sklearn.model_selection.cross_val_predict`, for targets whose
    columns are tasks with missing labels (NaN / None / ``pd.NA``) or labels of
    different types. sklearn's version label-encodes each column of ``y`` for
    ``method="predict_proba"``, so a missing label becomes a class the model
    learns; here every fold's estimator is fitted on ``y`` as given.

    Parameters
    ----------
    estimator : estimator
        A classifier of one or several tasks (e.g. MultiTaskClassifier, or a
        Pipeline ending in one); cloned for every fold.
    X : array-like of shape (n_samples, n_features)
        Inputs.
    y : array-like of shape (n_samples,) or (n_samples, n_tasks)
        Labels, missing labels included.
    cv : int or cross-validation splitter, default=5
        An int is :class:`TaskStratifiedKFold` with that many folds (stratified
        on the first task); the splitter must make a partition of the rows.
    method : {"predict", "predict_proba"}, default="predict"
        What to predict.
    params : dict, default=None
        Passed to ``fit``; arrays of length ``n_samples`` (``sample_weight``)
        are split with the rows.
    n_jobs : int, default=None
        Folds fitted in parallel (joblib).

    Returns
    -------
    predictions : ndarray or list of ndarray
        ``"predict"``: labels shaped like ``y``. ``"predict_proba"``: per task an
        array ``(n_samples, n_classes)`` whose columns are the task's classes in
        all of ``y`` (sorted; 0 for a class a fold did not see in training); a
        single array for a 1-D ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl import MultiTaskClassifier
    >>> from sk_mtl.model_selection import cross_val_predict
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(90, 3))
    >>> Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(float)
    >>> Y[::4, 1] = np.nan  # missing labels
    >>> clf = MultiTaskClassifier((8,), max_epochs=3, random_state=0)
    >>> proba = cross_val_predict(clf, X, Y, cv=3, method="predict_proba")
    >>> [p.shape for p in proba]  # two classes per task, not NaN as a third
    [(90, 2), (90, 2)]
    """
    if method not in ("predict", "predict_proba"):
        raise ValueError(
            f"method must be 'predict' or 'predict_proba', got {method!r}."
        )
    targets = encode_targets(y)
    if isinstance(cv, int | np.integer):
        cv = TaskStratifiedKFold(n_splits=int(cv))
    cv = check_cv(cv, None, classifier=is_classifier(estimator))
    splits = list(cv.split(X, y))
    test = np.concatenate([t for _, t in splits])
    if sorted(test.tolist()) != list(range(len(targets.codes))):
        raise ValueError("cross_val_predict needs a cv that partitions the rows.")
    fitted = Parallel(n_jobs=n_jobs)(
        delayed(_fit_and_predict)(clone(estimator), X, y, tr, te, params, method)
        for tr, te in splits
    )
    order = np.argsort(test)
    if method == "predict":
        pred = np.concatenate([np.asarray(p, dtype=object) for _, p in fitted])[order]
        if pred.ndim == 1:
            return np.asarray(pred.tolist())
        return stack_task_columns([np.asarray(c.tolist()) for c in pred.T])
    tasks = []
    for t, classes in enumerate(targets.classes):
        folds = []
        for est, proba in fitted:
            fold_classes = est.classes_ if not targets.multitask else est.classes_[t]
            fold_proba = proba[t] if targets.multitask else proba
            folds.append(_place_proba(fold_proba, fold_classes, classes))
        tasks.append(np.concatenate(folds)[order])
    return tasks if targets.multitask else tasks[0]
