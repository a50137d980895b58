"""Merged models: one classifier from several fitted models of the same task(s).

``M = sum_i w_i * M(i)`` in one of two spaces:

- output space: the weighted average of the members' class probabilities (any
  fitted classifiers with the same classes; inference runs every member);
- weight space: the weighted average of the members' network weights, a "model
  soup" (Wortsman et al., ICML 2022): one network, the inference cost of one
  model. It only makes sense for models fine-tuned from one source (their weights
  stay in one basin of the loss); averaging independently trained networks gives
  garbage, so use output space for those.

The weights are equal, given, or fitted on held-out data (minimum log-loss of the
merged model, weights on the simplex; in weight space this is the "learned soup"
of the same paper).
"""

import copy

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import _check_sample_weight, check_is_fitted
from torch.func import functional_call

from .._data._inputs import as_dense
from .._data._tasks import ClassificationTask
from .._engine._base import TaskClassifierMixin
from ..utils import task_columns
from ._merge_math import (
    average_state,
    check_same_architecture,
    check_same_input,
    fit_simplex_weights,
)
from ._reuse import SharedSourceMixin

__all__ = ["MergedClassifier", "merge_models"]


def _as_list(value, multitask):
    return list(value) if multitask else [value]


def _is_multitask(model):
    """Whether ``model`` predicts several tasks: an sk_mtl model says so; for
    another classifier, a list of ``classes_`` (scikit-learn's multi-output
    classifiers) means one task per entry."""
    flag = getattr(model, "_multitask", None)
    if flag is not None:
        return bool(flag)
    return isinstance(model.classes_, list)


class MergedClassifier(SharedSourceMixin, TaskClassifierMixin, BaseEstimator):
    """Weighted merge of several fitted classifiers of the same task(s).

    ``fit`` never trains the members (they are fitted already and are not
    modified); it checks that they can be merged, builds the merged network for
    ``space="weights"``, and with ``weights="fit"`` fits the weights on the
    held-out data it is given. :func:`merge_models` does all of this in one call.

    Read more in the :ref:`User Guide <fine_tuning>`.

    Parameters
    ----------
    estimators : list of fitted classifiers
        The members. Output space: any fitted classifiers with ``predict_proba``
        and the same ``classes_`` (sk_mtl multi-task models: the same tasks and
        classes; scikit-learn's multi-output classifiers, whose ``classes_`` is
        a list, merge with them task by task, e.g.
        ``MultiOutputClassifier(HistGradientBoostingClassifier())`` beside a
        multi-task network). Weight space: sk_mtl neural estimators with
        identical network architecture and classes, ideally fine-tuned from one
        source.
    weights : None, array-like of shape (n_estimators,) or "fit", default=None
        None: equal weights. An array: non-negative weights, normalised to sum to
        1. ``"fit"``: weights minimising the log-loss of the merged model on the
        data passed to ``fit`` (use held-out data, not the members' training
        data).
    space : {"output", "weights"}, default="output"
        Average the probabilities, or the network weights (one network).

    Attributes
    ----------
    estimators_ : list
        The members (the same objects as ``estimators``).
    weights_ : ndarray of shape (n_estimators,)
        The weights used, summing to 1.
    classes_ : ndarray or list of ndarray
        Classes of the task, or of each task.
    n_tasks_ : int
        Number of tasks.
    task_names_ : list of str
        Names of the tasks.
    merged_ : sk_mtl estimator
        ``space="weights"`` only: a copy of the first member carrying the averaged
        weights; it does the predicting.
    module_ : torch.nn.Module
        ``space="weights"`` only: the merged network (``merged_.module_``).
    n_features_in_ : int
        Number of features of the members, when they have one.

    See Also
    --------
    merge_models : Build and fit a MergedClassifier in one call.
    sklearn.ensemble.VotingClassifier : Soft voting of models it trains itself.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl import FineTuner, MergedClassifier, MultiTaskClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(300, 5))
    >>> y = (X[:, 0] - X[:, 2] > 0).astype(int)
    >>> source = MultiTaskClassifier((16,), max_epochs=20, random_state=0)
    >>> source = source.fit(X[:150], y[:150])
    >>> models = [
    ...     FineTuner(source, max_epochs=5, random_state=s).fit(X[150:250], y[150:250])
    ...     for s in range(3)
    ... ]
    >>> soup = MergedClassifier(models, space="weights").fit()
    >>> soup.weights_
    array([0.33333333, 0.33333333, 0.33333333])
    >>> soup.predict(X[250:]).shape
    (50,)
    """

    _source_param = "estimators"

    def __init__(self, estimators, *, weights=None, space="output"):
        self.estimators = estimators
        self.weights = weights
        self.space = space

    def fit(self, X=None, y=None, sample_weight=None):
        """Check and merge the members; fit the weights when ``weights="fit"``.

        Parameters
        ----------
        X : array-like, default=None
            Held-out inputs, needed only with ``weights="fit"``.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks), default=None
            Held-out labels (NaN/None: missing).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the held-out samples.

        Returns
        -------
        self : object
            The merged classifier.
        """
        members = self._check_members()
        self.estimators_ = list(members)
        n = len(members)
        if isinstance(self.weights, str):
            if self.weights != "fit":
                raise ValueError(
                    f"weights must be None, an array of {n} weights or 'fit'; got "
                    f"{self.weights!r}."
                )
            if X is None or y is None:
                raise ValueError(
                    "weights='fit' learns the weights on held-out data: pass X and y "
                    "to fit (data the members were not trained on)."
                )
            self.weights_ = None
        elif self.weights is None:
            self.weights_ = np.full(n, 1.0 / n)
        else:
            w = np.asarray(self.weights, dtype=float)
            if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0):
                raise ValueError(
                    f"weights must be {n} non-negative finite numbers (one per "
                    f"estimator); got {self.weights!r}."
                )
            if w.sum() <= 0:
                raise ValueError("weights sum to zero.")
            self.weights_ = w / w.sum()
        states = None  # the members' weights, for space="weights"
        if self.space == "weights":
            states = [
                {k: v.detach().cpu() for k, v in m.module_.state_dict().items()}
                for m in members
            ]
        if self.weights_ is None:
            self.weights_ = self._fit_weights(X, y, sample_weight, states)
        if self.space == "weights":
            self.merged_ = self._weight_space_model(self.weights_, states)
            self.module_ = self.merged_.module_
        return self

    # ------------------------------------------------------------ validation
    def _check_members(self):
        members = self.estimators
        if isinstance(members, BaseEstimator) or not isinstance(members, list | tuple):
            raise TypeError(
                "estimators must be a list of fitted classifiers, got "
                f"{type(members).__name__}."
            )
        if len(members) < 1:
            raise ValueError("estimators is empty: give at least one fitted model.")
        if self.space not in ("output", "weights"):
            raise ValueError(
                f"space must be 'output' or 'weights', got {self.space!r}."
            )
        for i, m in enumerate(members):
            if not hasattr(m, "predict_proba"):
                raise TypeError(
                    f"estimators[{i}] ({type(m).__name__}) has no predict_proba: "
                    "merging averages class probabilities."
                )
            check_is_fitted(m)
        self._adopt_tasks(members)
        widths = {getattr(m, "n_features_in_", None) for m in members}
        if len(widths) > 1:
            found = sorted(widths, key=str)
            raise ValueError(
                f"The estimators read different numbers of features: {found}."
            )
        if widths != {None}:
            self.n_features_in_ = widths.pop()
        names = getattr(members[0], "feature_names_in_", None)
        if names is not None:
            self.feature_names_in_ = names
        if self.space == "weights":
            check_same_architecture(members)
            check_same_input(members)
        return members

    # --------------------------------------------------------------- merging
    def _weight_space_model(self, weights, states):
        first = self.estimators[0]
        # Share (do not copy) the first member's parameters, e.g. a FineTuner's
        # source: they are only read.
        memo = {id(v): v for v in first.get_params(deep=False).values()}
        merged = copy.deepcopy(first, memo)
        # skorch copies its net through pickling: re-link the estimator's module_.
        merged.module_ = merged.net_.module_
        merged.module_.load_state_dict(average_state(states, torch.as_tensor(weights)))
        merged.module_.eval()
        return merged

    def _adopt_tasks(self, members):
        """Take the tasks of the first member; every member must predict them."""
        first = members[0]
        self._multitask = _is_multitask(first)
        first_classes = _as_list(first.classes_, self._multitask)
        self.n_tasks_ = len(first_classes)
        default_names = [f"task_{t}" for t in range(self.n_tasks_)]
        self.task_names_ = list(getattr(first, "task_names_", default_names))
        self.classes_ = first.classes_
        self.tasks_ = getattr(first, "tasks_", None) or [
            ClassificationTask(name, classes)
            for name, classes in zip(self.task_names_, first_classes)
        ]
        for i, m in enumerate(members[1:], start=1):
            multitask = _is_multitask(m)
            classes = _as_list(m.classes_, multitask)
            same = (
                multitask == self._multitask
                and len(classes) == len(first_classes)
                and all(
                    len(a) == len(b) and np.array_equal(a, b)
                    for a, b in zip(classes, first_classes)
                )
            )
            if not same:
                raise ValueError(
                    f"estimators[{i}] has other tasks or classes than estimators[0] "
                    f"({classes} vs {first_classes}); merged models must predict "
                    "the same classes."
                )

    def _held_out_targets(self, y, n_rows, sample_weight):
        cols, _, _ = task_columns(y)
        if len(cols) != self.n_tasks_:
            raise ValueError(
                f"y has {len(cols)} task(s) but the merged models predict "
                f"{self.n_tasks_}."
            )
        if len(cols[0]) != n_rows:
            raise ValueError(f"X has {n_rows} rows but y has {len(cols[0])}.")
        sw = _check_sample_weight(
            sample_weight, np.empty((n_rows, 0)), ensure_non_negative=True
        )
        targets = []
        for col, task in zip(cols, self.tasks_):
            codes, labelled = task.encode(col)
            rows = np.flatnonzero(labelled & (sw > 0))
            if len(rows) == 0:
                raise ValueError(
                    f"weights='fit': task {task.name!r} has no label with a positive "
                    "sample_weight in y; the weights cannot be fitted on it."
                )
            w = sw[rows] / max(sw[rows].sum(), 1e-12)
            targets.append(
                (
                    torch.as_tensor(rows),
                    torch.as_tensor(codes[rows]),
                    torch.as_tensor(w, dtype=torch.float64),
                )
            )
        return targets

    def _check_X(self, X):
        """Validate X for this estimator first, so errors name MergedClassifier."""
        reader = getattr(self.estimators[0], "input_", None)
        if reader is not None:
            reader.transform(X, self)

    def _fit_weights(self, X, y, sample_weight, states):
        self._check_X(X)
        n_rows = len(X) if not hasattr(X, "shape") else X.shape[0]
        targets = self._held_out_targets(y, n_rows, sample_weight)
        if self.space == "output":
            probas = [
                [
                    torch.as_tensor(p, dtype=torch.float64)
                    for p in _as_list(m.predict_proba(X), self._multitask)
                ]
                for m in self.estimators
            ]

            def log_probas(alpha):
                return [
                    torch.log(
                        sum(a * p[t] for a, p in zip(alpha, probas)).clamp_min(1e-12)
                    )
                    for t in range(self.n_tasks_)
                ]

        else:
            first = self.estimators[0]
            model_input = as_dense(
                first.input_.tensors(first.input_.transform(X, self))
            )
            module = copy.deepcopy(first.module_).cpu().eval()
            for p in module.parameters():
                p.requires_grad_(False)
            args, kwargs = (
                ((), model_input)
                if isinstance(model_input, dict)
                else (
                    (model_input,),
                    {},
                )
            )

            def log_probas(alpha):
                """The soup's held-out log-probabilities, differentiable in alpha.

                Not inference: LBFGS needs the gradient of the held-out loss with
                respect to alpha through the averaged weights (functional_call),
                which predict_outputs (inference mode, no graph) cannot give. The
                fitted soup predicts through predict_outputs (merged_).
                """
                params = average_state(states, alpha.float())
                out = functional_call(module, params, args, kwargs)
                out = out if isinstance(out, tuple | list) else [out]
                return [torch.log_softmax(o.double(), dim=1) for o in out]

        return fit_simplex_weights(log_probas, targets, len(self.estimators))

    # --------------------------------------------------------------- predict
    def predict_proba(self, X):
        """Weighted average of the members' class probabilities.

        Parameters
        ----------
        X : array-like
            Inputs, as the members read them.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or list of such arrays
            One array per task for multi-task members.
        """
        check_is_fitted(self)
        self._check_X(X)
        if self.space == "weights":
            return self.merged_.predict_proba(X)
        total = None
        for w, m in zip(self.weights_, self.estimators_):
            probas = _as_list(m.predict_proba(X), self._multitask)
            if total is None:
                total = [w * np.asarray(p, dtype=float) for p in probas]
            else:
                total = [
                    t + w * np.asarray(p, dtype=float) for t, p in zip(total, probas)
                ]
        return total if self._multitask else total[0]


def merge_models(
    estimators, weights=None, *, space="output", X=None, y=None, sample_weight=None
):
    """Merge several fitted models of the same task(s) into one classifier.

    ``M = sum_i w_i * M(i)``, with the weights equal (default), given, or fitted on
    held-out data, either on the outputs (average of probabilities) or on the
    network weights (a "model soup" for models fine-tuned from one source: one
    network, no extra inference cost).

    Parameters
    ----------
    estimators : list of fitted classifiers
        The models to merge (not modified).
    weights : None, array-like of shape (n_estimators,) or "fit", default=None
        Equal weights, given weights, or weights fitted on ``X``, ``y``.
    space : {"output", "weights"}, default="output"
        Average the probabilities or the network weights.
    X, y : array-like, default=None
        Held-out data for ``weights="fit"``.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the held-out samples.

    Returns
    -------
    merged : MergedClassifier
        A fitted classifier (``predict``, ``predict_proba``, ``score``; picklable).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl import MultiTaskClassifier, merge_models
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 4))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> models = [
    ...     MultiTaskClassifier((8,), max_epochs=10, random_state=s).fit(X, y)
    ...     for s in range(3)
    ... ]
    >>> merged = merge_models(models, weights=[2, 1, 1])
    >>> merged.weights_
    array([0.5 , 0.25, 0.25])
    >>> merged.predict_proba(X[:2]).shape
    (2, 2)
    """
    merged = MergedClassifier(estimators, weights=weights, space=space)
    return merged.fit(X, y, sample_weight=sample_weight)
