"""Per-task losses and task-weighting strategies (plain PyTorch).

Targets reach the loss as two ``(batch, n_tasks)`` tensors:

- ``y``: integer class codes (any valid code where the label is missing); float
  when some task is a regression task: its column holds the (standardised)
  target, and the classification columns hold class codes, cast back to integers
  by their loss;
- ``w``: per-entry weights, zero where the label is missing. The engine scales
  each task's column so that it averages 1 over the data set, so the mean of
  ``w * loss`` over a batch estimates the task's weighted mean loss without bias,
  whatever the fraction of labelled rows or the scale of ``sample_weight``.

How the task losses are combined into one update is the job of a task weighting
(:mod:`sk_mtl.weighting`); :class:`MultiTaskLoss` holds one.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .weighting import make_task_weighting

__all__ = [
    "per_sample_loss",
    "reduce_task_loss",
    "stacked_task_losses",
    "TaskOutputs",
    "MultiTaskLoss",
    "LOSSES",
    "REGRESSION_LOSSES",
]

LOSSES = ("cross_entropy", "focal", "ohem")
REGRESSION_LOSSES = ("squared_error", "absolute_error", "huber")
# Losses that score every task of one head width in one op.
_STACKABLE_LOSSES = {"cross_entropy", *REGRESSION_LOSSES}

# Regression losses on a ``(batch, 1)`` head output; huber's delta is 1 in the
# standardised units the network learns (one standard deviation of the target).
_REGRESSION = {
    "squared_error": F.mse_loss,
    "absolute_error": F.l1_loss,
    "huber": F.huber_loss,
}


def per_sample_loss(logits, y, loss="cross_entropy", focal_gamma=2.0):
    """Loss of each sample for one task, shape ``(batch,)``.

    ``"cross_entropy"`` and ``"ohem"`` use the cross-entropy (OHEM selects samples
    later, in :func:`reduce_task_loss`); ``"focal"`` is the focal loss of Lin et
    al. (2017), ``(1 - p_true) ** gamma * cross_entropy``. The regression losses
    (``"squared_error"``, ``"absolute_error"``, ``"huber"`` with delta 1) compare
    the single output column with the float target ``y``.
    """
    if loss in _REGRESSION:
        pred = logits[:, 0]
        return _REGRESSION[loss](pred, y.to(pred.dtype), reduction="none")
    ce = F.cross_entropy(logits, _class_codes(y), reduction="none")
    if loss == "focal":
        p_true = torch.exp(-ce)
        return (1.0 - p_true).clamp_min(0.0).pow(focal_gamma) * ce
    return ce


def _class_codes(y):
    """Class codes as integers (they travel as floats beside regression targets)."""
    return y.long() if y.is_floating_point() else y


def _mean_loss(output, y, loss):
    """The batch mean loss of one task in one fused op (no weights)."""
    if loss in _REGRESSION:
        pred = output[:, 0]
        return _REGRESSION[loss](pred, y.to(pred.dtype))
    return F.cross_entropy(output, _class_codes(y))


class TaskOutputs(tuple):
    """Each task's output, plus all of them as one ``(..., n_tasks, width)`` tensor.

    Fused heads of one width return this: ``stacked`` is a view of the one
    matmul's output, so the loss need not stack the tasks' slices again (and
    backward need not scatter their gradients back one by one). Outputs that
    are the log of known class probabilities (a blend of models) may carry
    those as ``probabilities``, a ``(rows, n_tasks, width)`` float64 array, so
    that predicting probabilities need not take a softmax of their log.

    Examples
    --------
    >>> import torch
    >>> out = torch.arange(6.0).view(1, 6)
    >>> outputs = TaskOutputs((out[:, :2], out[:, 2:4], out[:, 4:]), out.view(1, 3, 2))
    >>> len(outputs), outputs.stacked.shape
    (3, torch.Size([1, 3, 2]))
    """

    def __new__(cls, outputs, stacked, probabilities=None):
        self = super().__new__(cls, outputs)
        self.stacked = stacked
        self.probabilities = probabilities
        return self


def stacked_task_losses(logits, y, w=None, loss="cross_entropy"):
    """Every task's weighted batch loss in one op, shape ``(n_tasks,)``.

    For heads of one width that share a plain loss (``"cross_entropy"`` or a
    regression loss): the heads' outputs, as ``(batch, n_tasks, width)`` (the
    ``stacked`` view of a :class:`TaskOutputs`, else stacked here), are scored
    at once, so the cost of a step barely grows with the number of tasks. Equal
    to :func:`reduce_task_loss` of :func:`per_sample_loss` task by task.
    """
    out = getattr(logits, "stacked", None)
    if out is None:
        out = torch.stack(tuple(logits), dim=1)
    if loss in _REGRESSION:
        sample = _REGRESSION[loss](out[..., 0], y.to(out.dtype), reduction="none")
    else:
        batch, n_tasks, width = out.shape
        codes = _class_codes(y).reshape(batch * n_tasks)
        flat = F.cross_entropy(out.reshape(-1, width), codes, reduction="none")
        sample = flat.view(batch, n_tasks)
    return (sample if w is None else w * sample).mean(0)


def reduce_task_loss(sample_loss, w, loss="cross_entropy", ohem_fraction=0.25):
    """Weighted batch loss of one task from its per-sample losses.

    ``w=None`` means every sample has weight 1. For ``"ohem"`` (Shrivastava et
    al. 2016) only the ``ohem_fraction`` hardest labelled samples of the batch
    (largest weighted loss) are kept.
    """
    weighted = sample_loss if w is None else w * sample_loss
    if loss != "ohem":
        return weighted.mean()
    n_labelled = len(weighted) if w is None else int((w > 0).sum())
    if n_labelled == 0:
        return weighted.sum()  # zero, keeps the graph
    k = max(1, math.ceil(ohem_fraction * n_labelled))
    return torch.topk(weighted, k, sorted=False).values.sum() / k


class MultiTaskLoss(nn.Module):
    """Criterion of the multi-task networks.

    Parameters
    ----------
    n_tasks : int
        Number of tasks.
    loss : str or sequence of str, default="cross_entropy"
        Per-task loss, the same for every task or one per task: a classification
        loss (``"cross_entropy"``, ``"focal"``, ``"ohem"``) or a regression loss
        (``"squared_error"``, ``"absolute_error"``, ``"huber"``), for heads of
        width 1 and float targets.
    task_weighting : str or Weighting, default="equal"
        A name from :data:`sk_mtl.weighting.TASK_WEIGHTINGS` or an instance.
    focal_gamma : float, default=2.0
        Focusing parameter of the focal loss.
    ohem_fraction : float, default=0.25
        Fraction of each batch's labelled samples kept by OHEM.

    Examples
    --------
    >>> import torch
    >>> crit = MultiTaskLoss(2)
    >>> logits = (torch.zeros(3, 2), torch.zeros(3, 4))
    >>> y = torch.tensor([[0, 1], [1, 2], [0, 3]])
    >>> total, per_task = crit(logits, y, torch.ones(3, 2))
    >>> round(float(total), 4), [round(float(v), 4) for v in per_task]
    (2.0794, [0.6931, 1.3863])

    A classification task and a regression task (float targets, class codes
    included):

    >>> crit = MultiTaskLoss(2, loss=["cross_entropy", "squared_error"])
    >>> outputs = (torch.zeros(2, 2), torch.tensor([[1.0], [0.0]]))
    >>> y = torch.tensor([[0.0, 3.0], [1.0, 2.0]])
    >>> [round(float(v), 4) for v in crit(outputs, y)[1]]
    [0.6931, 4.0]
    """

    def __init__(
        self,
        n_tasks,
        loss="cross_entropy",
        task_weighting="equal",
        focal_gamma=2.0,
        ohem_fraction=0.25,
    ):
        super().__init__()
        self.loss = loss
        self.task_loss_names = [loss] * n_tasks if isinstance(loss, str) else list(loss)
        if len(self.task_loss_names) != n_tasks:
            raise ValueError(
                f"loss has {len(self.task_loss_names)} entries for {n_tasks} tasks."
            )
        unknown = set(self.task_loss_names) - set(LOSSES + REGRESSION_LOSSES)
        if unknown:
            raise ValueError(
                f"Unknown loss {sorted(unknown)[0]!r}; use one of "
                f"{LOSSES + REGRESSION_LOSSES}."
            )
        # Plain mean losses take one fused op per task when nothing is weighted.
        self._fused = all(n not in ("focal", "ohem") for n in self.task_loss_names)
        # One loss shared by several tasks can score them all in one op.
        names = set(self.task_loss_names)
        self._stackable = n_tasks > 1 and len(names) == 1 and names <= _STACKABLE_LOSSES
        self.focal_gamma = focal_gamma
        self.ohem_fraction = ohem_fraction
        if isinstance(task_weighting, str):
            task_weighting = make_task_weighting(task_weighting, n_tasks)
        self.weighting = task_weighting

    def task_losses(self, logits, y, w=None):
        """List of the batch losses of each task (scalars carrying the graph).

        ``w=None`` means weight 1 everywhere (no missing label, no sample weight).
        """
        names = self.task_loss_names
        stackable = getattr(self, "_stackable", False)  # absent in older pickles
        if stackable and len({lg.shape for lg in logits}) == 1:
            return list(stacked_task_losses(logits, y, w, names[0]).unbind())
        if w is None and self._fused:
            # One fused op per task, as in a hand-written loop.
            return [_mean_loss(lg, y[:, t], names[t]) for t, lg in enumerate(logits)]
        return [
            reduce_task_loss(
                per_sample_loss(lg, y[:, t], names[t], self.focal_gamma),
                None if w is None else w[:, t],
                names[t],
                self.ohem_fraction,
            )
            for t, lg in enumerate(logits)
        ]

    def forward(self, logits, y, w=None):
        """``(total, per_task)``: the weighted loss and the task losses."""
        losses = self.task_losses(logits, y, w)
        total = self.weighting.combine_list(losses)
        with torch.no_grad():
            return total, torch.stack(losses)
