"""Tabular X: a DataFrame or array of numeric and categorical columns, as given.

:class:`TabularInput` is an input object (see :mod:`sk_mtl._data._inputs`) that does, in
``fit``, what a user would otherwise hand-build with a ColumnTransformer:

- categorical columns found from the dtype (``category``, ``object``, ``string``)
  or given as names, indices or a boolean mask, as HistGradientBoosting does;
- each categorical column is encoded to integer codes fitted on the training
  rows (:mod:`._categories`): missing, "other" (rare, past ``max_categories``
  and unseen categories share it), then the kept categories;
- numeric columns are quantile-transformed to a normal distribution
  (:class:`sklearn.preprocessing.QuantileTransformer`, fitted in ``fit``): every
  column, whatever its unit, skew or outliers (incomes, capital gains that are
  mostly zero with a heavy tail), reaches the network on the same bounded scale,
  and the order of its values (what a tree would split on) is kept. With
  ``linear_view`` (the default), each numeric column also comes robust-scaled
  and smoothly clipped (:mod:`sk_mtl._data._robust`), which keeps the linear
  relations that the quantile map bends: the numeric tensor holds the
  quantile-normal columns, then the linear ones;
- with ``value_view``, a numeric column that is mostly one value
  with a few others recurring (a capital gain: 0, and a few exact amounts) also
  comes as a categorical column of its frequent values (:mod:`._values`);
- NaN in a numeric column becomes 0 (the median, in both views) plus a 0/1
  missing indicator, for each column that had a missing value in fit. A column
  that had none in fit gets no indicator: a NaN there at predict time is read as
  the median.

``tensors`` returns ``{"numeric", "missing", "categorical"}`` tensors (the
categorical codes: the categorical columns', then the value views'); the
network's front-end (:mod:`sk_mtl.embeddings`) embeds them.
"""

import numpy as np
import torch
from sklearn.utils.validation import check_array, validate_data

from . import _columns, _quantiles
from ._categories import categorical_positions, category_codes, fit_categories
from ._checks import check_column_types, has_fitted_names, is_frame
from ._inputs import NumericInput, _take_rows
from ._quantiles import QuantileScaling, check_tied_extremes, fit_quantile_transformer
from ._robust import check_robust, fit_robust, two_views
from ._values import fit_value_view, value_codes

__all__ = ["TabularInput", "TabularData"]


class TabularData:
    """Validated tabular X: the arrays :meth:`TabularInput.tensors` reads.

    ``numeric`` (float32, scaled, NaN as 0), ``missing`` (float32 0/1 indicators),
    ``categorical`` (int64 codes); ``shape`` is ``(n_samples, n_features_in)``.
    """

    def __init__(self, numeric, missing, categorical, n_features):
        self.numeric = numeric
        self.missing = missing
        self.categorical = categorical
        self.shape = (len(numeric), n_features)

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, rows):
        """The ``rows`` (an index array or a slice), as arrays' ``X[rows]``."""
        return TabularData(
            self.numeric[rows],
            self.missing[rows],
            self.categorical[rows],
            self.shape[1],
        )


class TabularInput:
    """Numeric and categorical columns of a DataFrame or array, encoded in fit.

    Parameters
    ----------
    categorical_features : "from_dtype", list of str or int, bool mask or None
        Which columns are categorical (see the module docstring).
    min_category_count : int, default=5
        Categories seen fewer times in fit share the "other" slot.
    max_categories : int, default=255
        At most this many categories per column get their own slot (the most
        frequent ones); the rest share the "other" slot.
    linear_view : bool, default=True
        Each numeric column also robust-scaled and smoothly clipped, after the
        quantile-normal ones (see the module docstring).
    value_view : bool, default=False
        A numeric column that is mostly one value with a few others recurring
        also comes as a categorical column of its values (:mod:`._values`;
        the values seen fewer than ``min_category_count`` times share the
        "other" slot, at most ``max_categories`` values get their own).

    Attributes
    ----------
    n_features_in_ : int
        Number of columns seen in fit.
    feature_names_in_ : ndarray of str or None
        Their names, when X was a DataFrame with string column names.
    numeric_columns_, categorical_columns_ : list of str or int
        The numeric and categorical columns: their names where X had column
        names (``feature_names_in_``), else their positions among all of X's
        columns.
    categories_ : list of ndarray
        Kept categories of each categorical column (code ``2 + i`` for entry i).
    cardinalities_ : list of int
        Number of codes of each categorical column (kept categories + 2), then
        of each value view (kept values + 2).
    value_columns_ : list of str or int
        The numeric columns that also come as a categorical column of their
        values (``value_view``), named as ``numeric_columns_``.
    kept_values_ : list of ndarray
        Kept values of each of them (code ``2 + i`` for entry i).
    missing_columns_ : list of str or int
        The numeric columns that had a missing value in fit (each has a missing
        indicator), named as ``numeric_columns_``.
    scaler_ : QuantileTransformer or None
        The numeric scaling fitted in fit.
    robust_center_, robust_scale_ : ndarray of shape (n_numeric columns,) or None
        The linear view's median and robust scale of each numeric column (None
        without the view).
    tied_extremes_ : {"bound", "mid"}
        How the quantile view maps a tied smallest or largest training value
        (:class:`~sk_mtl._data._quantiles.QuantileScaling`); an input fitted
        before the choice existed has none, and reads ``"bound"``.
    """

    kind = "tabular"
    width = None

    def __init__(
        self,
        categorical_features="from_dtype",
        min_category_count=5,
        max_categories=255,
        linear_view=True,
        value_view=False,
    ):
        self.categorical_features = categorical_features
        self.min_category_count = min_category_count
        self.max_categories = max_categories
        self.linear_view = linear_view
        self.value_view = value_view

    # ------------------------------------------------------------------- fit
    def fit(self, X, owner, reader=None):
        """Validate training X for ``owner``, fit the encodings, return TabularData."""
        X = self._validate(X, owner, reset=True)
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = getattr(owner, "feature_names_in_", None)
        cat = categorical_positions(
            self.categorical_features, X, self.feature_names_in_
        )
        # Positions used inside: among all columns (numeric, categorical) and
        # among the numeric columns (missing, value view).
        self._categorical_at = cat
        self._numeric_at = [j for j in range(X.shape[1]) if j not in set(cat)]
        self.categories_ = [
            fit_categories(
                _columns.column(X, j), self.min_category_count, self.max_categories
            )
            for j in cat
        ]
        numeric = self._numeric(X, self._numeric_at)
        missing = np.isnan(numeric)
        self._missing_at = [int(i) for i in np.flatnonzero(missing.any(axis=0))]
        self._value_at, self.kept_values_ = [], []
        if self.value_view:
            self._value_at, self.kept_values_ = fit_value_view(
                numeric, self.min_category_count, self.max_categories
            )
        self.cardinalities_ = [len(c) + 2 for c in self.categories_]
        self.cardinalities_ += [len(v) + 2 for v in self.kept_values_]
        self._set_column_attributes()
        self.scaler_ = self._fast_scaling = None
        self.robust_center_ = self.robust_scale_ = None
        self.tied_extremes_ = _quantiles.TIED_EXTREMES
        if numeric.shape[1]:
            # An all-NaN column would give NaN quantiles: fit it on zeros.
            filled = np.where(missing.all(axis=0), 0.0, numeric)
            self.scaler_ = fit_quantile_transformer(filled)
            if self.linear_view:
                self.robust_center_, self.robust_scale_ = fit_robust(numeric)
        return self._encode(X, numeric)

    def transform(self, X, owner, *, reset=False, reader=None):
        """Validate X for ``owner`` (same columns as in fit) and encode it.

        ``reset=True`` is for an estimator that reuses this input in its own fit
        (see :meth:`sk_mtl._data._inputs.NumericInput.transform`).
        """
        X = self._validate(X, owner, reset=reset)
        if reset:
            NumericInput._check_reuse(self, X, owner, reader)
        values = _columns.small_frame_values(X)  # read once for both kinds of column
        return self._encode(X, self._numeric(X, self._layout()[0], values), values)

    def tensors(self, X, rows=None):
        """``{"numeric", "missing", "categorical"}`` tensors for TabularData X."""
        return {
            "numeric": _take_rows(torch.from_numpy(X.numeric), rows),
            "missing": _take_rows(torch.from_numpy(X.missing), rows),
            "categorical": _take_rows(torch.from_numpy(X.categorical), rows),
        }

    @property
    def n_numeric(self):
        """The width of ``tensors()["numeric"]``: the number of numeric
        columns, twice that with the linear view."""
        views = 1 if getattr(self, "robust_center_", None) is None else 2
        return views * len(self.numeric_columns_)

    def _set_column_attributes(self):
        """The public column lists: names where X had names, else positions."""
        names = self.feature_names_in_

        def label(j):
            return int(j) if names is None else str(names[j])

        self.categorical_columns_ = [label(j) for j in self._categorical_at]
        self.numeric_columns_ = [label(j) for j in self._numeric_at]
        self.missing_columns_ = [label(self._numeric_at[i]) for i in self._missing_at]
        self.value_columns_ = [label(self._numeric_at[i]) for i in self._value_at]

    def __getstate__(self):
        # Without the fast transform: it is rebuilt from scaler_ when needed.
        state = dict(vars(self))
        state.pop("_fast_scaling", None)
        return state

    def _scaling(self):
        """The fast transform of ``scaler_``'s quantiles (made once, not saved;
        ``tied_extremes_`` and the linear view's centre and scale checked then:
        they may come from a file)."""
        if getattr(self, "_fast_scaling", None) is None:
            tied = check_tied_extremes(getattr(self, "tied_extremes_", "bound"))
            quantiles = self.scaler_.quantiles_
            center = getattr(self, "robust_center_", None)
            if center is not None:
                check_robust(center, self.robust_scale_, quantiles.shape[1])
            self._fast_scaling = QuantileScaling(quantiles, tied)
        return self._fast_scaling

    def _layout(self):
        """``(numeric, categorical, missing)`` positions (see ``fit``).

        A TabularInput fitted by an older sk_mtl (saved or pickled) may hold
        only the public lists, as positions, ``missing_columns_`` among the
        numeric columns: read them as such, and rename them by the convention
        above; one fitted before the value view has none.
        """
        older = "_numeric_at" not in vars(self) or "_value_at" not in vars(self)
        if "_value_at" not in vars(self):  # fitted before the value view
            self._value_at, self.kept_values_ = [], []
        if "_numeric_at" not in vars(self):
            self._numeric_at = [int(j) for j in self.numeric_columns_]
            self._categorical_at = [int(j) for j in self.categorical_columns_]
            self._missing_at = [int(i) for i in self.missing_columns_]
        if older:
            self._set_column_attributes()
        return self._numeric_at, self._categorical_at, self._missing_at

    # --------------------------------------------------------------- helpers
    @staticmethod
    def _validate(X, owner, *, reset):
        check_column_types(X, owner)
        if not is_frame(X):
            if not isinstance(X, np.ndarray):  # a list: keep numbers and strings
                X = np.asarray(X, dtype=object)
            X = check_array(
                X,
                dtype=None,
                ensure_all_finite=False,
                input_name="X",
                estimator=owner,
            )
        elif X.shape[0] < 1:
            raise ValueError(
                f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of "
                f"1 is required by {type(owner).__name__}."
            )
        elif not reset and has_fitted_names(X, owner):
            return X  # what validate_data checks holds (90 us a served row)
        validate_data(owner, X, reset=reset, skip_check_array=True)
        return X

    def _name(self, j):
        names = self.feature_names_in_
        return f"column {j}" if names is None else f"column {names[j]!r}"

    def _numeric(self, X, numeric_at, values=None):
        """The numeric columns at positions ``numeric_at`` as float64
        (``values``: a small frame's :func:`~._columns.small_frame_values`)."""
        out = _columns.frame_block(X, numeric_at, np.float64, values)
        if out is None:  # not a frame, or a column to name: one by one
            out = self._numeric_columns(X, numeric_at)
        if np.isinf(out).any():
            j = numeric_at[int(np.flatnonzero(np.isinf(out).any(0))[0])]
            raise ValueError(
                f"X's {self._name(j)} has an infinite value; use NaN for a missing "
                "value."
            )
        return out

    def _numeric_columns(self, X, numeric_at):
        """:meth:`_numeric`'s columns read one by one, an error naming the
        first that is not numeric."""
        out = np.empty((X.shape[0], len(numeric_at)), dtype=np.float64)
        for i, j in enumerate(numeric_at):
            col = _columns.column(X, j)
            try:
                if hasattr(col, "to_numpy"):
                    out[:, i] = col.to_numpy(dtype=np.float64, na_value=np.nan)
                else:
                    out[:, i] = np.asarray(col, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                # A TypeError (e.g. a dict in the column) stays one.
                raise type(exc)(
                    f"X's {self._name(j)} is not numeric (e.g. {_first_bad(col)!r}: "
                    f"{exc}) but was not declared categorical; list it in "
                    "categorical_features, or give it a category/object dtype."
                ) from None
        return out

    def _encode(self, X, numeric, values=None):
        _, categorical_at, missing_at = self._layout()
        missing = np.isnan(numeric)
        scaled = numeric
        if self.scaler_ is not None:
            filled = np.where(missing, 0.0, numeric)
            scaling = self._scaling()
            # A TabularInput of an older sk_mtl has no linear view.
            center = getattr(self, "robust_center_", None)
            if center is None:
                scaled, views = scaling.transform(filled), 1
            else:
                scaled = two_views(filled, scaling, center, self.robust_scale_)
                views = 2
            scaled[np.tile(missing, views)] = 0.0  # in every view: see indicators
        value_at, kept = self._value_at, self.kept_values_
        width = len(categorical_at) + len(value_at)
        codes = np.empty((X.shape[0], width), dtype=np.int64)
        block = _columns.frame_block(X, categorical_at, object, values)
        for i, (j, cats) in enumerate(zip(categorical_at, self.categories_)):
            column = _columns.column(X, j) if block is None else block[:, i]
            codes[:, i] = category_codes(column, cats)
        for i, j in enumerate(value_at):
            codes[:, len(categorical_at) + i] = value_codes(numeric[:, j], kept[i])
        return TabularData(
            np.ascontiguousarray(scaled, dtype=np.float32),
            np.ascontiguousarray(missing[:, missing_at], dtype=np.float32),
            codes,
            self.n_features_in_,
        )


def _first_bad(col):
    for v in np.asarray(col, dtype=object).tolist():
        try:
            float(v)
        except (TypeError, ValueError):
            return v
    return None
