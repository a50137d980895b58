"""The input seam: what X is, fitted once and handed to whatever reuses the network.

An input object validates X, remembers what it was fitted on (number and names of
features, a tokenizer, ...) and turns validated X into the tensors the network
reads, for all rows or a subset. Estimators own theirs as ``input_``; a model that
reuses another's network (FineTuner, TransferClassifier, a weight-space merge)
takes the source's ``input_`` and so reads X exactly as the source did.

Validation runs *for* an estimator (``owner``): sklearn's checks and messages of
``n_features_in_`` and ``feature_names_in_`` apply to the estimator the user
called, never to a source behind it.
"""

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.validation import validate_data

__all__ = ["NumericInput", "TextInput", "reject_text"]


def _holds_text(X):
    if isinstance(X, str):
        return True
    if hasattr(X, "iloc") and getattr(X, "ndim", 2) == 1:  # pandas Series
        X = X.to_numpy()
    if isinstance(X, np.ndarray):
        return (
            X.dtype.kind in "USO"
            and X.ndim == 1
            and len(X) > 0
            and isinstance(X.flat[0], str)
        )
    if isinstance(X, list | tuple) and len(X) > 0:
        return isinstance(X[0], str)
    return False


def reject_text(X, reader):
    """TypeError when X is a sequence of strings but ``reader`` reads numbers."""
    if _holds_text(X):
        raise TypeError(
            f"X is a sequence of strings, but {reader} reads numeric features "
            "(n_samples, n_features). For text, use "
            "TransferClassifier('all-MiniLM-L6-v2'), or put a "
            "sk_mtl.text.SentenceEncoder in front of the model in a pipeline."
        )


def _take_rows(tensor, rows):
    if rows is None or (
        len(rows) == len(tensor) and (rows == np.arange(len(tensor))).all()
    ):
        return tensor
    return tensor[torch.as_tensor(rows)]


class NumericInput:
    """Numeric features, dense or sparse, read as float32 rows.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of str or None
        Their names, when X had string column names.
    """

    kind = "numeric"

    def fit(self, X, owner, reader=None):
        """Validate training X for ``owner`` and remember its features."""
        reject_text(X, reader or type(owner).__name__)
        X = self._validate(X, owner, reset=True)
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = getattr(owner, "feature_names_in_", None)
        return X

    def transform(self, X, owner, *, reset=False, reader=None):
        """Validate X for ``owner``; it must have the features seen in fit.

        ``reset=True`` is for an estimator that reuses this input in its own fit:
        the estimator gets its own ``n_features_in_`` and feature names, which must
        match this input's (``reader`` names what was fitted on them in errors).
        """
        if reset:
            reject_text(X, f"the {reader}")
            X = self._validate(X, owner, reset=True)
            self._check_reuse(X, owner, reader)
            return X
        return self._validate(X, owner, reset=False)

    @property
    def width(self):
        """Width of the tensors made by :meth:`tensors`."""
        return self.n_features_in_

    def tensors(self, X, rows=None):
        """Model input for validated X (all rows, or ``rows``)."""
        return _take_rows(torch.from_numpy(X), rows)

    @staticmethod
    def _validate(X, owner, *, reset):
        X = validate_data(
            owner,
            X,
            reset=reset,
            dtype=(np.float32, np.float64),
            accept_sparse=("csr", "csc", "coo"),
        )
        if sp.issparse(X):
            # e.g. one-hot output of a ColumnTransformer; the network needs dense rows
            X = X.toarray()
        X32 = np.asarray(X, dtype=np.float32)
        if X32 is not X and not np.isfinite(X32).all():
            # validate_data rejected NaN and inf: these overflowed in the cast.
            col = int(np.flatnonzero(~np.isfinite(X32).all(axis=0))[0])
            names = getattr(owner, "feature_names_in_", None)
            name = f"column {col}" if names is None else f"column {names[col]!r}"
            raise ValueError(
                f"X has a value outside the float32 range (|x| > 3.4e38) in {name}; "
                f"{type(owner).__name__} computes in float32. Scale X first."
            )
        if not X32.flags.writeable:  # torch cannot wrap read-only memory
            X32 = X32.copy()
        return X32

    def _check_reuse(self, X, owner, reader):
        names = self.feature_names_in_
        own = getattr(owner, "feature_names_in_", None)
        if names is not None and own is not None:
            if len(names) == len(own) and not np.array_equal(names, own):
                diff = [f"{a!r} vs {b!r}" for a, b in zip(own, names) if a != b][:3]
                raise ValueError(
                    f"The feature names of X differ from those the {reader} was "
                    f"fitted with ({', '.join(diff)}); reorder or rename the columns "
                    "to match the source."
                )
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but the {reader} was fitted on "
                f"{self.n_features_in_}: {type(owner).__name__} reuses its network, "
                f"which reads {self.n_features_in_} features. Give X the source's "
                "features in the same order (or set input_mismatch='reinit' to "
                "train a new input layer)."
            )


class TextInput:
    """Raw strings, tokenized for a sentence encoder.

    Parameters
    ----------
    tokenizer : transformers tokenizer
        The encoder's tokenizer.
    max_length : int
        Truncation length in tokens.
    lowercase : bool, default=False
        Lowercase the texts before tokenizing (the encoder's ``lowercase``).
    """

    kind = "text"

    def __init__(self, tokenizer, max_length, lowercase=False):
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.lowercase = lowercase

    def fit(self, X, owner, reader=None):
        """Validate training texts for ``owner``."""
        return self.transform(X, owner)

    def transform(self, X, owner, *, reset=False, reader=None):
        """Validate texts for ``owner``: a list of str."""
        from .text import _check_texts

        return _check_texts(X, caller=type(owner).__name__)

    width = None

    def tensors(self, texts, rows=None):
        """Padded token ids and attention masks (a dict of tensors)."""
        texts = texts if rows is None else [texts[i] for i in rows]
        if getattr(self, "lowercase", False):  # absent from older pickles
            texts = [text.lower() for text in texts]
        tokens = self.tokenizer(
            texts,
            truncation=True,
            max_length=self.max_length,
            padding=True,
            return_tensors="pt",
            return_attention_mask=True,
            return_token_type_ids=False,
        )
        return {
            "input_ids": tokens["input_ids"],
            "attention_mask": tokens["attention_mask"],
        }
