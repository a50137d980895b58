"""Cross-fitted bagging of the shared-network estimators (``n_bags``).

With ``n_bags=k > 1``, ``fit`` splits the training rows into k folds (shuffled,
stratified on the first task when it is a fully labelled classification task)
and fits k members: member i is the same estimator with ``n_bags=1``, trained on
the other k - 1 folds and early-stopped on fold i (its best epoch restored). Every
row trains k - 1 members and validates one, so no row is only held out. The
members' class probabilities (classification tasks) and predictions (regression
tasks) are averaged. ``n_bags="auto"``, the default, bags 3 members below 1,000
training rows where early stopping holds rows out. Members fitted on the same X
read it through one input (:func:`shared_input`), so X is validated and scaled
once per call, and a served request takes one numpy pass for all members
(:mod:`._served_members`).

A bagged model has no single network: ``net_``, ``module_``, ``input_``,
``history_``, ``n_iter_``, ``batch_size_``, ``batch_growth_``,
``n_iter_no_change_`` and the views of the history (``loss_curve_``, ...) are
each member's, in ``estimators_``;
reading them on the bagged model is an AttributeError that says so, and so is
``partial_fit`` (``warm_start=True`` with ``n_bags > 1`` is a ValueError at fit).
"""

import functools
import inspect
import numbers
import weakref

import numpy as np
import torch
from sklearn.base import _fit_context, clone
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _num_samples, check_consistent_length

from .._data._fitted import same_fit
from .._data._tasks import softmax
from .._engine._base import BaseNeuralEstimator
from .._engine._fit_context import FitContext
from ..ensembles import log_mean_probabilities
from ._served_members import probability_outputs, served_mean_outputs

__all__ = [
    "AUTO_BAGS_MAX_ROWS",
    "AUTO_N_BAGS",
    "BaggingMixin",
    "N_BAGS_CONSTRAINT",
    "bag_folds",
    "mean_outputs",
    "one_network_only",
    "shared_input",
]

N_BAGS_CONSTRAINT = [
    Interval(numbers.Integral, 1, None, closed="left"),
    StrOptions({"auto"}),
]
# n_bags="auto" (the default): AUTO_N_BAGS members below AUTO_BAGS_MAX_ROWS
# training rows where early stopping holds rows out, one network otherwise
# (benchmarks/results/bagging_study.md, validation splits of the tabular suite:
# 3 members scored better by 0.002 or more on 5 of the 6 tables fitted on fewer
# than 1,000 rows, mean +0.010, at about 3x the fit's CPU time; from 1,000 to
# 3,000 rows on 3 of 6 only; above 3,000 rows on 4 of 6, but at more than 10x
# HistGB's CPU time on 3 of the 6 tables over 5,000 rows, beyond the defaults'
# goal).
AUTO_N_BAGS = 3
AUTO_BAGS_MAX_ROWS = 1_000

# What a bagged model leaves to its members: one network and its training.
SINGLE_NETWORK_ATTRIBUTES = (
    "net_",
    "module_",
    "input_",
    "history_",
    "n_iter_",
    "batch_size_",
    "batch_growth_",
    "n_iter_no_change_",
    "loss_curve_",
    "validation_scores_",
    "best_validation_score_",
    # each member blends its own linear models (chosen on its own fold)
    "linear_blend_weights_",
    "linear_coef_",
    "linear_intercept_",
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
        if n_bags == "auto":
            return _auto_n_bags(self, X)
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
        # X and y checked as one network's fit checks them (on a copy: the
        # model stays as it was until every member is fitted)
        probe, ctx = clone(self).set_params(n_bags=1), FitContext()
        _, X_checked = probe._fit_input(X, ctx)
        check_consistent_length(X_checked, y)
        tasks, targets = probe._fit_tasks(y, ctx)
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
        # one network fitted (fit, or the first partial_fit call): no members
        for name in BAG_ATTRIBUTES:
            self.__dict__.pop(name, None)
        super()._set_fitted(ctx)

    def _forward(self, X):
        # A bagged model's (SharedNetworkMixin._forward runs one network).
        members = self.estimators_
        shared = shared_input(self, members)
        if shared is None:
            outputs = [m._forward(X) for m in members]
        else:  # X validated and scaled once for all members
            X = shared.transform(X, self)
            served = served_mean_outputs(self.tasks_, members, shared, X)
            if served is not None:  # a served request: all members at once
                return served
            outputs = [m._transformed_outputs(X) for m in members]
        return mean_outputs(self.tasks_, outputs)

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
        found = _class_attribute(type(self), name)
        if hasattr(found, "__get__"):  # a property or available_if that raised
            return found.__get__(self, type(self))  # AttributeError: again
        raise AttributeError(
            f"{type(self).__name__!r} object has no attribute {name!r}"
        )


@functools.lru_cache(maxsize=1024)
def _class_attribute(cls, name):
    """``name`` as ``cls`` defines it, or None: looked up once per class and
    name, since every ``getattr(model, name, None)`` of a missing attribute
    (scikit-learn asks for ``feature_names_in_`` on each prediction) lands in
    ``__getattr__``."""
    return inspect.getattr_static(cls, name, None)


def _auto_n_bags(estimator, X):
    """``n_bags="auto"``: AUTO_N_BAGS below AUTO_BAGS_MAX_ROWS rows where early
    stopping holds rows out (bagging is its cross-fitted form), else 1 (and 1
    for a warm start, which continues one network)."""
    if getattr(estimator, "warm_start", False):
        return 1
    try:
        n_rows = _num_samples(X)
    except TypeError:  # not array-like: the fit of one network says why
        return 1
    if not estimator._holds_rows_out(n_rows):
        return 1
    return AUTO_N_BAGS if AUTO_N_BAGS <= n_rows < AUTO_BAGS_MAX_ROWS else 1


def _trains_one_network(estimator):
    members = estimator.__dict__.get("estimators_")
    if members is not None or estimator.n_bags not in (1, "auto"):
        n_bags = estimator.n_bags if members is None else len(members)
        raise AttributeError(
            f"partial_fit trains one network, but this {type(estimator).__name__} "
            f"{'has' if members is None else 'was fitted with'} n_bags={n_bags}. "
            "Fit with n_bags=1 to train incrementally."
        )
    return True


# partial_fit is there for one network only (as MLPClassifier's for sgd/adam).
one_network_only = available_if(_trains_one_network)


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


# bagged model -> (its members' inputs, the one they share or None): whether
# the members' inputs are alike is found once per set of inputs, not per call.
_SHARED_INPUTS = weakref.WeakKeyDictionary()


def shared_input(bagged, members):
    """The input every member fitted alike (each fits its own on the same X: the
    same state unless a fit drew a random subsample), or None."""
    inputs = [m.__dict__.get("input_") for m in members]
    known = _SHARED_INPUTS.get(bagged)
    if known is not None and len(known[0]) == len(inputs):
        if all(a is b for a, b in zip(known[0], inputs)):
            return known[1]
    alike = all(same_fit(inputs[0], other) for other in inputs[1:])
    shared = inputs[0] if alike else None
    _SHARED_INPUTS[bagged] = (inputs, shared)
    return shared


def mean_outputs(tasks, member_outputs):
    """The members' outputs averaged, per task, in float64.

    A regression output is the mean of the members'; a classification output is
    the log of the mean of the members' probabilities (its softmax is that mean,
    its argmax the most probable class), as a TabM ensemble's members combine.
    """
    stacked = _mean_probabilities(tasks, member_outputs)
    if stacked is not None:
        return stacked
    combined = []
    for t, task in enumerate(tasks):
        stacked = torch.stack([outputs[t] for outputs in member_outputs]).double()
        if task.kind == "regression":
            combined.append(stacked.mean(dim=0))
        else:
            combined.append(log_mean_probabilities(stacked, dim=0))
    return combined


def _mean_probabilities(tasks, member_outputs):
    """:func:`mean_outputs` of classification tasks of one width whose members'
    outputs are stacked (:class:`~sk_mtl.losses.TaskOutputs`), in numpy (a
    served row's cost is the number of array operations), carrying the mean
    probabilities; None for other tasks or outputs."""
    if len({t.n_outputs for t in tasks}) > 1 or any(
        t.kind != "classification" for t in tasks
    ):
        return None
    logits, known = [], []
    for outputs in member_outputs:
        probabilities = getattr(outputs, "probabilities", None)  # a blend's
        stacked = getattr(outputs, "stacked", None)
        if probabilities is not None:
            known.append(probabilities)
        elif stacked is not None:
            logits.append(stacked.detach().cpu().numpy())
        else:
            return None
    # one softmax for all members' logits
    total = softmax(np.array(logits, dtype=np.float64)).sum(axis=0) if logits else 0
    return probability_outputs(sum(known, total) / len(member_outputs))
