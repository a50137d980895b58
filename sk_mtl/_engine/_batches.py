"""Model inputs a batch at a time: row selection, the in-memory dataset, the iterator.

skorch's default data path fetches one row at a time and collates; on small
tabular networks that costs more than the network itself. Here a dataset indexes
a whole batch with one tensor index and the iterator yields those batches, for
training (:mod:`._net`) and inference (:mod:`._inference`) alike.
"""

import torch
from skorch.utils import to_tensor
from torch.utils.data import Dataset

__all__ = ["BatchIterator", "TensorBatchDataset", "take_rows"]


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
    """Yields ``dataset[index_batch]`` for consecutive or shuffled index batches.

    ``growth``, ``((first pass, rows), ...)`` in increasing order: from each of
    these passes over the dataset on (counted from 1; a training iterator
    makes one pass an epoch), batches of that many rows instead of
    ``batch_size``.
    """

    def __init__(self, dataset, batch_size, shuffle=False, generator=None, growth=()):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.growth = tuple(growth)
        self.passes = 0

    def __len__(self):
        return -(-len(self.dataset) // self._rows(self.passes + 1))

    def _rows(self, at_pass):
        """The batch size of pass ``at_pass``."""
        grown = [rows for first, rows in self.growth if at_pass >= first]
        return grown[-1] if grown else self.batch_size

    def __iter__(self):
        self.passes += 1
        n = len(self.dataset)
        bs = self._rows(self.passes)
        if not self.shuffle:
            for start in range(0, n, bs):
                yield self.dataset[slice(start, start + bs)]
            return
        perm = torch.randperm(n, generator=self.generator)
        for start in range(0, n, bs):
            yield self.dataset[perm[start : start + bs]]
