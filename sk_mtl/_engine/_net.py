"""The training engine's skorch side: the batched data path and the net.

The dataset and iterator of :mod:`._batches` index a whole batch at once, so
skorch keeps doing what it is good at (callbacks, history, device handling,
early stopping) without paying per row.

- :class:`BatchedDataPathMixin`: every override of skorch internals made for
  speed, in one place (tested against plain skorch in ``tests/test_net.py``;
  pyproject bounds skorch's version because these methods are skorch internals);
- :class:`MultiTaskNet`: the multi-task training step; the task weighting owns
  the backward pass, per-task losses are recorded by callbacks
  (:mod:`sk_mtl._engine._callbacks`);
- the one inference loop of every estimator is :func:`._inference.predict_outputs`.
"""

import contextlib
import copy
import signal
import threading
import warnings

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping
from skorch.utils import to_tensor

from .._runtime._threads import refresh_threads
from ..ensembles import MemberAveragedLoss
from ._batches import BatchIterator, TensorBatchDataset
from ._callbacks import DivergenceGuard, TaskLossRecorder, WeightingEpochEnd
from ._inference import eval_mode
from ._monitoring import monitoring_callbacks
from ._options import fused_update, lr_scheduler_callback

__all__ = [
    "OPTIMIZERS",
    "BatchedDataPathMixin",
    "HeldOut",
    "MultiTaskNet",
    "make_net",
    "without_callback",
]

# Stands for "the same object as module_" in a pickled net.
_SAME_AS_MODULE = "<module_>"

# Hooks skorch calls on every batch; most callbacks leave them as no-ops.
_PER_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_grad_computed")


class BatchedDataPathMixin:
    """skorch overrides that make a small network's epoch cost what it computes.

    - batches are tensor slices of a :class:`TensorBatchDataset`, moved to the
      device once (no per-row fetch and collate);
    - per-batch callback hooks call only the callbacks that implement them;
    - the module's train/eval mode is only switched when it changes;
    - the batch loss is written into the history row directly.
    """

    def initialize_callbacks(self):
        super().initialize_callbacks()
        # Per batch, call only the callbacks that implement the hook: skorch's
        # generic notify loops over every callback, no-ops included.
        self._batch_listeners = {
            hook: [
                cb
                for _, cb in self.callbacks_
                if getattr(type(cb), hook, None) is not getattr(Callback, hook)
            ]
            for hook in _PER_BATCH_HOOKS
        }
        return self

    def notify(self, method_name, **cb_kwargs):
        listeners = self.__dict__.get("_batch_listeners", {}).get(method_name)
        if listeners is None:
            return super().notify(method_name, **cb_kwargs)
        getattr(self, method_name)(self, **cb_kwargs)
        for cb in listeners:
            getattr(cb, method_name)(self, **cb_kwargs)

    def initialize(self):
        super().initialize()
        self.shuffle_generator_ = torch.Generator().manual_seed(int(self.shuffle_seed))
        return self

    def get_dataset(self, X, y=None):
        if isinstance(X, TensorBatchDataset):
            return X
        if not isinstance(X, torch.Tensor | dict):
            X = torch.as_tensor(X)
        return TensorBatchDataset(X)

    def get_iterator(self, dataset, training=False):
        if self.device != "cpu" and isinstance(dataset, TensorBatchDataset):
            dataset = dataset.to(self.device)
        return BatchIterator(
            dataset,
            batch_size=self.batch_size if self.batch_size > 0 else len(dataset),
            shuffle=training,
            generator=self.shuffle_generator_ if training else None,
            growth=self.batch_growth if training else (),
        )

    def _set_training(self, training=True):
        # skorch calls this on every batch; nn.Module.train() walks the whole
        # module tree through the slow nn.Module.__setattr__, so skip it when the
        # mode is already right.
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module) and module.training != training:
                module.train(training)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        # skorch's loop, minus its generic per-batch length lookup.
        if iterator is None:
            return
        batch_count = 0
        loss_key, size_key = prefix + "_loss", prefix + "_batch_size"
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            # The row skorch's record_batch writes to, without its generic indexing.
            row = list.__getitem__(self.history, -1)["batches"][-1]
            row[loss_key] = step["loss"].item()
            row[size_key] = len(batch[1][0])
            self.notify("on_batch_end", batch=batch, training=training, **step)
            batch_count += 1
        self.history.record(prefix + "_batch_count", batch_count)


class _ParameterSplit:
    """The network's shared parameters and its other learnable ones, listed once.

    Walking the module tree takes tens of microseconds, a few per cent of a
    small network's training step, so :class:`MultiTaskNet` lists them when an
    epoch begins and each step keeps those that are trainable then
    (:meth:`trainable`): callbacks may freeze or unfreeze layers at any time.
    """

    def __init__(self, net):
        self.shared = list(net.module_.shared_parameters())
        ids = {id(p) for p in self.shared}
        self.other = [p for _, p in net.get_all_learnable_params() if id(p) not in ids]

    def trainable(self):
        """``(shared, other)``: the parameters of each list that need a gradient."""
        return (
            [p for p in self.shared if p.requires_grad],
            [p for p in self.other if p.requires_grad],
        )


class MultiTaskNet(BatchedDataPathMixin, NeuralNet):
    """skorch net for networks returning one output tensor per task.

    The criterion (:class:`~sk_mtl.losses.MultiTaskLoss`) gives each task's batch
    loss from targets ``(y, w)`` (``w``: per-entry weights, zero = missing label);
    its task weighting turns them into the training step's gradients
    (:meth:`sk_mtl.weighting.Weighting.backward`). The callbacks
    :class:`~sk_mtl._engine._callbacks.TaskLossRecorder` and
    :class:`~sk_mtl._engine._callbacks.WeightingEpochEnd` record per-task losses and
    feed the weighting's epoch hook.

    Parameters
    ----------
    task_names : list of str
        Used to name the per-task history columns.
    shuffle_seed : int
        Seed of the generator that shuffles training batches.
    batch_growth : tuple of (int, int), default=()
        ``((first epoch, rows), ...)``: from each of these epochs of a fit on,
        training batches of that many rows (:class:`._batches.BatchIterator`).
    **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    batch_growth = ()  # what a net pickled before the parameter existed reads

    def __init__(
        self,
        *args,
        task_names=("task_0",),
        shuffle_seed=0,
        batch_growth=(),
        pickle_optimizer=False,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.task_names = task_names
        self.shuffle_seed = shuffle_seed
        self.batch_growth = batch_growth
        self.pickle_optimizer = pickle_optimizer

    def __getstate__(self):
        # A lean pickle: skorch would store the module twice (the ``module``
        # parameter and ``module_``) and the optimizer state (2x the weights for
        # Adam). The module goes once; the optimizer only if pickle_optimizer.
        lean = {}
        if self.__dict__.get("module") is self.__dict__.get("module_"):
            lean["module"] = _SAME_AS_MODULE
        if not self.pickle_optimizer and "optimizer_" in self.__dict__:
            lean["optimizer_"] = None
        generator = self.__dict__.get("shuffle_generator_")
        if isinstance(generator, torch.Generator):
            # torch pickles a Generator in its legacy storage format, which
            # writes the memory address of a copy of the state: the same net
            # would pickle to other bytes, even another length, at each call.
            lean["shuffle_generator_"] = bytes(generator.get_state().numpy())
        kept = {k: self.__dict__[k] for k in lean}
        self.__dict__.update(lean)
        try:
            return super().__getstate__()
        finally:
            self.__dict__.update(kept)

    def __setstate__(self, state):
        super().__setstate__(state)
        if self.__dict__.get("module") == _SAME_AS_MODULE:
            self.module = self.module_
        generator_state = self.__dict__.get("shuffle_generator_")
        if isinstance(generator_state, bytes):
            state_tensor = torch.frombuffer(
                bytearray(generator_state), dtype=torch.uint8
            )
            self.shuffle_generator_ = torch.Generator()
            self.shuffle_generator_.set_state(state_tensor)
        if self.__dict__.get("optimizer_", False) is None:
            # A fresh optimizer (no state): the net can train again.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.initialize_optimizer()

    def on_epoch_begin(self, net, **kwargs):
        super().on_epoch_begin(net, **kwargs)
        # "auto" threads follow the machine's load from one epoch to the next.
        refresh_threads()
        self._epoch_parameters = _ParameterSplit(self)

    def drop_validation(self):
        """Forget the validation set and the early stopping of a finished fit.

        A fitted model does not need them, and pickling them would store the
        validation rows (and early stopping's copy of the best weights) with the
        model; ``partial_fit`` trains on without them.
        """
        if self.train_split is None:
            return
        self.train_split = None
        self.callbacks = without_callback(self.callbacks, "early_stopping")
        self.callbacks_ = [
            (name, cb) for name, cb in self.callbacks_ if name != "early_stopping"
        ]
        kept = {id(cb) for _, cb in self.callbacks_}
        listeners = self.__dict__.get("_batch_listeners", {})
        for hook, callbacks in listeners.items():
            listeners[hook] = [cb for cb in callbacks if id(cb) in kept]

    def fit_loop(self, X, y=None, **fit_params):
        # skorch's partial_fit swallows KeyboardInterrupt, which is also how
        # callbacks (early stopping) end training: a SIGINT handler tells a real
        # Ctrl-C apart, and ``interrupted_`` lets the estimator act on it.
        self.interrupted_ = False
        # The loop sets train mode itself; the fitted module is left in eval mode,
        # so that inference never switches it (see eval_mode).
        self.module_.train()
        try:
            with _record_sigint(self):
                return super().fit_loop(X, y, **fit_params)
        finally:
            self.__dict__.pop("_epoch_parameters", None)
            eval_mode(self.module_)

    def get_default_callbacks(self):
        callbacks = list(super().get_default_callbacks())
        # Before print_log (and any user or early-stopping callback): they read
        # the per-task columns.
        at = next(i for i, (name, _) in enumerate(callbacks) if name == "print_log")
        callbacks[at:at] = [
            ("task_losses", TaskLossRecorder()),
            ("task_weighting", WeightingEpochEnd()),
        ]
        return callbacks

    def get_task_losses(self, y_pred, y_true):
        """The batch loss of each task (list of scalars carrying the graph)."""
        y, w = y_true
        moved = w is not None and w.device != y.device
        if moved or str(y.device) != str(self.device):
            y = to_tensor(y, device=self.device)
            w = None if w is None else to_tensor(w, device=self.device)
        return self.criterion_.task_losses(y_pred, y, w)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        losses = self.get_task_losses(y_pred, y_true)
        return self.criterion_.weighting.combine_list(losses)

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = batch
        y_pred = self.infer(Xi, **fit_params)
        losses = self.get_task_losses(y_pred, yi)
        # Listed by the epoch; a step called on its own lists them itself.
        split = self.__dict__.get("_epoch_parameters") or _ParameterSplit(self)
        loss = self.criterion_.weighting.backward(losses, *split.trainable())
        with torch.no_grad():
            task_losses = torch.stack(losses)
        return {"loss": loss, "y_pred": y_pred, "task_losses": task_losses}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        Xi, yi = batch
        with torch.no_grad():
            y_pred = self.infer(Xi, **fit_params)
            losses = self.get_task_losses(y_pred, yi)
            loss = self.criterion_.weighting.combine_list(losses)
            return {"loss": loss, "y_pred": y_pred, "task_losses": torch.stack(losses)}


class HeldOut:
    """A skorch ``train_split`` that trains on the whole dataset it is given and
    validates on a fixed one (picklable, unlike a closure)."""

    def __init__(self, valid):
        self.valid = valid

    def __call__(self, dataset, y=None):
        return dataset, self.valid


def without_callback(callbacks, name):
    """``callbacks`` (a net's ``callbacks`` parameter) less the one named ``name``."""
    return [cb for cb in callbacks if not (isinstance(cb, tuple) and cb[0] == name)]


@contextlib.contextmanager
def _record_sigint(net):
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if previous is signal.SIG_IGN:
            return
        net.interrupted_ = True
        if callable(previous):
            previous(signum, frame)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
}


def make_net(estimator, phase, network, valid, seed):
    """The :class:`MultiTaskNet` that trains one phase of ``estimator``'s fit.

    Callbacks in this order: the user's (deep-copied), the phase's, the
    divergence guard, early stopping when ``valid`` is given, the learning-rate
    schedule, then the monitoring ones of ``verbose``. The criterion is the
    multi-task loss of the fitted tasks; optimizer options come from the network
    and the estimator's ``optimizer_options``.
    """
    callbacks = [
        cb if isinstance(cb, tuple) else (f"user_{i}_{type(cb).__name__}", cb)
        for i, cb in enumerate(copy.deepcopy(estimator.callbacks or []))
    ]
    callbacks += phase.callbacks
    callbacks.append(
        (
            "divergence",
            DivergenceGuard(
                getattr(estimator, "on_divergence", "raise"),
                type(estimator).__name__,
                phase.name,
            ),
        )
    )
    if valid is not None:
        callbacks.append(("early_stopping", _early_stopping(estimator)))
    if estimator.lr_scheduler is not None:
        scheduler = lr_scheduler_callback(
            estimator.lr_scheduler, estimator.lr_scheduler_options
        )
        callbacks.append(("lr_scheduler", scheduler))
    net_kwargs, shown = monitoring_callbacks(int(estimator.verbose), valid is not None)
    callbacks += shown
    criterion = MemberAveragedLoss(  # MultiTaskLoss that reads TabM members
        estimator.n_tasks_,
        loss=estimator._task_losses(),
        task_weighting=estimator.task_weighting,
        # a regressor has no classification-loss parameters
        focal_gamma=getattr(estimator, "focal_gamma", 2.0),
        ohem_fraction=getattr(estimator, "ohem_fraction", 0.25),
    )
    options = {**network.optimizer_options, **(estimator.optimizer_options or {})}
    options = {**fused_update(estimator, options), **options}
    kwargs = {f"optimizer__{k}": v for k, v in options.items()}
    if phase.param_groups:
        kwargs["optimizer__param_groups"] = phase.param_groups
    return MultiTaskNet(
        module=phase.module,
        criterion=criterion,
        optimizer=OPTIMIZERS[estimator.optimizer],
        optimizer__weight_decay=estimator.weight_decay,
        lr=estimator._learning_rate(),
        max_epochs=phase.max_epochs,
        batch_size=estimator._batch_rows(),
        train_split=None if valid is None else HeldOut(valid),
        callbacks=callbacks,
        device=estimator.device,
        verbose=int(estimator.verbose),
        task_names=estimator.task_names_,
        shuffle_seed=seed,
        batch_growth=estimator._batch_growth(),
        **net_kwargs,
        **kwargs,
    )


def _early_stopping(estimator):
    return EarlyStopping(
        monitor="valid_task_loss",
        patience=estimator._patience(),
        threshold=estimator.tol,
        threshold_mode="abs",
        lower_is_better=True,
        load_best=True,
    )
