"""skorch callbacks of the multi-task engine: per-task losses and the weighting's
epoch hook. :class:`~sk_mtl._net.MultiTaskNet` adds both to its defaults."""

import torch
from skorch.callbacks import Callback

__all__ = ["TaskLossRecorder", "WeightingEpochEnd"]


class TaskLossRecorder(Callback):
    """Records each task's mean loss per epoch in the history.

    Columns ``train_loss_<task>`` and ``valid_loss_<task>`` (several tasks only)
    and ``valid_task_loss``, the unweighted sum of the validation task losses that
    early stopping monitors. The per-batch values are reduced once per epoch.

    Attributes
    ----------
    epoch_means_ : dict of str to torch.Tensor
        ``"train"`` / ``"valid"``: the last epoch's mean loss of each task.
    """

    def initialize(self):
        self._batches = {"train": [], "valid": []}
        self.epoch_means_ = {}
        return self

    def on_batch_end(self, net, batch=None, training=None, task_losses=None, **kw):
        if task_losses is not None:
            prefix = "train" if training else "valid"
            self._batches[prefix].append((task_losses, len(batch[1][0])))

    def on_epoch_end(self, net, **kwargs):
        means = {}
        for prefix, batches in self._batches.items():
            if batches:
                losses = torch.stack([loss for loss, _ in batches]).cpu()
                sizes = torch.tensor([[n] for _, n in batches], dtype=losses.dtype)
                means[prefix] = (losses * sizes).sum(0) / sizes.sum()
            batches.clear()
        self.epoch_means_ = means
        names = net.task_names
        for prefix, values in means.items():
            if len(names) > 1:
                for name, v in zip(names, values.tolist()):
                    net.history.record(f"{prefix}_loss_{name}", v)
            if prefix == "valid":
                net.history.record("valid_task_loss", float(values.sum()))


class WeightingEpochEnd(Callback):
    """Passes each epoch's mean training task losses to the task weighting
    (:meth:`sk_mtl.weighting.Weighting.epoch_end`, e.g. DWA's re-weighting)."""

    def __init__(self, recorder="task_losses"):
        self.recorder = recorder

    def on_epoch_end(self, net, **kwargs):
        means = dict(net.callbacks_)[self.recorder].epoch_means_
        if "train" in means:
            net.criterion_.weighting.epoch_end(means["train"])
