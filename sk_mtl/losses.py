"""Per-task losses and task-weighting strategies (plain PyTorch).

Targets reach the loss as two ``(batch, n_tasks)`` tensors:

- ``y``: integer class codes (any valid code where the label is missing);
- ``w``: per-entry weights, zero where the label is missing. The engine scales
  each task's column so that it averages 1 over the data set, so the mean of
  ``w * loss`` over a batch estimates the task's weighted mean loss without bias,
  whatever the fraction of labelled rows or the scale of ``sample_weight``.

Task weighting follows LibMTL's split: one small class per method that turns the
vector of task losses into the scalar that is back-propagated. Gradient-based
methods (:class:`PCGrad`) instead combine per-task gradients of the shared
parameters; the engine calls :meth:`PCGrad.combine` for them.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "per_sample_loss",
    "reduce_task_loss",
    "MultiTaskLoss",
    "EqualWeighting",
    "UncertaintyWeighting",
    "DWA",
    "PCGrad",
    "make_task_weighting",
    "TASK_WEIGHTINGS",
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


class EqualWeighting(nn.Module):
    """Sum of the task losses."""

    gradient_based = False

    def __init__(self, n_tasks):
        super().__init__()
        self.n_tasks = n_tasks

    def forward(self, task_losses):
        return task_losses.sum()

    def weights(self):
        """Current weight of each task's loss, shape ``(n_tasks,)``."""
        return torch.ones(self.n_tasks)

    def epoch_end(self, epoch_task_losses):
        """Hook called with the mean training loss of each task after an epoch."""


class UncertaintyWeighting(EqualWeighting):
    """Homoscedastic uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018).

    Learns one log-variance ``s_t`` per task and minimises
    ``sum_t exp(-s_t) * L_t + s_t / 2``: noisy or hard tasks get a larger variance
    and so a smaller weight. The ``s_t`` are trained with the network.
    """

    def __init__(self, n_tasks):
        super().__init__(n_tasks)
        self.log_vars = nn.Parameter(torch.zeros(n_tasks))

    def forward(self, task_losses):
        return (torch.exp(-self.log_vars) * task_losses + 0.5 * self.log_vars).sum()

    def weights(self):
        return torch.exp(-self.log_vars.detach()).cpu()


class DWA(EqualWeighting):
    """Dynamic weight average (Liu, Johns & Davison, CVPR 2019).

    After each epoch, a task whose loss fell slowly (ratio of its last two epoch
    losses close to or above 1) gets a larger weight:
    ``w_t = T * softmax(r_t / temperature)``, ``r_t = L_t(e-1) / L_t(e-2)``.
    The first two epochs use equal weights.
    """

    def __init__(self, n_tasks, temperature=2.0):
        super().__init__(n_tasks)
        self.temperature = temperature
        self.register_buffer("task_weights", torch.ones(n_tasks))
        self._previous = []

    def forward(self, task_losses):
        return (self.task_weights.to(task_losses.device) * task_losses).sum()

    def weights(self):
        return self.task_weights.detach().cpu().clone()

    def epoch_end(self, epoch_task_losses):
        self._previous = (self._previous + [epoch_task_losses.detach().cpu()])[-2:]
        if len(self._previous) == 2:
            ratio = self._previous[1] / self._previous[0].clamp_min(1e-12)
            w = self.n_tasks * torch.softmax(ratio / self.temperature, dim=0)
            self.task_weights.copy_(w)


class PCGrad(EqualWeighting):
    """Projecting conflicting gradients (Yu et al., NeurIPS 2020).

    For the shared parameters, each task's gradient is projected onto the normal
    plane of every other task gradient it conflicts with (negative dot product),
    in random order, and the projected gradients are summed. Task-specific
    parameters get their plain task gradients.
    """

    gradient_based = True

    def combine(self, grads):
        """Combine flattened per-task gradients, shape ``(n_tasks, n_params)``."""
        projected = grads.clone()
        n = grads.shape[0]
        for i in range(n):
            for j in torch.randperm(n).tolist():
                if i == j:
                    continue
                dot = torch.dot(projected[i], grads[j])
                if dot < 0:
                    projected[i] -= (
                        dot / grads[j].pow(2).sum().clamp_min(1e-20) * grads[j]
                    )
        return projected.sum(0)


TASK_WEIGHTINGS = {
    "equal": EqualWeighting,
    "uncertainty": UncertaintyWeighting,
    "dwa": DWA,
    "pcgrad": PCGrad,
}


def make_task_weighting(name, n_tasks):
    """Instantiate the task weighting called ``name`` for ``n_tasks`` tasks."""
    return TASK_WEIGHTINGS[name](n_tasks)


class MultiTaskLoss(nn.Module):
    """Criterion of the multi-task networks.

    Parameters
    ----------
    n_tasks : int
        Number of tasks.
    loss : {"cross_entropy", "focal", "ohem"}, default="cross_entropy"
        Per-task loss.
    task_weighting : str or torch.nn.Module, default="equal"
        A name from :data:`TASK_WEIGHTINGS` or an instance.
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
        """Vector of the batch losses of each task.

        ``w=None`` means weight 1 everywhere (no missing label, no sample weight).
        """
        return torch.stack(self._task_loss_list(logits, y, w))

    def _task_loss_list(self, logits, y, w):
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
        """``(total, per_task)``: the loss to back-propagate and the task losses."""
        losses = self._task_loss_list(logits, y, w)
        if type(self.weighting) is EqualWeighting:
            # The common case in as few autograd nodes as a hand-written loop;
            # the per-task values are then only reported, so carry no graph.
            total = losses[0] if len(losses) == 1 else torch.stack(losses).sum()
            with torch.no_grad():
                return total, torch.stack(losses)
        per_task = torch.stack(losses)
        return self.weighting(per_task), per_task
