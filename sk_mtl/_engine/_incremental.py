"""Incremental training of the neural estimators: ``partial_fit`` and ``warm_start``.

For data that does not fit in memory (a dask array or DataFrame read chunk by
chunk, a stream of files): each ``partial_fit`` call makes one pass of minibatches
over its chunk with the same skorch net, so the optimizer state (Adam's moments,
the step count), the shuffling generator and the torch random state carry over
from call to call, as in sklearn's ``SGDClassifier.partial_fit``. sklearn's
conventions for ``classes`` hold: required on the first call (one array per task
for a 2-D ``y``, like ``MultiOutputClassifier.partial_fit``), optional afterwards
and then equal to the first.

``warm_start=True`` makes ``fit`` start from the weights of the previous fit
(same features, architecture, tasks and classes) with a fresh optimizer, as
sklearn's MLP; a fit that does not match raises and leaves the model as it was.
"""

import numpy as np
import torch
from sklearn.base import _fit_context
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    _get_feature_names,
    check_consistent_length,
)
from skorch.history import History

from .._data._tasks import ClassificationTask, RegressionTask
from .._runtime._device import handle_interrupt
from ..utils import TaskTargets, labelled_values, task_columns
from ._fit_context import FitContext, PreviousFit
from ._phases import TrainingPhase
from ._training_data import phase_dataset

__all__ = ["IncrementalMixin", "tasks_from_classes"]


class IncrementalMixin:
    """``partial_fit`` and the ``warm_start`` helpers of the neural estimators."""

    def _set_tasks(self, tasks, multitask):
        """Store the fitted task objects, their attributes and ``classes_``."""
        super()._set_tasks(tasks, multitask)
        self.classes_ = [t.classes for t in tasks] if multitask else tasks[0].classes

    # ------------------------------------------------------------ warm start
    def _warm_start_state(self, X):
        """The fitted model ``fit`` continues from, or None.

        X must read as in the previous fit (the same features, named or unnamed
        as then): checked here, before the fit validates X for itself and
        records its features.
        """
        if not (getattr(self, "warm_start", False) and hasattr(self, "module_")):
            return None
        named = getattr(self, "feature_names_in_", None) is not None
        try:
            if named != (_get_feature_names(X) is not None):
                raise ValueError(
                    f"X {'has no' if named else 'has'} column names and the "
                    f"previous fit's X {'had' if named else 'had none'}."
                )
            self.input_.transform(X, self)
        except ValueError as exc:
            raise ValueError(
                f"warm_start=True but X does not read as in the previous fit: {exc} "
                "Fit with warm_start=False."
            ) from None
        return PreviousFit(self.tasks_, self.module_)

    def _warm_started(self, network, ctx):
        """``network`` with the weights of the previous fit when warm-starting.

        The tasks and the network's parameters (names and shapes) are checked
        against the previous fit before anything is copied; the estimator's
        fitted attributes are only replaced after this, so a failed fit leaves
        the model as it was.
        """
        if ctx.previous is None:
            return network
        _check_same_tasks(ctx.previous.tasks, ctx.tasks)
        state = ctx.previous.module.state_dict()
        _check_same_parameters(state, network.module.state_dict())
        network.module.load_state_dict(state)
        return network

    # ----------------------------------------------------------- partial_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One pass of minibatches over a chunk of data.

        The first call builds the network for ``classes``; later calls continue
        training it with the same optimizer state. Early stopping and unfreezing
        are not applied (use ``fit`` for them). What ``fit`` learns from the
        training rows, the scaling of the numeric columns and the categories,
        is learned from the first chunk: make it large and representative.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A chunk of training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Its labels; NaN / None mark a missing label.
        classes : array-like or list of array-like, default=None
            Every class of the task (1-D ``y``) or one array per task (2-D
            ``y``). Required on the first call, since a chunk may not hold every
            class; afterwards optional and then equal to the first call's.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights (times ``class_weight``; ``"balanced"`` balances
            the classes of each chunk).

        Returns
        -------
        self : object
            The estimator, trained on one more chunk.

        Raises
        ------
        KeyboardInterrupt
            On Ctrl-C, so that the caller's loop over chunks stops; the model
            keeps the steps trained until then.
        """
        check_consistent_length(X, y)
        first = not hasattr(self, "net_")
        if first:
            if getattr(self, "unfreeze", None) is not None:
                raise ValueError(
                    f"partial_fit trains with the reused layers frozen; "
                    f"unfreeze={self.unfreeze!r} is only applied by fit."
                )
            ctx = FitContext()
            tasks, multitask = self._partial_fit_tasks(classes, y, ctx)
            ctx.tasks, ctx.multitask = tasks, multitask
            ctx.input, ctx.X = self._fit_input(X, ctx)
            X = ctx.X
        else:
            ctx = None
            tasks, multitask = self.tasks_, self._multitask
            _check_same_classes(self, classes)
            X = self.input_.transform(X, self)
        targets = _encode_chunk(tasks, y, multitask)
        check_consistent_length(X, targets.codes)
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        weights = self._entry_weights(sample_weight, tasks, targets)
        with self._training_context() as seed:
            net = self._incremental_net(ctx, seed)
            self._one_pass(net, X, targets, weights)
            self._incremental_rng = (net, torch.get_rng_state())
        if net.interrupted_:
            handle_interrupt(self, self.n_iter_, method="partial_fit")
        return self

    def _partial_fit_tasks(self, classes, y, ctx):
        """``(tasks, multitask)`` of the first partial_fit call: classification."""
        return tasks_from_classes(classes, y)

    def _incremental_net(self, ctx, seed):
        """The net that keeps training (built from ``ctx`` on the first call)."""
        saved = getattr(self, "_incremental_rng", None)
        if saved is not None and saved[0] is getattr(self, "net_", None):
            torch.set_rng_state(saved[1])
        else:
            torch.manual_seed(seed)
        if ctx is not None:
            network = self._build_network(ctx)
            self._set_fitted(ctx)
            self.batch_size_ = self._fit_batch_size(ctx, len(ctx.X))
            phase = TrainingPhase(
                "partial_fit", network.module, None, 1, network.param_groups
            )
            net = self._make_net(phase, network, None, seed)
            net.initialize()
            self.net_, self.module_ = net, network.module
            self.history_ = net.history
        net = self.net_
        net.drop_validation()  # partial_fit neither validates nor stops early
        # The optimizer state goes into the pickle too, so that training goes on
        # identically after a model was sent between processes (dask tasks).
        net.pickle_optimizer = True
        return net

    def _one_pass(self, net, X, targets, weights):
        phase = TrainingPhase(
            "partial_fit", self.module_, lambda r: self.input_.tensors(X, r), 1
        )
        data = phase_dataset(phase, targets, weights, np.arange(len(weights)))
        with self._compute(self.module_, self._batch_rows()):
            net.partial_fit(data, None, epochs=1)
        if self.history_ is not net.history:  # a two-phase fit's history
            self.history_ = History([*self.history_, dict(net.history[-1])])
        self.n_iter_ = len(self.history_)


def tasks_from_classes(classes, y, kinds=None):
    """Task objects of the first partial_fit call.

    ``kinds``: one ``"classification"`` / ``"regression"`` per task (default:
    classification). A classification task takes its classes from ``classes``;
    a regression task (its entry of ``classes`` None) standardises with the
    mean and scale of this first chunk.
    """
    cols, names, multitask = task_columns(y)
    kinds = kinds or ["classification"] * len(names)
    if classes is None and "classification" in kinds:
        raise ValueError(
            "classes must be passed on the first call to partial_fit: every class "
            "of the task (1-D y), or one array per task (2-D y; None for a "
            "regression task), since a chunk may not hold them all."
        )
    if not multitask:
        per_task = [classes]
    elif (
        not isinstance(classes, list | tuple)
        or len(classes) != len(names)
        or any(np.ndim(c) != 1 for c, k in zip(classes, kinds) if k != "regression")
    ):
        raise ValueError(
            f"y has {len(names)} tasks, so classes must be a list of "
            f"{len(names)} arrays (one per task); got {_describe(classes)}."
        )
    else:
        per_task = classes
    tasks = []
    for name, values, kind, col in zip(names, per_task, kinds, cols):
        if kind == "regression":
            if values is not None:
                raise ValueError(
                    f"task {name!r} is a regression task: its entry of classes "
                    f"must be None, got {values!r}."
                )
            try:
                tasks.append(RegressionTask.from_column(col, name))
            except ValueError as exc:
                raise ValueError(
                    f"{exc} partial_fit standardises a regression task with the "
                    "targets of its first chunk: start with a chunk that has some."
                ) from None
        else:
            tasks.append(ClassificationTask(name, _task_classes(values, name)))
    return tasks, multitask


def _task_classes(values, name):
    """The sorted classes of task ``name`` given to partial_fit, checked."""
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(
            f"classes of task {name!r} must be a 1-D array of labels; got shape "
            f"{values.shape}."
        )
    labels, missing = labelled_values(values, name)
    if missing.any() or len(np.unique(labels)) < 2:
        raise ValueError(
            f"classes of task {name!r} must hold at least 2 distinct labels and "
            f"no missing value (NaN/None); got {values.tolist()}."
        )
    check_classification_targets(labels)
    return np.unique(labels)


def _check_same_tasks(old_tasks, tasks):
    if len(old_tasks) != len(tasks):
        raise ValueError(
            f"warm_start=True but y has {len(tasks)} task(s) and the previous fit "
            f"had {len(old_tasks)}; fit with warm_start=False."
        )
    for old, new in zip(old_tasks, tasks):
        if not np.array_equal(old.classes, new.classes):
            raise ValueError(
                f"warm_start=True but task {new.name!r} has classes {new.classes} "
                f"and the previous fit had {old.classes}; fit with warm_start=False."
            )


def _check_same_parameters(old, new):
    """The new network's state has the previous one's names and shapes."""
    old = {name: tuple(value.shape) for name, value in old.items()}
    new = {name: tuple(value.shape) for name, value in new.items()}
    differ = [n for n in [*old, *new] if old.get(n) != new.get(n)]
    if differ:
        name = differ[0]
        raise ValueError(
            "warm_start=True but the network of this fit differs from the previous "
            f"one (number of features or architecture changed: {name!r} has shape "
            f"{new.get(name, 'none')} here and {old.get(name, 'none')} in the "
            "previous fit); fit with warm_start=False."
        )


def _describe(classes):
    if isinstance(classes, list | tuple):
        return f"a {type(classes).__name__} of {len(classes)}"
    return f"{type(classes).__name__} of shape {np.shape(classes)}"


def _check_same_classes(estimator, classes):
    """sklearn's rule: classes of a later partial_fit call equal the first's."""
    if classes is None:
        return
    given = classes if estimator._multitask else [classes]
    expected = estimator.classes_ if estimator._multitask else [estimator.classes_]
    same = len(given) == len(expected) and all(
        g is None if e is None else np.array_equal(np.unique(np.asarray(g)), e)
        for g, e in zip(given, expected)
    )
    if not same:
        raise ValueError(
            f"classes={classes!r} is not the same as on the first call to "
            f"partial_fit, was: {estimator.classes_!r}."
        )


def _encode_chunk(tasks, y, multitask):
    """TaskTargets of a chunk in the classes fixed by the first call."""
    cols, names, chunk_multitask = task_columns(y)
    if len(cols) != len(tasks) or chunk_multitask != multitask:
        raise ValueError(
            f"y has {len(cols)} task(s) ({'2-D' if chunk_multitask else '1-D'}) but "
            f"the first partial_fit call had {len(tasks)} "
            f"({'2-D' if multitask else '1-D'})."
        )
    regression = any(t.kind == "regression" for t in tasks)
    codes = np.zeros((len(cols[0]), len(tasks)), np.float64 if regression else np.int64)
    labelled = np.zeros(codes.shape, dtype=bool)
    for t, (task, col) in enumerate(zip(tasks, cols)):
        try:
            codes[:, t], labelled[:, t] = task.encode(col)
        except ValueError as exc:
            raise ValueError(
                f"{exc} partial_fit learns the classes given to its first call."
            ) from None
    return TaskTargets(codes, labelled, [t.classes for t in tasks], names, multitask)
