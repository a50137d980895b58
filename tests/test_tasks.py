import numpy as np
import pytest
import torch

from sk_mtl._data._tasks import ClassificationTask, RegressionTask, task_probas
from sk_mtl.losses import TaskOutputs


def _tasks(widths):
    return [
        RegressionTask(f"t{i}", 0.0, 1.0)
        if n == 1
        else ClassificationTask(f"t{i}", np.arange(n))
        for i, n in enumerate(widths)
    ]


@pytest.mark.parametrize("widths", [[2, 2, 2], [3, 2, 5], [2, 1, 2], [4], [1, 3]])
def test_task_probas_equal_each_tasks_own_softmax(widths):
    torch.manual_seed(0)
    tasks = _tasks(widths)
    outputs = [20 * torch.randn(6, n) for n in widths]  # large logits
    probas = task_probas(tasks, outputs)
    assert len(probas) == len(tasks)
    for task, out, proba in zip(tasks, outputs, probas):
        if task.kind == "regression":
            assert proba is None
            continue
        expected = torch.softmax(out.double(), dim=1).numpy()
        np.testing.assert_allclose(proba, expected, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        assert proba.dtype == np.float64 and proba.flags.c_contiguous


def test_task_probas_of_fused_heads_read_their_stacked_outputs():
    torch.manual_seed(0)
    stacked = 5 * torch.randn(4, 3, 2)  # (rows, tasks, width)
    outputs = TaskOutputs(tuple(stacked[:, t] for t in range(3)), stacked)
    for proba, out in zip(task_probas(_tasks([2, 2, 2]), outputs), outputs):
        expected = torch.softmax(out.double(), dim=1).numpy()
        np.testing.assert_allclose(proba, expected, rtol=1e-12)
        assert proba.flags.c_contiguous
