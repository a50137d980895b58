"""Any sentence-transformers text model as a :class:`SentenceEncoderModule`.

sentence-transformers loads the model (a ``SentenceTransformer`` object or a local
model folder; nothing is downloaded) and runs its own pooling, dense and other
modules after the transformer; sk_mtl keeps its batching (pre-tokenised, sorted by
token length, duplicates once), which ``benchmarks/results_text_encoder.md`` measures
faster than ``SentenceTransformer.encode``. ``sentence_transformers`` is imported
only here, and only for such models: the bundled encoder loads with
``transformers`` alone (measured as fast as sentence-transformers' loader).
"""

import copy
import importlib
import os
import sys

from torch import nn

from ._encoder import INSTALL_HINT, SentenceEncoderModule, drop_pooler

__all__ = ["is_sentence_transformer", "from_sentence_transformer", "load_folder"]


def is_sentence_transformer(obj):
    """Whether ``obj`` is a ``SentenceTransformer`` (without importing the package)."""
    module = sys.modules.get("sentence_transformers")
    cls = getattr(module, "SentenceTransformer", None)
    return cls is not None and isinstance(obj, cls)


def _import_sentence_transformers(what):
    try:
        return importlib.import_module("sentence_transformers")
    except ImportError as exc:
        raise ImportError(
            f"{what} needs the optional package 'sentence-transformers' (missing: "
            f"{exc.name!r}). Install it with: {INSTALL_HINT}"
        ) from exc


def load_folder(path, *, normalize=True):
    """A local sentence-transformers model folder as a SentenceEncoderModule."""
    st = _import_sentence_transformers(f"The model folder {os.fspath(path)!r}")
    try:
        model = st.SentenceTransformer(
            os.fspath(path), device="cpu", local_files_only=True
        )
    except Exception as exc:  # any failure of the loader on this folder
        raise ValueError(
            f"Could not load {os.fspath(path)!r} as a sentence-transformers model "
            f"folder: {type(exc).__name__}: {exc}"
        ) from None
    return from_sentence_transformer(
        model, normalize=normalize, name=os.fspath(path), copy_model=False
    )


def _transformer_module(model):
    first = model[0] if len(model) else None
    auto_model = getattr(first, "auto_model", None)
    tokenizer = getattr(first, "tokenizer", None)
    if not isinstance(auto_model, nn.Module) or tokenizer is None:
        raise ValueError(
            "sk_mtl reads sentence-transformers models whose first module is a text "
            "Transformer (with auto_model and tokenizer); this one starts with "
            f"{type(first).__name__}."
        )
    return first, auto_model, tokenizer


def from_sentence_transformer(model, *, normalize=True, name=None, copy_model=True):
    """Wrap a SentenceTransformer: its transformer, then its other modules.

    A ``Normalize`` module is dropped (``normalize`` decides); the remaining modules
    (pooling, dense, ...) pool the token embeddings. The model is deep-copied
    unless ``copy_model=False``, so the caller's object is never modified.
    """

    if copy_model:
        model = copy.deepcopy(model)
    model = model.cpu()
    first, auto_model, tokenizer = _transformer_module(model)
    drop_pooler(auto_model)  # the Transformer module reads the token embeddings
    tail = [m for m in list(model)[1:] if type(m).__name__ != "Normalize"]
    max_length = getattr(model, "max_seq_length", None) or getattr(
        tokenizer, "model_max_length", 512
    )
    if name is None:
        name = getattr(auto_model.config, "_name_or_path", None) or type(model).__name__
    module = SentenceEncoderModule(
        auto_model,
        tokenizer,
        normalize=normalize,
        max_seq_length=int(max_length),
        name=str(name),
        pooling=nn.Sequential(*tail) if tail else None,
        lowercase=bool(getattr(first, "do_lower_case", False)),
    )
    return module.eval()
