"""Shared fit/predict of the neural estimators (the sklearn side of the engine).

Subclasses provide the network through :meth:`BaseNeuralClassifier._build_module`
and may change how X is validated and turned into tensors; everything else (target
encoding with missing labels, sample weights, seeding, early stopping, the skorch
net, prediction, scoring, tags) lives here once.
"""

import copy
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)
from skorch.callbacks import EarlyStopping

from ._net import MultiTaskNet, TensorBatchDataset
from .losses import LOSSES, TASK_WEIGHTINGS, MultiTaskLoss
from .utils import encode_targets, is_missing, stack_task_columns, task_columns

_OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
}


class BaseNeuralClassifier(ClassifierMixin, BaseEstimator):
    """Base class of the neural estimators. Not for direct use."""

    _parameter_constraints: dict = {
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
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
        "verbose": ["verbose"],
        "callbacks": [list, None],
        "random_state": ["random_state"],
    }

    # Training settings every neural estimator understands; a subclass exposes
    # the ones that make sense for it as __init__ parameters.
    _training_defaults = {
        "dropout": 0.0,
        "max_epochs": 50,
        "lr": 1e-3,
        "batch_size": 128,
        "optimizer": "adam",
        "weight_decay": 0.0,
        "task_weighting": "equal",
        "loss": "cross_entropy",
        "focal_gamma": 2.0,
        "ohem_fraction": 0.25,
        "early_stopping": False,
        "validation_fraction": 0.1,
        "n_iter_no_change": 10,
        "tol": 1e-4,
        "device": "cpu",
        "verbose": 0,
        "callbacks": None,
        "random_state": None,
    }

    def _setting(self, name):
        return getattr(self, name, self._training_defaults[name])

    # ----------------------------------------------------------------- hooks
    def _build_module(self, n_features, n_classes):
        """Return the torch module: ``X -> tuple of per-task logits``."""
        raise NotImplementedError

    def _validate_X(self, X, *, reset):
        """Validate X; return what :meth:`_to_model_input` takes."""
        X = validate_data(
            self,
            X,
            reset=reset,
            dtype=(np.float32, np.float64),
            accept_sparse=("csr", "csc", "coo"),
        )
        if sp.issparse(X):
            # e.g. one-hot output of a ColumnTransformer; the network needs dense rows
            X = X.toarray()
        X = np.asarray(X, dtype=np.float32)
        if not X.flags.writeable:  # torch cannot wrap read-only memory
            X = X.copy()
        return X

    def _to_model_input(self, X, rows=None):
        """Turn validated X (optionally a subset of rows) into model input."""
        X = torch.from_numpy(X)
        if rows is None or (len(rows) == len(X) and (rows == np.arange(len(X))).all()):
            return X
        return X[torch.as_tensor(rows)]

    def _optimizer_param_groups(self):
        """skorch ``param_groups`` (e.g. a smaller lr for reused layers)."""
        return []

    def _optimizer_options(self):
        """Extra keyword arguments of the optimizer (e.g. ``fused=True``)."""
        return {}

    def _extra_callbacks(self):
        """Callbacks a subclass always needs (e.g. unfreezing schedules)."""
        return []

    # ------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Labels. Each column of a 2-D ``y`` (or DataFrame) is a task with its
            own classes. NaN / None / ``pd.NA`` mark a missing label, which adds
            nothing to the loss.
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
        X = self._validate_X(X, reset=True)
        targets = encode_targets(y)
        check_consistent_length(X, targets.codes)
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        self._check_weighted_classes(targets, sample_weight)

        self.classes_ = targets.classes if targets.multitask else targets.classes[0]
        self.n_tasks_ = len(targets.classes)
        self.task_names_ = list(targets.task_names)
        self._multitask = targets.multitask

        device = self._check_device()
        seed = int(check_random_state(self._setting("random_state")).randint(2**31 - 1))
        fork_devices = [torch.device(device).index or 0] if device != "cpu" else []
        with torch.random.fork_rng(devices=fork_devices, enabled=True):
            torch.manual_seed(seed)
            # The module comes first: a subclass may need it to make model input
            # (e.g. features of a frozen pretrained part, computed once).
            module = self._build_module(
                self._n_model_inputs(X), [len(c) for c in targets.classes]
            )
            train_rows, valid_rows = self._split_rows(targets, sample_weight, seed)
            train = self._dataset(X, targets, sample_weight, train_rows)
            valid = None
            if valid_rows is not None:
                valid = self._dataset(X, targets, sample_weight, valid_rows)
            self.net_ = self._make_net(module, valid, seed)
            with warnings.catch_warnings():
                # Our optimizer is built from the module we pass in: nothing to re-init.
                warnings.filterwarnings("ignore", message=".*re-initializ.*")
                self.net_.fit(train, None)
        self.module_ = self.net_.module_
        self.history_ = self.net_.history
        self.n_iter_ = len(self.history_)
        return self

    def _n_model_inputs(self, X):
        return X.shape[1]

    def _check_device(self):
        device = self._setting("device")
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available on this "
                "machine; use device='cpu'."
            )
        try:
            torch.device(device)
        except RuntimeError as exc:
            raise ValueError(f"Invalid device {device!r}: {exc}") from None
        return device

    @staticmethod
    def _check_weighted_classes(targets, sample_weight):
        if not np.any(sample_weight > 0):
            raise ValueError("sample_weight is zero for every sample.")
        for t, name in enumerate(targets.task_names):
            keep = targets.labelled[:, t] & (sample_weight > 0)
            if len(np.unique(targets.codes[keep, t])) < 2:
                raise ValueError(
                    f"Task {name!r} has 1 class among the labelled samples with a "
                    "positive sample_weight; a classifier needs at least 2 classes."
                )

    def _split_rows(self, targets, sample_weight, seed):
        n = len(sample_weight)
        rows = np.arange(n)
        if not self._setting("early_stopping"):
            return rows, None
        # Stratify on the first task (missing labels as their own stratum) when
        # every stratum can be split, like sklearn's MLP.
        strata = np.where(targets.labelled[:, 0], targets.codes[:, 0], -1)
        _, counts = np.unique(strata, return_counts=True)
        stratify = strata if counts.min() >= 2 else None
        try:
            train, valid = train_test_split(
                rows,
                test_size=self._setting("validation_fraction"),
                random_state=seed,
                stratify=stratify,
            )
        except ValueError:
            train, valid = train_test_split(
                rows, test_size=self._setting("validation_fraction"), random_state=seed
            )
        return np.sort(train), np.sort(valid)

    def _dataset(self, X, targets, sample_weight, rows):
        w = sample_weight[rows, None] * targets.labelled[rows]
        # Each task's weights average 1 over this dataset: the batch mean of
        # w * loss is then an unbiased estimate of the task's weighted mean loss.
        mean = w.mean(axis=0)
        w = w / np.where(mean > 0, mean, 1.0)
        return TensorBatchDataset(
            self._to_model_input(X, rows),
            torch.from_numpy(targets.codes[rows]),
            # All ones (no missing label, uniform weights): the loss's fast path.
            None if np.all(w == 1.0) else torch.from_numpy(w.astype(np.float32)),
        )

    def _make_net(self, module, valid, seed):
        callbacks = [
            cb if isinstance(cb, tuple) else (f"user_{i}_{type(cb).__name__}", cb)
            for i, cb in enumerate(copy.deepcopy(self._setting("callbacks") or []))
        ]
        callbacks += self._extra_callbacks()
        if valid is not None:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_task_loss",
                        patience=self._setting("n_iter_no_change"),
                        threshold=self._setting("tol"),
                        threshold_mode="abs",
                        lower_is_better=True,
                        load_best=True,
                    ),
                )
            )
        criterion = MultiTaskLoss(
            self.n_tasks_,
            loss=self._setting("loss"),
            task_weighting=self._setting("task_weighting"),
            focal_gamma=self._setting("focal_gamma"),
            ohem_fraction=self._setting("ohem_fraction"),
        )
        kwargs = {}
        groups = self._optimizer_param_groups()
        if groups:
            kwargs["optimizer__param_groups"] = groups
        for key, value in self._optimizer_options().items():
            kwargs[f"optimizer__{key}"] = value
        return MultiTaskNet(
            module=module,
            criterion=criterion,
            optimizer=_OPTIMIZERS[self._setting("optimizer")],
            optimizer__weight_decay=self._setting("weight_decay"),
            lr=self._setting("lr"),
            max_epochs=self._setting("max_epochs"),
            batch_size=self._setting("batch_size"),
            train_split=None if valid is None else (lambda ds, y=None: (ds, valid)),
            callbacks=callbacks,
            device=self._setting("device"),
            verbose=int(self._setting("verbose")),
            task_names=self.task_names_,
            shuffle_seed=seed,
            **kwargs,
        )

    # --------------------------------------------------------------- predict
    def _task_classes(self):
        return self.classes_ if self._multitask else [self.classes_]

    def _forward_logits(self, X):
        X = self._validate_X(X, reset=False)
        out = self.net_.forward(TensorBatchDataset(self._to_model_input(X)))
        return list(out) if isinstance(out, tuple | list) else [out]

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
        probas = [
            torch.softmax(logits.double(), dim=1).numpy()
            for logits in self._forward_logits(X)
        ]
        return probas if self._multitask else probas[0]

    def predict(self, X):
        """Predicted label of every task.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_tasks)
            Labels in each task's own classes.
        """
        check_is_fitted(self)
        columns = [
            classes[logits.argmax(dim=1).numpy()]
            for classes, logits in zip(self._task_classes(), self._forward_logits(X))
        ]
        if not self._multitask:
            return columns[0]
        return stack_task_columns(columns)

    def score(self, X, y, sample_weight=None):
        """Mean over tasks of the accuracy on the labelled entries.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            True labels; missing labels (NaN/None) are ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        cols, names, _ = task_columns(y)
        if len(cols) != self.n_tasks_:
            raise ValueError(
                f"y has {len(cols)} task(s) but {type(self).__name__} was fitted on "
                f"{self.n_tasks_} task(s) ({self.task_names_})."
            )
        y_pred = self.predict(X)
        y_pred = y_pred.reshape(len(y_pred), -1)
        check_consistent_length(y_pred, cols[0])
        sw = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        scores = []
        for t, col in enumerate(cols):
            keep = ~is_missing(col)
            if not keep.any():
                continue
            hits = (y_pred[keep, t] == col[keep]).astype(float)
            scores.append(np.average(hits, weights=None if sw is None else sw[keep]))
        return float(np.mean(scores))

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
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.classifier_tags.multi_label = True
        tags.input_tags.sparse = True
        return tags
