"""SetFit-style contrastive tuning of reused layers on pairs of training examples.

SetFit (Tunstall et al. 2022) first tunes a sentence encoder on pairs of labelled
examples, the cosine similarity of their embeddings regressed on 1 (same class) or
0 (other class), as sentence-transformers' ``CosineSimilarityLoss``; a head is then
trained on the tuned embeddings. Here the pairs come from every task: a pair's
target is the fraction of the tasks labelled for both examples in which they share
a class (TREC coarse + fine: 1 same fine class, 1/2 same coarse class only, 0
otherwise), so the tasks never ask for contradictory similarities.

Plain torch; :class:`~sk_mtl.TransferClassifier` runs it as its first phase.
"""

import math
import time

import numpy as np
import torch
from torch.nn import functional as F

__all__ = ["sample_pairs", "contrastive_tune"]

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


def _warmup_linear(n_steps, warmup=0.1):
    """Linear warm-up over ``warmup`` of the steps, then linear decay to 0."""
    n_warm = max(1, math.ceil(warmup * n_steps))

    def factor(step):
        if step < n_warm:
            return (step + 1) / n_warm
        return max(0.0, (n_steps - step) / max(1, n_steps - n_warm))

    return factor


def contrastive_tune(
    base, model_input, pairs, *, epochs, batch_size, lr, weight_decay, device, seed
):
    """Tune every parameter of ``base`` on ``pairs``; returns one dict per epoch.

    ``model_input(rows)`` makes ``base``'s input for those rows (a tensor or a dict
    of tensors). Each batch embeds its distinct rows once (an example in several
    pairs costs one forward pass). AdamW with a linear warm-up over 10 % of the
    steps then linear decay, as sentence-transformers' and SetFit's trainers. The
    parameters' ``requires_grad`` flags are restored afterwards.
    """
    a, b, target, weight = (torch.as_tensor(v) for v in pairs)
    params = list(base.parameters())
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(True)
    base.to(device).train()
    n_steps = epochs * math.ceil(len(a) / batch_size)
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _warmup_linear(n_steps))
    generator = torch.Generator().manual_seed(seed)
    history = []
    try:
        for epoch in range(1, epochs + 1):
            start, total = time.perf_counter(), 0.0
            perm = torch.randperm(len(a), generator=generator)
            for at in range(0, len(a), batch_size):
                idx = perm[at : at + batch_size]
                cos = _pair_cosine(base, model_input, a[idx], b[idx], device)
                errors = (cos - target[idx].to(device)) ** 2
                loss = (weight[idx].to(device) * errors).mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                total += loss.item() * len(idx)
            history.append(
                {
                    "epoch": epoch,
                    "train_loss": total / len(a),
                    "n_pairs": len(a),
                    "dur": time.perf_counter() - start,
                }
            )
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)
    return history


def _pair_cosine(base, model_input, a, b, device):
    """Cosine similarity of each pair's embeddings, the distinct rows run once."""
    rows, inverse = torch.unique(torch.cat([a, b]), return_inverse=True)
    X = model_input(rows.numpy())
    if isinstance(X, dict):
        z = base(**{k: v.to(device) for k, v in X.items()})
    else:
        z = base(X.to(device))
    return F.cosine_similarity(z[inverse[: len(a)]], z[inverse[len(a) :]])
