"""All tasks' linear output layers as one weight matrix (plain PyTorch).

:class:`FusedHeads` replaces a ``ModuleList`` of one ``nn.Linear`` per task: the
forward pass is one matmul for every task, and each task's logits are a slice (a
view) of its output, so a batch costs about the same with twelve tasks as with
one. Re-exported by :mod:`sk_mtl.modules`.
"""

import itertools
import math

import torch
from torch import nn
from torch.nn import functional as F

from .losses import TaskOutputs

__all__ = ["FusedHeads", "HeadSlice"]


def _new_head(in_features, n, n_members):
    """Weight and bias of one head, drawn as ``nn.Linear`` (or tabm's
    ``LinearEnsemble``, per member) draws them: same distribution, same RNG order."""
    if n_members is None:
        weight = torch.empty(n, in_features)
        nn.init.kaiming_uniform_(weight, a=math.sqrt(5))  # nn.Linear's rule
        bias = torch.empty(n)
    else:
        weight = torch.empty(n_members, in_features, n)
        bound = in_features**-0.5
        nn.init.uniform_(weight, -bound, bound)  # LinearEnsemble's rule
        bias = torch.empty(n_members, n)
    bound = 1.0 / math.sqrt(in_features) if in_features > 0 else 0.0
    nn.init.uniform_(bias, -bound, bound)
    return weight, bias


class FusedHeads(nn.Module):
    """One linear output layer per task, computed as one matmul.

    The heads' weights are rows of one matrix (``weights[0]``), so the forward
    pass is a single ``F.linear`` and each task's logits are a column slice of
    its output. Each head is initialised exactly as an ``nn.Linear`` of its
    size would be (same distribution, same random draws in task order).

    After :meth:`replaced`, the matrix may be split in *blocks*: a block of the
    old heads, kept as the same parameter object (so an optimizer group or a
    frozen flag set on it still applies), and a block of new heads. The forward
    pass concatenates the blocks and is still one matmul.

    Parameters
    ----------
    in_features : int
        Width of the representation every head reads.
    n_outputs : sequence of int
        Number of outputs of each task's head.
    n_members : int, optional
        For ensembles (TabM): one head per task *and* member. The input is then
        ``(batch, n_members, in_features)`` and each output
        ``(batch, n_members, n_outputs[t])``; weights are ``(n_members,
        in_features, rows)`` as in tabm's ``LinearEnsemble``.

    Attributes
    ----------
    layout : list of tuple
        ``(block, first_row, n_outputs)`` of each task.
    slices : list of tuple
        ``(start, n_outputs)`` of each task's columns in :meth:`fused`'s output.

    Examples
    --------
    >>> import torch
    >>> heads = FusedHeads(4, [2, 3])
    >>> [t.shape for t in heads(torch.zeros(5, 4))]
    [torch.Size([5, 2]), torch.Size([5, 3])]
    >>> heads.weights[0].shape, len(heads), heads[1].out_features
    (torch.Size([5, 4]), 2, 3)
    """

    def __init__(self, in_features, n_outputs, n_members=None):
        super().__init__()
        self.in_features = int(in_features)
        self.n_members = None if n_members is None else int(n_members)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        self._block_sizes = []
        self.layout = []
        sizes = [int(n) for n in n_outputs]
        if sizes:
            self._add_block(sizes)
            rows = [0, *itertools.accumulate(sizes)]
            self.layout = [(0, r, n) for r, n in zip(rows, sizes)]
        self._update_offsets()

    # -- building -------------------------------------------------------------

    def _add_block(self, sizes, like=None):
        """A new block of heads of ``sizes`` outputs, on ``like``'s device and dtype."""
        k = self.n_members
        rows = sum(sizes)
        shape = (rows, self.in_features) if k is None else (k, self.in_features, rows)
        new = {} if like is None else {"device": like.device, "dtype": like.dtype}
        self.weights.append(nn.Parameter(torch.empty(shape, **new)))
        bias_shape = rows if k is None else (k, rows)
        self.biases.append(nn.Parameter(torch.empty(bias_shape, **new)))
        self._block_sizes.append(list(sizes))
        self._init_block(len(self.weights) - 1)
        return len(self.weights) - 1

    @torch.no_grad()
    def _init_block(self, b):
        row = 0
        for n in self._block_sizes[b]:
            w, bias = _new_head(self.in_features, n, self.n_members)
            self._rows(self.weights[b], row, n).copy_(w)
            self._rows(self.biases[b], row, n).copy_(bias)
            row += n

    def reset_parameters(self):
        """Draw every head's weights again (``nn.Linear``'s initialisation)."""
        for b in range(len(self.weights)):
            self._init_block(b)

    def _rows(self, tensor, row, n):
        """The rows (output units) ``row:row+n`` of a block's weight or bias."""
        return tensor.narrow(0 if self.n_members is None else -1, row, n)

    def _update_offsets(self):
        starts = [0, *itertools.accumulate(sum(s) for s in self._block_sizes)]
        self.slices = [(starts[b] + row, n) for b, row, n in self.layout]
        self._whole = len(self.weights) == 1 and self.slices == [(0, starts[-1])]
        # Heads of one width side by side, in task order: the fused output is
        # also a (..., n_tasks, width) view, which the loss scores in one op.
        widths = {n for _, n in self.slices}
        in_order = self.slices == [(j * n, n) for j, (_, n) in enumerate(self.slices)]
        self._stackable = len(self.slices) > 1 and len(widths) == 1 and in_order

    def replaced(self, n_outputs, keep=None):
        """New heads for the tasks ``n_outputs``; ``keep[j]`` reuses old head ``j``.

        ``keep[j]`` is the index of a head of this module to reuse for task ``j``
        (it must have ``n_outputs[j]`` outputs), or None for a new head. Kept
        heads keep their exact weights *and their parameter objects* (the blocks
        they live in are carried over whole; rows of heads no task keeps stay in
        the block, unused); the new heads form one new block.
        """
        sizes = [int(n) for n in n_outputs]
        keep = [None] * len(sizes) if keep is None else list(keep)
        if len(keep) != len(sizes):
            raise ValueError(
                "keep must give one entry (an old index or None) per task."
            )
        for n, k in zip(sizes, keep):
            if k is None:
                continue
            if not 0 <= k < len(self.layout):
                raise ValueError(
                    f"keep refers to head {k}, but there are {len(self.layout)} heads."
                )
            if self.layout[k][2] != n:
                raise ValueError(
                    f"Head {k} has {self.layout[k][2]} outputs; it cannot be kept for "
                    f"a task with {n}."
                )
        new = FusedHeads(self.in_features, [], self.n_members)
        used = sorted({self.layout[k][0] for k in keep if k is not None})
        for b in used:
            new.weights.append(self.weights[b])
            new.biases.append(self.biases[b])
            new._block_sizes.append(list(self._block_sizes[b]))
        fresh = [n for n, k in zip(sizes, keep) if k is None]
        like = self.weights[0] if len(self.weights) else None
        block = new._add_block(fresh, like) if fresh else None
        row = 0
        for n, k in zip(sizes, keep):
            if k is None:
                new.layout.append((block, row, n))
                row += n
            else:
                old_block, old_row, _ = self.layout[k]
                new.layout.append((used.index(old_block), old_row, n))
        new._update_offsets()
        return new

    @property
    def n_rows(self):
        """Outputs of the fused matmul (every block's rows, per member)."""
        return sum(sum(s) for s in self._block_sizes)

    # -- layout (for saving) --------------------------------------------------

    def layout_config(self):
        """JSON-able block sizes and layout (what :meth:`from_layout` reads)."""
        return {
            "blocks": [list(s) for s in self._block_sizes],
            "layout": [list(t) for t in self.layout],
        }

    @classmethod
    def from_layout(cls, in_features, config, n_members=None):
        """Heads of the block structure :meth:`layout_config` described."""
        heads = cls(in_features, [], n_members)
        for sizes in config["blocks"]:
            heads._add_block([int(n) for n in sizes])
        heads.layout = [tuple(int(v) for v in t) for t in config["layout"]]
        rows = [sum(s) for s in heads._block_sizes]
        for b, row, n in heads.layout:
            if not (0 <= b < len(rows) and 0 <= row and row + n <= rows[b]):
                raise ValueError(f"head layout {config!r} does not fit its blocks.")
        heads._update_offsets()
        return heads

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Files written before the heads were fused hold one nn.Linear (or tabm
        # LinearEnsemble) per task: "<prefix>0.weight", "<prefix>1.weight", ...
        old = prefix + "0.weight"
        if prefix + "weights.0" not in state_dict and old in state_dict:
            n = len(self.layout)
            dim = 0 if self.n_members is None else -1
            for old_name, name in (("weight", "weights"), ("bias", "biases")):
                parts = [state_dict.pop(f"{prefix}{t}.{old_name}") for t in range(n)]
                state_dict[f"{prefix}{name}.0"] = torch.cat(parts, dim=dim)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # -- forward --------------------------------------------------------------

    def fused_parameters(self):
        """All blocks as one ``(weight, bias)`` pair (one tensor each)."""
        # The lists' parameter dicts: indexing a ParameterList costs a few
        # microseconds, which a served row pays on every call.
        weights, biases = self.weights._parameters, self.biases._parameters
        if len(weights) == 1:
            return weights["0"], biases["0"]
        dim = 0 if self.n_members is None else -1
        return torch.cat(list(weights.values()), dim), torch.cat(
            list(biases.values()), -1
        )

    def fused(self, z):
        """Every head's outputs side by side, ``(..., rows)``: one matmul."""
        weight, bias = self.fused_parameters()
        if self.n_members is None:
            return F.linear(z, weight, bias)
        # (batch, k, in) -> (k, batch, in) @ (k, in, rows) -> (batch, k, rows)
        out = torch.baddbmm(bias.unsqueeze(1), z.transpose(0, 1), weight)
        return out.transpose(0, 1)

    def split(self, out):
        """Each task's slice (a view) of a :meth:`fused` output.

        Heads of one width also pass the whole output as ``(..., n_tasks,
        width)``: a :class:`~sk_mtl.losses.TaskOutputs`."""
        if self._whole:
            return (out,)
        if not getattr(self, "_stackable", False):  # absent in older pickles
            return tuple(out.narrow(-1, start, n) for start, n in self.slices)
        # Heads of one width in task order: the tasks' slices in one op.
        stacked = out.unflatten(-1, (len(self.slices), self.slices[0][1]))
        return TaskOutputs(stacked.unbind(-2), stacked)

    def forward(self, z):
        return self.split(self.fused(z))

    # -- per-head access ------------------------------------------------------

    def __len__(self):
        return len(self.layout)

    def __getitem__(self, j):
        return HeadSlice(self, j)

    def __iter__(self):
        return (HeadSlice(self, j) for j in range(len(self)))

    def __repr__(self):
        # The blocks (ParameterLists) would print one line per parameter.
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self):
        members = "" if self.n_members is None else f", n_members={self.n_members}"
        sizes = [n for _, _, n in self.layout]
        return f"in_features={self.in_features}, n_outputs={sizes}{members}"


class HeadSlice:
    """Task ``j``'s head inside a :class:`FusedHeads`: views of its weights.

    Reads like the ``nn.Linear`` it replaces (``in_features``, ``out_features``,
    ``weight``, ``bias``, callable); writing to ``weight`` writes to the fused
    matrix.
    """

    def __init__(self, heads, j):
        self.heads = heads
        self.block, self.row, self.out_features = heads.layout[j]
        self.in_features = heads.in_features

    @property
    def weight(self):
        w = self.heads.weights[self.block]
        return self.heads._rows(w, self.row, self.out_features)

    @property
    def bias(self):
        b = self.heads.biases[self.block]
        return self.heads._rows(b, self.row, self.out_features)

    def __call__(self, z):
        if self.heads.n_members is None:
            return F.linear(z, self.weight, self.bias)
        return (z.transpose(0, 1) @ self.weight).transpose(0, 1) + self.bias
