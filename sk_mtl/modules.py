"""Plain PyTorch building blocks: trunks, task heads and multi-task networks.

Nothing here imports scikit-learn: these modules can be used (and reused, e.g. by
transfer learning) as ordinary ``torch.nn.Module`` objects.

Every multi-task network in this file follows one small protocol used by the
training engine:

- ``forward(X)`` returns a tuple with one logits tensor per task;
- ``shared_parameters()`` yields the parameters shared by all tasks (what
  gradient-based task weighting such as PCGrad manipulates);
- ``features(X)`` returns the shared representation the heads read from, and
  ``out_features`` its width (what transfer learning reuses);
- ``feature_module()`` returns the module computing ``features(X)`` alone, and
  ``layer_groups()`` the trunk's layers, input to output (what fine-tuning
  freezes or unfreezes);
- ``replace_heads(n_classes, keep)`` swaps the task-specific layers for new tasks,
  ``replace_input_layer(n_features)`` the layer reading the input.
"""

import functools
import math

import torch
from torch import nn

from ._fused_heads import FusedHeads, HeadSlice
from .losses import TaskOutputs

__all__ = [
    "MLP",
    "MultiHeadNetwork",
    "FusedHeads",
    "HeadSlice",
    "MMoE",
    "ExpertLayer",
    "StackedTrunk",
    "HeadView",
    "layer_groups",
]


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

    def forward(self, X):
        # A Dropout in eval mode is the identity: not calling it spares a served
        # row two module calls (a few microseconds each).
        for layer in self:
            if layer.training or not isinstance(layer, nn.Dropout):
                X = layer(X)
        return X

    def linear_layers(self):
        """The ``nn.Linear`` layers in input-to-output order."""
        return [m for m in self if isinstance(m, nn.Linear)]

    def layer_groups(self):
        """Same as :meth:`linear_layers`: the units that are frozen together."""
        return self.linear_layers()

    def replace_input_layer(self, in_features):
        """Replace the first layer by a new one reading ``in_features`` inputs."""
        if not self.linear_layers():
            raise ValueError(
                "This MLP has no layer: there is no input layer to replace."
            )
        self[0] = nn.Linear(int(in_features), self[0].out_features)


def layer_groups(module):
    """The layers of a trunk, input to output, as a list of modules.

    Uses the module's own ``layer_groups()`` when it has one; otherwise the whole
    module is a single group.
    """
    groups = getattr(module, "layer_groups", None)
    return list(groups()) if callable(groups) else [module]


def _gather_inputs(X, inputs):
    if not inputs:
        return X
    if X is not None:
        raise TypeError("Pass the input either as X or as keyword arguments, not both.")
    return dict(inputs)


class MultiHeadNetwork(nn.Module):
    """Hard parameter sharing: one shared trunk, one linear head per task.

    The heads are one :class:`FusedHeads` (one matmul for all tasks).

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
        self.heads = FusedHeads(self.out_features, n_classes)

    def features(self, X=None, **inputs):
        return self.trunk(_gather_inputs(X, inputs))

    def forward(self, X=None, **inputs):
        # skorch passes a dict X (token ids and masks, ...) as keyword arguments;
        # the trunk gets it back as one dict.
        return self.heads(self.trunk(_gather_inputs(X, inputs)))

    def shared_parameters(self):
        return self.trunk.parameters()

    def feature_module(self):
        return self.trunk

    def replace_input_layer(self, in_features):
        """Replace the layer reading the input by a new one of width ``in_features``."""
        _replace_input_layer(self.trunk, in_features)

    def layer_groups(self):
        return layer_groups(self.trunk)

    def replace_heads(self, n_classes, keep=None):
        """Give the network one head per entry of ``n_classes``.

        ``keep[j]`` is the index of an existing head to reuse for task ``j`` (it
        must have ``n_classes[j]`` outputs), or None for a new, randomly
        initialised head. Kept heads keep their weights and parameter objects
        (see :meth:`FusedHeads.replaced`).
        """
        self.heads = self.heads.replaced(n_classes, keep)


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
        self.reset_parameters()

    def reset_parameters(self):
        # Same default scale as nn.Linear, per expert.
        bound = 1.0 / math.sqrt(self.weight.shape[1])
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, X):
        if X.dim() == 2:
            X = X.unsqueeze(0).expand(self.weight.shape[0], -1, -1)
        return torch.baddbmm(self.bias, X, self.weight)


@functools.lru_cache(maxsize=64)
def _mmoe_layout(gate_slices, head_slices, n_head_rows, device):
    """Index tensors of one MMoE layout, made once per layout and device.

    ``gate_order``: the fused gates' rows expert-major (row ``e * tasks + t``
    is task ``t``'s gate logit for expert ``e``), so the gate logits come out
    as ``(batch, experts, tasks)``: a softmax over experts is then one
    vectorised pass over tasks (a softmax over a last dimension of 2-8 is
    several times slower on CPU). ``head_task``: the task of each fused head
    row (rows no task uses read task 0; their outputs are dropped).
    ``head_rows``: ``(tasks, width)`` rows of each task's head, padded with its
    last row. Made outside inference mode even when a prediction asks first:
    training saves them for its backward pass, which an inference tensor cannot.
    """
    with torch.inference_mode(False):
        n_experts = gate_slices[0][1]
        gate_order = [start + e for e in range(n_experts) for start, _ in gate_slices]
        head_task = [0] * n_head_rows
        for t, (start, n) in enumerate(head_slices):
            head_task[start : start + n] = [t] * n
        width = max(n for _, n in head_slices)
        head_rows = [
            [start + min(i, n - 1) for i in range(width)] for start, n in head_slices
        ]
        return tuple(
            torch.tensor(rows, device=device)
            for rows in (gate_order, head_task, head_rows)
        )


class MMoE(nn.Module):
    """Multi-gate mixture of experts (Ma et al., KDD 2018).

    ``n_experts`` MLP experts share the input; each task mixes their outputs with
    its own softmax gate and reads the mixture with its own linear head. The
    gates are one :class:`FusedHeads` (one matmul for all tasks), and so are the
    heads. Narrow heads (the usual case) run on every expert's output in one
    matmul and are mixed afterwards (the heads are linear, so this equals each
    head on its task's mixture); heads with many classes read each task's
    mixture in one batched matmul. Either way nothing loops over tasks.

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
        self.gates = FusedHeads(in_features, [n_experts] * len(n_classes))
        self.heads = FusedHeads(width, n_classes)

    def features(self, X):
        # All experts' outputs side by side: the representation shared by every task.
        return self.experts(X).permute(1, 0, 2).reshape(X.shape[0], -1)

    def forward(self, X):
        experts = self.experts(X)  # (n_experts, batch, units)
        gate_weight, gate_bias = self.gates.fused_parameters()
        heads = self.heads.fused_parameters()  # (weight, bias)
        gate_order, head_task, head_rows = _mmoe_layout(
            tuple(self.gates.slices),
            tuple(self.heads.slices),
            heads[0].shape[0],
            heads[0].device,
        )
        logits = torch.addmm(gate_bias[gate_order], X, gate_weight[gate_order].t())
        gates = torch.softmax(logits.view(len(X), self.n_experts, -1), dim=1)
        n_rows, n_tasks = heads[0].shape[0], gates.shape[2]
        if n_rows <= 3 * (n_tasks + n_rows / self.n_experts):
            return self._heads_of_experts(experts, gates, heads, head_task)
        return self._heads_of_mixtures(experts, gates, heads, head_rows)

    def _heads_of_experts(self, experts, gates, heads, head_task):
        """Every head on every expert's output, then mixed per head row.

        A task's head is linear, so its output on its mixture is the mixture of
        its outputs on each expert: ``sum_e g_te (W_t h_e) + b_t``. One matmul
        of all experts by all head rows, ``(experts, batch, rows)``, replaces
        the ``(tasks, batch, units)`` mixtures: cheaper for narrow heads, the
        usual case (costs ``experts x rows`` per unit of width, against
        ``tasks x experts + rows``).
        """
        weight, bias = heads
        per_expert = torch.matmul(experts, weight.t())  # (experts, batch, rows)
        mixed = (gates.index_select(2, head_task) * per_expert.transpose(0, 1)).sum(1)
        return self.heads.split(mixed + bias)

    def _heads_of_mixtures(self, experts, gates, heads, head_rows):
        """Each task's mixture of the experts, then task t's head on it, for
        all tasks in one batched matmul (heads with many classes).

        The heads' rows are gathered into a ``(tasks, width, units)`` stack
        (narrower heads padded with repeats of their last row, whose outputs are
        dropped). Heads of one width come back as
        :class:`~sk_mtl.losses.TaskOutputs`, which the loss scores in one op.
        """
        mixed = torch.einsum("bet,ebu->tbu", gates, experts)  # (tasks, batch, units)
        weight, bias = heads
        slices = self.heads.slices
        out = torch.baddbmm(
            bias[head_rows].unsqueeze(1), mixed, weight[head_rows].transpose(1, 2)
        )
        parts = tuple(out[t, :, :n] for t, (_, n) in enumerate(slices))
        if all(n == out.shape[2] for _, n in slices):
            return TaskOutputs(parts, out.transpose(0, 1))
        return parts

    def shared_parameters(self):
        return self.experts.parameters()

    def feature_module(self):
        return _ExpertFeatures(self.experts, self.out_features)

    def replace_input_layer(self, in_features):
        """New first expert layer and gates, reading ``in_features`` inputs."""
        first = self.experts[0]
        self.experts[0] = ExpertLayer(
            self.n_experts, int(in_features), first.weight.shape[2]
        )
        self.gates = FusedHeads(int(in_features), [self.n_experts] * len(self.gates))

    def layer_groups(self):
        return [m for m in self.experts if isinstance(m, ExpertLayer)]

    def replace_heads(self, n_classes, keep=None):
        """One gate and head per entry of ``n_classes`` (see
        :meth:`MultiHeadNetwork.replace_heads`); a kept head keeps its gate."""
        self.heads = self.heads.replaced(n_classes, keep)
        self.gates = self.gates.replaced([self.n_experts] * len(n_classes), keep)


class _ExpertFeatures(nn.Module):
    """The experts of an :class:`MMoE`, side by side (its ``features``)."""

    def __init__(self, experts, out_features):
        super().__init__()
        self.experts = experts
        self.out_features = out_features

    def forward(self, X):
        return self.experts(X).permute(1, 0, 2).reshape(X.shape[0], -1)

    def layer_groups(self):
        return [m for m in self.experts if isinstance(m, ExpertLayer)]


class StackedTrunk(nn.Module):
    """Reused lower layers (``base``) followed by new layers (``top``).

    The trunk of transfer learning. While ``base`` is entirely frozen it runs in
    eval mode (no dropout, fixed normalisation statistics), so its output is a
    fixed function of the input.

    Parameters
    ----------
    base : torch.nn.Module
        Maps the input to features; a dict input (token ids and masks, ...) is
        passed to it as keyword arguments.
    top : torch.nn.Module
        Maps those features to the trunk's output; must expose ``out_features``.

    Examples
    --------
    >>> import torch
    >>> trunk = StackedTrunk(MLP(5, (8,)), MLP(8, (4,)))
    >>> trunk(torch.zeros(3, 5)).shape
    torch.Size([3, 4])
    """

    def __init__(self, base, top):
        super().__init__()
        self.base = base
        self.top = top
        self.out_features = int(top.out_features)

    def base_frozen(self):
        return not any(p.requires_grad for p in self.base.parameters())

    def train(self, mode=True):
        super().train(mode)
        if mode and self.base_frozen():
            self.base.eval()
        return self

    def forward(self, X):
        if self.training:
            # Layers may have been (un)frozen since train() was last called.
            trainable = not self.base_frozen()
            if self.base.training != trainable:
                self.base.train(trainable)
        z = self.base(**X) if isinstance(X, dict) else self.base(X)
        return self.top(z)

    def layer_groups(self):
        return layer_groups(self.base) + layer_groups(self.top)

    def replace_input_layer(self, in_features):
        """Replace the layer of ``base`` that reads the input."""
        _replace_input_layer(self.base, in_features)


class HeadView(nn.Module):
    """The part of a :class:`MultiHeadNetwork` above its trunk's ``base``.

    Reads the base's features and returns one output per task; shares its
    parameters with ``network`` (training one trains the other). Transfer
    learning trains it on features of a frozen base computed once.

    Parameters
    ----------
    network : MultiHeadNetwork
        A network whose trunk is a :class:`StackedTrunk`.
    """

    def __init__(self, network):
        super().__init__()
        self.top = network.trunk.top
        self.heads = network.heads

    def forward(self, z):
        return self.heads(self.top(z))

    def shared_parameters(self):
        return self.top.parameters()


def _replace_input_layer(module, in_features):
    replace = getattr(module, "replace_input_layer", None)
    if not callable(replace):
        raise TypeError(
            f"{type(module).__name__} has no replace_input_layer(): its input layer "
            "cannot be rebuilt for a different number of features."
        )
    replace(in_features)
