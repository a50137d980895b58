"""The training data of a fit: weight checks, the validation split, the batch size,
the tensors of each training phase, and the history of a multi-phase fit (used by
``_base``)."""

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from skorch.history import History

from ._batches import TensorBatchDataset

__all__ = [
    "auto_batch_size",
    "check_weighted_classes",
    "split_rows",
    "phase_dataset",
    "concat_histories",
]

AUTO_BATCH_SIZE = 128  # batch_size="auto" on 1024 training rows or more
AUTO_BATCH_STEPS = 8  # batch_size="auto": training steps per epoch below that
AUTO_MIN_BATCH = 8


def auto_batch_size(batch_size, n_rows):
    """Rows per training step for ``batch_size`` (an int, or "auto") and
    ``n_rows`` training rows (None: unknown).

    "auto": 128 rows, but at least ``AUTO_BATCH_STEPS`` steps per epoch on small
    data (``n_rows // AUTO_BATCH_STEPS``, at least ``AUTO_MIN_BATCH`` rows).
    """
    if batch_size != "auto":
        return int(batch_size)
    if n_rows is None:
        return AUTO_BATCH_SIZE
    return int(min(AUTO_BATCH_SIZE, max(AUTO_MIN_BATCH, n_rows // AUTO_BATCH_STEPS)))


def check_weighted_classes(tasks, targets, sample_weight):
    if not np.any(sample_weight > 0):
        raise ValueError("sample_weight is zero for every sample.")
    for t, task in enumerate(tasks):
        keep = targets.labelled[:, t] & (sample_weight > 0)
        if task.kind == "regression":
            if not keep.any():
                raise ValueError(
                    f"Regression task {task.name!r} has no labelled sample with a "
                    "positive sample_weight."
                )
        elif len(np.unique(targets.codes[keep, t])) < 2:
            raise ValueError(
                f"Task {task.name!r} has 1 class among the labelled samples with a "
                "positive sample_weight; a classifier needs at least 2 classes."
            )


def split_rows(tasks, targets, sample_weight, seed, validation_fraction):
    """``(train rows, validation rows or None)``."""
    rows = np.arange(len(sample_weight))
    if validation_fraction is None:
        return rows, None
    # Stratify on the first task (missing labels as their own stratum) when it
    # is a classification task and every stratum can be split, like sklearn's MLP.
    stratify = None
    if tasks[0].kind == "classification":
        strata = np.where(targets.labelled[:, 0], targets.codes[:, 0], -1)
        _, counts = np.unique(strata, return_counts=True)
        stratify = strata if counts.min() >= 2 else None
    try:
        train, valid = train_test_split(
            rows, test_size=validation_fraction, random_state=seed, stratify=stratify
        )
    except ValueError:
        train, valid = train_test_split(
            rows, test_size=validation_fraction, random_state=seed
        )
    return np.sort(train), np.sort(valid)


def phase_dataset(phase, targets, weights, rows):
    w = weights[rows] * targets.labelled[rows]
    # Each task's weights average 1 over this dataset: the batch mean of
    # w * loss is then an unbiased estimate of the task's weighted mean loss.
    mean = w.mean(axis=0)
    w = w / np.where(mean > 0, mean, 1.0)
    codes = targets.codes[rows]
    # Regression targets train in float32, like the network's outputs.
    codes = codes.astype(np.float32) if codes.dtype.kind == "f" else codes
    return TensorBatchDataset(
        phase.model_input(rows),
        torch.from_numpy(codes),
        # All ones (no missing label, uniform weights): the loss's fast path.
        None if np.all(w == 1.0) else torch.from_numpy(w.astype(np.float32)),
    )


def concat_histories(histories):
    if len(histories) == 1:
        return histories[0]
    rows = [dict(row) for h in histories for row in h]
    for epoch, row in enumerate(rows, start=1):
        row["epoch"] = epoch
    return History(rows)
