"""Per-task losses and task-weighting strategies (plain PyTorch).

Targets reach the loss as two ``(batch, n_tasks)`` tensors:

- ``y``: integer class codes (any valid code where the label is missing);
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
    "MultiTaskLoss",
    "LOSSES",
]

LOSSES = ("cross_entropy", "focal", "ohem")


def per_sample_loss(logits, y, loss="cross_entropy", focal_gamma=2.0):
    """Loss of each sample for one task, shape ``(batch,)``.

    ``"cross_entropy"`` and ``"ohem"`` use the cross-entropy (OHEM selects samples
    later, in :func:`reduce_task_loss`); ``"focal"`` is the focal loss of Lin et
    al. (2017), ``(1 - p_true) ** gamma * cross_entropy``.
    """
    ce = F.cross_entropy(logits, y, reduction="none")
    if loss == "focal":
        p_true = torch.exp(-ce)
        return (1.0 - p_true).clamp_min(0.0).pow(focal_gamma) * ce
    return ce


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
    loss : {"cross_entropy", "focal", "ohem"}, default="cross_entropy"
        Per-task loss.
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
        self.focal_gamma = focal_gamma
        self.ohem_fraction = ohem_fraction
        if isinstance(task_weighting, str):
            task_weighting = make_task_weighting(task_weighting, n_tasks)
        self.weighting = task_weighting

    def task_losses(self, logits, y, w=None):
        """List of the batch losses of each task (scalars carrying the graph).

        ``w=None`` means weight 1 everywhere (no missing label, no sample weight).
        """
        if w is None and self.loss == "cross_entropy":
            # One fused op per task, as in a hand-written loop.
            return [F.cross_entropy(lg, y[:, t]) for t, lg in enumerate(logits)]
        return [
            reduce_task_loss(
                per_sample_loss(lg, y[:, t], self.loss, self.focal_gamma),
                None if w is None else w[:, t],
                self.loss,
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
