"""MultiTaskClassifier: one network, several classification tasks."""

import copy
import numbers

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _num_samples
from torch import nn

from ._base import BaseNeuralClassifier
from ._docs import fill_doc
from ._inputs import as_dense
from ._phases import Network
from ._tabular_input import TabularInput, make_input
from .embeddings import (
    NUMERIC_EMBEDDINGS,
    TabularFrontEnd,
    TabularNetwork,
    piecewise_linear_bins,
)
from .ensembles import MemberEnsemble
from .modules import MLP, MMoE, MultiHeadNetwork

__all__ = ["MultiTaskClassifier", "NETWORK_CONSTRAINTS", "SharedNetworkMixin"]

# Parameters of the shared-trunk / MMoE network that MultiTaskRegressor and
# MixedTaskEstimator share with MultiTaskClassifier (which adds "tabm").
NETWORK_CONSTRAINTS: dict = {
    "hidden_units": [tuple, list],
    "architecture": [StrOptions({"shared_bottom", "mmoe"})],
    "categorical_features": [str, list, tuple, "array-like", None],
    "numeric_embedding": [StrOptions(set(NUMERIC_EMBEDDINGS)), None],
    "n_experts": [Interval(numbers.Integral, 1, None, closed="left")],
    "module": [nn.Module, type, None],
    "module_options": [dict, None],
}

# early_stopping="auto" turns early stopping on above this many training rows
# (HistGradientBoosting's rule).
EARLY_STOPPING_AUTO_SAMPLES = 10_000


class SharedNetworkMixin:
    """Input and network of the shared-trunk estimators (not for direct use).

    X is read as given, or by the tabular front-end (categorical columns, NaN);
    the network is a shared MLP (or the user's ``module``) with one head per task,
    an MMoE, or (MultiTaskClassifier) a TabM-mini ensemble; each head is as wide
    as its task's ``n_outputs``, so regression tasks get one output.
    """

    def _fit_input(self, X):
        tabular = self.numeric_embedding is not None or self.architecture == "tabm"
        input_ = make_input(X, self.categorical_features, tabular=tabular)
        X = input_.fit(X, self)
        self._n_fit_samples = _num_samples(X)
        return input_, X

    def _validation_fraction(self):
        on = self.early_stopping
        if isinstance(on, str):  # "auto"
            on = self._n_fit_samples > EARLY_STOPPING_AUTO_SAMPLES
        return self.validation_fraction if on else None

    def _build_network(self, X):
        if self.module is not None:
            return self._user_trunk_network(X)
        units = tuple(self.hidden_units)
        if not all(isinstance(u, numbers.Integral) and u > 0 for u in units):
            raise ValueError(
                "hidden_units must be a tuple of positive ints, got "
                f"{self.hidden_units!r}."
            )
        if self.architecture == "mmoe" and not units:
            raise ValueError("architecture='mmoe' needs at least one hidden layer.")
        front = None
        n_features = self.input_.width
        if isinstance(self.input_, TabularInput):
            front = self._front_end(X)
            n_features = front.out_features
        network = self._multitask_network(n_features, units, front)
        return Network(network if front is None else TabularNetwork(front, network))

    def _front_end(self, X):
        bins = None
        if self.numeric_embedding == "piecewise_linear" and self.input_.n_numeric:
            bins = piecewise_linear_bins(torch.from_numpy(X.numeric))
        return TabularFrontEnd(
            self.input_.n_numeric,
            len(self.input_.missing_columns_),
            self.input_.cardinalities_,
            numeric_embedding=self.numeric_embedding,
            bins=bins,
        )

    def _multitask_network(self, n_features, units, front):
        n_outputs = [task.n_outputs for task in self.tasks_]
        if self.architecture == "mmoe":
            return MMoE(n_features, units, n_outputs, self.n_experts, self.dropout)
        if self.architecture == "tabm":
            return MemberEnsemble(
                n_features,
                units,
                n_outputs,
                self.n_members,
                self.dropout,
                scaling_chunks=None if front is None else front.chunks,
                scaling_init="random-signs"
                if self.numeric_embedding is None
                else "normal",
            )
        return MultiHeadNetwork(MLP(n_features, units, self.dropout), n_outputs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _user_trunk_network(self, X):
        if isinstance(self.input_, TabularInput):
            raise ValueError(
                "module= reads a float tensor (n_samples, n_features), but X has "
                "categorical columns or missing values (or numeric_embedding / "
                "architecture='tabm' was set), which the built-in tabular front-end "
                "reads. Encode X in a pipeline first, or leave module=None."
            )
        if self.architecture != "shared_bottom":
            raise ValueError(
                f"module= replaces the shared trunk; architecture="
                f"{self.architecture!r} builds its own network. Use "
                "architecture='shared_bottom' with a module."
            )
        if isinstance(self.module, nn.Module):
            if self.module_options:
                raise ValueError(
                    "module_options are for a module class; module is already an "
                    f"instance of {type(self.module).__name__}."
                )
            trunk = copy.deepcopy(self.module).cpu()
        else:
            trunk = self.module(**(self.module_options or {}))
            if not isinstance(trunk, nn.Module):
                raise TypeError(
                    f"module={self.module.__name__} made a "
                    f"{type(trunk).__name__}, not a torch.nn.Module."
                )
        trunk.eval()
        rows = np.arange(min(2, X.shape[0]))
        width = _trunk_width(trunk, as_dense(self.input_.tensors(X, rows)))
        trunk.train()
        n_outputs = [task.n_outputs for task in self.tasks_]
        return Network(MultiHeadNetwork(trunk, n_outputs, trunk_out_features=width))


@fill_doc
class MultiTaskClassifier(SharedNetworkMixin, BaseNeuralClassifier):
    """Neural multi-task classifier: a shared network with one head per task.

    Each column of ``y`` is a classification task with its own classes (binary or
    multiclass, ints or strings). The tasks are trained jointly on the weighted sum
    of their losses. A 1-D ``y`` gives an ordinary single-task neural classifier.

    Read more in the :ref:`User Guide <multitask>`.

    Parameters
    ----------
    hidden_units : tuple of int, default=(128, 64)
        Widths of the shared hidden layers (of each expert for ``"mmoe"``).
    dropout : float, default=0.1
        Dropout probability after each hidden layer.
    architecture : {"shared_bottom", "mmoe", "tabm"}, default="shared_bottom"
        ``"shared_bottom"``: hard parameter sharing, input -> shared MLP -> one
        linear head per task. ``"mmoe"``: multi-gate mixture of experts (Ma et al.
        2018): ``n_experts`` MLPs, mixed by a softmax gate per task. ``"tabm"``:
        ``n_members`` models in one network (TabM-mini, Gorishniy et al. 2025):
        they share the MLP, each scales the input by its own learned vector and
        has its own head per task; trained together, one loss per member;
        predictions are the mean of the members' probabilities. Needs the
        ``tabular`` extra (``pip install 'sk_mtl[tabular]'``).
    n_experts : int, default=4
        Number of experts for ``architecture="mmoe"``.
    n_members : int, default=16
        Number of members for ``architecture="tabm"``.
    categorical_features : "from_dtype", list of str or int, bool mask or None, \
default="from_dtype"
        Categorical columns of X, each read through a learned embedding (see
        :ref:`tabular`). ``"from_dtype"``: the DataFrame columns of ``category``,
        ``object`` or ``string`` dtype (an array has none); or column names,
        indices or a boolean mask, as in
        :class:`~sklearn.ensemble.HistGradientBoostingClassifier`. X with a
        categorical column or a missing value (NaN) is read by the tabular
        front-end: numeric columns quantile-scaled in fit, missing values
        indicated, categories encoded (rare and unseen ones share a slot). A
        numeric X without missing values is read as given, unless
        ``numeric_embedding`` or ``architecture="tabm"`` asks for the front-end.
    numeric_embedding : {None, "periodic", "piecewise_linear"}, default=None
        Embedding of each numeric column (Gorishniy et al. 2022): periodic
        (learned frequencies) or piecewise-linear (on 48 quantile bins of the
        training data). None: the scaled value itself. Needs the ``tabular``
        extra.
    module : torch.nn.Module, its class, or None, default=None
        Your own shared trunk instead of the MLP of ``hidden_units`` (skorch's
        ``module=``): it maps a float tensor ``(n_samples, n_features)`` to
        ``(n_samples, d)``; sk_mtl adds one linear head per task and handles
        missing labels, task weighting and the losses. A class is instantiated
        with ``module_options`` at each fit (seeded by ``random_state``); an
        instance is copied at each fit and trained from its current weights
        (it is never modified). ``d`` is the module's ``out_features`` when it
        has one, else read from its output.
    module_options : dict, default=None
        Keyword arguments of a ``module`` class; settable skorch-style as
        ``module__<name>``.
    %(task_loss_parameters)s
    max_epochs : int, default=50
        Number of passes over the training data (an upper bound with early
        stopping).
    lr : float, default=1e-3
        Learning rate.
    batch_size : int, default=128
        Mini-batch size for training (``predict_batch_size`` for prediction).
    %(optimizer_parameters_auto_stop)s
    %(class_weight_parameter)s
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, dropout, shuffling and the validation split: the
        same value gives the same model.

    Attributes
    ----------
    %(fitted_attributes)s
    module_ : torch.nn.Module
        The fitted network: :class:`~sk_mtl.modules.MultiHeadNetwork` or
        :class:`~sk_mtl.modules.MMoE`.

    See Also
    --------
    sklearn.multioutput.MultiOutputClassifier : One independent model per task.
    sklearn.neural_network.MLPClassifier : Single-task multi-layer perceptron.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl import MultiTaskClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 5))
    >>> Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 0] > 0]).astype(float)
    >>> Y[:50, 1] = np.nan  # task 1 is unlabelled for the first 50 rows
    >>> clf = MultiTaskClassifier(max_epochs=20, random_state=0).fit(X, Y)
    >>> clf.predict(X[:3]).shape
    (3, 2)
    >>> [p.shape for p in clf.predict_proba(X[:3])]
    [(3, 2), (3, 2)]
    >>> clf.score(X, Y) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **BaseNeuralClassifier._parameter_constraints,
        "hidden_units": [tuple, list],
        "architecture": [StrOptions({"shared_bottom", "mmoe", "tabm"})],
        "n_members": [Interval(numbers.Integral, 1, None, closed="left")],
        "categorical_features": [str, list, tuple, "array-like", None],
        "numeric_embedding": [StrOptions(set(NUMERIC_EMBEDDINGS)), None],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "n_experts": [Interval(numbers.Integral, 1, None, closed="left")],
        "module": [nn.Module, type, None],
        "module_options": [dict, None],
    }

    def __init__(
        self,
        hidden_units=(128, 64),
        *,
        dropout=0.1,
        architecture="shared_bottom",
        n_experts=4,
        n_members=16,
        categorical_features="from_dtype",
        numeric_embedding=None,
        module=None,
        module_options=None,
        task_weighting="equal",
        loss="cross_entropy",
        focal_gamma=2.0,
        ohem_fraction=0.25,
        max_epochs=50,
        lr=1e-3,
        batch_size=128,
        predict_batch_size="auto",
        optimizer="adam",
        optimizer_options=None,
        weight_decay=0.0,
        lr_scheduler=None,
        lr_scheduler_options=None,
        class_weight=None,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="cpu",
        on_divergence="raise",
        n_threads="auto",
        warm_start=False,
        verbose=0,
        callbacks=None,
        random_state=None,
    ):
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.architecture = architecture
        self.n_experts = n_experts
        self.n_members = n_members
        self.categorical_features = categorical_features
        self.numeric_embedding = numeric_embedding
        self.module = module
        self.module_options = module_options
        self.task_weighting = task_weighting
        self.loss = loss
        self.focal_gamma = focal_gamma
        self.ohem_fraction = ohem_fraction
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.predict_batch_size = predict_batch_size
        self.optimizer = optimizer
        self.optimizer_options = optimizer_options
        self.weight_decay = weight_decay
        self.lr_scheduler = lr_scheduler
        self.lr_scheduler_options = lr_scheduler_options
        self.class_weight = class_weight
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.on_divergence = on_divergence
        self.n_threads = n_threads
        self.warm_start = warm_start
        self.verbose = verbose
        self.callbacks = callbacks
        self.random_state = random_state


def _trunk_width(trunk, sample):
    """Width of the trunk's output on two sample rows, checked."""
    name = type(trunk).__name__
    try:
        with torch.no_grad():
            z = trunk(sample)
    except Exception as exc:  # any failure of the user's module on this X
        raise ValueError(
            f"The module ({name}) failed on a float tensor of shape "
            f"{tuple(sample.shape)}: {type(exc).__name__}: {exc}. It must map "
            "(n_samples, n_features) to (n_samples, d)."
        ) from None
    if not isinstance(z, torch.Tensor) or z.dim() != 2 or len(z) != len(sample):
        got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        raise ValueError(
            f"The module ({name}) must return a 2-D tensor (n_samples, d); for "
            f"{len(sample)} rows it returned {got}."
        )
    width = getattr(trunk, "out_features", None)
    if width is not None and int(width) != z.shape[1]:
        raise ValueError(
            f"The module ({name}) says out_features={width} but returned "
            f"{z.shape[1]} features."
        )
    return int(z.shape[1])
