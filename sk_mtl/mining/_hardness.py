"""The math of hard example mining, as pure functions on numpy arrays.

Following cleanlab's split of the math from the estimator, these functions hold
no state: :class:`~sk_mtl.HardExampleMiningClassifier` fits the fold models
(:mod:`sk_mtl.mining._out_of_fold`) and passes their outputs here. Conventions shared
by all of them:

- ``codes`` : int array of shape (n_samples, n_tasks), the index of each label
  in its task's classes, -1 for a missing label;
- ``proba`` : list with one array of shape (n_samples, n_classes) per task, the
  out-of-fold class probabilities.
"""

# Authors: The sk_mtl developers
# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from scipy.special import expit, softmax
from scipy.stats import rankdata

__all__ = [
    "align_classes",
    "class_thresholds",
    "decision_to_proba",
    "hardness_scores",
    "keep_every_class",
    "label_issues",
    "mine_weights",
    "model_proba",
    "noise_multipliers",
    "rank_multipliers",
    "task_hardness",
]

# Probabilities are clipped here before taking logs: the loss of a confidently
# wrong prediction is at most -log(1e-12) ~= 27.6.
EPS = 1e-12


def decision_to_proba(decision):
    """Class probabilities from ``decision_function`` scores.

    Parameters
    ----------
    decision : array-like of shape (n_samples,) or (n_samples, n_classes)
        Binary (1-D) or multiclass decision scores.

    Returns
    -------
    proba : ndarray of shape (n_samples, n_classes)
        Sigmoid of binary scores, softmax of multiclass ones: a monotone
        confidence, all that the hardness needs.
    """
    decision = np.asarray(decision, dtype=float)
    if decision.ndim == 1:
        p1 = expit(decision)
        return np.column_stack([1.0 - p1, p1])
    return softmax(decision, axis=1)


def align_classes(scores, seen_classes, classes):
    """Put one model's per-task scores in the columns of each task's classes.

    Parameters
    ----------
    scores : list of ndarray of shape (n_rows, n_seen)
        Class probabilities of a fitted model, one array per task.
    seen_classes : list of ndarray of shape (n_seen,)
        The classes each of these columns stands for (the model's ``classes_``).
    classes : list of ndarray of shape (n_classes,)
        Sorted classes of each task in the whole training set.

    Returns
    -------
    proba : list of ndarray of shape (n_rows, n_classes)
        Scores per task; a class the model did not see gets probability 0.
    """
    out = []
    for t, (score, task_classes, seen) in enumerate(zip(scores, classes, seen_classes)):
        score = np.asarray(score, dtype=float)
        seen = np.asarray(seen)
        cols = np.searchsorted(task_classes, seen)
        cols = np.clip(cols, 0, len(task_classes) - 1)
        if score.shape[1] != len(seen) or np.any(task_classes[cols] != seen):
            raise ValueError(
                f"Task {t}: the inner estimator's classes {seen.tolist()} do not "
                f"match the labels of y {task_classes.tolist()}."
            )
        full = np.zeros((score.shape[0], len(task_classes)))
        full[:, cols] = score
        out.append(full)
    return out


def model_proba(estimator, X, classes, present):
    """Per-task class probabilities of a fitted (fold) model, in ``classes`` order.

    Parameters
    ----------
    estimator : fitted estimator
        Scored with ``predict_proba``, else ``decision_function`` (see
        :func:`decision_to_proba`).
    X : array-like
        The rows to score.
    classes : list of ndarray of shape (n_classes,)
        Sorted classes of each task.
    present : list of ndarray of bool of shape (n_classes,)
        The classes of each task the model was trained on: its classes when it
        has no ``classes_``.

    Returns
    -------
    proba : list of ndarray of shape (n_rows, n_classes)
        See :func:`align_classes`.
    """
    if hasattr(estimator, "predict_proba"):
        scores = estimator.predict_proba(X)
    else:
        scores = decision_to_proba(estimator.decision_function(X))
    scores = scores if isinstance(scores, list) else [scores]
    seen = getattr(estimator, "classes_", None)
    if seen is None:
        seen = [task_classes[p] for task_classes, p in zip(classes, present)]
    elif len(classes) == 1 and not isinstance(seen, list):
        # a single-output estimator; a multi-output one fitted on a (n, 1) y
        # already gives a list of one array
        seen = [seen]
    if len(scores) != len(classes) or len(seen) != len(classes):
        raise ValueError(
            f"The inner estimator {type(estimator).__name__} returned scores for "
            f"{len(scores)} outputs, but y has {len(classes)}."
        )
    return align_classes(scores, seen, classes)


def task_hardness(proba, y, kind):
    """Hardness of labelled examples of one task.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        Class probabilities of the examples.
    y : ndarray of int of shape (n_samples,)
        Index of each example's label.
    kind : {"loss", "margin"}
        ``"loss"``: ``-log p[y]``; ``"margin"``: ``(1 - (p[y] - max_{c != y}
        p[c])) / 2``, above 0.5 for a misclassified example.

    Returns
    -------
    hardness : ndarray of shape (n_samples,)
    """
    rows = np.arange(len(y))
    own = proba[rows, y]
    if kind == "loss":
        return -np.log(np.clip(own, EPS, 1.0))
    others = proba.copy()
    others[rows, y] = -np.inf
    return (1.0 - (own - others.max(axis=1))) / 2.0


def hardness_scores(proba, codes, kind):
    """Hardness of every example, summed over its labelled tasks.

    Parameters
    ----------
    proba : list of ndarray of shape (n_samples, n_classes)
    codes : ndarray of int of shape (n_samples, n_tasks)
    kind : {"loss", "margin"}
        See :func:`task_hardness`.

    Returns
    -------
    hardness : ndarray of shape (n_samples,)
        NaN for an example without any label.
    """
    hardness = np.zeros(codes.shape[0])
    labelled_any = np.zeros(codes.shape[0], dtype=bool)
    for t, p in enumerate(proba):
        labelled = np.flatnonzero(codes[:, t] >= 0)
        hardness[labelled] += task_hardness(p[labelled], codes[labelled, t], kind)
        labelled_any[labelled] = True
    hardness[~labelled_any] = np.nan
    return hardness


def class_thresholds(proba, y, weight):
    """Confident-learning threshold of each class of one task.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        Class probabilities of labelled examples.
    y : ndarray of int of shape (n_samples,)
        Index of each example's label.
    weight : ndarray of shape (n_samples,)
        Sample weights.

    Returns
    -------
    thresholds : ndarray of shape (n_classes,)
        Weighted mean probability of each class among the examples labelled
        with it (its mean self-confidence); ``inf`` for a class without weight.
    """
    thresholds = np.full(proba.shape[1], np.inf)
    for c in range(proba.shape[1]):
        members = y == c
        w = weight[members]
        if w.sum() > 0:
            thresholds[c] = np.average(proba[members, c], weights=w)
    return thresholds


def label_issues(proba, codes, weight):
    """Label-issue candidates by confident learning (Northcutt et al. 2021).

    An example is flagged in a task when its probability of another class
    reaches that class's threshold while its probability of its own class stays
    below its class's threshold (see :func:`class_thresholds`).

    Parameters
    ----------
    proba : list of ndarray of shape (n_samples, n_classes)
    codes : ndarray of int of shape (n_samples, n_tasks)
    weight : ndarray of shape (n_samples,)

    Returns
    -------
    flags : ndarray of bool of shape (n_samples, n_tasks)
    ratio : ndarray of shape (n_samples, n_tasks)
        ``p[y] / threshold[y]`` (< 1) where flagged, 1 elsewhere.
    thresholds : list of ndarray of shape (n_classes,)
        Per-task class thresholds.
    """
    flags = np.zeros(codes.shape, dtype=bool)
    ratio = np.ones(codes.shape)
    thresholds = []
    for t, p in enumerate(proba):
        labelled = np.flatnonzero(codes[:, t] >= 0)
        y, p = codes[labelled, t], p[labelled]
        own = p[np.arange(len(y)), y]
        thr = class_thresholds(p, y, weight[labelled])
        above = p >= thr
        above[np.arange(len(y)), y] = False
        flagged = above.any(axis=1) & (own < thr[y])
        flags[labelled, t] = flagged
        ratio[labelled[flagged], t] = own[flagged] / thr[y[flagged]]
        thresholds.append(thr)
    return flags, ratio, thresholds


def rank_multipliers(hardness, weight, max_weight, hard_fraction):
    """Weight multipliers of one group of examples from their hardness ranks.

    Parameters
    ----------
    hardness : ndarray of shape (n_samples,)
    weight : ndarray of shape (n_samples,)
        Sample weights (all positive).
    max_weight : float
        Multiplier of the hardest example, before rescaling.
    hard_fraction : float in (0, 1]
        Fraction of the examples counted as hard: their multiplier grows
        linearly with their rank from 1 to ``max_weight``; the others get 1.

    Returns
    -------
    multiplier : ndarray of shape (n_samples,)
        Rescaled so that the ``weight``-weighted mean multiplier is 1.
    """
    rank = (rankdata(hardness) - 0.5) / len(hardness)
    start = 1.0 - hard_fraction
    level = np.clip((rank - start) / hard_fraction, 0.0, 1.0)
    multiplier = 1.0 + (max_weight - 1.0) * level
    return multiplier * weight.sum() / (weight * multiplier).sum()


def noise_multipliers(multiplier, noisy, ratio, noise_handling):
    """Replace the multipliers of label-issue candidates.

    Parameters
    ----------
    multiplier : ndarray of shape (n_samples,)
    noisy : ndarray of bool of shape (n_samples,)
        The candidates.
    ratio : ndarray of shape (n_samples, n_tasks)
        ``p[y] / threshold[y]`` per task (see :func:`label_issues`).
    noise_handling : {"downweight", "drop"} or None
        ``"downweight"``: the product of the ratios over the tasks; ``"drop"``:
        0; ``None``: unchanged.

    Returns
    -------
    multiplier : ndarray of shape (n_samples,)
    """
    multiplier = multiplier.copy()
    if noise_handling == "downweight":
        multiplier[noisy] = ratio.prod(axis=1)[noisy]
    elif noise_handling == "drop":
        multiplier[noisy] = 0.0
    return multiplier


def keep_every_class(multiplier, noisy, codes, weight):
    """Give the candidates of a class mining emptied their multiplier 1 back.

    Parameters
    ----------
    multiplier : ndarray of shape (n_samples,)
    noisy : ndarray of bool of shape (n_samples,)
    codes : ndarray of int of shape (n_samples, n_tasks)
    weight : ndarray of shape (n_samples,)
        Sample weights before mining.

    Returns
    -------
    multiplier : ndarray of shape (n_samples,)
    restored : list of (int, int)
        ``(task, class index)`` of each class whose examples with a positive
        ``weight`` all got multiplier 0, in the order they were restored.
    """
    multiplier = multiplier.copy()
    restored = []
    for t in range(codes.shape[1]):
        for c in np.unique(codes[codes[:, t] >= 0, t]):
            members = codes[:, t] == c
            if (weight[members] > 0).any() and not (
                weight[members] * multiplier[members] > 0
            ).any():
                multiplier[members & noisy] = 1.0
                restored.append((t, int(c)))
    return multiplier, restored


def mine_weights(
    hardness, flags, ratio, codes, weight, *, max_weight, hard_fraction, noise_handling
):
    """Weight multipliers of the next round from one round's scores.

    Parameters
    ----------
    hardness : ndarray of shape (n_samples,)
        See :func:`hardness_scores`.
    flags, ratio : ndarray of shape (n_samples, n_tasks)
        See :func:`label_issues`.
    codes : ndarray of int of shape (n_samples, n_tasks)
    weight : ndarray of shape (n_samples,)
        Sample weights before mining.
    max_weight, hard_fraction : float
        See :func:`rank_multipliers`; ranked within each class for a single
        task, over all examples for several.
    noise_handling : {"downweight", "drop"} or None
        See :func:`noise_multipliers`; with ``None`` the candidates are ranked
        like any other example.

    Returns
    -------
    multiplier : ndarray of shape (n_samples,)
    restored : list of (int, int)
        See :func:`keep_every_class`.
    """
    noisy = flags.any(axis=1) & (noise_handling is not None)
    eligible = (weight > 0) & ~np.isnan(hardness) & ~noisy
    groups = codes[:, 0] if codes.shape[1] == 1 else np.zeros(len(hardness), int)
    multiplier = np.ones(len(hardness))
    for g in np.unique(groups[eligible]):
        rows = np.flatnonzero(eligible & (groups == g))
        multiplier[rows] = rank_multipliers(
            hardness[rows], weight[rows], max_weight, hard_fraction
        )
    multiplier = noise_multipliers(multiplier, noisy, ratio, noise_handling)
    return keep_every_class(multiplier, noisy, codes, weight)
