import numpy as np
import pandas as pd
import pytest

from sk_mtl.utils import encode_targets, is_missing


def test_is_missing_understands_nan_none_and_pandas_na():
    col = np.array([1, None, np.nan, pd.NA, "a", 0.0], dtype=object)
    assert is_missing(col).tolist() == [False, True, True, True, False, False]
    assert is_missing(np.array([1.0, np.nan])).tolist() == [False, True]
    assert not is_missing(np.array(["a", "b"])).any()


def test_encode_targets_per_task_classes_and_codes():
    Y = np.array([[1, "b"], [None, "a"], [3, None], [1, "b"]], dtype=object)
    t = encode_targets(Y)
    assert t.multitask and t.task_names == ["task_0", "task_1"]
    assert [c.tolist() for c in t.classes] == [[1, 3], ["a", "b"]]
    assert t.labelled.tolist() == [
        [True, True],
        [False, True],
        [True, False],
        [True, True],
    ]
    assert t.codes[t.labelled[:, 0], 0].tolist() == [0, 1, 0]
    assert t.codes[t.labelled[:, 1], 1].tolist() == [1, 0, 1]


def test_one_dimensional_and_column_vector_targets():
    assert not encode_targets([0, 1, 1]).multitask
    assert encode_targets(np.array([[0], [1], [1]])).multitask
    t = encode_targets(pd.Series(["x", "y"], name="kind"))
    assert t.task_names == ["kind"] and not t.multitask


def test_errors_name_the_task():
    with pytest.raises(ValueError, match="task 'b'"):
        encode_targets(pd.DataFrame({"a": [0, 1], "b": [np.nan, np.nan]}))
    with pytest.raises(ValueError, match="Task 'a' has 1 class"):
        encode_targets(pd.DataFrame({"a": [1, 1], "b": [0, 1]}))
    with pytest.raises(ValueError, match="3-D"):
        encode_targets(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="requires y"):
        encode_targets(None)
