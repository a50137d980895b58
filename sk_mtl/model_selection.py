"""Cross-validation splitters for multi-task targets with missing labels."""

import numpy as np
from sklearn.model_selection import StratifiedKFold

from .utils import labelled_values, task_columns

__all__ = ["TaskStratifiedKFold"]


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
