"""The parts TransferClassifier adds to a reused network (plain torch and skorch).

- :class:`NewHead`: dropout on the reused features, then the new hidden layers;
- :class:`Unfreezer`: a skorch callback that unfreezes the reused layers, all at
  once or gradually (ULMFiT).
"""

from skorch.callbacks import Callback
from torch import nn

from ..modules import MLP, layer_groups
from ._reuse import set_requires_grad

__all__ = ["NewHead", "Unfreezer"]


class Unfreezer(Callback):
    """Unfreezes the layer groups of ``base`` at epoch starts.

    After ``after`` epochs of its phase: every group (``gradual=False``), or one
    more group per epoch, top (output side) first (``gradual=True``, as in
    ULMFiT). Records ``unfrozen_layers`` in the history.
    """

    def __init__(self, base, after, gradual):
        self.base = base
        self.after = after
        self.gradual = gradual

    def on_epoch_begin(self, net, **kwargs):
        epoch = len(net.history)  # the current epoch of the phase, 1-based
        groups = layer_groups(self.base)
        n = 0
        if epoch > self.after:
            n = min(len(groups), epoch - self.after) if self.gradual else len(groups)
        for group in groups[len(groups) - n :]:
            set_requires_grad(group.parameters(), True)
        net.history.record("unfrozen_layers", n)


class NewHead(nn.Module):
    """Dropout on the reused features, then the new hidden layers."""

    def __init__(self, in_features, hidden_units, dropout):
        super().__init__()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.mlp = MLP(in_features, hidden_units, dropout)
        self.out_features = self.mlp.out_features

    def forward(self, z):
        return self.mlp(self.dropout(z))

    def layer_groups(self):
        return self.mlp.layer_groups()
