"""The training engine's skorch side: a batched tensor data path and the net.

skorch's default data path fetches one row at a time and collates; on small
tabular networks that costs more than the network itself. Here a dataset indexes
a whole batch with one tensor index and the iterator yields those batches, so
skorch keeps doing what it is good at (callbacks, history, device handling,
early stopping) without paying per row.

- :class:`BatchedDataPathMixin`: every override of skorch internals made for
  speed, in one place (tested against plain skorch in ``tests/test_net.py``;
  pyproject bounds skorch's version because these methods are skorch internals);
- :class:`MultiTaskNet`: the multi-task training step; the task weighting owns
  the backward pass, per-task losses are recorded by callbacks
  (:mod:`sk_mtl._engine._callbacks`);
- :func:`predict_outputs`: the one inference loop of every estimator.
"""

import contextlib
import signal
import threading
import warnings
from functools import cached_property

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.utils import to_tensor
from torch.utils.data import Dataset

from ..utils._progress import progress
from ._callbacks import TaskLossRecorder, WeightingEpochEnd

__all__ = [
    "TensorBatchDataset",
    "take_rows",
    "BatchIterator",
    "BatchedDataPathMixin",
    "MultiTaskNet",
    "HeldOut",
    "eval_mode",
    "n_rows",
    "predict_outputs",
]

# Stands for "the same object as module_" in a pickled net.
_SAME_AS_MODULE = "<module_>"

# Hooks skorch calls on every batch; most callbacks leave them as no-ops.
_PER_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_grad_computed")


def take_rows(X, idx):
    """Rows ``idx`` of a model input: a tensor, or a dict of them (tokenised text,
    tabular parts)."""
    if isinstance(X, dict):
        return {key: value[idx] for key, value in X.items()}
    return X[idx]


class TensorBatchDataset(Dataset):
    """In-memory dataset of aligned tensors that is indexed a batch at a time.

    Parameters
    ----------
    X : torch.Tensor or dict of torch.Tensor
        Inputs; a dict is indexed key by key (e.g. token ids and masks).
    y, w : torch.Tensor, optional
        ``(n, n_tasks)`` class codes and per-entry weights (zero = missing);
        ``w=None`` means weight 1 everywhere, which takes the loss's fast path.
    """

    def __init__(self, X, y=None, w=None):
        self.X = X
        self.y = y
        self.w = w

    def __len__(self):
        first = next(iter(self.X.values())) if isinstance(self.X, dict) else self.X
        return len(first)

    def __getitem__(self, idx):
        Xb = take_rows(self.X, idx)
        if self.y is None:
            return Xb, None
        return Xb, (self.y[idx], None if self.w is None else self.w[idx])

    def to(self, device):
        """Move every tensor to ``device`` once, so batches need no copy."""

        def move(t):
            # Row-batch views (sparse X, row subsets) stay on the host: each
            # batch is moved when the net reads it.
            if t is None or not isinstance(t, torch.Tensor | dict):
                return t
            return to_tensor(t, device=device)

        return TensorBatchDataset(move(self.X), move(self.y), move(self.w))


class BatchIterator:
    """Yields ``dataset[index_batch]`` for consecutive or shuffled index batches."""

    def __init__(self, dataset, batch_size, shuffle=False, generator=None):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator

    def __len__(self):
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        bs = self.batch_size
        if not self.shuffle:
            for start in range(0, n, bs):
                yield self.dataset[slice(start, start + bs)]
            return
        perm = torch.randperm(n, generator=self.generator)
        for start in range(0, n, bs):
            yield self.dataset[perm[start : start + bs]]


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
    """Shared and other trainable parameters, looked up only when asked for."""

    def __init__(self, net):
        self.net = net

    @cached_property
    def shared(self):
        return [p for p in self.net.module_.shared_parameters() if p.requires_grad]

    @cached_property
    def other(self):
        ids = {id(p) for p in self.shared}
        return [
            p
            for _, p in self.net.get_all_learnable_params()
            if p.requires_grad and id(p) not in ids
        ]


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
    **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    def __init__(
        self,
        *args,
        task_names=("task_0",),
        shuffle_seed=0,
        pickle_optimizer=False,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.task_names = task_names
        self.shuffle_seed = shuffle_seed
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
        if self.__dict__.get("optimizer_", False) is None:
            # A fresh optimizer (no state): the net can train again.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.initialize_optimizer()

    def drop_validation(self):
        """Forget the validation set and the early stopping of a finished fit.

        A fitted model does not need them, and pickling them would store the
        validation rows (and early stopping's copy of the best weights) with the
        model; ``partial_fit`` trains on without them.
        """
        if self.train_split is None:
            return
        self.train_split = None
        self.callbacks = [
            cb for cb in self.callbacks if _callback_name(cb) != "early_stopping"
        ]
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
        params = _ParameterSplit(self)
        loss = self.criterion_.weighting.backward(losses, params.shared, params.other)
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


def _callback_name(cb):
    return cb[0] if isinstance(cb, tuple) else None


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


_MODE_LOCK = threading.Lock()


def eval_mode(module):
    """Put ``module`` (and every submodule) in eval mode, once and for good.

    Fitted models are left in eval mode by fit and partial_fit, and the training
    loop puts a module in train mode itself, so inference never switches a mode
    back and forth: calls from many threads on one fitted model all run in eval
    mode. A module found in train mode here (an older pickle, a user's
    ``.train()``) is switched under a lock; the switch only ever goes to eval, so
    no thread can see another thread's batches run with dropout on.
    """
    if any(m.training for m in module.modules()):
        with _MODE_LOCK:
            module.eval()
    return module


def n_rows(X):
    """Rows of a model input: a tensor, a row-batch view or a dict of them."""
    return (next(iter(X.values())) if isinstance(X, dict) else X).shape[0]


def predict_outputs(module, X, batch_size, device="cpu", *, order=None, verbose=0):
    """Per-task outputs of ``module`` for every row of X, on the CPU.

    The one inference loop of the estimators: eval mode (:func:`eval_mode`; the
    mode is not restored, so concurrent calls never see train mode), inference
    mode, batches of ``batch_size`` rows moved to ``device`` once. Input that
    fits one batch (a served request) goes through the module directly, with no
    dataset or iterator. It only reads ``module``: calls from several threads
    give the results of serial calls.

    Parameters
    ----------
    module : torch.nn.Module
        Returns one tensor per task (or a single tensor).
    X : torch.Tensor, dict of torch.Tensor, or rows
        Model input; a dict is passed as keyword arguments. Any object with
        ``len`` whose ``X[index_tensor]`` is such an input also works: its rows
        are made batch by batch (e.g. token ids padded to each batch's longest
        text, :class:`sk_mtl.text._batching.TokenRows`).
    batch_size : int
        Rows per forward pass.
    device : str, default="cpu"
        Where ``module`` lives.
    order : array-like of int, default=None
        Batch the rows in this order (e.g. texts sorted by length, so that each
        batch pads little); the outputs are in row order all the same.
    verbose : int, default=0
        ``>= 2`` shows a progress bar over the batches.

    Returns
    -------
    outputs : list of torch.Tensor
        One ``(n_samples, width)`` tensor per task.
    """
    eval_mode(module)
    with torch.inference_mode():
        one_batch = order is None and isinstance(X, torch.Tensor | dict)
        if one_batch and n_rows(X) <= batch_size:
            out = _forward_batch(module, take_rows(X, slice(None)), device)
            return list(out) if str(device) == "cpu" else [t.cpu() for t in out]
        dataset = TensorBatchDataset(X)
        if str(device) != "cpu":
            dataset = dataset.to(device)
        batches = BatchIterator(dataset, batch_size)
        n_batches = len(batches)
        if order is not None:
            order = torch.as_tensor(order)
            starts = range(0, len(dataset), batch_size)
            batches = (dataset[order[i : i + batch_size]] for i in starts)
        chunks = [
            _forward_batch(module, Xb, device)
            for Xb, _ in progress(batches, verbose, "predicting", n_batches)
        ]
    outputs = [torch.cat([c[t] for c in chunks]).cpu() for t in range(len(chunks[0]))]
    if order is None:
        return outputs
    return [out[torch.argsort(order)] for out in outputs]


def _forward_batch(module, Xb, device):
    """The module's outputs for one batch, as a tuple of per-task tensors."""
    if str(device) != "cpu" or not isinstance(Xb, torch.Tensor | dict):
        Xb = to_tensor(Xb, device=device)
    out = module(**Xb) if isinstance(Xb, dict) else module(Xb)
    return out if isinstance(out, tuple | list) else (out,)
