import numpy as np
import pandas as pd
import pytest

from sk_mtl.model_selection import TaskStratifiedKFold


def test_folds_keep_class_balance_and_missing_share_of_the_task():
    y0 = np.array([0] * 12 + [1] * 6, dtype=float)
    y0[[0, 1, 2, 12, 13, 14]] = np.nan
    Y = pd.DataFrame({"other": ["a", "b"] * 9, "income": y0})
    folds = list(TaskStratifiedKFold(3, task="income").split(np.zeros((18, 1)), Y))
    assert len(folds) == 3
    for _, test in folds:
        assert np.isnan(y0[test]).sum() == 2
        assert (y0[test] == 0).sum() == 3 and (y0[test] == 1).sum() == 1
    tests = np.concatenate([t for _, t in folds])
    assert sorted(tests) == list(range(18))


def test_unknown_task_is_an_error():
    cv = TaskStratifiedKFold(2, task="nope")
    with pytest.raises(ValueError, match="Unknown task 'nope'"):
        list(cv.split(np.zeros((4, 1)), pd.DataFrame({"a": [0, 1, 0, 1]})))
