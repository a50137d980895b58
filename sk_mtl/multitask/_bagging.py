"""Cross-fitted bagging of the shared-network estimators (``n_bags``).

With ``n_bags=k > 1``, ``fit`` splits the training rows into k folds (shuffled,
stratified on the first task when it is a fully labelled classification task)
and fits k members: member i is the same estimator with ``n_bags=1``, trained on
the other k - 1 folds and early-stopped on fold i (its best epoch restored). Every
row trains k - 1 members and validates one, so no row is only held out. The
members' class probabilities (classification tasks) and predictions (regression
tasks) are averaged.

A bagged model has no single network: ``net_``, ``module_``, ``input_``,
``history_``, ``n_iter_``, ``batch_size_`` and the views of the history
(``loss_curve_``, ...) are each member's, in ``estimators_``; reading them on the
bagged model is an AttributeError that says so.
"""

import inspect
import math
import numbers

import numpy as np
import torch
from sklearn.base import _fit_context, clone
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import _num_samples, check_consistent_length

from .._engine._base import BaseNeuralEstimator
from .._engine._fit_context import FitContext

__all__ = ["BaggingMixin", "N_BAGS_CONSTRAINT", "bag_folds", "mean_outputs"]

N_BAGS_CONSTRAINT = [Interval(numbers.Integral, 1, None, closed="left")]

# What a bagged model leaves to its members: one network and its training.
SINGLE_NETWORK_ATTRIBUTES = (
    "net_",
    "module_",
    "input_",
    "history_",
    "n_iter_",
    "batch_size_",
    "loss_curve_",
    "validation_scores_",
    "best_validation_score_",
)
# Fitted by every member on the same X and y: the bagged model's own too.
SHARED_ATTRIBUTES = (
    "tasks_",
    "n_tasks_",
    "task_names_",
    "_multitask",
    "classes_",
    "n_features_in_",
    "feature_names_in_",
    "task_kinds_",
    "_y_is_frame",
)
BAG_ATTRIBUTES = ("estimators_", "bag_folds_")


class BaggingMixin:
    """``n_bags``: fit, predict and attributes of a bagged model (not for direct
    use; :class:`~sk_mtl.multitask._shared_network.SharedNetworkMixin`)."""

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        n_bags = self._check_n_bags(X)
        if n_bags == 1:
            return super().fit(X, y, sample_weight)
        return self._fit_bags(X, y, sample_weight, n_bags)

    fit.__doc__ = BaseNeuralEstimator.fit.__doc__

    def _check_n_bags(self, X):
        """The number of members for training X (1: one network)."""
        n_bags = self.n_bags
        if n_bags == 1:
            return 1
        if getattr(self, "warm_start", False):
            raise ValueError(
                f"warm_start=True continues one network, but n_bags={n_bags} fits "
                f"{n_bags} new ones. Set n_bags=1 to warm-start."
            )
        n_rows = _num_samples(X)
        if n_bags > n_rows:
            raise ValueError(
                f"n_bags={n_bags} splits the training rows into {n_bags} folds, but "
                f"X has {n_rows} sample(s). Use n_bags <= {n_rows}."
            )
        return n_bags

    def _fit_bags(self, X, y, sample_weight, n_bags):
        check_consistent_length(X, y)
        tasks, targets = self._fit_tasks(y, FitContext())
        rng = check_random_state(self.random_state)
        split_seed, *seeds = rng.randint(np.iinfo(np.int32).max, size=n_bags + 1)
        folds = bag_folds(tasks, targets, n_bags, int(split_seed))
        members = []
        for i, seed in enumerate(seeds):
            member = clone(self).set_params(n_bags=1, random_state=int(seed))
            member._given_fold = (
                np.flatnonzero(folds != i),
                np.flatnonzero(folds == i),
            )
            try:
                member.fit(X, y, sample_weight)
            finally:
                del member._given_fold
            members.append(member)
        # Every member fitted: now the previous model's attributes can go.
        for name in (*SINGLE_NETWORK_ATTRIBUTES, *SHARED_ATTRIBUTES):
            self.__dict__.pop(name, None)
        self.__dict__.pop("_incremental_rng", None)
        for name in SHARED_ATTRIBUTES:
            if name in vars(members[0]):
                setattr(self, name, getattr(members[0], name))
        self.estimators_, self.bag_folds_ = members, folds
        return self

    def _split_rows(self, tasks, targets, sample_weight, seed, ctx):
        """A member's given fold, or the random split of one network."""
        fold = self.__dict__.get("_given_fold")
        if fold is None:
            return super()._split_rows(tasks, targets, sample_weight, seed, ctx)
        train, valid = fold
        return train, (valid if self._validation_fraction(ctx) is not None else None)

    def _set_fitted(self, ctx):
        # fit of one network and the first partial_fit call come here; fit with
        # n_bags > 1 fits members instead, so only partial_fit can meet it.
        if self.n_bags != 1:
            raise ValueError(
                f"partial_fit trains one network, but n_bags={self.n_bags}. Set "
                "n_bags=1 to train incrementally."
            )
        for name in BAG_ATTRIBUTES:
            self.__dict__.pop(name, None)
        super()._set_fitted(ctx)

    def _forward(self, X):
        members = self.__dict__.get("estimators_")
        if members is None:
            return super()._forward(X)
        return mean_outputs(self.tasks_, [m._forward(X) for m in members])

    def __sklearn_is_fitted__(self):
        return "estimators_" in vars(self) or super().__sklearn_is_fitted__()

    def __getattr__(self, name):
        # Only called when ordinary lookup failed.
        members = self.__dict__.get("estimators_")
        if members is not None and name in SINGLE_NETWORK_ATTRIBUTES:
            raise AttributeError(
                f"This {type(self).__name__} was fitted with n_bags={len(members)}: "
                f"it has no single network and no {name}; each of its estimators_ "
                f"has one (estimators_[0].{name}). Fit with n_bags=1 for one network."
            )
        found = inspect.getattr_static(type(self), name, None)
        if isinstance(found, property):  # it raised AttributeError: raise it again
            return found.fget(self)
        raise AttributeError(
            f"{type(self).__name__!r} object has no attribute {name!r}"
        )


def bag_folds(tasks, targets, n_bags, seed):
    """The fold (0 to ``n_bags`` - 1) of each training row.

    Shuffled k-fold, stratified on the first task when it is a classification
    task labelled on every row with at least ``n_bags`` rows of each class.
    """
    n_rows = len(targets.codes)
    strata = None
    if tasks[0].kind == "classification" and targets.labelled[:, 0].all():
        _, counts = np.unique(targets.codes[:, 0], return_counts=True)
        strata = targets.codes[:, 0] if counts.min() >= n_bags else None
    kfold = KFold if strata is None else StratifiedKFold
    splitter = kfold(n_bags, shuffle=True, random_state=seed)
    folds = np.empty(n_rows, dtype=np.intp)
    for i, (_, valid) in enumerate(splitter.split(np.zeros((n_rows, 1)), strata)):
        folds[valid] = i
    return folds


def mean_outputs(tasks, member_outputs):
    """The members' outputs averaged, per task, in float64.

    A regression output is the mean of the members'; a classification output is
    the log of the mean of the members' probabilities (its softmax is that mean,
    its argmax the most probable class), as a TabM ensemble's members combine.
    """
    log_k = math.log(len(member_outputs))
    combined = []
    for t, task in enumerate(tasks):
        stacked = torch.stack([outputs[t] for outputs in member_outputs]).double()
        if task.kind == "regression":
            combined.append(stacked.mean(dim=0))
        else:
            log_p = torch.log_softmax(stacked, dim=-1)
            combined.append(torch.logsumexp(log_p, dim=0) - log_k)
    return combined
