"""Efficient ensembling: k members in one multi-task network (plain PyTorch).

:class:`MemberEnsemble` is TabM-mini (Gorishniy et al., ICLR 2025): ``k`` members
share every weight of one MLP; member ``i`` only multiplies the input by its own
vector ``r_i`` (a BatchEnsemble-style adapter) and has its own linear head per
task. One forward pass computes all members on the same batch.

- In training mode the network returns, per task, the members' logits
  ``(batch, k, n_classes)``; :class:`MemberAveragedLoss` gives each member the loss
  of the batch and averages them, so members are trained as k models, not as one
  averaged prediction (which TabM's authors found to lose the benefit).
- In eval mode it returns, per task, ``log(mean_i softmax(logits_i))``: the softmax
  of that is the mean of the members' probabilities, the ensemble's prediction, so
  validation losses, early stopping and ``predict_proba`` see the ensemble.

The adapter comes from the ``tabm`` package (``ElementwiseAffine``); the
per-member heads of every task are one :class:`~sk_mtl.modules.FusedHeads` (one
batched matmul for all tasks and members, initialised as tabm's
``LinearEnsemble``); the shared MLP is
:class:`sk_mtl.modules.MLP`, so ``hidden_units`` may vary in width (tabm's own
backbones have one width) and each task has its own head (tabm's ``TabM`` has one
output layer).
"""

import math

import torch
from torch import nn

from .embeddings import import_tabular_extra
from .losses import MultiTaskLoss, TaskOutputs
from .modules import MLP, FusedHeads

__all__ = [
    "MemberEnsemble",
    "MemberAveragedLoss",
    "log_mean_probabilities",
    "member_ensembles",
]


def log_mean_probabilities(logits, dim):
    """The log of the members' mean class probabilities, members along ``dim``
    and classes along the last axis: logits whose softmax is that mean (and
    whose argmax is the most probable class), as an ensemble's members combine.

    Examples
    --------
    >>> import torch
    >>> logits = torch.tensor([[[0.0, 0.0]], [[0.0, 2.0]]])  # 2 members, 1 row
    >>> mean = torch.softmax(logits, dim=-1).mean(dim=0)
    >>> torch.allclose(log_mean_probabilities(logits, dim=0).exp(), mean)
    True
    """
    log_p = torch.log_softmax(logits, dim=-1)
    return torch.logsumexp(log_p, dim=dim) - math.log(logits.shape[dim])


def _tabm(purpose="architecture='tabm'"):
    return import_tabular_extra("tabm", purpose)


class MemberEnsemble(nn.Module):
    """TabM-mini with one head per task and member.

    Parameters
    ----------
    in_features : int
        Width of the input.
    hidden_units : sequence of int
        Widths of the shared MLP's hidden layers.
    n_classes : sequence of int
        Number of classes of each task.
    n_members : int, default=16
        Number of members ``k``.
    dropout : float, default=0.0
        Dropout after each hidden layer.
    scaling_chunks : list of int, optional
        Widths of the input's per-column parts: each member scales a column's part
        by one random value at initialisation (TabM's rule). None: per input.
    scaling_init : {"random-signs", "normal"}, default="random-signs"
        Initialisation of the adapters (TabM uses ``"normal"`` after numeric
        embeddings).

    Examples
    --------
    >>> import torch
    >>> net = MemberEnsemble(5, (8,), n_classes=[2, 3], n_members=4)
    >>> [t.shape for t in net(torch.zeros(6, 5))]  # training: one output per member
    [torch.Size([6, 4, 2]), torch.Size([6, 4, 3])]
    >>> p = torch.softmax(net.eval()(torch.zeros(6, 5))[1], dim=1)  # the ensemble
    >>> p.shape, bool(torch.allclose(p.sum(1), torch.ones(6)))
    (torch.Size([6, 3]), True)
    """

    def __init__(
        self,
        in_features,
        hidden_units,
        n_classes,
        n_members=16,
        dropout=0.0,
        scaling_chunks=None,
        scaling_init="random-signs",
    ):
        super().__init__()
        tabm = _tabm()
        self.n_members = int(n_members)
        self.adapter = tabm.ElementwiseAffine(
            (self.n_members, int(in_features)),
            bias=False,
            scaling_init=scaling_init,
            scaling_init_chunks=None
            if scaling_chunks is None
            else list(scaling_chunks),
        )
        self.trunk = MLP(in_features, hidden_units, dropout)
        self.out_features = self.trunk.out_features
        self.heads = FusedHeads(self.out_features, n_classes, self.n_members)

    def member_features(self, X):
        """Each member's representation, ``(batch, k, out_features)``."""
        x = X.unsqueeze(1).expand(-1, self.n_members, -1)
        return self.trunk(self.adapter(x))

    def features(self, X):
        """The members' representations averaged: ``(batch, out_features)``."""
        return self.member_features(X).mean(dim=1)

    def forward(self, X):
        outputs = self.heads(self.member_features(X))
        if self.training:
            return outputs
        return tuple(log_mean_probabilities(out, dim=1) for out in outputs)

    def shared_parameters(self):
        # Shared by the tasks (not by the members): adapters and MLP.
        yield from self.adapter.parameters()
        yield from self.trunk.parameters()

    def feature_module(self):
        return _MemberFeatures(self)

    def layer_groups(self):
        linear = self.trunk.linear_layers()
        if not linear:
            return [self.adapter]
        return [nn.ModuleList([self.adapter, linear[0]]), *linear[1:]]

    def replace_heads(self, n_classes, keep=None):
        """One head per task and member (see
        :meth:`sk_mtl.modules.MultiHeadNetwork.replace_heads`)."""
        self.heads = self.heads.replaced(n_classes, keep)


def member_ensembles(module):
    """The :class:`MemberEnsemble` layers inside ``module`` (itself included).

    Their shared MLP runs once per member, which the estimators' sizing of
    batches and threads must count ``n_members`` times.

    Examples
    --------
    >>> from sk_mtl.modules import MLP
    >>> [m.n_members for m in member_ensembles(MemberEnsemble(5, (8,), [2], 4))]
    [4]
    >>> member_ensembles(MLP(5, (8,)))
    []
    """
    return [m for m in module.modules() if isinstance(m, MemberEnsemble)]


class _MemberFeatures(nn.Module):
    """The averaged member representation of a :class:`MemberEnsemble`."""

    def __init__(self, ensemble):
        super().__init__()
        self.ensemble = ensemble
        self.out_features = ensemble.out_features

    def forward(self, X):
        return self.ensemble.features(X)

    def layer_groups(self):
        return self.ensemble.layer_groups()


class MemberAveragedLoss(MultiTaskLoss):
    """:class:`~sk_mtl.losses.MultiTaskLoss` that also reads members' outputs.

    A task output of shape ``(batch, k, n_classes)`` (a :class:`MemberEnsemble` in
    training mode) is scored as k predictions of the same labels: the task's loss
    is the mean of the members' losses, with the same weights and missing labels.
    Outputs of shape ``(batch, n_classes)`` are scored exactly as by
    ``MultiTaskLoss``.

    Examples
    --------
    >>> import torch
    >>> crit = MemberAveragedLoss(1)
    >>> logits = (torch.tensor([[[2.0, 0.0], [0.0, 2.0]]]),)  # 1 row, 2 members
    >>> y = torch.tensor([[0]])
    >>> member = [float(crit.task_losses((logits[0][:, i],), y)[0]) for i in (0, 1)]
    >>> round(float(crit.task_losses(logits, y)[0]), 4) == round(sum(member) / 2, 4)
    True
    """

    def task_losses(self, logits, y, w=None):
        k = next((lg.shape[1] for lg in logits if lg.dim() == 3), None)
        if k is None:
            return super().task_losses(logits, y, w)
        stacked = getattr(logits, "stacked", None)
        logits = [lg.flatten(0, 1) for lg in logits]
        if stacked is not None:  # (batch, k, n_tasks, width)
            logits = TaskOutputs(logits, stacked.flatten(0, 1))
        y = y.repeat_interleave(k, dim=0)
        w = None if w is None else w.repeat_interleave(k, dim=0)
        return super().task_losses(logits, y, w)
