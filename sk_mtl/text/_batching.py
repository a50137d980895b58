"""Batching text for a sentence encoder: padding, length buckets, inference.

- :func:`pad_batch`: token ids of a batch, padded to its longest text;
- :func:`length_buckets`: a training batch split into groups of similar length,
  each padded to its own longest text (used by ``TextBase``);
- :func:`embed`: frozen-encoder inference, tokenised once, sorted by token length,
  duplicates embedded once.
"""

import numbers
import threading

import numpy as np
import torch

from ..utils._progress import progress

__all__ = ["pad_batch", "length_buckets", "embed", "TOKENIZER_LOCK"]

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


def embed(texts, encoder, *, batch_size, max_length, sort_by_length=True, verbose=0):
    """Embed a validated list of str; see :func:`sk_mtl.text.embed_texts`."""
    if (
        not isinstance(batch_size, numbers.Integral)
        or isinstance(batch_size, bool)
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    # Identical texts are embedded once.
    first_seen = {}
    inverse = np.fromiter(
        (first_seen.setdefault(text, len(first_seen)) for text in texts),
        dtype=np.intp,
        count=len(texts),
    )
    unique = list(first_seen)
    with TOKENIZER_LOCK:
        token_ids = encoder._token_ids(unique, max_length)
    lengths = np.fromiter((len(ids) for ids in token_ids), dtype=np.int64)
    if sort_by_length:
        order = np.argsort(-lengths, kind="stable")
    else:
        order = np.arange(len(unique))
    device = next(encoder.parameters()).device
    out = np.empty((len(unique), encoder.embedding_dim), dtype=np.float32)
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.inference_mode():
            starts = range(0, len(unique), batch_size)
            for start in progress(starts, verbose, "embedding texts"):
                rows = order[start : start + batch_size]
                batch = pad_batch([token_ids[i] for i in rows], encoder._pad_id)
                batch = {key: value.to(device) for key, value in batch.items()}
                out[rows] = encoder(**batch).float().cpu().numpy()
    finally:
        encoder.train(was_training)
    return out if len(unique) == len(texts) else out[inverse]
