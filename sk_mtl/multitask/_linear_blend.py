"""The linear blend of the shared-network estimators (``linear_blend``).

After the network is fitted (its best epoch restored), one linear model per
task is fitted on the training part of the early-stopping split, on the
features the network reads: the scaled columns of numeric X (each column
quantile-normal and robust-scaled, see :mod:`sk_mtl._data._robust`; sparse X as
given) or, for tabular X, the scaled numeric columns (in the same two views),
the missing indicators and a one-hot code of each categorical column's encoding. An
L2-penalised logistic regression (``C=1``) serves a classification task, a
ridge regression (``alpha=1``) on the standardised target a regression task.
Each task's output is then ``(1 - w) * network + w * linear`` (class
probabilities, or standardised predictions), with ``w`` the value of
:data:`BLEND_GRID` of least loss on the held-out rows (log loss, squared error;
``w = 0`` on a tie): the network alone wherever the linear model does not help.

The fitted linear models are two arrays over all tasks side by side (each
task's columns as wide as its head), so one matrix product serves every task.
"""

import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.utils._param_validation import StrOptions

from .._data._tabular import TabularData
from .._data._tasks import softmax
from ..losses import TaskOutputs

__all__ = [
    "BLEND_ATTRIBUTES",
    "BLEND_GRID",
    "LINEAR_BLEND_CONSTRAINT",
    "blend_outputs",
    "choose_weights",
    "fit_linear_models",
    "least_loss",
    "linear_outputs",
    "row_losses",
]

LINEAR_BLEND_CONSTRAINT = ["boolean", StrOptions({"auto"})]
BLEND_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
BLEND_ATTRIBUTES = ("linear_blend_weights_", "linear_coef_", "linear_intercept_")
# Logit of a class that no training row of the linear model holds: its
# probability is exp(-50) of the others', 0 in effect.
_ABSENT_CLASS_LOGIT = -50.0
_TINY = np.finfo(np.float64).tiny


def _design(X, cardinalities):
    """The linear models' features of validated X, for fitting."""
    if not isinstance(X, TabularData):
        return X
    blocks = [sp.csr_matrix(X.numeric), sp.csr_matrix(X.missing)]
    n = len(X)
    for j, width in enumerate(cardinalities):
        codes = X.categorical[:, j]
        blocks.append(sp.csr_matrix((np.ones(n), (np.arange(n), codes)), (n, width)))
    return sp.hstack(blocks, format="csr")


def linear_outputs(X, coef, intercept, cardinalities):
    """``X @ coef + intercept`` (float64) for validated X, all tasks side by side.

    Tabular X: the numeric and missing-indicator columns go through the
    product, each categorical code adds its one-hot coefficient row.
    """
    if not isinstance(X, TabularData):
        return np.asarray(X @ coef, dtype=np.float64) + intercept
    n_numeric, n_missing = X.numeric.shape[1], X.missing.shape[1]
    out = X.numeric @ coef[:n_numeric] + intercept
    if n_missing:
        out += X.missing @ coef[n_numeric : n_numeric + n_missing]
    start = n_numeric + n_missing
    for j, width in enumerate(cardinalities):
        out += coef[start + X.categorical[:, j]]
        start += width
    return out


def _fit_task(task, features, codes, weight):
    """``(coef, intercept)`` of one task's linear model, as wide as its head;
    None when its rows hold fewer than two classes."""
    if task.kind == "regression":
        model = Ridge(alpha=1.0).fit(features, codes, sample_weight=weight)
        return model.coef_[:, None], np.array([model.intercept_])
    codes = codes.astype(np.int64)  # float codes beside regression targets
    present = np.unique(codes)
    if len(present) < 2:
        return None
    with warnings.catch_warnings():
        # the held-out rows judge the model, converged or not
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(C=1.0, max_iter=1000)
        model.fit(features, codes, sample_weight=weight)
    coef = np.zeros((features.shape[1], task.n_outputs))
    intercept = np.full(task.n_outputs, _ABSENT_CLASS_LOGIT)
    if len(present) == 2:  # one logit: the second class's against the first
        coef[:, present[1]] = model.coef_[0]
        intercept[present] = (0.0, model.intercept_[0])
    else:
        coef[:, present] = model.coef_.T
        intercept[present] = model.intercept_
    return coef, intercept


def fit_linear_models(tasks, X, targets, weights, rows, cardinalities):
    """``(coef, intercept, fitted)``: every task's linear model on ``rows`` of
    validated X, side by side (zeros for a task that has none); ``fitted[t]``
    says whether task t has one."""
    features = _design(X, cardinalities)
    coef = np.zeros((features.shape[1], sum(t.n_outputs for t in tasks)))
    intercept = np.zeros(coef.shape[1])
    fitted, start = [], 0
    for t, task in enumerate(tasks):
        keep = rows[targets.labelled[rows, t] & (weights[rows, t] > 0)]
        model = None
        if len(keep):
            # weights of mean 1, as the network trains on: the penalty's
            # strength does not depend on the scale of sample_weight
            weight = weights[keep, t] / weights[keep, t].mean()
            codes = targets.codes[keep, t]
            model = _fit_task(task, features[keep], codes, weight)
        stop = start + task.n_outputs
        if model is not None:
            coef[:, start:stop], intercept[start:stop] = model
        fitted.append(model is not None)
        start = stop
    return coef, intercept, fitted


def _mixed_probabilities(network, linear, blend):
    """``(1 - w) softmax(network) + w softmax(linear)`` of each task, float64.

    ``network`` and ``linear``: logits of shape (rows, tasks, width); ``blend``:
    each task's ``w``. Both sets of logits take one softmax side by side (a
    served row's cost is the number of array operations).
    """
    n_tasks = len(blend)
    both = softmax(np.concatenate([network, linear], axis=1, dtype=np.float64))
    both *= np.concatenate([1.0 - blend, blend])[:, None]
    return np.add(both[:, :n_tasks], both[:, n_tasks:])


def _mixed(task, network, linear, w):
    """One task's output blended with weight ``w``, as an output of its head:
    the log of the mixed probabilities (whose softmax they are), or the mixed
    standardised prediction."""
    if w == 1.0:  # the linear model alone: its logits or standardised output
        return linear
    net = network.numpy()
    if task.kind == "regression":
        return (1.0 - w) * net.astype(np.float64) + w * linear
    mixed = _mixed_probabilities(net[:, None], linear[:, None], np.array([w]))
    return np.log(np.maximum(mixed[:, 0], _TINY))


def row_losses(task, output, codes):
    """Each held-out row's loss of one task's output: the squared error of a
    regression task's, the log loss of a classification task's."""
    if task.kind == "regression":
        return (output[:, 0] - codes) ** 2
    # a copy: the output may be the linear models' (shared) logits
    proba = softmax(np.array(output, dtype=np.float64))
    proba = proba[np.arange(len(codes)), codes.astype(np.int64)]
    return -np.log(np.maximum(proba, _TINY))


def least_loss(losses, weight):
    """The weight of :data:`BLEND_GRID` of least weighted mean loss (the
    first of a tie); ``losses``: each grid weight's row losses, a row each."""
    means = [np.average(row, weights=weight) for row in losses]
    return BLEND_GRID[int(np.argmin(means))]


def choose_weights(
    tasks, network, linear, fitted, targets, weights, rows, pick=least_loss
):
    """Each task's weight of :data:`BLEND_GRID`, ``pick(losses, weight)`` of
    its held-out row losses (by default the least mean loss).

    ``network`` and ``linear``: every task's outputs on ``rows`` (the held-out
    rows). A task with no linear model or no weighted held-out label gets 0.
    """
    chosen = np.zeros(len(tasks))
    start = 0
    for t, task in enumerate(tasks):
        stop = start + task.n_outputs
        keep = targets.labelled[rows, t] & (weights[rows, t] > 0)
        if fitted[t] and keep.any():
            codes, weight = targets.codes[rows[keep], t], weights[rows[keep], t]
            losses = [
                row_losses(
                    task,
                    _mixed(task, network[t][keep], linear[keep, start:stop], w),
                    codes,
                )
                for w in BLEND_GRID
            ]
            chosen[t] = pick(losses, weight)
        start = stop
    return chosen


def blend_outputs(tasks, outputs, X, estimator):
    """The network's per-task ``outputs`` for validated X with each task's
    linear model blended in (tasks of weight 0 keep the network's output).

    ``outputs`` may be None when every weight is 1: no task reads the network.
    A non-finite linear output (X far beyond the training range of an input
    read as given) is a ValueError, as a non-finite network output is.
    """
    blend = estimator.linear_blend_weights_
    linear = linear_outputs(
        X,
        estimator.linear_coef_,
        estimator.linear_intercept_,
        getattr(estimator.input_, "cardinalities_", ()),
    )
    if not np.isfinite(linear.sum()):
        rows = np.flatnonzero(~np.isfinite(linear).all(axis=1))
        raise ValueError(
            f"{type(estimator).__name__}'s linear blend gives non-finite outputs "
            f"for {len(rows)} row(s) of X (first: row {rows[0]}): X holds values "
            "too large for its linear models. Scale X or set linear_blend=False."
        )
    widths = {task.n_outputs for task in tasks}
    if len(widths) == 1 and all(t.kind == "classification" for t in tasks):
        return _blend_stacked(outputs, linear, blend, len(tasks), widths.pop())
    mixed, start = [None] * len(tasks) if outputs is None else list(outputs), 0
    for t, task in enumerate(tasks):
        stop = start + task.n_outputs
        if blend[t] > 0:
            network = None if outputs is None else outputs[t]
            out = _mixed(task, network, linear[:, start:stop], blend[t])
            mixed[t] = torch.from_numpy(out)
        start = stop
    return mixed


def _blend_stacked(outputs, linear, blend, n_tasks, width):
    """:func:`blend_outputs` of classification tasks of one width, all at once
    (a served row's cost is the number of array operations): the log of each
    task's mixed probabilities, as :class:`~sk_mtl.losses.TaskOutputs`."""
    linear = linear.reshape(len(linear), n_tasks, width)
    probabilities = None
    if outputs is None:  # every weight 1: the linear models' logits
        mixed = linear
    else:
        stacked = getattr(outputs, "stacked", None)
        network = (
            stacked.numpy()
            if stacked is not None
            else np.stack([out.numpy() for out in outputs], axis=1)
        )
        probabilities = _mixed_probabilities(network, linear, blend)
        mixed = np.log(np.maximum(probabilities, _TINY))
    stacked = torch.from_numpy(mixed)
    return TaskOutputs(stacked.unbind(-2), stacked, probabilities)
