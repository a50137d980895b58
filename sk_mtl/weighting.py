"""Task weightings: how the losses of several tasks become one update (plain PyTorch).

Follows LibMTL's ``weighting/`` split: one small class per method, all with the
same interface, so the training engine never needs to know which one it runs.

- :meth:`Weighting.forward` turns the vector of task losses into the scalar that is
  reported (and, for loss-based methods, back-propagated);
- :meth:`Weighting.backward` computes the gradients of one training step. The
  default back-propagates :meth:`forward`; gradient-based methods such as
  :class:`PCGrad` override it to combine per-task gradients of the shared
  parameters instead;
- :meth:`Weighting.epoch_end` receives the mean training loss of each task after
  every epoch (what :class:`DWA` adapts on).

A weighting is an ``nn.Module`` so that learned weights (:class:`UncertaintyWeighting`)
are trained with the network.
"""

import torch
from torch import nn

__all__ = [
    "Weighting",
    "EqualWeighting",
    "UncertaintyWeighting",
    "DWA",
    "PCGrad",
    "TASK_WEIGHTINGS",
    "make_task_weighting",
]


class Weighting(nn.Module):
    """Base class of the task weightings.

    Parameters
    ----------
    n_tasks : int
        Number of tasks.
    """

    def __init__(self, n_tasks):
        super().__init__()
        self.n_tasks = n_tasks

    def forward(self, task_losses):
        """Scalar loss from the task losses, a tensor of shape ``(n_tasks,)``."""
        raise NotImplementedError

    def combine_list(self, task_losses):
        """:meth:`forward` of a list of scalar task losses."""
        return self(torch.stack(task_losses))

    def backward(self, task_losses, shared_parameters, other_parameters):
        """Gradients of one training step; returns the scalar loss.

        Parameters
        ----------
        task_losses : list of torch.Tensor
            The batch loss of each task (scalars carrying the graph).
        shared_parameters : list of torch.nn.Parameter
            Trainable parameters shared by every task (the trunk).
        other_parameters : list of torch.nn.Parameter
            The other trainable parameters (heads, gates, the weighting's own).

        Returns
        -------
        loss : torch.Tensor
            The scalar loss of the step (for reporting).
        """
        loss = self.combine_list(task_losses)
        loss.backward()
        return loss

    def weights(self):
        """Current weight of each task's loss, shape ``(n_tasks,)``."""
        return torch.ones(self.n_tasks)

    def epoch_end(self, epoch_task_losses):
        """Hook called with the mean training loss of each task after an epoch."""


class EqualWeighting(Weighting):
    """Sum of the task losses."""

    def forward(self, task_losses):
        return task_losses.sum()

    def combine_list(self, task_losses):
        # As few autograd nodes as a hand-written loop.
        return (
            task_losses[0] if len(task_losses) == 1 else torch.stack(task_losses).sum()
        )


class UncertaintyWeighting(Weighting):
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


class DWA(Weighting):
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
    parameters get their plain task gradients. The reported loss is the sum.
    """

    def backward(self, task_losses, shared_parameters, other_parameters):
        flat = []
        for loss_t in task_losses:
            if not loss_t.requires_grad:  # no label of this task in the batch
                continue
            grads = torch.autograd.grad(
                loss_t, shared_parameters, retain_graph=True, allow_unused=True
            )
            flat.append(
                torch.cat(
                    [
                        (g if g is not None else torch.zeros_like(p)).reshape(-1)
                        for g, p in zip(grads, shared_parameters)
                    ]
                )
            )
        loss = torch.stack(task_losses).sum()
        if other_parameters:
            loss.backward(inputs=other_parameters)
        if flat:
            _set_flat_grad(shared_parameters, self.combine(torch.stack(flat)))
        return loss.detach()

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


def _set_flat_grad(parameters, flat):
    offset = 0
    for p in parameters:
        n = p.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n


TASK_WEIGHTINGS = {
    "equal": EqualWeighting,
    "uncertainty": UncertaintyWeighting,
    "dwa": DWA,
    "pcgrad": PCGrad,
}


def make_task_weighting(name, n_tasks):
    """Instantiate the task weighting called ``name`` for ``n_tasks`` tasks."""
    return TASK_WEIGHTINGS[name](n_tasks)
