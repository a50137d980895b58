"""Prediction side of a meta-classifier that delegates to a fitted ``estimator_``.

:class:`DelegatingClassifierMixin` gives a meta-estimator ``predict``,
``predict_proba``, ``predict_log_proba``, ``decision_function`` (each only when
the inner estimator has it), ``score`` and the input / target tags of the inner
estimator. The meta-estimator defines ``_get_estimator()`` (the unfitted inner
estimator) and sets ``estimator_`` in ``fit``; how it is fitted is its own
business (hard example mining in :mod:`sk_mtl.mining._hard_example_mining`).
"""

# Authors: The sk_mtl developers
# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import scipy.sparse as sp
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    _check_sample_weight,
    _num_samples,
    check_is_fitted,
    validate_data,
)

__all__ = ["DelegatingClassifierMixin", "reject_mapping"]


def _estimator_has(attr):
    """Check the fitted inner estimator if there is one, else the unfitted one."""

    def check(self):
        if hasattr(self, "estimator_"):
            return hasattr(self.estimator_, attr)
        return hasattr(self._get_estimator(), attr)

    return check


def reject_mapping(X, caller):
    """TypeError for a dict X (sklearn's validation would fail with a KeyError)."""
    # scipy's DOK sparse matrices are dicts too: those are data.
    if isinstance(X, dict) and not sp.issparse(X):
        raise TypeError(
            f"{caller} expects X as an array-like or DataFrame of shape "
            "(n_samples, n_features), got a dict."
        )


class DelegatingClassifierMixin:
    """Predict with the fitted inner ``estimator_``; inherit its tags.

    Put it left of :class:`~sklearn.base.ClassifierMixin` (its ``score``
    and ``__sklearn_tags__`` call those of the classes on its right).
    """

    def _check_predict_X(self, X):
        # X goes to the inner estimator as it is; only its number of features
        # and feature names are checked against fit, and a 1-D array where a
        # 2-D one was fitted gets the usual message.
        reject_mapping(X, type(self).__name__)
        if getattr(X, "ndim", None) == 1 and hasattr(self, "n_features_in_"):
            raise ValueError(
                "Expected 2D array, got 1D array instead. Reshape your data either "
                "using array.reshape(-1, 1) if your data has a single feature or "
                "array.reshape(1, -1) if it contains a single sample."
            )
        return validate_data(self, X, reset=False, skip_check_array=True)

    def score(self, X, y, sample_weight=None):
        """Accuracy of the fitted inner estimator (sklearn's definition).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        Returns
        -------
        score : float
        """
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, np.empty((_num_samples(y), 0)), ensure_non_negative=True
            )
        return super().score(X, y, sample_weight=sample_weight)

    def predict(self, X):
        """Predict class labels with the fitted inner estimator.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, ...)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted labels.
        """
        check_is_fitted(self)
        return self.estimator_.predict(self._check_predict_X(X))

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities of the fitted inner estimator.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, ...)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or list of ndarray
            Probabilities (one array per task for a multi-output estimator).
        """
        check_is_fitted(self)
        return self.estimator_.predict_proba(self._check_predict_X(X))

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities of the fitted inner estimator.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, ...)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes) or list of ndarray
            Log-probabilities.
        """
        check_is_fitted(self)
        return self.estimator_.predict_log_proba(self._check_predict_X(X))

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the fitted inner estimator.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, ...)
            Input data.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Decision scores.
        """
        check_is_fitted(self)
        return self.estimator_.decision_function(self._check_predict_X(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self._get_estimator())
        for name in ("sparse", "allow_nan", "categorical", "string", "dict"):
            setattr(tags.input_tags, name, getattr(inner.input_tags, name))
        tags.target_tags.multi_output = inner.target_tags.multi_output
        tags.target_tags.single_output = inner.target_tags.single_output
        if inner.classifier_tags is not None:
            tags.classifier_tags.multi_class = inner.classifier_tags.multi_class
            tags.classifier_tags.multi_label = inner.classifier_tags.multi_label
            tags.classifier_tags.poor_score = inner.classifier_tags.poor_score
        return tags
