"""The one inference loop of the estimators, and the eval-mode switch it relies on.

Predict, predict_proba, transform and score of every estimator (text and the
weight soup included) run the network through :func:`predict_outputs`. It only
reads the module, so one fitted model can serve many threads at once.
"""

import math
import threading
import weakref

import torch
from skorch.utils import to_tensor

from .._runtime._threads import work_per_row
from ..utils._progress import progress
from ._batches import BatchIterator, TensorBatchDataset
from ._options import predict_batch_rows

__all__ = ["eval_mode", "n_rows", "prediction_plan", "predict_outputs", "sums_finite"]


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
            out = _forward_batch(module, X, device)
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


# Per fitted network (weakly held: dropped with the network), its prediction
# plans by prediction options.
_PREDICT_PLANS = weakref.WeakKeyDictionary()


def prediction_plan(module, predict_batch_size, batch_rows, input_):
    """``(rows per forward pass, work per row)`` of ``module`` at prediction.

    Both walk the network's layers, so they are worked out once per fitted
    network and prediction options (``predict_batch_size``, the fit's batch and
    the input's width), not per call: a refit makes a new network, and a changed
    option a new key.
    """
    width = getattr(input_, "width", None)
    key = (predict_batch_size, batch_rows, width)
    plans = _PREDICT_PLANS.get(module)
    if plans is None:
        plans = _PREDICT_PLANS.setdefault(module, {})
    plan = plans.get(key)
    if plan is None:
        rows = predict_batch_rows(*key[:2], module, width)
        plan = plans[key] = (rows, work_per_row(module))
    return plan


def sums_finite(outputs):
    """Whether every output tensor has a finite sum: a NaN or inf anywhere makes
    its sum non-finite, so True means all finite.

    Outputs that are views of one tensor of their total size (the per-task
    slices of fused heads) take one reduction of that tensor; others one each.
    (A non-finite value in a view is in its base too: the shortcut misses none.)
    """
    base = outputs[0]._base if outputs else None
    if base is not None and all(out._base is base for out in outputs[1:]):
        if base.numel() == sum(map(torch.Tensor.numel, outputs)):
            outputs = (base,)
    return all(math.isfinite(float(out.sum())) for out in outputs)
