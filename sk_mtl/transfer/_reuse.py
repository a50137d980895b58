"""What the estimators that reuse a trained network share.

- a fitted source given as a parameter survives :func:`sklearn.base.clone` (it is
  passed by reference, like :class:`sklearn.frozen.FrozenEstimator` does for
  itself) and is never modified, not even through ``set_params``;
- the fitted input of a source (how X is validated and turned into tensors) is
  reused, so the new estimator reads the same X;
- freezing, re-initialising, shrinking and learning-rate groups of reused
  parameters.
"""

import copy
import fnmatch

import numpy as np
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from .._data._inputs import NumericInput
from .._engine._base import BaseNeuralEstimator

__all__ = [
    "SharedSourceMixin",
    "best_member",
    "check_source",
    "reuse_input",
    "reset_parameters",
    "shrink_perturb",
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
    if not isinstance(source, BaseNeuralEstimator):
        what = type(source).__name__
        raise TypeError(
            f"{caller}'s {param} must be a fitted sk_mtl neural estimator "
            "(MultiTaskClassifier, MultiTaskRegressor, MixedTaskEstimator, "
            f"TransferClassifier or FineTuner){allow}, got {what}."
        )
    members = vars(source).get("estimators_")
    if members is not None:  # a bagged model: its member of best held-out score
        source = best_member(members)
    try:
        check_is_fitted(source, ("module_", "tasks_"))
    except NotFittedError:
        raise NotFittedError(
            f"The {param} given to {caller} ({type(source).__name__}) is not fitted: "
            "fit it on the source task first, then pass the fitted estimator."
        ) from None
    return source


def best_member(members):
    """The member of a bagged model (``n_bags > 1``) with the best validation
    score on its own held-out fold (the first of a tie, and the first where
    none held rows out): the network a bagged source lends."""
    scores = [m.best_validation_score_ for m in members]
    if any(s is None for s in scores):
        return members[0]
    return members[int(np.argmax(scores))]


def reuse_input(source, X, owner, *, input_mismatch, reader):
    """The input of a model built on ``source``'s network: ``(input_, X, new)``.

    The fitted source's ``input_`` validates X for ``owner`` (which gets its own
    ``n_features_in_``), so the new model reads X exactly as the source does. With
    ``input_mismatch="reinit"`` and numeric X of another width, a new input is
    fitted instead and ``new`` is True: the network needs a new input layer.
    """
    width = getattr(source.input_, "n_features_in_", None)
    if input_mismatch == "reinit" and width is not None:
        fresh = NumericInput(scale=True)
        X_valid = fresh.fit(X, owner, reader=f"the {reader}")
        if fresh.n_features_in_ != width:
            return fresh, X_valid, True
    X_valid = source.input_.transform(X, owner, reset=True, reader=reader)
    return source.input_, X_valid, False


def reset_parameters(module):
    """Re-initialise every submodule that knows how (random weights, same shapes)."""
    for m in module.modules():
        reset = getattr(m, "reset_parameters", None)
        if callable(reset):
            reset()
    return module


def shrink_perturb(module, names, shrink, perturb):
    """Shrink and perturb the parameters ``names`` of ``module``, in place.

    Each becomes ``shrink * w + perturb * w_fresh`` (Ash & Adams 2020), where
    ``w_fresh`` is the parameter of a re-initialised copy of ``module``
    (:func:`reset_parameters`, drawn from torch's global RNG; nothing is drawn
    when ``perturb`` is 0). ``shrink=1, perturb=0`` leaves ``module`` as it is.
    """
    if shrink == 1 and perturb == 0:
        return module
    names = set(names)
    fresh = {}
    if perturb:
        fresh = dict(reset_parameters(copy.deepcopy(module)).named_parameters())
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name not in names:
                continue
            p.mul_(shrink)
            if perturb:
                p.add_(fresh[name], alpha=perturb)
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
