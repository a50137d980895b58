"""Shared fit/predict of the neural estimators (the sklearn side of the engine).

An estimator composes the engine's seams:

- an input (:mod:`sk_mtl._data._inputs`): ``_fit_input`` returns the fitted input and
  the validated training X;
- the tasks (:mod:`sk_mtl._data._tasks`), one per column of ``y``: ``_fit_tasks``
  makes them (classification tasks by default);
- a network: ``_build_network`` returns the torch module (plain torch,
  :mod:`sk_mtl.modules`) and its optimizer settings;
- training phases: ``_training_phases`` (one by default; transfer learning trains
  a head on frozen features first, then fine-tunes).

Everything else (sample weights, seeding, the validation split, the skorch net,
the one inference loop, scoring, tags) lives here once.
"""

import copy
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
    check_is_fitted,
)
from skorch.callbacks import EarlyStopping

from .._data._inputs import NumericInput
from .._data._tasks import fit_tasks
from .._runtime._device import check_device, float32_default_dtype, handle_interrupt
from .._runtime._malloc import fast_allocation
from .._runtime._threads import resolve_n_threads, torch_threads, work_per_row
from ..ensembles import MemberAveragedLoss
from ..losses import LOSSES
from ..weighting import TASK_WEIGHTINGS
from ._callbacks import DivergenceGuard, check_finite_outputs
from ._classifier_mixin import TaskClassifierMixin
from ._incremental import IncrementalMixin
from ._monitoring import HistoryAttributesMixin, monitoring_callbacks
from ._net import MultiTaskNet, predict_outputs
from ._options import (
    NestedOptionsMixin,
    class_weight_matrix,
    lr_scheduler_callback,
    predict_batch_rows,
)
from ._phases import TrainingPhase
from ._training_data import (
    auto_batch_size,
    check_weighted_classes,
    concat_histories,
    phase_dataset,
    split_rows,
)

_OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
}


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
        "optimizer": [StrOptions(set(_OPTIMIZERS))],
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

    # ----------------------------------------------------------------- seams
    def _fit_input(self, X):
        """Fit the input on training X: ``(input_, validated X)``."""
        input_ = NumericInput()
        return input_, input_.fit(X, self)

    def _fit_tasks(self, y):
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

    def _warm_start_state(self):
        """The fitted state ``fit`` starts from; None (no ``warm_start`` here)."""
        return None

    def _warm_started(self, network, previous):
        """``network`` itself (the classifiers' ``warm_start`` overrides this)."""
        return network

    def _build_network(self, X):
        """Return the :class:`Network` for validated training X and ``tasks_``."""
        raise NotImplementedError

    def _training_phases(self, network, X):
        """The phases of training; by default one, on the whole network."""
        return [
            TrainingPhase(
                "train",
                network.module,
                lambda rows: self.input_.tensors(X, rows),
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
            a missing target, which adds nothing to the loss.
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
        previous = self._warm_start_state()
        self.input_, X = self._fit_input(X)
        tasks, targets = self._fit_tasks(y)
        check_consistent_length(X, targets.codes)
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        check_weighted_classes(tasks, targets, sample_weight)
        weights = self._entry_weights(sample_weight, tasks, targets)
        self._set_tasks(tasks, targets.multitask)

        with self._training_context() as seed:
            torch.manual_seed(seed)
            network = self._warm_started(self._build_network(X), previous)
            rows = split_rows(
                tasks, targets, sample_weight, seed, self._validation_fraction()
            )
            self.batch_size_ = auto_batch_size(self.batch_size, len(rows[0]))
            with self._compute(network.module, self.batch_size_, 3):
                self._train(network, X, targets, weights, rows, seed)
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

    @contextmanager
    def _compute(self, module, batch_size, passes):
        """Where the network computes: the torch threads for batches of
        ``passes`` passes (3: forward + backward; 1: predict) and a fast
        allocator (:mod:`sk_mtl._runtime._malloc`), both restored afterwards."""
        work = batch_size * work_per_row(module) * passes // 3
        n_threads = resolve_n_threads(self.n_threads, work_per_batch=work)
        with torch_threads(n_threads), fast_allocation():
            yield

    def _validation_fraction(self):
        return self.validation_fraction if self.early_stopping else None

    def _train(self, network, X, targets, weights, rows, seed):
        histories = []
        for phase in self._training_phases(network, X):
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
            if net.train_split is not None:  # the held-out rows are not the model's
                net.set_params(train_split=None, callbacks__early_stopping=None)
            histories.append(net.history)
            if net.interrupted_:
                handle_interrupt(self, sum(len(h) for h in histories))
                break
        # The whole network predicts, whichever part the last phase trained.
        net.module = net.module_ = network.module
        self.net_, self.module_ = net, network.module
        self.history_ = concat_histories(histories)
        self.n_iter_ = len(self.history_)

    def _check_device(self):
        return check_device(self.device, type(self).__name__)

    def _make_net(self, phase, network, valid, seed):
        callbacks = [
            cb if isinstance(cb, tuple) else (f"user_{i}_{type(cb).__name__}", cb)
            for i, cb in enumerate(copy.deepcopy(self.callbacks or []))
        ]
        callbacks += phase.callbacks
        callbacks.append(
            (
                "divergence",
                DivergenceGuard(
                    getattr(self, "on_divergence", "raise"),
                    type(self).__name__,
                    phase.name,
                ),
            )
        )
        if valid is not None:
            callbacks.append(("early_stopping", self._early_stopping()))
        if self.lr_scheduler is not None:
            scheduler = lr_scheduler_callback(
                self.lr_scheduler, self.lr_scheduler_options
            )
            callbacks.append(("lr_scheduler", scheduler))
        net_kwargs, shown = monitoring_callbacks(int(self.verbose), valid is not None)
        callbacks += shown
        criterion = MemberAveragedLoss(  # MultiTaskLoss that reads TabM members
            self.n_tasks_,
            loss=self._task_losses(),
            task_weighting=self.task_weighting,
            # a regressor has no classification-loss parameters
            focal_gamma=getattr(self, "focal_gamma", 2.0),
            ohem_fraction=getattr(self, "ohem_fraction", 0.25),
        )
        options = {**network.optimizer_options, **(self.optimizer_options or {})}
        kwargs = {f"optimizer__{k}": v for k, v in options.items()}
        if phase.param_groups:
            kwargs["optimizer__param_groups"] = phase.param_groups
        return MultiTaskNet(
            module=phase.module,
            criterion=criterion,
            optimizer=_OPTIMIZERS[self.optimizer],
            optimizer__weight_decay=self.weight_decay,
            lr=self.lr,
            max_epochs=phase.max_epochs,
            batch_size=self._batch_rows(),
            train_split=None if valid is None else (lambda ds, y=None: (ds, valid)),
            callbacks=callbacks,
            device=self.device,
            verbose=int(self.verbose),
            task_names=self.task_names_,
            shuffle_seed=seed,
            **net_kwargs,
            **kwargs,
        )

    def _batch_rows(self):
        """Rows per training step of the fitted model (``batch_size_``)."""
        rows = getattr(self, "batch_size_", None)
        return auto_batch_size(self.batch_size, None) if rows is None else rows

    def _early_stopping(self):
        return EarlyStopping(
            monitor="valid_task_loss",
            patience=self.n_iter_no_change,
            threshold=self.tol,
            threshold_mode="abs",
            lower_is_better=True,
            load_best=True,
        )

    # --------------------------------------------------------------- predict
    def _predict_rows(self):
        """Rows per forward pass at prediction (``predict_batch_size``)."""
        width = getattr(self.input_, "width", None)
        return predict_batch_rows(
            self.predict_batch_size, self._batch_rows(), self.module_, width
        )

    def _forward(self, X):
        """Per-task outputs of the fitted network for X (the inference loop).

        Non-finite outputs raise a ValueError (never silent NaN predictions).
        """
        X = self.input_.transform(X, self)
        rows = self._predict_rows()
        with self._compute(self.module_, rows, 1):
            outputs = predict_outputs(
                self.module_, self.input_.tensors(X), rows, self.device
            )
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
        check_is_fitted(self)
        probas = [t.proba(out) for t, out in zip(self.tasks_, self._forward(X))]
        return probas if self._multitask else probas[0]
