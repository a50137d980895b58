"""The training engine's skorch side: a batched tensor data path and the net.

skorch's default data path fetches one row at a time and collates; on small
tabular networks that costs more than the network itself. Here a dataset indexes
a whole batch with one tensor index and the iterator yields those batches, so
skorch keeps doing what it is good at (callbacks, history, device handling,
early stopping) without paying per row.
"""

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.utils import to_tensor
from torch.utils.data import Dataset

__all__ = ["TensorBatchDataset", "BatchIterator", "MultiTaskNet"]

# Hooks skorch calls on every batch; most callbacks leave them as no-ops.
_PER_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_grad_computed")


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

    def _take(self, idx):
        if isinstance(self.X, dict):
            return {k: v[idx] for k, v in self.X.items()}
        return self.X[idx]

    def __getitem__(self, idx):
        Xb = self._take(idx)
        if self.y is None:
            return Xb, None
        return Xb, (self.y[idx], None if self.w is None else self.w[idx])

    def to(self, device):
        """Move every tensor to ``device`` once, so batches need no copy."""

        def move(t):
            return None if t is None else to_tensor(t, device=device)

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


class MultiTaskNet(NeuralNet):
    """skorch net for networks returning one logits tensor per task.

    Adds to :class:`skorch.NeuralNet`: the batched data path, per-sample and
    missing-label weights in the loss, per-task losses in the history
    (``train_loss_<task>``, ``valid_loss_<task>`` and ``valid_task_loss``, the
    unweighted sum that early stopping monitors), epoch hooks for task weightings,
    and gradient-combining weightings such as PCGrad.

    Parameters
    ----------
    task_names : list of str
        Used to name the per-task history columns.
    shuffle_seed : int
        Seed of the generator that shuffles training batches.
    **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    def __init__(self, *args, task_names=("task_0",), shuffle_seed=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.task_names = task_names
        self.shuffle_seed = shuffle_seed

    def initialize(self):
        super().initialize()
        self.shuffle_generator_ = torch.Generator().manual_seed(int(self.shuffle_seed))
        self._reset_batch_task_losses()
        return self

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

    def _reset_batch_task_losses(self):
        # Per batch: (task losses, batch size), reduced once per epoch.
        self._batch_task_losses = {"train": [], "valid": []}

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

    def forward_iter(self, X, training=False, device="cpu"):
        dataset = self.get_dataset(X)
        self._set_training(training)
        with torch.set_grad_enabled(training), torch.inference_mode(not training):
            for Xb, _ in self.get_iterator(dataset, training=False):
                out = self.infer(Xb)
                if isinstance(out, tuple):
                    yield tuple(o.to(device) for o in out)
                else:
                    yield out.to(device)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y, w = y_true
        moved = w is not None and w.device != y.device
        if moved or str(y.device) != str(self.device):
            y = to_tensor(y, device=self.device)
            w = None if w is None else to_tensor(w, device=self.device)
        total, per_task = self.criterion_(y_pred, y, w)
        self._batch_task_losses["train" if training else "valid"].append(
            (per_task.detach(), len(y))
        )
        if training and getattr(self.criterion_.weighting, "gradient_based", False):
            # Kept for train_step_single only: a tensor with a graph attached
            # would make the fitted net impossible to deep-copy.
            self._last_task_losses = per_task
        return total

    def train_step_single(self, batch, **fit_params):
        weighting = self.criterion_.weighting
        if not getattr(weighting, "gradient_based", False):
            return super().train_step_single(batch, **fit_params)
        self._set_training(True)
        Xi, yi = batch
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        task_losses = self.__dict__.pop("_last_task_losses")
        self._combine_task_gradients(task_losses)
        return {"loss": loss, "y_pred": y_pred}

    def _combine_task_gradients(self, task_losses):
        shared = [p for p in self.module_.shared_parameters() if p.requires_grad]
        shared_ids = {id(p) for p in shared}
        others = [
            p
            for _, p in self.get_all_learnable_params()
            if p.requires_grad and id(p) not in shared_ids
        ]
        flat = []
        for loss_t in task_losses:
            if not loss_t.requires_grad:  # no label of this task in the batch
                continue
            grads = torch.autograd.grad(
                loss_t, shared, retain_graph=True, allow_unused=True
            )
            flat.append(
                torch.cat(
                    [
                        (g if g is not None else torch.zeros_like(p)).reshape(-1)
                        for g, p in zip(grads, shared)
                    ]
                )
            )
        if others:
            task_losses.sum().backward(inputs=others)
        if not flat:
            return
        combined = self.criterion_.weighting.combine(torch.stack(flat))
        offset = 0
        for p in shared:
            n = p.numel()
            p.grad = combined[offset : offset + n].view_as(p).clone()
            offset += n

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        means = {}
        for prefix, batches in self._batch_task_losses.items():
            if batches:
                losses = torch.stack([loss for loss, _ in batches]).cpu()
                sizes = torch.tensor([[n] for _, n in batches], dtype=losses.dtype)
                means[prefix] = (losses * sizes).sum(0) / sizes.sum()
        self._reset_batch_task_losses()
        multi = len(self.task_names) > 1
        for prefix, values in means.items():
            if multi:
                for name, v in zip(self.task_names, values.tolist()):
                    self.history.record(f"{prefix}_loss_{name}", v)
            if prefix == "valid":
                self.history.record("valid_task_loss", float(values.sum()))
        if "train" in means:
            self.criterion_.weighting.epoch_end(means["train"])
