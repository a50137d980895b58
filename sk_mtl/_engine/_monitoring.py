"""What a fit shows and records while it runs: the epoch table, progress bars and
the per-epoch validation score.

``verbose`` of the estimators: 0 prints nothing; 1 prints skorch's epoch table
(plain text, without ANSI colour codes, when the output is not a terminal: a log
file or a CI job); 2 also shows a tqdm progress bar over the batches of each
epoch, on a terminal only (off one, a bar's redraws would leave debris such as
``0%| | 0/49`` in a log: the epoch lines are the progress there).
:func:`progress` is the same bar for any other long loop (mining rounds and
folds, embedding texts), shown when ``verbose >= 2``.
"""

import re
import sys

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback, PrintLog, ProgressBar

from ..utils._progress import PROGRESS_VERBOSITY, is_terminal, progress

__all__ = [
    "HistoryAttributesMixin",
    "PROGRESS_VERBOSITY",
    "PlainWhenPipedPrintLog",
    "ValidationScore",
    "monitoring_callbacks",
    "progress",
]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class PlainWhenPipedPrintLog(PrintLog):
    """skorch's epoch table, with its colour codes only on a terminal."""

    def format_row(self, row, key, color):
        text = super().format_row(row, key, color)
        if isinstance(text, str) and not is_terminal(sys.stdout):
            text = _ANSI.sub("", text)
        return text


class ValidationScore(Callback):
    """Records ``valid_score``: mean over tasks of the validation accuracy.

    Accuracy of each task on its labelled validation entries (the entries with a
    positive weight), as :meth:`score` computes it, for every epoch.
    """

    def on_epoch_begin(self, net, **kwargs):
        self.correct_ = None
        self.count_ = None

    def on_batch_end(self, net, batch=None, training=False, y_pred=None, **kwargs):
        if training or y_pred is None:
            return
        y, w = batch[1]
        outputs = y_pred if isinstance(y_pred, list | tuple) else [y_pred]
        labelled = torch.ones_like(y, dtype=torch.bool) if w is None else w > 0
        hits = torch.stack(
            [out.argmax(dim=1).cpu() == y[:, t].cpu() for t, out in enumerate(outputs)],
            dim=1,
        )
        labelled = labelled.cpu()
        correct = (hits & labelled).sum(dim=0).numpy()
        count = labelled.sum(dim=0).numpy()
        if self.correct_ is None:
            self.correct_, self.count_ = correct, count
        else:
            self.correct_, self.count_ = self.correct_ + correct, self.count_ + count

    def on_epoch_end(self, net, **kwargs):
        if self.count_ is None:
            return
        seen = self.count_ > 0
        if seen.any():
            score = np.mean(self.correct_[seen] / self.count_[seen])
            net.history.record("valid_score", float(score))


def monitoring_callbacks(verbose, validation):
    """skorch net keyword arguments and callbacks for a training phase.

    Returns ``(net_kwargs, callbacks)``: the epoch table that drops its colours
    off a terminal, a batch progress bar at ``verbose >= 2`` on a terminal
    (tqdm writes to stderr), and the
    validation score when there is a validation split.
    """
    kwargs = {"callbacks__print_log": PlainWhenPipedPrintLog()}
    callbacks = []
    if validation:
        callbacks.append(("valid_score", ValidationScore()))
    if verbose >= PROGRESS_VERBOSITY and is_terminal(sys.stderr):
        callbacks.append(
            ("progress_bar", ProgressBar(postfix_keys=["train_loss", "valid_loss"]))
        )
    return kwargs, callbacks


class HistoryAttributesMixin:
    """``loss_curve_``, ``validation_scores_`` and ``best_validation_score_``.

    The names MLPClassifier users know, as views of ``history_``.
    """

    @property
    def loss_curve_(self):
        """Training loss of each epoch (``history_[:, "train_loss"]``)."""
        check_is_fitted(self, "history_")
        return [float(v) for v in self.history_[:, "train_loss"]]

    @property
    def validation_scores_(self):
        """Validation score of each epoch with early stopping, else None.

        Mean over tasks of the accuracy on the labelled entries of the held-out
        validation split (``history_[:, "valid_score"]``).
        """
        check_is_fitted(self, "history_")
        if not any("valid_score" in row for row in self.history_):
            return None
        return [float(row.get("valid_score", np.nan)) for row in self.history_]

    @property
    def best_validation_score_(self):
        """Best of ``validation_scores_``; None without early stopping."""
        scores = self.validation_scores_
        return None if scores is None else float(np.nanmax(scores))
