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

from ._checks import (
    check_column_types,
    check_float32_range,
    has_fitted_names,
    is_frame,
    reject_strings,
    reject_text,
)
from ._quantiles import QuantileScaling, check_quantiles, check_tied_extremes
from ._robust import check_robust, fit_robust, two_views

__all__ = ["NumericInput", "RowBatches", "as_dense"]


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


def _plain_rows(X, owner):
    """X's rows when they need none of validate_data's work at predict, else
    None: only finite values, the fitted width and names, and either a 2-d
    float ndarray for an estimator fitted without feature names (else
    validate_data warns), or a DataFrame of numpy float or int columns with
    the fitted names in order (its rows as float64)."""
    if is_frame(X):
        if X.shape[0] == 0 or not has_fitted_names(X, owner):
            return None
        if not all(isinstance(d, np.dtype) and d.kind in "fiu" for d in X.dtypes):
            return None
        X = X.to_numpy(dtype=np.float64)
    elif type(X) is not np.ndarray or X.ndim != 2 or X.dtype not in _FLOATS:
        return None
    elif X.shape[0] == 0 or X.shape[1] != getattr(owner, "n_features_in_", None):
        return None
    elif getattr(owner, "feature_names_in_", None) is not None:
        return None
    # A NaN or an infinity makes the sum non-finite (so can a sum that
    # overflows: then validate_data looks at every value).
    return X if np.isfinite(X.sum()) else None


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
    linear_view : bool, default=True
        With ``scale``, each column also reaches the network robust-scaled and
        smoothly clipped (:mod:`sk_mtl._data._robust`), after all the
        quantile-normal columns: the rows are ``2 * n_features_in_`` wide.
        The quantile map bends linear relations; this view keeps them.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of str or None
        Their names, when X had string column names.
    scaling_ : QuantileScaling or None
        The scaling fitted in fit (None when X is read as given).
    robust_center_, robust_scale_ : ndarray of shape (n_features_in_,) or None
        The linear view's median and robust scale of each column (None
        without the view).
    """

    kind = "numeric"

    def __init__(self, scale=False, linear_view=True):
        self.scale = scale
        self.linear_view = linear_view

    def fit(self, X, owner, reader=None):
        """Validate training X for ``owner``, remember its features, return it
        (scaled when ``scale``)."""
        reject_text(X, reader or type(owner).__name__)
        X = self._validate(X, owner, reset=True)
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = getattr(owner, "feature_names_in_", None)
        self.scaling_ = self.robust_center_ = self.robust_scale_ = None
        if self.scale and not sp.issparse(X) and X.shape[0]:
            self.scaling_ = QuantileScaling.fit(X)
            if self.linear_view:
                self.robust_center_, self.robust_scale_ = fit_robust(X)
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
        views = 1 if getattr(self, "robust_center_", None) is None else 2
        return views * self.n_features_in_

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
        # An input pickled by an older sk_mtl has no scaling_ (X as given) or
        # no robust_center_ (the quantile view alone).
        scaling = getattr(self, "scaling_", None)
        center = getattr(self, "robust_center_", None)
        if scaling is not None and center is not None:
            return two_views(X, scaling, center, self.robust_scale_)
        if scaling is not None:
            return scaling.transform(X)
        # The one float32 copy of float64 X (none for float32 X).
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        if not X32.flags.writeable:  # torch cannot wrap read-only memory
            X32 = X32.copy()
        return X32

    @staticmethod
    def _validate(X, owner, *, reset):
        rows = None if reset else _plain_rows(X, owner)
        if rows is not None:
            # what validate_data would return; its checks cost more than a
            # small network's forward pass (0.75 ms for a served frame's row)
            check_float32_range(rows, rows, owner)
            return rows
        reject_strings(X, owner)
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
            check_float32_range(X.data, X, owner)
            X = X.tocsr()
            return X if X.dtype == np.float32 else X.astype(np.float32)
        check_float32_range(X, X, owner)
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
            "tied_extremes": None if scaling is None else scaling.tied_extremes,
            "robust_center": getattr(self, "robust_center_", None),
            "robust_scale": getattr(self, "robust_scale_", None),
        }

    @classmethod
    def from_config(cls, config):
        """The fitted input that :meth:`to_config` describes.

        A file written before inputs were scaled has no ``quantiles``: its model
        reads X as given, as it was trained to; one written before the linear
        view has no ``robust_center``: its model reads the quantile view alone;
        one written before ``tied_extremes`` has none: ``"bound"``, the map its
        model was trained on.
        """
        quantiles = config.get("quantiles")
        center, scale = config.get("robust_center"), config.get("robust_scale")
        linear = quantiles is not None and center is not None
        new = cls(scale=quantiles is not None, linear_view=linear)
        new.n_features_in_ = int(config["n_features_in_"])
        names = config["feature_names_in_"]
        new.feature_names_in_ = None if names is None else np.asarray(names, object)
        new.scaling_ = new.robust_center_ = new.robust_scale_ = None
        if quantiles is not None:
            checked = check_quantiles(quantiles, new.n_features_in_)
            tied = check_tied_extremes(config.get("tied_extremes", "bound"))
            new.scaling_ = QuantileScaling(checked, tied)
        if linear:
            robust = check_robust(center, scale, new.n_features_in_)
            new.robust_center_, new.robust_scale_ = robust
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
