"""Batching text for a sentence encoder: padding, length buckets, inference.

- :func:`pad_batch`: token ids of a batch, padded to its longest text;
- :func:`length_buckets`: a training batch split into groups of similar length,
  each padded to its own longest text (used by ``TextBase``);
- :class:`TokenRows`: texts tokenised once, duplicates once, padded per batch;
- :func:`embed`: frozen-encoder inference of ``embed_texts`` over them, sorted by
  token length.
"""

import numbers
import threading

import numpy as np
import torch

from ..utils._progress import progress

__all__ = ["pad_batch", "length_buckets", "TokenRows", "embed", "TOKENIZER_LOCK"]

# Hugging Face's fast tokenizers set truncation and padding on their Rust object
# at every call, which fails ("Already borrowed") or mixes settings when two
# threads tokenize with one tokenizer: tokenizer calls hold this lock.
TOKENIZER_LOCK = threading.Lock()


def pad_batch(token_ids, pad_id):
    lengths = [len(ids) for ids in token_ids]
    input_ids = np.full((len(token_ids), max(lengths)), pad_id, dtype=np.int64)
    attention_mask = np.zeros_like(input_ids)
    for row, (ids, length) in enumerate(zip(token_ids, lengths)):
        input_ids[row, :length] = ids
        attention_mask[row, :length] = 1
    return {
        "input_ids": torch.from_numpy(input_ids),
        "attention_mask": torch.from_numpy(attention_mask),
    }


# Cost of one more encoder call, in padded tokens (measured on MiniLM, one CPU
# thread: benchmarks/results_text_encoder.md).
_CALL_COST_TOKENS = 48


def length_buckets(lengths, call_cost=_CALL_COST_TOKENS):
    """Split rows into groups of similar length: ``(order, bounds)``.

    ``order`` sorts the rows from the longest; group ``g`` is
    ``order[bounds[g]:bounds[g + 1]]``, padded to its first (longest) row. The
    split minimises the padded tokens plus ``call_cost`` per group (an exact
    dynamic programme over the sorted lengths).
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    sorted_lengths = [lengths[i] for i in order]
    n = len(order)
    best, cut = [0.0] + [float("inf")] * n, [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(j):
            cost = best[i] + (j - i) * sorted_lengths[i] + call_cost
            if cost < best[j]:
                best[j], cut[j] = cost, i
    bounds, j = [n], n
    while j > 0:
        j = cut[j]
        bounds.append(j)
    return order, bounds[::-1]


class TokenRows:
    """Distinct texts tokenised once: rows of an encoder's input, padded per batch.

    Identical texts are one row (``inverse[i]`` is the row of text ``i``);
    ``rows[index]`` is ``{"input_ids", "attention_mask"}`` of those rows, padded to
    their own longest text; :meth:`by_length` orders the rows from the longest,
    so that batches taken in that order pad little. The model input that
    :func:`sk_mtl._engine._inference.predict_outputs` reads with ``order=by_length()``.
    """

    def __init__(self, texts, encoder, max_length):
        first_seen = {}
        self.inverse = np.fromiter(
            (first_seen.setdefault(text, len(first_seen)) for text in texts),
            dtype=np.intp,
            count=len(texts),
        )
        with TOKENIZER_LOCK:
            self.token_ids = encoder._token_ids(list(first_seen), max_length)
        self.pad_id = encoder._pad_id

    def __len__(self):
        return len(self.token_ids)

    def __getitem__(self, rows):
        if isinstance(rows, slice):
            return pad_batch(self.token_ids[rows], self.pad_id)
        return pad_batch([self.token_ids[int(i)] for i in rows], self.pad_id)

    def by_length(self):
        """Row positions from the longest text to the shortest (stable)."""
        lengths = np.fromiter((len(ids) for ids in self.token_ids), dtype=np.int64)
        return np.argsort(-lengths, kind="stable")


def embed(texts, encoder, *, batch_size, max_length, sort_by_length=True, verbose=0):
    """Embed a validated list of str; see :func:`sk_mtl.text.embed_texts`.

    The text family's inference loop, beside the engine's ``predict_outputs``
    (which TransferClassifier's text path uses with :class:`TokenRows`): the text
    family sits beside the engine in the import layers (``pyproject.toml``) and
    does not depend on it, and ``embed_texts`` promises to restore the encoder's
    training mode, which ``predict_outputs`` leaves in eval mode for good.
    """
    if (
        not isinstance(batch_size, numbers.Integral)
        or isinstance(batch_size, bool)
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    rows = TokenRows(texts, encoder, max_length)
    order = rows.by_length() if sort_by_length else np.arange(len(rows))
    device = next(encoder.parameters()).device
    out = np.empty((len(rows), encoder.embedding_dim), dtype=np.float32)
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.inference_mode():
            starts = range(0, len(rows), batch_size)
            for start in progress(starts, verbose, "embedding texts"):
                batch = order[start : start + batch_size]
                inputs = {key: value.to(device) for key, value in rows[batch].items()}
                out[batch] = encoder(**inputs).float().cpu().numpy()
    finally:
        encoder.train(was_training)
    return out if len(rows) == len(texts) else out[rows.inverse]
