"""What the estimators that reuse a trained network share.

- a fitted source given as a parameter survives :func:`sklearn.base.clone` (it is
  passed by reference, like :class:`sklearn.frozen.FrozenEstimator` does for
  itself) and is never modified, not even through ``set_params``;
- the input contract of a source (how X is validated and turned into tensors) is
  kept without its network, so the new estimator reads the same X;
- freezing, re-initialising and learning-rate groups of reused parameters.
"""

import copy
import fnmatch
import warnings

import numpy as np
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import BaseNeuralClassifier

__all__ = [
    "SharedSourceMixin",
    "check_source",
    "input_contract",
    "validate_with_source",
    "reject_text",
    "reset_parameters",
    "set_requires_grad",
    "name_patterns",
    "large_model_optimizer_options",
]


class SharedSourceMixin:
    """Keeps the (fitted) parameter named ``_source_param`` through clone.

    sklearn's ``clone`` clones every estimator parameter, which turns a fitted
    source into an unfitted one (skorch issue 855 is the same trap with loaded
    weights). Here the source is shared by reference between an estimator and its
    clones: fit only reads it, so sharing is safe, and a grid search fine-tunes the
    real source in every candidate. Its own parameters are not exposed through
    ``get_params(deep=True)`` and cannot be set through ``set_params``, so no
    search can modify it.
    """

    _source_param = "estimator"

    def __sklearn_clone__(self):
        params = self.get_params(deep=False)
        new_params = {
            k: v if k == self._source_param else clone(v, safe=False)
            for k, v in params.items()
        }
        new = type(self)(**new_params)
        for attr in ("_metadata_request", "_sklearn_output_config"):
            if attr in self.__dict__:
                setattr(new, attr, copy.deepcopy(self.__dict__[attr]))
        return new

    def get_params(self, deep=True):
        """Get the parameters of this estimator.

        The parameters of the source are not included: it is fitted, shared with
        clones and never modified.

        Parameters
        ----------
        deep : bool, default=True
            Ignored (there is no nested estimator to descend into).

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        return super().get_params(deep=False)

    def set_params(self, **params):
        """Set the parameters of this estimator (not of its source).

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : object
            The estimator.
        """
        prefix = self._source_param + "__"
        nested = sorted(k for k in params if k.startswith(prefix))
        if nested:
            raise ValueError(
                f"{type(self).__name__} cannot set {nested[0]!r}: the source given as "
                f"{self._source_param!r} is already fitted and is never modified. Set "
                f"{type(self).__name__}'s own parameters (lr, freeze, ...) instead, "
                "or fit another source."
            )
        return super().set_params(**params)


def check_source(source, *, caller, param="estimator", allow=""):
    """Check that ``source`` is a fitted sk_mtl neural estimator."""
    if not isinstance(source, BaseNeuralClassifier):
        what = type(source).__name__
        raise TypeError(
            f"{caller}'s {param} must be a fitted sk_mtl neural estimator "
            f"(MultiTaskClassifier, TransferClassifier or FineTuner){allow}, got "
            f"{what}."
        )
    try:
        check_is_fitted(source, ("module_", "net_", "classes_"))
    except NotFittedError:
        raise NotFittedError(
            f"The {param} given to {caller} ({type(source).__name__}) is not fitted: "
            "fit it on the source task first, then pass the fitted estimator."
        ) from None
    return source


def input_contract(source):
    """A light copy of a fitted source that validates X and makes model input.

    It shares the source's fitted input state (``n_features_in_``, a tokenizer,
    ...) but not its network, so a model built from the source reads the same X
    even if the source object is refitted later.
    """
    contract = copy.copy(source)
    for name in ("net_", "module_", "history_"):
        contract.__dict__.pop(name, None)
    return contract


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
            and (isinstance(X.flat[0], str))
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


def validate_with_source(estimator, contract, X, *, reset, source_name):
    """Validate X for ``estimator``, which reads X the way its source does.

    ``estimator`` gets its own ``n_features_in_`` / ``feature_names_in_`` (sklearn's
    checks of them apply to it); the source's fitted input contract then validates
    X and turns it into what the reused network reads.
    """
    expected = getattr(contract, "n_features_in_", None)
    if expected is not None:
        reject_text(X, f"the {source_name} ({type(contract).__name__})")
    validate_data(estimator, X, reset=reset, skip_check_array=True)
    got = getattr(estimator, "n_features_in_", None)
    names = getattr(contract, "feature_names_in_", None)
    own = getattr(estimator, "feature_names_in_", None)
    if reset and names is not None and own is not None:
        if len(names) == len(own) and not np.array_equal(names, own):
            diff = [f"{a!r} vs {b!r}" for a, b in zip(own, names) if a != b][:3]
            raise ValueError(
                f"The feature names of X differ from those the {source_name} was "
                f"fitted with ({', '.join(diff)}); reorder or rename the columns "
                "to match the source."
            )
    try:
        with warnings.catch_warnings():
            # Feature names are checked against ``estimator`` itself.
            warnings.filterwarnings(
                "ignore", message=".*feature names", category=UserWarning
            )
            X_valid = contract._validate_X(X, reset=False)
    except ValueError as exc:
        if reset and expected is not None and got != expected:
            if "is expecting" in str(exc):
                raise ValueError(
                    f"X has {got} features, but the {source_name} "
                    f"({type(contract).__name__}) was fitted on {expected}: "
                    f"{type(estimator).__name__} reuses its network, which reads "
                    f"{expected} features. Give X the source's features in the same "
                    "order (or set input_mismatch='reinit' to train a new input "
                    "layer)."
                ) from None
        raise
    return X_valid


def reset_parameters(module):
    """Re-initialise every submodule that knows how (random weights, same shapes)."""
    for m in module.modules():
        reset = getattr(m, "reset_parameters", None)
        if callable(reset):
            reset()
    return module


def set_requires_grad(params, flag):
    for p in params:
        p.requires_grad_(flag)


def name_patterns(module, names):
    """Few fnmatch patterns that match exactly the parameter ``names`` of ``module``.

    A submodule whose parameters are all in ``names`` becomes ``"prefix.*"``; skorch
    turns each pattern into one optimizer parameter group. There is no bare ``"*"``:
    it would also match the criterion's parameters.
    """
    names = set(names)
    patterns = []

    def visit(mod, prefix):
        own = [prefix + n for n, _ in mod.named_parameters()]
        if not own:
            return
        if prefix and all(n in names for n in own):
            patterns.append(prefix + "*")
            return
        for n, _ in mod.named_parameters(recurse=False):
            if prefix + n in names:
                patterns.append(prefix + n)
        for child_name, child in mod.named_children():
            visit(child, f"{prefix}{child_name}.")

    visit(module, "")
    all_names = [n for n, _ in module.named_parameters()]
    matched = {n for n in all_names if any(fnmatch.fnmatchcase(n, p) for p in patterns)}
    assert matched == names & set(all_names), "name_patterns is inexact"
    return patterns


# Adam's fused kernel runs on CPU from torch 2.4 on; for a pretrained encoder
# (millions of parameters) the optimizer step is then several times faster.
_FUSED_ADAM_CPU = tuple(int(v) for v in torch.__version__.split(".")[:2]) >= (2, 4)


def large_model_optimizer_options(n_parameters, optimizer, device):
    """``{"fused": True}`` for Adam/AdamW on large networks, where supported."""
    if optimizer not in ("adam", "adamw"):
        return {}
    if str(device).startswith("cpu") and not _FUSED_ADAM_CPU:
        return {}
    if n_parameters < 1_000_000:
        return {}
    return {"fused": True}
