"""Hard example mining around any classifier whose ``fit`` takes ``sample_weight``.

This module orchestrates (validation, rounds, routing); the fold models are
fitted and scored by :mod:`sk_mtl.mining._out_of_fold`, the math (hardness, label
issues, weight schedule) lives in :mod:`sk_mtl.mining._hardness`, and prediction is
delegated to the fitted inner estimator by :mod:`sk_mtl.mining._delegation`.
"""

# Authors: The sk_mtl developers
# SPDX-License-Identifier: BSD-3-Clause

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    _fit_context,
)
from sklearn.linear_model import LogisticRegression
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metadata_routing import _raise_for_params
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    indexable,
    validate_data,
)

from ..utils._docs import DocLinkMixin
from ..utils._progress import progress
from ._delegation import DelegatingClassifierMixin, reject_mapping
from ._hardness import hardness_scores, label_issues, mine_weights
from ._out_of_fold import (
    check_inner_estimator,
    check_two_classes,
    encode_targets,
    fit_on_rows,
    fold_router,
    fold_splits,
    out_of_fold_proba,
    routed_params,
    seed_estimator,
)

__all__ = ["HardExampleMiningClassifier"]


class HardExampleMiningClassifier(
    DocLinkMixin,
    DelegatingClassifierMixin,
    ClassifierMixin,
    MetaEstimatorMixin,
    BaseEstimator,
):
    """Out-of-fold hard example mining with label-noise handling.

    Wraps any classifier whose ``fit`` takes ``sample_weight``. Each round
    scores every training example with models that never saw it (``cv``
    folds), raises the weight of the hardest examples of each class and
    down-weights or drops the likely label errors (confident learning,
    Northcutt et al. 2021) instead of up-weighting them. The final
    ``estimator_`` is fitted on all the data with the mined ``sample_weight_``;
    a fit costs ``n_rounds * cv + 1`` fits of the inner estimator.

    Read more (references included) in the :ref:`User Guide <hard_example_mining>`.

    Parameters
    ----------
    estimator : estimator object, default=None
        The classifier to mine for. Its ``fit`` must take ``sample_weight``
        (for a :class:`~sklearn.pipeline.Pipeline`: its last step). It needs
        ``predict_proba`` or ``decision_function`` to score examples. A
        multi-output classifier (``predict_proba`` returning one array per
        task) is mined on the loss summed over the labelled tasks.
        ``None`` means :class:`~sklearn.linear_model.LogisticRegression`.
    n_rounds : int, default=3
        Number of mining rounds, each fitting ``cv`` models to score every
        example out of fold and update the weights.
    cv : int, cross-validation generator or iterable, default=5
        How to split the data for out-of-fold scoring. An int gives a shuffled
        :class:`~sklearn.model_selection.StratifiedKFold`, re-shuffled every
        round (see the :ref:`User Guide <hem-loop>`); a splitter object is used
        as it is, every round.
    hardness : {"loss", "margin"}, default="loss"
        How hard an example is, from its out-of-fold class probabilities ``p``
        and label ``y``: ``"loss"`` is the log-loss ``-log p[y]``;
        ``"margin"`` is ``(1 - (p[y] - max_{c != y} p[c])) / 2``, in [0, 1].
        See the :ref:`User Guide <hem-hardness>`.
    max_weight : float, default=2.0
        Largest weight multiplier a hard example can get (the bound on
        ``sample_weight_`` relative to the input ``sample_weight``). ``1``
        switches the up-weighting off and keeps only the noise handling.
    hard_fraction : float in (0, 1], default=0.2
        Fraction of the (trusted) examples of each class counted as hard; their
        multiplier grows linearly with their hardness rank up to
        ``max_weight``, and each class keeps its total weight. ``1`` gives a
        smooth schedule over all examples. See the :ref:`User Guide <hem-loop>`.
    noise_handling : {"downweight", "drop"} or None, default="downweight"
        What to do with label-issue candidates (examples the out-of-fold
        models confidently put in another class): ``"downweight"`` multiplies
        their weight by ``p[y] / threshold[y]`` (< 1), ``"drop"`` by 0; they
        are re-assessed every round. ``None`` treats them like any other
        example (plain hard example mining, which chases label noise). See
        the :ref:`User Guide <hem-label-issues>`.
    n_jobs : int, default=None
        Number of jobs fitting the ``cv`` fold models of a round in parallel.
        ``None`` means 1 unless in a :obj:`joblib.parallel_backend` context.
    verbose : int, default=0
        ``>= 2`` shows progress bars over the mining rounds and the fold fits.
    random_state : int, RandomState instance or None, default=None
        Controls the shuffling of the folds and seeds the ``random_state`` of
        the inner estimator where that is left to ``None``. Pass an int for
        reproducible results.

    Attributes
    ----------
    estimator_ : estimator object
        The inner estimator fitted on all examples with ``sample_weight_``.
    classes_ : ndarray of shape (n_classes,) or list of ndarray
        Class labels (one array per task for a multi-output ``y``).
    sample_weight_ : ndarray of shape (n_samples,)
        Weights ``estimator_`` was fitted with: the mined multipliers times
        the ``sample_weight`` passed to ``fit``.
    hardness_ : ndarray of shape (n_samples,)
        Out-of-fold hardness of every training example in the last round
        (see ``hardness``), NaN for an example without any label.
    noise_mask_ : ndarray of bool of shape (n_samples,) or (n_samples, n_outputs)
        Label-issue candidates of the last round (per task for a multi-output
        ``y``).
    history_ : list of dict
        One entry per round: ``"n_noise"`` (examples flagged), ``"hardness"``
        (mean hardness), ``"thresholds"`` (per-task class thresholds) and
        ``"max_weight"`` (largest mined multiplier).
    n_features_in_ : int
        Number of features seen during fit (when ``X`` has a shape).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit. Defined only when ``X`` has
        feature names that are all strings.

    See Also
    --------
    sklearn.ensemble.AdaBoostClassifier : Re-weights in-sample errors.
    sklearn.model_selection.cross_val_predict : Out-of-fold predictions.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sk_mtl import HardExampleMiningClassifier
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> hem = HardExampleMiningClassifier(
    ...     LogisticRegression(), n_rounds=2, random_state=0
    ... ).fit(X, y)
    >>> hem.predict(X[:3]).shape
    (3,)
    >>> float(hem.sample_weight_.max()) <= hem.max_weight
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_rounds": [Interval(Integral, 1, None, closed="left")],
        "cv": ["cv_object"],
        "hardness": [StrOptions({"loss", "margin"})],
        "max_weight": [Interval(Real, 1, None, closed="left")],
        "hard_fraction": [Interval(Real, 0, 1, closed="right")],
        "noise_handling": [StrOptions({"downweight", "drop"}), None],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        n_rounds=3,
        cv=5,
        hardness="loss",
        max_weight=2.0,
        hard_fraction=0.2,
        noise_handling="downweight",
        n_jobs=None,
        verbose=0,
        random_state=None,
    ):
        self.estimator = estimator
        self.n_rounds = n_rounds
        self.cv = cv
        self.hardness = hardness
        self.max_weight = max_weight
        self.hard_fraction = hard_fraction
        self.noise_handling = noise_handling
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.random_state = random_state

    def _get_estimator(self):
        return LogisticRegression() if self.estimator is None else self.estimator

    @_fit_context(
        # the inner estimator is validated by its own fit
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Mine hard examples out of fold, then fit the inner estimator.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, ...)
            Training data, anything the inner estimator accepts.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Labels. A 2-D ``y`` (multi-output inner estimator) may mark missing
            labels with NaN, None or ``pd.NA``; they are left out of the
            hardness.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights multiplied with the mined weights. Examples with weight 0
            take no part in training.
        **fit_params : dict
            Other parameters for the inner estimator's ``fit`` (and ``groups``
            for a group splitter given as ``cv``). Only with metadata routing
            enabled: ``sklearn.set_config(enable_metadata_routing=True)``, and
            requested through ``set_fit_request``.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        _raise_for_params(fit_params, self, "fit")
        estimator = check_inner_estimator(self._get_estimator(), type(self).__name__)
        reject_mapping(X, type(self).__name__)
        X, y = validate_data(self, X, y, skip_check_array=True)
        X = indexable(X)[0]
        y, codes, classes = encode_targets(y, estimator)
        check_consistent_length(X, y)
        user_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        routed = routed_params(self, fit_params)
        check_two_classes(codes, classes, user_weight, type(self).__name__)
        rng = check_random_state(self.random_state)
        estimator_seed = rng.randint(np.iinfo(np.int32).max)
        estimator = seed_estimator(estimator, estimator_seed)

        multiplier = self._mine_rounds(
            estimator, X, y, codes, classes, user_weight, routed, rng
        )
        self.sample_weight_ = user_weight * multiplier
        keep = np.flatnonzero(self.sample_weight_ > 0)
        self.estimator_ = fit_on_rows(
            estimator, X, y, self.sample_weight_, keep, routed.estimator.fit
        )
        self.classes_ = classes[0] if len(classes) == 1 else classes
        return self

    def _mine_rounds(self, estimator, X, y, codes, classes, user_weight, routed, rng):
        """Run the mining rounds and return the final weight multipliers.

        Also sets ``hardness_``, ``noise_mask_`` and ``history_``.
        """
        # Examples with zero weight are not part of the data the folds see.
        active = np.flatnonzero(user_weight > 0)
        multiplier = np.ones(len(user_weight))
        name = type(self).__name__
        self.history_ = []
        for _ in progress(range(self.n_rounds), self.verbose, "mining rounds"):
            weight = user_weight * multiplier
            splits = fold_splits(
                self.cv, X, codes, active, routed.splitter.split, rng, name
            )
            proba = out_of_fold_proba(
                estimator,
                X,
                y,
                codes,
                classes,
                weight,
                active,
                splits,
                routed.estimator.fit,
                self.n_jobs,
                self.verbose,
            )
            hardness = hardness_scores(proba, codes, self.hardness)
            flags, ratio, thresholds = label_issues(proba, codes, user_weight)
            multiplier = self._mine_weights(hardness, flags, ratio, codes, user_weight)
            self.history_.append(
                {
                    "n_noise": int(flags.any(axis=1).sum()),
                    "hardness": float(np.nanmean(hardness)),
                    "thresholds": thresholds,
                    "max_weight": float(multiplier.max()),
                }
            )
        self.hardness_ = hardness
        self.noise_mask_ = flags[:, 0] if len(classes) == 1 else flags
        return multiplier

    def _mine_weights(self, hardness, flags, ratio, codes, user_weight):
        """Weight multipliers of the next round, warning for a restored class."""
        multiplier, restored = mine_weights(
            hardness,
            flags,
            ratio,
            codes,
            user_weight,
            max_weight=self.max_weight,
            hard_fraction=self.hard_fraction,
            noise_handling=self.noise_handling,
        )
        for t, c in restored:
            warnings.warn(
                f"All examples of class index {c} (task {t}) were flagged "
                "as label issues; they are kept with their weight.",
                UserWarning,
                # _mine_weights, _mine_rounds, fit, _fit_context: the caller of fit
                stacklevel=5,
            )
        return multiplier

    def get_metadata_routing(self):
        """Get metadata routing of this object.

        ``sample_weight`` is consumed here (combined with the mined weights and
        always passed on to the inner estimator); other ``fit`` metadata go to
        the inner estimator's ``fit`` and to ``cv``'s ``split``, as requested.

        Returns
        -------
        routing : MetadataRouter
            A :class:`~sklearn.utils.metadata_routing.MetadataRouter`
            encapsulating routing information.
        """
        return fold_router(self, self._get_estimator(), self.cv)
