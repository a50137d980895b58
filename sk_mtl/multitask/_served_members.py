"""A served request of a bagged model: its members' outputs in one pass.

A bagged model (``n_bags``, :mod:`~sk_mtl.multitask._bagging`) served one row
at a time pays per member what one network pays per call: the outputs' split,
their checks, a softmax, the linear blend. At a served row's size that cost is
the number of array operations, not their arithmetic, so for classification
tasks of one width, or regression tasks, :func:`served_mean_outputs` runs the
members' networks as one stack, one numpy product per layer for all of them
(:func:`numpy_member_logits <sk_mtl._engine._numpy_forward.numpy_member_logits>`),
each member's linear models as a bare product (:func:`linear_outputs
<sk_mtl.multitask._linear_blend.linear_outputs>`), and takes one blend (after
one softmax for classification tasks) and one mean for all the members'
outputs.

The result equals the members' outputs averaged one by one
(:func:`~sk_mtl.multitask._bagging.mean_outputs`) up to float rounding. Where a
member's network is not one numpy serves, a member sits on another device, X
is sparse, the batch is larger than
:data:`~sk_mtl._engine._numpy_forward.NUMPY_MAX_ROWS`, the tasks are of two
kinds or several widths, or any output is not finite, it returns None and the
members run one by one (and a non-finite output is the ValueError that names
its rows).
"""

import numpy as np
import torch

from .._data._tasks import softmax
from .._engine._inference import n_rows
from .._engine._numpy_forward import NUMPY_MAX_ROWS, numpy_member_logits
from ..losses import TaskOutputs
from ._linear_blend import linear_outputs

__all__ = ["probability_outputs", "served_mean_outputs"]

_TINY = np.finfo(np.float64).tiny


def _member_linear(member, X, shape):
    """A member's linear outputs ``(rows, tasks, width)`` and each task's
    weight of them (zeros and weight 0 where it has no linear model)."""
    coef = member.__dict__.get("linear_coef_")
    if coef is None:  # the network alone
        return np.zeros(shape), np.zeros(shape[1])
    cardinalities = getattr(member.input_, "cardinalities_", ())
    linear = linear_outputs(X, coef, member.linear_intercept_, cardinalities)
    return linear.reshape(shape), member.linear_blend_weights_


def _member_networks(members, inputs, shape, blend):
    """Every member's network outputs ``(members, rows, tasks, width)`` (zeros
    where no member reads its network), or None where numpy does not serve
    them."""
    if not (blend < 1.0).any():  # every task of every member: linear alone
        return np.zeros((len(members), *shape))
    if any(str(member.device) != "cpu" for member in members):
        return None
    logits = numpy_member_logits([m.module_ for m in members], inputs)
    return None if logits is None or logits.shape[1:] != shape else logits


def served_mean_outputs(tasks, members, shared, X):
    """The members' averaged outputs for a served batch, or None.

    Parameters
    ----------
    tasks : list of Task
        The bagged model's tasks: all classification tasks of one width, or
        all regression tasks (else None).
    members : list of estimator
        Its members, fitted with one input alike (``shared``).
    shared : input
        That input; X went through its ``transform``.
    X : array-like
        The validated and transformed rows.

    Returns
    -------
    outputs : TaskOutputs, list of torch.Tensor or None
        Classification: per task the log of the mean probabilities (their
        softmax is that mean), stacked, with the mean probabilities
        themselves. Regression: per task the mean of the members' blended
        (standardised) predictions, float64. None where the members run one
        by one (see the module's docstring).
    """
    kinds, widths = {t.kind for t in tasks}, {t.n_outputs for t in tasks}
    if len(kinds) > 1 or len(widths) > 1:
        return None
    kind = kinds.pop()
    inputs = shared.tensors(X)  # sparse X: batches made dense one at a time
    if not isinstance(inputs, torch.Tensor | dict) or n_rows(inputs) > NUMPY_MAX_ROWS:
        return None
    shape = (n_rows(inputs), len(tasks), widths.pop())
    linears, blends = zip(*(_member_linear(m, X, shape) for m in members))
    blend = np.asarray(blends, dtype=np.float64)  # (members, tasks)
    networks = _member_networks(members, inputs, shape, blend)
    if networks is None:
        return None
    # (members, rows, 2 * tasks, width): every network and linear output side
    # by side, each weighted by its share of the blend
    outputs = np.concatenate([networks, linears], axis=2, dtype=np.float64)
    if not np.isfinite(outputs.sum()):
        return None  # the members one by one say which rows
    weights = np.concatenate([1.0 - blend, blend], axis=1)[:, None, :, None]
    if kind == "classification":  # one softmax for all of them
        outputs = softmax(outputs)
    outputs *= weights
    total, n_tasks = outputs.sum(axis=0), shape[1]
    mean = np.add(total[:, :n_tasks], total[:, n_tasks:]) / len(members)
    if kind == "regression":
        return list(torch.from_numpy(mean).unbind(-2))
    return probability_outputs(mean)


def probability_outputs(mean):
    """Classification outputs of tasks of one width whose mean probabilities
    ``(rows, tasks, width)`` are known: per task their log (whose softmax is
    that mean), stacked, carrying the probabilities themselves."""
    stacked = torch.from_numpy(np.log(np.maximum(mean, _TINY)))
    return TaskOutputs(stacked.unbind(-2), stacked, mean)
