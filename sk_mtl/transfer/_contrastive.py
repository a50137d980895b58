"""SetFit-style contrastive tuning of reused layers on pairs of training examples.

SetFit (Tunstall et al. 2022) first tunes a sentence encoder on pairs of labelled
examples, the cosine similarity of their embeddings regressed on 1 (same class) or
0 (other class), as sentence-transformers' ``CosineSimilarityLoss``; a head is then
trained on the tuned embeddings. Here the pairs come from every task: a pair's
target is the fraction of the tasks labelled for both examples in which they share
a class (TREC coarse + fine: 1 same fine class, 1/2 same coarse class only, 0
otherwise), so the tasks never ask for contradictory similarities.

:class:`~sk_mtl.TransferClassifier` runs it as its first training phase, a
:class:`~sk_mtl._engine._phases.TrainingPhase` of the engine like the others: a
:class:`~sk_mtl._engine._net.MultiTaskNet` whose rows are pairs
(:class:`PairInputs`), whose module gives each pair's cosine (:class:`PairCosine`)
and whose criterion regresses it on the target (:class:`CosinePairLoss`), so the
divergence guard, the user's callbacks, ``verbose`` output, Ctrl-C handling and the
history are those of every phase.
"""

import math

import numpy as np
import torch
from skorch.callbacks import LRScheduler
from torch import nn
from torch.nn import functional as F

from .._engine._batches import TensorBatchDataset, take_rows
from .._engine._phases import TrainingPhase
from ..weighting import EqualWeighting

__all__ = [
    "sample_pairs",
    "contrastive_phase",
    "pair_net_options",
    "contrastive_history",
    "PairCosine",
    "CosinePairLoss",
]

# SetFit's default num_iterations: each labelled example anchors this many
# same-class and this many other-class pairs.
PAIRS_PER_EXAMPLE = 40


def sample_pairs(codes, labelled, weights, n_pairs, rng):
    """Pairs of rows ``(a, b, target, weight)``, half same-class, half other-class.

    Parameters
    ----------
    codes, labelled : ndarray of shape (n, n_tasks)
        Class codes and which entries are labelled.
    weights : ndarray of shape (n,) or (n, n_tasks)
        Sample weights, or per-entry weights (sample times class weight); a pair
        weighs the product of its rows' weights, averaged over the tasks labelled
        for both and scaled to mean 1. Entries of weight 0 are never paired.
    n_pairs : int or None
        Number of pairs; None: ``PAIRS_PER_EXAMPLE`` per labelled entry.
    rng : numpy.random.Generator

    Returns
    -------
    a, b : ndarray of int
        Row positions of the two sides.
    target, weight : ndarray of float32
        Target cosine similarity and weight of each pair.
    """
    weights = np.asarray(weights, dtype=float)
    weights = np.broadcast_to(weights.reshape(len(codes), -1), codes.shape)
    usable = labelled & (weights > 0)
    counts = usable.sum(axis=0)
    if n_pairs is None:
        n_pairs = PAIRS_PER_EXAMPLE * int(counts.sum())
    tasks = np.flatnonzero(counts >= 2)
    if len(tasks) == 0 or n_pairs < 1:
        raise ValueError(
            "The contrastive phase needs pairs: a task with at least 2 labelled "
            f"training examples of positive weight and contrastive_pairs >= 1 (got "
            f"{n_pairs})."
        )
    share = np.bincount(np.arange(n_pairs) % len(tasks), minlength=len(tasks))
    a, b = [], []
    for task, k in zip(tasks, share):
        rows = np.flatnonzero(usable[:, task])
        ta, tb = _task_pairs(rows, codes[rows, task], k, rng)
        a.append(ta)
        b.append(tb)
    a, b = np.concatenate(a), np.concatenate(b)
    both = labelled[a] & labelled[b]
    same = (codes[a] == codes[b]) & both
    target = same.sum(axis=1) / both.sum(axis=1)
    weight = (weights[a] * weights[b] * both).sum(axis=1) / both.sum(axis=1)
    return a, b, target.astype(np.float32), (weight / weight.mean()).astype(np.float32)


def _task_pairs(rows, classes, k, rng):
    """``k`` pairs among ``rows``: anchors cycle through the rows in random order,
    each with a same-class partner (even pairs) or an other-class one (odd pairs)."""
    anchors = np.concatenate(
        [rng.permutation(len(rows)) for _ in range(-(-k // len(rows)))]
    )[:k]
    members = {c: np.flatnonzero(classes == c) for c in np.unique(classes)}
    others = {c: np.flatnonzero(classes != c) for c in members}
    partners = np.empty(k, dtype=np.intp)
    for p, i in enumerate(anchors):
        c = classes[i]
        same = members[c][members[c] != i]
        pool = same if p % 2 == 0 and len(same) else others[c]
        partners[p] = pool[rng.integers(len(pool))]
    return rows[anchors], rows[partners]


class WarmupLinear:
    """Learning-rate factor of step ``step``: linear warm-up over ``warmup`` of the
    ``n_steps`` steps, then linear decay to 0 (sentence-transformers' and SetFit's
    schedule; picklable, unlike a closure)."""

    def __init__(self, n_steps, warmup=0.1):
        self.n_steps = n_steps
        self.n_warm = max(1, math.ceil(warmup * n_steps))

    def __call__(self, step):
        if step < self.n_warm:
            return (step + 1) / self.n_warm
        return max(0.0, (self.n_steps - step) / max(1, self.n_steps - self.n_warm))


class PairInputs:
    """The contrastive phase's model input: pairs of rows, indexed a batch at a time.

    ``inputs`` is the model input of the training rows (a tensor or a dict of
    tensors, tokenised once); ``a`` and ``b`` are row positions of the pairs' two
    sides. A batch of pairs gives ``{"inputs": its distinct rows, "inverse": where
    each side is among them}``: an example in several pairs costs one forward pass.
    """

    def __init__(self, inputs, a, b):
        self.inputs = inputs
        self.a = torch.as_tensor(a)
        self.b = torch.as_tensor(b)

    def __len__(self):
        return len(self.a)

    def __getitem__(self, pairs):
        a, b = self.a[pairs], self.b[pairs]
        rows, inverse = torch.unique(torch.cat([a, b]), return_inverse=True)
        return {"inputs": take_rows(self.inputs, rows), "inverse": inverse}

    __call__ = __getitem__  # TrainingPhase.model_input


class PairCosine(nn.Module):
    """Cosine similarity of the two sides' embeddings by ``base``, one per pair."""

    def __init__(self, base):
        super().__init__()
        self.base = base

    def forward(self, inputs, inverse):
        z = self.base(**inputs) if isinstance(inputs, dict) else self.base(inputs)
        n = len(inverse) // 2
        return F.cosine_similarity(z[inverse[:n]], z[inverse[n:]])

    def shared_parameters(self):
        """Every parameter: a pair's two sides share the whole network."""
        return self.parameters()


class CosinePairLoss(nn.Module):
    """sentence-transformers' ``CosineSimilarityLoss``, weighted: the mean of
    ``weight * (cosine - target) ** 2`` over a batch of pairs.

    The criterion of the contrastive phase's :class:`MultiTaskNet`: one "task"
    whose targets are the pairs' similarities, summed by an equal weighting.
    """

    def __init__(self):
        super().__init__()
        self.weighting = EqualWeighting(1)

    def task_losses(self, cosine, target, weight):
        errors = (cosine - target) ** 2
        return [(errors if weight is None else weight * errors).mean()]


def pair_optimizer(params, lr, weight_decay=0.0, **head_options):
    """SetFit's optimizer of the contrastive phase: AdamW at ``lr``.

    The options of the estimator's own optimizer (``head_options``: e.g. SGD's
    momentum) are for the head and are not passed on.
    """
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def contrastive_phase(base, inputs, pairs, *, epochs, batch_size):
    """The :class:`TrainingPhase` that tunes ``base`` on ``pairs``, and its dataset.

    ``inputs``: ``base``'s input for the rows that ``pairs`` index. The phase's
    callbacks step the warm-up-then-linear-decay schedule after every batch; the
    estimator's net (:meth:`TransferClassifier._make_net`) adds the engine's
    divergence guard, user callbacks and progress output, and takes the pairs'
    loss and optimizer from :func:`pair_net_options`.
    """
    a, b, target, weight = (torch.as_tensor(v) for v in pairs)
    model_input = PairInputs(inputs, a, b)
    n_steps = epochs * math.ceil(len(a) / batch_size)
    schedule = LRScheduler(
        policy=torch.optim.lr_scheduler.LambdaLR,
        lr_lambda=WarmupLinear(n_steps),
        step_every="batch",
    )
    phase = TrainingPhase(
        "contrastive",
        PairCosine(base),
        model_input,
        epochs,
        callbacks=[("contrastive_schedule", schedule)],
    )
    return phase, TensorBatchDataset(model_input, target, weight)


def pair_net_options(lr):
    """What the contrastive phase's net changes in the estimator's net: the pairs'
    loss, AdamW at ``lr`` (the reused layers' rate), one loss column."""
    return {
        "criterion": CosinePairLoss,
        "optimizer": pair_optimizer,
        "lr": lr,
        "task_names": ["contrastive"],
    }


def contrastive_history(history, n_pairs):
    """``contrastive_history_``: one dict per epoch of the phase's skorch history."""
    return [
        {
            "epoch": row["epoch"],
            "train_loss": float(row["train_loss"]),
            "n_pairs": n_pairs,
            "dur": float(row["dur"]),
        }
        for row in history
    ]
