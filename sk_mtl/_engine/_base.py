"""Shared fit/predict of the neural estimators (the sklearn side of the engine).

``fit`` runs the hooks below in this order, with one :class:`~sk_mtl._engine.
_fit_context.FitContext` (``ctx``) created per call: what one hook computes for
another travels in it, never in attributes of the estimator. The fitted
attributes (``input_``, ``tasks_``, ``classes_``, ``ctx.attributes``) are assigned
by ``_set_fitted`` once the network is built and warm-started, so a fit that
fails before leaves the previous model as it was. The hooks an estimator may
implement (default here unless said otherwise; who overrides it):

``_warm_start_state(X)`` -> PreviousFit or None
    What a warm start continues from. Default None. ``IncrementalMixin``: the
    previous fit's tasks and network under ``warm_start=True``, after checking
    that X reads as before.
``_fit_input(X, ctx)`` -> (input, validated X)
    Fit the input on training X. Default :class:`NumericInput`.
    ``SharedNetworkMixin`` (tabular input), ``FineTuningMixin`` and
    ``TransferClassifier`` (the source's input; they set ``ctx.source`` and
    ``ctx.new_input_layer``).
``_fit_tasks(y, ctx)`` -> (tasks, TaskTargets)
    The tasks of ``y`` and its encoding. Default classification tasks.
    ``MultiTaskRegressor`` and ``FineTunerRegressor`` (regression),
    ``MixedTaskEstimator`` (kinds per column), ``FineTuner`` (a clearer message).
``_build_network(ctx)`` -> Network
    The module and its optimizer settings for ``ctx.X`` and ``ctx.tasks``. No
    default. ``SharedNetworkMixin``, ``FineTuningMixin`` (records
    ``reused_heads_`` and ``frozen_parameters_`` in ``ctx.attributes``),
    ``TransferClassifier``.
``_warm_started(network, ctx)`` -> Network
    ``network``, with the previous weights for a warm start. Default: unchanged.
    ``IncrementalMixin``: checks the tasks and the parameters' names and shapes
    against ``ctx.previous``, then loads its weights.
``_set_tasks(tasks, multitask)`` -> None
    Store ``tasks_``, ``n_tasks_``, ``task_names_``. ``IncrementalMixin`` adds
    ``classes_``.
``_validation_fraction(ctx)`` -> float or None
    Share of rows held out for early stopping. Default ``validation_fraction``
    when ``early_stopping``. ``SharedNetworkMixin``: ``early_stopping="auto"``.
``_patience()`` -> int
    Epochs without improvement before early stopping stops. Default
    ``n_iter_no_change``. ``SharedNetworkMixin``: ``n_iter_no_change="auto"``.
``_split_rows(tasks, targets, sample_weight, seed, ctx)`` -> (rows, rows or None)
    The training and validation rows. Default a random split of
    ``_validation_fraction`` (stratified on the first task).
    ``SharedNetworkMixin``: a bagging member's given fold.
``_training_phases(network, ctx)`` -> list of TrainingPhase
    Default one phase on the whole network. ``FineTuningMixin`` (new heads
    first, then everything: LP-FT), ``TransferClassifier`` (a head on frozen
    features, then fine-tuning).
``_train(network, ctx, targets, weights, rows, seed)`` -> None
    One skorch net per phase; sets ``net_``, ``module_``, ``history_``,
    ``n_iter_``. ``TransferClassifier``: its contrastive step first.
``_task_losses()`` -> str or list of str
    The criterion's loss, read from the fitted ``tasks_`` when the net is made.
    Default ``loss``. ``MixedTaskEstimator``: one per task kind.
``_forward(X)`` -> list of tensors
    Per-task outputs for prediction through the one inference loop.
    ``TransferClassifier``: text embedded sorted by length first.

``_partial_fit_tasks(classes, y, ctx)`` -> (tasks, multitask)
    The tasks of the first ``partial_fit`` call, from ``classes``. Default
    classification tasks (``IncrementalMixin``). ``MixedTaskEstimator``: the
    kind of each column, regression tasks standardised on the first chunk.

``partial_fit`` (:mod:`sk_mtl._engine._incremental`) runs
``_partial_fit_tasks``, ``_fit_input``, ``_build_network`` and ``_set_fitted``
on its first call. Everything else (sample weights, seeding, the validation
split, the skorch net, the one inference loop, scoring, tags) lives here once.
"""

import functools
import numbers
import warnings
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
)

from .._data._inputs import NumericInput
from .._data._tasks import fit_tasks, task_probas
from .._runtime._device import check_device, float32_default_dtype, handle_interrupt
from .._runtime._malloc import release_free_memory
from .._runtime._threads import thread_scope, work_per_row
from ..losses import LOSSES
from ..weighting import TASK_WEIGHTINGS
from ._callbacks import check_finite_outputs
from ._classifier_mixin import TaskClassifierMixin
from ._fit_context import FitContext
from ._incremental import IncrementalMixin
from ._inference import (
    check_fitted,
    eval_mode,
    n_rows,
    predict_outputs,
    prediction_plan,
    sums_finite,
)
from ._monitoring import HistoryAttributesMixin
from ._net import OPTIMIZERS, make_net
from ._options import (
    NestedOptionsMixin,
    class_weight_matrix,
)
from ._phases import TrainingPhase
from ._training_data import (
    auto_batch_size,
    check_weighted_classes,
    concat_histories,
    phase_dataset,
    split_rows,
)


class BaseNeuralEstimator(NestedOptionsMixin, HistoryAttributesMixin, BaseEstimator):
    """Base class of the neural estimators. Not for direct use."""

    _parameter_constraints: dict = {
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "batch_size": [
            Interval(numbers.Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "predict_batch_size": [
            Interval(numbers.Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "class_weight": [dict, list, StrOptions({"balanced"}), None],
        "optimizer_options": [dict, None],
        "lr_scheduler": [str, callable, None],
        "lr_scheduler_options": [dict, None],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "task_weighting": [StrOptions(set(TASK_WEIGHTINGS))],
        "loss": [StrOptions(set(LOSSES))],
        "focal_gamma": [Interval(numbers.Real, 0, None, closed="left")],
        "ohem_fraction": [Interval(numbers.Real, 0, 1, closed="right")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "device": [str],
        "on_divergence": [StrOptions({"raise", "restore"})],
        "n_threads": [StrOptions({"auto"}), numbers.Integral],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
        "random_state": ["random_state"],
    }

    # ----------------------------------------------------------------- hooks
    def _fit_input(self, X, ctx):
        """Fit the input on training X: ``(input_, validated X)``."""
        input_ = NumericInput()
        return input_, input_.fit(X, self)

    def _fit_tasks(self, y, ctx):
        """The tasks of training ``y`` and its encoding (``fit_tasks``)."""
        return fit_tasks(y)

    def _task_losses(self):
        """The criterion's loss: one name, or one per task."""
        return self.loss

    def _set_tasks(self, tasks, multitask):
        """Store the fitted task objects and the attributes derived from them."""
        self.tasks_ = tasks
        self._multitask = multitask
        self.n_tasks_ = len(tasks)
        self.task_names_ = [t.name for t in tasks]

    def _set_fitted(self, ctx):
        """Assign the fitted attributes that the hooks computed in ``ctx``."""
        self.input_ = ctx.input
        self._set_tasks(ctx.tasks, ctx.multitask)
        for name, value in ctx.attributes.items():
            setattr(self, name, value)

    def _warm_start_state(self, X):
        """The fitted model ``fit`` continues from; None (no ``warm_start`` here)."""
        return None

    def _warm_started(self, network, ctx):
        """``network`` itself (the classifiers' ``warm_start`` overrides this)."""
        return network

    def _build_network(self, ctx):
        """Return the :class:`Network` for ``ctx.X`` and ``ctx.tasks``."""
        raise NotImplementedError

    def _training_phases(self, network, ctx):
        """The phases of training; by default one, on the whole network."""
        return [
            TrainingPhase(
                "train",
                network.module,
                lambda rows: ctx.input.tensors(ctx.X, rows),
                self.max_epochs,
                network.param_groups,
            )
        ]

    # ------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Targets. Each column of a 2-D ``y`` (or DataFrame) is a task (a
            classification task has its own classes). NaN / None / ``pd.NA`` mark
            a missing target, which adds nothing to the loss. With missing labels,
            use ``cv=TaskStratifiedKFold(...)`` (:mod:`sk_mtl.model_selection`) in
            ``cross_val_score`` / ``GridSearchCV``: sklearn's ``cv=5`` rejects a
            ``y`` with NaN before the estimator sees it.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, applied to each sample's loss in every task.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is "
                "None."
            )
        ctx = FitContext(previous=self._warm_start_state(X), y=y)
        ctx.input, ctx.X = self._fit_input(X, ctx)
        # before the tasks read y: a transposed y is a length mismatch, not a task
        check_consistent_length(ctx.X, y)
        tasks, targets = self._fit_tasks(y, ctx)
        ctx.tasks, ctx.multitask = tasks, targets.multitask
        sample_weight = _check_sample_weight(
            sample_weight, ctx.X, dtype=np.float64, ensure_non_negative=True
        )
        check_weighted_classes(tasks, targets, sample_weight)
        weights = self._entry_weights(sample_weight, tasks, targets)

        with self._training_context() as seed:
            torch.manual_seed(seed)
            network = self._warm_started(self._build_network(ctx), ctx)
            rows = self._split_rows(tasks, targets, sample_weight, seed, ctx)
            self._set_fitted(ctx)
            self.batch_size_ = self._fit_batch_size(ctx, len(rows[0]))
            self.batch_growth_ = self._fit_batch_growth(ctx)
            with self._compute(network.module, self.batch_size_):
                self._train(network, ctx, targets, weights, rows, seed)
        release_free_memory()
        return self

    def _entry_weights(self, sample_weight, tasks, targets):
        """Each entry's weight: its sample's weight times its class's weight
        (estimators of regression tasks have no class_weight)."""
        class_weight = getattr(self, "class_weight", None)
        return sample_weight[:, None] * (
            1.0
            if class_weight is None
            else class_weight_matrix(class_weight, tasks, targets)
        )

    @contextmanager
    def _training_context(self):
        """The context of every training call; yields its seed.

        The RNG of the training device is forked (only the CPU's for "cpu"), so
        the user's global RNG is left alone, and networks are built in float32
        whatever torch's default dtype.
        """
        device = self._check_device()
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        fork = [] if device.type in ("cpu", "meta") else [device.index or 0]
        with (
            torch.random.fork_rng(devices=fork, device_type=device.type),
            float32_default_dtype(),
        ):
            yield seed

    def _compute(self, module, batch_size):
        """Where the network trains on batches of ``batch_size`` rows: the torch
        threads and a fast allocator (:mod:`sk_mtl._runtime._malloc`), both
        restored afterwards (:meth:`_threads`)."""
        return self._threads(batch_size * work_per_row(module))

    def _threads(self, work_per_batch):
        """The torch threads for ``work_per_batch`` multiply-adds per batch
        (rows x work per row, at fit and at predict), and the fast allocator,
        as one context."""
        return thread_scope(self.n_threads, work_per_batch)

    def _validation_fraction(self, ctx):
        return self.validation_fraction if self.early_stopping else None

    def _fit_batch_size(self, ctx, n_rows):
        """Rows per training step of a fit of ``ctx.X`` on ``n_rows`` rows
        (``batch_size_``)."""
        return auto_batch_size(self.batch_size, n_rows)

    def _fit_batch_growth(self, ctx):
        """``((first epoch, rows), ...)``: from each of these epochs of the fit
        on, batches of that many rows (``batch_growth_``; none here)."""
        return ()

    def _batch_growth(self):
        """The batch growth of the fitted model (none for a model fitted
        before it existed, or by ``partial_fit``)."""
        return self.__dict__.get("batch_growth_", ())

    def _learning_rate(self):
        """The optimizer's learning rate of the fit (once ``batch_size_`` is
        set)."""
        return self.lr

    def _patience(self):
        return self.n_iter_no_change

    def _split_rows(self, tasks, targets, sample_weight, seed, ctx):
        """``(training rows, validation rows or None)`` of ``ctx.X``."""
        fraction = self._validation_fraction(ctx)
        return split_rows(tasks, targets, sample_weight, seed, fraction)

    def _train(self, network, ctx, targets, weights, rows, seed):
        histories = []
        for phase in self._training_phases(network, ctx):
            if phase.max_epochs < 1:
                continue
            data = [
                None if r is None else phase_dataset(phase, targets, weights, r)
                for r in rows
            ]
            net = self._make_net(phase, network, data[1], seed)
            with warnings.catch_warnings():
                # Our optimizer is built from the module we pass in: nothing to re-init.
                warnings.filterwarnings("ignore", message=".*re-initializ.*")
                net.fit(data[0], None)
            net.drop_validation()
            histories.append(net.history)
            if net.interrupted_:
                handle_interrupt(self, sum(len(h) for h in histories))
                break
        # The whole network predicts, whichever part the last phase trained; it is
        # left in eval mode, which inference never switches.
        net.module = net.module_ = eval_mode(network.module)
        self.net_, self.module_ = net, network.module
        self.history_ = concat_histories(histories)
        self.n_iter_ = len(self.history_)

    def _check_device(self):
        return check_device(self.device, type(self).__name__)

    def _make_net(self, phase, network, valid, seed):
        """The skorch net that trains ``phase`` (:func:`._net.make_net`)."""
        return make_net(self, phase, network, valid, seed)

    def _batch_rows(self):
        """Rows per training step of the fitted model (``batch_size_``)."""
        rows = getattr(self, "batch_size_", None)
        return auto_batch_size(self.batch_size, None) if rows is None else rows

    # --------------------------------------------------------------- predict
    def __sklearn_is_fitted__(self):
        """Whether fit has made the network (what ``check_is_fitted`` asks,
        without scanning every attribute on each prediction)."""
        return "module_" in vars(self)

    def _forward(self, X):
        """Per-task outputs of the fitted network for X (the inference loop).

        Non-finite outputs raise a ValueError (never silent NaN predictions).
        """
        return self._network_outputs(self.input_.transform(X, self))

    def _network_outputs(self, X):
        """Per-task outputs of the fitted network for X validated and
        transformed by ``input_`` (see :meth:`_forward`)."""
        inputs = self.input_.tensors(X)
        rows, per_row, submodules = prediction_plan(
            self.module_, self.predict_batch_size, self._batch_rows(), self.input_
        )
        # The threads are sized for the batches this call runs, not for the
        # largest batch: one row never waits for a second thread. A forward
        # pass counts as a training step of as many rows: its few large
        # matrix products split across threads as well as a step's
        # (benchmarks/results/threads.md, the predict columns).
        work = min(rows, n_rows(inputs)) * per_row
        outputs = predict_outputs(
            self.module_,
            inputs,
            rows,
            self.device,
            submodules=submodules,
            threads=functools.partial(self._threads, work),
        )
        if not sums_finite(outputs):  # then find the rows and say why
            check_finite_outputs(
                outputs, self.task_names_, type(self).__name__, self.module_
            )
        return outputs

    def __getstate__(self):
        state = super().__getstate__()
        # module_ is net_.module_, which skorch pickles on its own: storing it
        # again would double the size of the pickle.
        if "net_" in state and state.get("module_") is self.net_.module_:
            state = dict(state)
            del state["module_"]
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        # Re-link module_ to the net's module after unpickling or deep-copying.
        if "net_" in self.__dict__:
            self.module_ = self.net_.module_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class BaseNeuralClassifier(IncrementalMixin, TaskClassifierMixin, BaseNeuralEstimator):
    """Base class of the neural classifiers (``partial_fit``, ``warm_start``)."""

    def predict_proba(self, X):
        """Class probabilities of every task.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or list of such arrays
            One array per task (columns in the order of that task's ``classes_``);
            a single array when the model was fitted on a 1-D ``y``.
        """
        check_fitted(self)
        probas = task_probas(self.tasks_, self._forward(X))
        return probas if self._multitask else probas[0]
