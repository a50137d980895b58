"""Plain PyTorch building blocks: trunks, task heads and multi-task networks.

Nothing here imports scikit-learn: these modules can be used (and reused, e.g. by
transfer learning) as ordinary ``torch.nn.Module`` objects.

Every multi-task network in this file follows one small protocol used by the
training engine:

- ``forward(X)`` returns a tuple with one logits tensor per task;
- ``shared_parameters()`` yields the parameters shared by all tasks (what
  gradient-based task weighting such as PCGrad manipulates);
- ``features(X)`` returns the shared representation the heads read from, and
  ``out_features`` its width (what transfer learning reuses).
"""

import math

import torch
from torch import nn

__all__ = ["MLP", "MultiHeadNetwork", "MMoE", "ExpertLayer"]


class MLP(nn.Sequential):
    """A stack of ``Linear -> ReLU -> Dropout`` blocks.

    Parameters
    ----------
    in_features : int
        Width of the input.
    hidden_units : sequence of int
        Width of each hidden layer. An empty sequence gives the identity.
    dropout : float, default=0.0
        Dropout probability after each activation.

    Attributes
    ----------
    out_features : int
        Width of the output (the last hidden layer, or ``in_features``).

    Examples
    --------
    >>> import torch
    >>> mlp = MLP(4, (8, 3), dropout=0.1)
    >>> mlp(torch.zeros(2, 4)).shape
    torch.Size([2, 3])
    """

    def __init__(self, in_features, hidden_units, dropout=0.0):
        layers = []
        width = in_features
        for units in hidden_units:
            layers.append(nn.Linear(width, units))
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = units
        super().__init__(*layers)
        self.out_features = width

    def linear_layers(self):
        """The ``nn.Linear`` layers in input-to-output order."""
        return [m for m in self if isinstance(m, nn.Linear)]


def _make_heads(in_features, n_classes):
    return nn.ModuleList(nn.Linear(in_features, int(k)) for k in n_classes)


class MultiHeadNetwork(nn.Module):
    """Hard parameter sharing: one shared trunk, one linear head per task.

    Parameters
    ----------
    trunk : torch.nn.Module
        Maps the input to a shared representation. Must expose ``out_features``
        (or pass ``trunk_out_features``).
    n_classes : sequence of int
        Number of classes (output logits) of each task.
    trunk_out_features : int, optional
        Width of the trunk's output, when the trunk has no ``out_features``.

    Examples
    --------
    >>> import torch
    >>> net = MultiHeadNetwork(MLP(5, (16,)), n_classes=[2, 3])
    >>> [t.shape for t in net(torch.zeros(4, 5))]
    [torch.Size([4, 2]), torch.Size([4, 3])]
    """

    def __init__(self, trunk, n_classes, trunk_out_features=None):
        super().__init__()
        self.trunk = trunk
        self.out_features = int(
            trunk_out_features if trunk_out_features is not None else trunk.out_features
        )
        self.heads = _make_heads(self.out_features, n_classes)

    def features(self, X):
        return self.trunk(X)

    def forward(self, X):
        z = self.trunk(X)
        return tuple(head(z) for head in self.heads)

    def shared_parameters(self):
        return self.trunk.parameters()


class ExpertLayer(nn.Module):
    """``n_experts`` independent linear layers evaluated as one batched matmul.

    Input has shape ``(batch, in_features)`` (the same input for every expert) or
    ``(n_experts, batch, in_features)``; output has shape
    ``(n_experts, batch, out_features)``.
    """

    def __init__(self, n_experts, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_experts, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(n_experts, 1, out_features))
        # Same default scale as nn.Linear, per expert.
        bound = 1.0 / math.sqrt(in_features)
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, X):
        if X.dim() == 2:
            X = X.unsqueeze(0).expand(self.weight.shape[0], -1, -1)
        return torch.baddbmm(self.bias, X, self.weight)


class MMoE(nn.Module):
    """Multi-gate mixture of experts (Ma et al., KDD 2018).

    ``n_experts`` MLP experts share the input; each task mixes their outputs with
    its own softmax gate and reads the mixture with its own linear head.

    Parameters
    ----------
    in_features : int
        Width of the input.
    hidden_units : sequence of int
        Hidden layer widths of each expert (at least one layer).
    n_classes : sequence of int
        Number of classes of each task.
    n_experts : int, default=4
        Number of experts.
    dropout : float, default=0.0
        Dropout after each expert layer.

    Examples
    --------
    >>> import torch
    >>> net = MMoE(5, (8,), n_classes=[2, 2], n_experts=3)
    >>> [t.shape for t in net(torch.zeros(4, 5))]
    [torch.Size([4, 2]), torch.Size([4, 2])]
    """

    def __init__(self, in_features, hidden_units, n_classes, n_experts=4, dropout=0.0):
        super().__init__()
        if len(hidden_units) == 0:
            raise ValueError("MMoE needs at least one hidden layer per expert.")
        layers = []
        width = in_features
        for units in hidden_units:
            layers += [ExpertLayer(n_experts, width, units), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = units
        self.experts = nn.Sequential(*layers)
        self.n_experts = n_experts
        self.expert_units = width
        self.out_features = width * n_experts
        self.gates = nn.ModuleList(nn.Linear(in_features, n_experts) for _ in n_classes)
        self.heads = _make_heads(width, n_classes)

    def features(self, X):
        # All experts' outputs side by side: the representation shared by every task.
        return self.experts(X).permute(1, 0, 2).reshape(X.shape[0], -1)

    def forward(self, X):
        experts = self.experts(X)  # (n_experts, batch, units)
        out = []
        for gate, head in zip(self.gates, self.heads):
            g = torch.softmax(gate(X), dim=1)  # (batch, n_experts)
            mixed = torch.einsum("be,ebu->bu", g, experts)
            out.append(head(mixed))
        return tuple(out)

    def shared_parameters(self):
        return self.experts.parameters()
