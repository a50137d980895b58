"""Fitting clones of an estimator on folds and scoring the held-out rows.

The out-of-fold machinery of :class:`~sk_mtl.HardExampleMiningClassifier`:
check the inner estimator, encode ``y`` as class codes, route ``fit`` metadata,
split the examples that have a weight into folds, fit a weighted clone of the
inner estimator on each fold's complement, score the held-out rows and put the
scores together. The math that turns the scores into weights lives in
:mod:`sk_mtl.mining._hardness`; ``codes`` and ``proba`` follow its conventions.
"""

# Authors: The sk_mtl developers
# SPDX-License-Identifier: BSD-3-Clause

from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold, check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch, _safe_indexing, get_tags
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    get_routing_for_object,
    process_routing,
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    _check_method_params,
    column_or_1d,
    has_fit_parameter,
)

from ..utils import labelled_values, task_columns
from ..utils._progress import progress
from ._hardness import model_proba

__all__ = [
    "accepts_sample_weight",
    "assemble_out_of_fold",
    "check_inner_estimator",
    "check_two_classes",
    "encode_targets",
    "fit_and_score_fold",
    "fit_on_rows",
    "fit_weighted",
    "fold_router",
    "fold_splits",
    "out_of_fold_proba",
    "routed_params",
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
    """A clone of ``estimator`` with ``seed`` in every ``random_state`` left random.

    Parameters the user fixed are kept, so that wrapping an estimator never
    changes its own seeding; only ``None`` (or a ``RandomState``) is replaced.
    """
    estimator = clone(estimator)
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


def check_inner_estimator(estimator, name):
    """Return ``estimator`` if it takes ``sample_weight`` in fit and can score.

    Raises a TypeError naming the wrapping estimator ``name`` otherwise (no
    ``predict_proba`` nor ``decision_function``).
    """
    if not accepts_sample_weight(estimator):
        hint = (
            " With metadata routing enabled, request it on the step that"
            " consumes it: set_fit_request(sample_weight=True)."
            if _routing_enabled()
            else ""
        )
        raise TypeError(
            f"{type(estimator).__name__} does not support sample_weight in fit. "
            f"{name} needs an estimator whose fit takes "
            f"sample_weight to re-weight the hard examples.{hint}"
        )
    if not (
        hasattr(estimator, "predict_proba") or hasattr(estimator, "decision_function")
    ):
        raise TypeError(
            f"{type(estimator).__name__} has neither predict_proba nor "
            f"decision_function; {name} needs one of them to "
            "score how hard each example is."
        )
    return estimator


def check_two_classes(codes, classes, weight, name):
    """Raise a ValueError (naming ``name``) unless every task has 2 classes.

    Only the rows with a positive ``weight`` count.
    """
    active = weight > 0
    for t, task_classes in enumerate(classes):
        seen = np.unique(codes[active, t][codes[active, t] >= 0])
        if len(seen) < 2:
            task = f" in task {t}" if len(classes) > 1 else ""
            raise ValueError(
                f"{name} needs samples of at least 2 classes"
                f"{task}; the data (with non-zero sample_weight) contains only "
                f"{len(seen)} class: {task_classes[seen].tolist()}."
            )


def routed_params(owner, fit_params):
    """Route ``owner.fit``'s metadata as declared by :func:`fold_router`.

    Returns a :class:`~sklearn.utils.Bunch` with ``estimator.fit`` and
    ``splitter.split`` (both empty without metadata routing).
    """
    if _routing_enabled():
        return process_routing(owner, "fit", **fit_params)
    return Bunch(estimator=Bunch(fit={}), splitter=Bunch(split={}))


def fold_router(owner, estimator, cv):
    """The metadata router of ``owner``: what its ``fit`` passes on.

    ``owner`` consumes its own requests (``sample_weight``); other ``fit``
    metadata go to the ``estimator``'s ``fit`` and to ``cv``'s ``split``, as
    requested.
    """
    return (
        MetadataRouter(owner=owner)
        .add_self_request(owner)
        .add(
            estimator=estimator,
            method_mapping=MethodMapping().add(caller="fit", callee="fit"),
        )
        .add(
            splitter=cv,
            method_mapping=MethodMapping().add(caller="fit", callee="split"),
        )
    )


def fold_splits(cv, X, codes, active, split_params, rng, name):
    """Train/test index pairs (indices into ``active``) for one round.

    Only the ``active`` rows (positive weight) are split, with ``split_params``
    (routed metadata such as ``groups``, indexed like ``X``). An int ``cv``
    gives a shuffled :class:`StratifiedKFold` on the first task
    (:class:`KFold` for a 2-D ``y`` with a class rarer than ``cv``) seeded
    from ``rng``; anything else goes through :func:`check_cv`. Errors name
    ``name``.
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


def fit_on_rows(estimator, X, y, sample_weight, rows, fit_params):
    """Fit a clone of ``estimator`` on ``rows`` with their ``sample_weight``.

    ``fit_params`` (routed metadata, indexed like ``X``) are indexed too.
    Returns the fitted clone.
    """
    params = _check_method_params(X, params=fit_params, indices=rows)
    return fit_weighted(
        clone(estimator),
        _safe_indexing(X, rows),
        _safe_indexing(y, rows),
        sample_weight[rows],
        params,
    )


def fit_and_score_fold(
    estimator, X, y, sample_weight, train, score_rows, fit_params, codes, classes
):
    """Fit a clone on ``train`` and score ``score_rows`` (per-task probabilities).

    The classes of a task missing from ``train`` get probability 0 (see
    :func:`~sk_mtl.mining._hardness.model_proba`).
    """
    est = fit_on_rows(estimator, X, y, sample_weight, train, fit_params)
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
    estimator,
    X,
    y,
    codes,
    classes,
    weight,
    active,
    splits,
    fit_params,
    n_jobs,
    verbose=0,
):
    """Per-task probabilities of every example from one round's fold models.

    A clone of ``estimator`` is fitted on each training fold of ``splits``
    (:func:`fold_splits`) with ``weight`` and ``fit_params``, ``n_jobs`` of
    them in parallel; the rows outside ``active`` (zero weight) are scored by
    every fold model and get the mean (:func:`assemble_out_of_fold`).
    ``verbose >= 2`` shows a progress bar over the folds.
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
        for (train, _), score_rows in progress(
            list(zip(splits, rows)), verbose, "out-of-fold fits"
        )
    )
    return assemble_out_of_fold(fold_proba, rows, len(weight), active)
