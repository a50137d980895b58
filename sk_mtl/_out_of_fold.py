"""Fitting clones of an estimator on folds and scoring the held-out rows.

The out-of-fold machinery of :class:`~sk_mtl.HardExampleMiningClassifier`:
encode ``y`` as class codes, split the examples that have a weight into folds,
fit a weighted clone of the inner estimator on each fold's complement, score
the held-out rows and put the scores together. The math that turns the scores
into weights lives in :mod:`sk_mtl._mining`; ``codes`` and ``proba`` follow its
conventions.
"""

# Authors: The sk_mtl developers
# SPDX-License-Identifier: BSD-3-Clause

from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold, check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    _routing_enabled,
    get_routing_for_object,
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    _check_method_params,
    column_or_1d,
    has_fit_parameter,
)

from ._mining import model_proba
from .utils import labelled_values, task_columns

__all__ = [
    "accepts_sample_weight",
    "assemble_out_of_fold",
    "encode_targets",
    "fit_and_score_fold",
    "fit_weighted",
    "fold_splits",
    "out_of_fold_proba",
    "seed_estimator",
]


def encode_targets(y, estimator):
    """Validate ``y`` and encode it as class codes, one column per task.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_tasks)
        Labels; a 2-D ``y`` may mark missing labels with NaN, None or ``pd.NA``.
    estimator : estimator object
        The inner estimator: a ``(n_samples, 1)`` ``y`` is raveled unless it is
        multi-output.

    Returns
    -------
    y : ndarray
        ``y`` for the inner estimator (1-D unless it is multi-output).
    codes : ndarray of int of shape (n_samples, n_tasks)
        Index of each label in its task's classes, -1 for a missing label.
    classes : list of ndarray
        Sorted classes of each task.
    """
    y_array = np.asarray(y)
    if (
        y_array.ndim == 2
        and y_array.shape[1] == 1
        and not get_tags(estimator).target_tags.multi_output
    ):
        y_array = column_or_1d(y_array, warn=True)
    if y_array.ndim == 1:
        # one output: every label must be there, as for any classifier
        check_classification_targets(y_array)
        task_classes, codes = np.unique(y_array, return_inverse=True)
        return y_array, codes.reshape(-1, 1), [task_classes]
    # several outputs: the package's encoding (NaN, None and pd.NA are missing)
    columns, names, _ = task_columns(y_array)
    codes = np.full((len(y_array), len(columns)), -1, dtype=np.intp)
    classes = []
    for t, (column, name) in enumerate(zip(columns, names)):
        values, missing = labelled_values(column, name)
        if values.size == 0:
            raise ValueError(f"Task {name!r} of y has no labels (all missing).")
        try:
            check_classification_targets(values)
        except ValueError as exc:
            raise ValueError(f"Task {name!r} of y: {exc}") from exc
        task_classes, task_codes = np.unique(values, return_inverse=True)
        codes[~missing, t] = task_codes
        classes.append(task_classes)
    return y_array, codes, classes


def seed_estimator(estimator, seed):
    """Fix every ``random_state`` parameter of ``estimator`` that is left random.

    Parameters the user fixed are kept, so that wrapping an estimator never
    changes its own seeding; only ``None`` (or a ``RandomState``) is replaced.

    Parameters
    ----------
    estimator : estimator object
        Modified in place.
    seed : int
        The seed to set.

    Returns
    -------
    estimator : estimator object
    """
    to_set = {
        key: seed
        for key, value in estimator.get_params(deep=True).items()
        if key == "random_state" or key.endswith("__random_state")
        if value is None or isinstance(value, np.random.RandomState)
    }
    if to_set:
        estimator.set_params(**to_set)
    return estimator


def _final_step(estimator):
    while isinstance(estimator, Pipeline):
        estimator = estimator.steps[-1][1]
    return estimator


def accepts_sample_weight(estimator):
    """Whether ``estimator.fit`` can be given ``sample_weight`` by :func:`fit_weighted`.

    With metadata routing enabled, a router (a :class:`Pipeline`) must request
    it; otherwise the ``fit`` of the estimator (of a pipeline's last step) must
    take it.
    """
    if _routing_enabled():
        routing = get_routing_for_object(estimator)
        if isinstance(routing, MetadataRouter):
            return bool(routing.consumes("fit", ("sample_weight",)))
    return has_fit_parameter(_final_step(estimator), "sample_weight")


def fit_weighted(estimator, X, y, sample_weight, fit_params):
    """Fit ``estimator`` with ``sample_weight``, also for a :class:`Pipeline`.

    Without metadata routing a pipeline gets ``<last step>__sample_weight``
    (and no ``fit_params``, which are only routed). Returns the fitted
    estimator.
    """
    if isinstance(estimator, Pipeline) and not _routing_enabled():
        # Without metadata routing a Pipeline only takes "<step>__param".
        name = estimator.steps[-1][0]
        return estimator.fit(X, y, **{f"{name}__sample_weight": sample_weight})
    return estimator.fit(X, y, sample_weight=sample_weight, **fit_params)


def fold_splits(cv, X, codes, active, split_params, rng, name):
    """Train/test index pairs (indices into ``active``) for one round.

    Parameters
    ----------
    cv : int, cross-validation generator or iterable
        An int gives a shuffled :class:`StratifiedKFold` on the first task
        (:class:`KFold` for a 2-D ``y`` with a class rarer than ``cv``), seeded
        from ``rng``; anything else goes through :func:`check_cv`.
    X : array-like
        All the training rows.
    codes : ndarray of int of shape (n_samples, n_tasks)
    active : ndarray of int
        The rows to split (those with a positive weight).
    split_params : dict
        Metadata for ``split`` (e.g. ``groups``), indexed like ``X``.
    rng : RandomState
        Draws the shuffling seed when ``cv`` is an int.
    name : str
        The estimator named in error messages.

    Returns
    -------
    splits : list of (ndarray, ndarray)
    """
    strata = codes[active, 0]
    n_active = len(active)
    if isinstance(cv, Integral):
        if n_active < cv:
            raise ValueError(
                f"{name} needs at least cv={cv} samples to score every example "
                f"out of fold; got n_samples={n_active}."
            )
        seed = rng.randint(np.iinfo(np.int32).max)
        _, counts = np.unique(strata, return_counts=True)
        if codes.shape[1] == 1 or counts.min() >= cv:
            splitter = StratifiedKFold(cv, shuffle=True, random_state=seed)
        else:
            splitter = KFold(cv, shuffle=True, random_state=seed)
    else:
        if not hasattr(cv, "split") and n_active < len(codes):
            raise ValueError(
                "cv given as an iterable of (train, test) indices cannot be "
                "combined with zero sample weights: those rows are left out of "
                "the folds. Pass a splitter object instead."
            )
        splitter = check_cv(cv, strata, classifier=True)
    X_active = _safe_indexing(X, active)
    params = _check_method_params(X, params=split_params, indices=active)
    return list(splitter.split(X_active, strata, **params))


def fit_and_score_fold(
    estimator, X, y, sample_weight, train, score_rows, fit_params, codes, classes
):
    """Fit a clone on ``train`` and score ``score_rows`` (per-task probabilities).

    The classes of a task missing from ``train`` get probability 0 (see
    :func:`~sk_mtl._mining.model_proba`).
    """
    est = clone(estimator)
    params = _check_method_params(X, params=fit_params, indices=train)
    fit_weighted(
        est,
        _safe_indexing(X, train),
        _safe_indexing(y, train),
        sample_weight[train],
        params,
    )
    present = [
        np.isin(np.arange(len(c)), codes[train, t]) for t, c in enumerate(classes)
    ]
    return model_proba(est, _safe_indexing(X, score_rows), classes, present)


def assemble_out_of_fold(fold_proba, fold_rows, n_samples, active):
    """Out-of-fold probabilities of every sample from the fold models' scores.

    Parameters
    ----------
    fold_proba : list of list of ndarray
        For each fold model, its per-task probabilities of ``fold_rows``.
    fold_rows : list of ndarray of int
        The samples each fold model scored.
    n_samples : int
        Number of samples.
    active : ndarray of int
        Samples that must be scored by exactly one fold model (their test
        fold); any other sample gets the mean of the models that scored it.

    Returns
    -------
    proba : list of ndarray of shape (n_samples, n_classes)
    """
    n_tasks = len(fold_proba[0])
    proba = [np.zeros((n_samples, fold_proba[0][t].shape[1])) for t in range(n_tasks)]
    scored = np.zeros(n_samples, dtype=int)
    for scores, rows in zip(fold_proba, fold_rows):
        for t in range(n_tasks):
            proba[t][rows] += scores[t]
        scored[rows] += 1
    if np.any(scored[active] != 1):
        raise ValueError(
            "cv must put every sample in exactly one test fold to score it out of fold."
        )
    for t in range(n_tasks):
        proba[t] /= np.maximum(scored, 1)[:, None]
    return proba


def out_of_fold_proba(
    estimator, X, y, codes, classes, weight, active, splits, fit_params, n_jobs
):
    """Per-task probabilities of every example from one round's fold models.

    Parameters
    ----------
    estimator : estimator object
        Unfitted; a clone is fitted per fold with :func:`fit_weighted`.
    X, y : array-like
        All the training rows and ``y`` as the estimator takes it.
    codes : ndarray of int of shape (n_samples, n_tasks)
    classes : list of ndarray
    weight : ndarray of shape (n_samples,)
        This round's sample weights.
    active : ndarray of int
        The rows the folds split; the others (zero weight) are scored by
        every fold model and get the mean.
    splits : list of (ndarray, ndarray)
        From :func:`fold_splits`.
    fit_params : dict
        Routed metadata for the estimator's ``fit``, indexed like ``X``.
    n_jobs : int or None
        Fold models fitted in parallel.

    Returns
    -------
    proba : list of ndarray of shape (n_samples, n_classes)
    """
    inactive = np.setdiff1d(np.arange(len(weight)), active)
    rows = [np.concatenate([active[test], inactive]) for _, test in splits]
    fold_proba = Parallel(n_jobs=n_jobs)(
        delayed(fit_and_score_fold)(
            estimator,
            X,
            y,
            weight,
            active[train],
            score_rows,
            fit_params,
            codes,
            classes,
        )
        for (train, _), score_rows in zip(splits, rows)
    )
    return assemble_out_of_fold(fold_proba, rows, len(weight), active)
