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

import numbers

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.validation import validate_data

from ._quantiles import QuantileScaling, check_quantiles

__all__ = ["NumericInput", "RowBatches", "as_dense", "reject_text"]


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


_FLOAT32_MAX = float(np.finfo(np.float32).max)


class RowBatches:
    """Rows of a float32 tensor or sparse matrix, made dense a batch at a time.

    What :meth:`NumericInput.tensors` returns for sparse X, or for a subset of
    rows (e.g. the training part of an early-stopping split): indexing it with a
    batch of positions gives a dense float32 tensor of those rows, so neither a
    densified sparse matrix nor a copy of the subset is ever held whole.

    Parameters
    ----------
    data : torch.Tensor or scipy.sparse.csr_matrix
        All rows (float32).
    rows : ndarray of int, optional
        The rows this object stands for, in order (default: all).
    """

    def __init__(self, data, rows=None):
        self.data = data
        self.rows = None if rows is None else np.asarray(rows, dtype=np.int64)

    def __len__(self):
        return self.data.shape[0] if self.rows is None else len(self.rows)

    @property
    def shape(self):
        return (len(self), self.data.shape[1])

    def __getitem__(self, index):
        if isinstance(index, torch.Tensor):
            index = index.numpy()
        rows = index if self.rows is None else self.rows[index]
        if sp.issparse(self.data):
            return torch.from_numpy(self.data[rows].toarray())
        if isinstance(rows, slice):
            return self.data[rows]
        return self.data[torch.from_numpy(np.asarray(rows, dtype=np.int64))]

    def dense(self):
        """All the rows as one dense tensor."""
        return self[slice(None)]


def as_dense(tensors):
    """A model input with any :class:`RowBatches` made dense."""
    return tensors.dense() if isinstance(tensors, RowBatches) else tensors


def _take_rows(data, rows):
    whole = rows is None or (
        len(rows) == data.shape[0] and (rows == np.arange(data.shape[0])).all()
    )
    if whole:
        return data if isinstance(data, torch.Tensor) else RowBatches(data)
    return RowBatches(data, rows)


def _reject_strings(X, owner):
    """sklearn's ``dtype="numeric"`` rule: arrays of strings are not numbers."""
    if sp.issparse(X) or hasattr(X, "iloc"):
        return
    kind = getattr(X, "dtype", None)
    if kind is None and isinstance(X, list | tuple):
        kind = np.asarray(X).dtype
    if kind is not None and kind.kind in "USa":
        raise ValueError(
            f"X holds strings (dtype {kind}), but {type(owner).__name__} reads "
            "numeric features: convert your data to numbers explicitly (e.g. "
            "np.asarray(X, dtype=float)) or encode the text columns first."
        )


# Column dtypes that are neither numbers nor categories: what they are, in words.
_UNSUPPORTED_KINDS = {"M": "dates/times", "m": "time spans", "V": "raw bytes"}
_UNSUPPORTED_DTYPES = {
    "DatetimeTZDtype": "dates/times",
    "PeriodDtype": "periods",
    "IntervalDtype": "intervals",
}


def _unsupported_dtype(dtype):
    """What ``dtype`` holds, in words, when no estimator reads it; else None."""
    name = type(dtype).__name__
    if name == "CategoricalDtype":
        return _unsupported_dtype(dtype.categories.dtype)
    if name in _UNSUPPORTED_DTYPES:
        return _UNSUPPORTED_DTYPES[name]
    return _UNSUPPORTED_KINDS.get(getattr(dtype, "kind", None))


def _unsupported_value(values):
    """The first value of an object column that is neither a string, a real
    number, a bool nor missing; None if there is none."""
    for kind in set(map(type, values)):
        if issubclass(kind, str | bool | np.bool_) or kind is type(None):
            continue
        if issubclass(kind, numbers.Real) and not issubclass(kind, np.datetime64):
            continue
        for value in values:
            if type(value) is kind and not _is_missing(value):
                return value
    return None


def _is_missing(value):
    try:
        return bool(value != value) or str(value) in ("<NA>", "NaT")
    except (TypeError, ValueError):
        return False


def check_column_types(X, owner):
    """TypeError naming the first column of X that holds neither numbers nor
    categories (dates, time spans, periods, intervals, dicts, ...); ValueError for
    complex numbers (sklearn's message).

    Runs on DataFrames and numpy arrays, at fit and at predict, before anything
    converts X (numpy would raise ``DTypePromotionError``, or read dates as
    numbers).
    """
    if sp.issparse(X):
        return
    frame = hasattr(X, "iloc") and hasattr(X, "dtypes") and getattr(X, "ndim", 0) == 2
    if frame:
        columns = [
            (f"column {c!r}", X.iloc[:, j], dt)
            for j, (c, dt) in enumerate(zip(X.columns, X.dtypes))
        ]
    elif isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1]:
        # One dtype for all columns: only object arrays are read column by column.
        n = X.shape[1] if X.dtype.kind == "O" else 1
        columns = [(f"column {j}", X[:, j], X.dtype) for j in range(n)]
    else:
        return
    caller = type(owner).__name__
    for name, column, dtype in columns:
        if getattr(dtype, "kind", None) == "c":
            raise ValueError(
                f"Complex data not supported: X's {name} holds complex numbers "
                f"({dtype}), which {caller} cannot read as features."
            )
        what = _unsupported_dtype(dtype)
        bad = None
        if what is None and getattr(dtype, "kind", None) == "O":
            values = column.tolist() if hasattr(column, "tolist") else list(column)
            bad = _unsupported_value(values)
            if bad is None:
                continue
            what = f"{type(bad).__name__} values (e.g. {bad!r})"
        if what is None:
            continue
        raise TypeError(
            f"X's {name} holds {what} (dtype {dtype}), which {caller} cannot read: "
            "a feature's argument must be a string (categorical column) or a "
            "number. Convert the column first (e.g. a date to its year, month and "
            "day, or to days since a reference date)."
        )


def _check_float32_range(values, X, owner):
    """ValueError naming the column of a finite value that float32 cannot hold."""
    if values.size == 0 or values.dtype.kind != "f" or values.dtype.itemsize <= 4:
        return
    # Reductions only: no temporary as large as X.
    if values.max() <= _FLOAT32_MAX and values.min() >= -_FLOAT32_MAX:
        return
    if sp.issparse(X):
        col = int(X.tocsc().indices[np.abs(X.tocsc().data) > _FLOAT32_MAX][0])
    else:
        over = (X.max(axis=0) > _FLOAT32_MAX) | (X.min(axis=0) < -_FLOAT32_MAX)
        col = int(np.flatnonzero(over)[0])
    names = getattr(owner, "feature_names_in_", None)
    name = f"column {col}" if names is None else f"column {names[col]!r}"
    raise ValueError(
        f"X has a value outside the float32 range (|x| > 3.4e38) in {name}; "
        f"{type(owner).__name__} computes in float32. Scale X first."
    )


def _plain_rows(X, owner):
    """Whether X needs none of validate_data's work at predict: a 2-d float
    ndarray with rows, the fitted number of columns and only finite values, for
    an estimator fitted without feature names (else validate_data warns)."""
    if type(X) is not np.ndarray or X.ndim != 2 or X.dtype not in _FLOATS:
        return False
    if X.shape[0] == 0 or X.shape[1] != getattr(owner, "n_features_in_", None):
        return False
    if getattr(owner, "feature_names_in_", None) is not None:
        return False
    # A NaN or an infinity makes the sum non-finite (so can a sum that
    # overflows: then validate_data looks at every value).
    return bool(np.isfinite(X.sum()))


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class NumericInput:
    """Numeric features, dense or sparse, read as float32 rows.

    Parameters
    ----------
    scale : bool, default=False
        Map each dense column to a standard normal through its training
        quantiles (:class:`~sk_mtl._data._quantiles.QuantileScaling`, the
        scaling the tabular front-end gives a DataFrame's numeric columns).
        Sparse X is never scaled (its zeros stay zeros). Off, X reaches the
        network as given (a pretrained module reads the numbers it was trained
        on).

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of str or None
        Their names, when X had string column names.
    scaling_ : QuantileScaling or None
        The scaling fitted in fit (None when X is read as given).
    """

    kind = "numeric"

    def __init__(self, scale=False):
        self.scale = scale

    def fit(self, X, owner, reader=None):
        """Validate training X for ``owner``, remember its features, return it
        (scaled when ``scale``)."""
        reject_text(X, reader or type(owner).__name__)
        X = self._validate(X, owner, reset=True)
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = getattr(owner, "feature_names_in_", None)
        self.scaling_ = None
        if self.scale and not sp.issparse(X) and X.shape[0]:
            self.scaling_ = QuantileScaling.fit(X)
        return self._scaled(X)

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
        else:
            X = self._validate(X, owner, reset=False)
        return self._scaled(X)

    @property
    def width(self):
        """Width of the tensors made by :meth:`tensors`."""
        return self.n_features_in_

    def tensors(self, X, rows=None):
        """Model input for validated X (all rows, or ``rows``).

        A tensor for all rows of dense X; otherwise a :class:`RowBatches` that
        makes each batch dense when it is read.
        """
        return _take_rows(X if sp.issparse(X) else torch.from_numpy(X), rows)

    def _scaled(self, X):
        """Validated X as the float32 rows the network reads."""
        if sp.issparse(X):
            return X
        # An input pickled by an older sk_mtl has no scaling_: X as given.
        scaling = getattr(self, "scaling_", None)
        if scaling is not None:
            return scaling.transform(X)
        # The one float32 copy of float64 X (none for float32 X).
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        if not X32.flags.writeable:  # torch cannot wrap read-only memory
            X32 = X32.copy()
        return X32

    @staticmethod
    def _validate(X, owner, *, reset):
        if not reset and _plain_rows(X, owner):
            # validate_data would return X itself; its checks cost more than a
            # small network's forward pass.
            _check_float32_range(X, X, owner)
            return X
        _reject_strings(X, owner)
        check_column_types(X, owner)
        X = validate_data(
            owner,
            X,
            reset=reset,
            dtype="numeric",
            accept_sparse=("csr", "csc", "coo"),
        )
        if sp.issparse(X):
            # Stays sparse: batches are made dense one at a time.
            _check_float32_range(X.data, X, owner)
            X = X.tocsr()
            return X if X.dtype == np.float32 else X.astype(np.float32)
        _check_float32_range(X, X, owner)
        return X

    def to_config(self):
        """What the input was fitted on, as JSON-able values (for saving)."""
        names = self.feature_names_in_
        scaling = getattr(self, "scaling_", None)
        return {
            "kind": self.kind,
            "n_features_in_": int(self.n_features_in_),
            "feature_names_in_": None if names is None else [str(n) for n in names],
            "quantiles": None if scaling is None else scaling.quantiles,
        }

    @classmethod
    def from_config(cls, config):
        """The fitted input that :meth:`to_config` describes.

        A file written before inputs were scaled has no ``quantiles``: its model
        reads X as given, as it was trained to.
        """
        quantiles = config.get("quantiles")
        new = cls(scale=quantiles is not None)
        new.n_features_in_ = int(config["n_features_in_"])
        names = config["feature_names_in_"]
        new.feature_names_in_ = None if names is None else np.asarray(names, object)
        new.scaling_ = None
        if quantiles is not None:
            checked = check_quantiles(quantiles, new.n_features_in_)
            new.scaling_ = QuantileScaling(checked)
        return new

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
