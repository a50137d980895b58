"""The one inference loop of the estimators, and the eval-mode switch it relies on.

Predict, predict_proba, transform and score of every estimator (text and the
weight soup included) run the network through :func:`predict_outputs`. It only
reads the module, so one fitted model can serve many threads at once.
"""

import contextlib
import math
import threading
import weakref

import torch
from sklearn.utils.validation import check_is_fitted
from skorch.utils import to_tensor

from .._runtime._threads import work_per_row
from ..losses import TaskOutputs
from ..utils._progress import progress
from ._batches import BatchIterator, TensorBatchDataset
from ._numpy_forward import NUMPY_MAX_ROWS, numpy_outputs
from ._options import predict_batch_rows

__all__ = [
    "check_fitted",
    "eval_mode",
    "n_rows",
    "prediction_plan",
    "predict_outputs",
    "sums_finite",
]


_MODE_LOCK = threading.Lock()


def check_fitted(estimator):
    """:func:`~sklearn.utils.validation.check_is_fitted`, with a fitted model's
    answer taken from its ``__sklearn_is_fitted__`` alone.

    scikit-learn's check first computes the estimator's tags (microseconds a
    call, which a served row pays on every prediction); the answer for an
    unfitted model, and its error, are scikit-learn's.
    """
    is_fitted = getattr(estimator, "__sklearn_is_fitted__", None)
    if is_fitted is None or not is_fitted():
        check_is_fitted(estimator)


def eval_mode(module, submodules=None):
    """Put ``module`` (and every submodule) in eval mode, once and for good.

    Fitted models are left in eval mode by fit and partial_fit, and the training
    loop puts a module in train mode itself, so inference never switches a mode
    back and forth: calls from many threads on one fitted model all run in eval
    mode. A module found in train mode here (an older pickle, a user's
    ``.train()``) is switched under a lock; the switch only ever goes to eval, so
    no thread can see another thread's batches run with dropout on.
    ``submodules``: ``module``'s descendants (``tuple(module.modules())[1:]``)
    when the caller keeps them (a prediction plan), which spares walking the
    module tree on every call.
    """
    below = module.modules() if submodules is None else submodules
    if module.training or any(m.training for m in below):
        with _MODE_LOCK:
            module.eval()
    return module


def n_rows(X):
    """Rows of a model input: a tensor, a row-batch view or a dict of them."""
    return (next(iter(X.values())) if isinstance(X, dict) else X).shape[0]


def predict_outputs(
    module,
    X,
    batch_size,
    device="cpu",
    *,
    order=None,
    verbose=0,
    submodules=None,
    threads=None,
):
    """Per-task outputs of ``module`` for every row of X, on the CPU.

    The one inference loop of the estimators: eval mode (:func:`eval_mode`; the
    mode is not restored, so concurrent calls never see train mode), inference
    mode, batches of ``batch_size`` rows moved to ``device`` once. Input that
    fits one batch (a served request) goes through the module directly, with no
    dataset or iterator; up to ``NUMPY_MAX_ROWS`` rows of a plain MLP network on
    the CPU are computed with numpy instead (:mod:`._numpy_forward`), with no
    thread context, eval or inference mode. It only reads ``module``: calls
    from several threads give the results of serial calls.

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
    submodules : tuple of torch.nn.Module, default=None
        ``module``'s descendants, if the caller keeps them (see
        :func:`eval_mode`).
    threads : callable, default=None
        Returns the context (torch's threads) to enter around torch's work;
        the numpy path needs none.

    Returns
    -------
    outputs : list of torch.Tensor
        One ``(n_samples, width)`` tensor per task; the module's
        :class:`~sk_mtl.losses.TaskOutputs` (a tuple that also holds them
        stacked) when it returns one and X is one batch on the CPU.
    """
    small = isinstance(X, torch.Tensor | dict) and n_rows(X) <= NUMPY_MAX_ROWS
    if small and order is None and str(device) == "cpu":
        out = numpy_outputs(module, X)  # a served request: numpy if it can
        if out is not None:
            return out if isinstance(out, TaskOutputs) else list(out)
    with threads() if threads is not None else contextlib.nullcontext():
        return _torch_outputs(module, X, batch_size, device, order, verbose, submodules)


def _torch_outputs(module, X, batch_size, device, order, verbose, submodules):
    """:func:`predict_outputs` run by torch."""
    eval_mode(module, submodules)
    with torch.inference_mode():
        one_batch = order is None and isinstance(X, torch.Tensor | dict)
        if one_batch and n_rows(X) <= batch_size:
            out = _forward_batch(module, X, device)
            if str(device) != "cpu":
                return [t.cpu() for t in out]
            return out if isinstance(out, TaskOutputs) else list(out)
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


# Per fitted network (weakly held: dropped with the network), its prediction
# plans by prediction options.
_PREDICT_PLANS = weakref.WeakKeyDictionary()


def prediction_plan(module, predict_batch_size, batch_rows, input_):
    """``(rows per forward pass, work per row, submodules)`` of ``module`` at
    prediction.

    All three walk the network's layers, so they are worked out once per fitted
    network and prediction options (``predict_batch_size``, the fit's batch and
    the input's width), not per call: a refit makes a new network, and a changed
    option a new key. ``submodules`` are ``module``'s descendants, for
    :func:`eval_mode`.
    """
    width = getattr(input_, "width", None)
    key = (predict_batch_size, batch_rows, width)
    plans = _PREDICT_PLANS.get(module)
    if plans is None:
        plans = _PREDICT_PLANS.setdefault(module, {})
    plan = plans.get(key)
    if plan is None:
        rows = predict_batch_rows(*key[:2], module, width)
        # module's descendants, not module: a plan that held it would keep it
        # alive, as the value of the weak dictionary keyed by it
        below = tuple(module.modules())[1:]
        plan = plans[key] = (rows, work_per_row(module), below)
    return plan


def sums_finite(outputs):
    """Whether every output tensor has a finite sum: a NaN or inf anywhere makes
    its sum non-finite, so True means all finite.

    Outputs that also come stacked (a :class:`~sk_mtl.losses.TaskOutputs`: the
    tasks of fused heads of one width) take one reduction of the stack; others
    one each.
    """
    stacked = getattr(outputs, "stacked", None)
    if stacked is not None:
        return math.isfinite(float(stacked.sum()))
    return all(math.isfinite(float(out.sum())) for out in outputs)
