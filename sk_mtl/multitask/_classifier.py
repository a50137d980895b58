"""MultiTaskClassifier: one network, several classification tasks."""

import numbers

from sklearn.utils._param_validation import Interval, StrOptions

from .._engine._base import BaseNeuralClassifier
from .._engine._incremental import IncrementalMixin
from ..utils._docs import fill_doc
from ._bagging import one_network_only
from ._shared_network import NETWORK_CONSTRAINTS, SharedNetworkMixin

__all__ = ["MultiTaskClassifier"]


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
    %(dropout_parameter)s
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
    n_members : int, default=4
        Number of members for ``architecture="tabm"``; each costs about one
        plain network's compute per batch (the User Guide gives what fewer
        members give up).
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
        numeric X without missing values gets the same quantile scaling of
        each column without the front-end (unless ``numeric_embedding`` or
        ``architecture="tabm"`` asks for it); sparse X is read as given.
    numeric_embedding : {None, "periodic", "piecewise_linear"}, default=None
        Embedding of each numeric column (Gorishniy et al. 2022): periodic
        (learned frequencies) or piecewise-linear (on 48 quantile bins of the
        training data). None: the scaled value itself. Needs the ``tabular``
        extra.
    linear_view : bool, default=True
        Beside each numeric column's quantile-normal value, give the network
        the column robust-scaled and smoothly clipped, which keeps linear
        relations straight (:mod:`sk_mtl._data._robust`, see :ref:`tabular`).
        Not with ``numeric_embedding`` or ``module``. False: the quantile view
        alone, as sk_mtl read numeric columns before (a network of half the
        input width; on few-label fine-tuning of digits it scored better).
    value_view : bool or "auto", default="auto"
        A numeric column whose most frequent value holds at least half of the
        training rows and that has at least 3 values seen 5 times or more (a
        capital gain: 0, and a few exact amounts that recur) also comes as a
        categorical column of those values, each with a learned embedding, as
        a tree would isolate them (:mod:`sk_mtl._data._values`, see
        :ref:`tabular`); dense numeric X with such a column is then read by
        the tabular front-end (sparse X is read as given). ``"auto"``: where
        every task has more than 16,000 labelled training rows (on fewer it
        lost on the validation study's tables). Not with ``module``. False:
        the smooth views alone.
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
    %(step_size_parameters)s
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
    %(bagging_attributes)s
    %(linear_blend_attributes)s

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
        **NETWORK_CONSTRAINTS,
        "architecture": [StrOptions({"shared_bottom", "mmoe", "tabm"})],
        "n_members": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        hidden_units=(128, 64),
        *,
        dropout="auto",
        architecture="shared_bottom",
        n_experts=4,
        n_members=4,
        categorical_features="from_dtype",
        numeric_embedding=None,
        linear_view=True,
        value_view="auto",
        module=None,
        module_options=None,
        task_weighting="equal",
        loss="cross_entropy",
        focal_gamma=2.0,
        ohem_fraction=0.25,
        max_epochs=50,
        lr="auto",
        batch_size="auto",
        predict_batch_size="auto",
        optimizer="adam",
        optimizer_options=None,
        weight_decay=0.0,
        lr_scheduler=None,
        lr_scheduler_options=None,
        class_weight=None,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change="auto",
        tol=1e-4,
        n_bags="auto",
        linear_blend="auto",
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
        self.linear_view = linear_view
        self.value_view = value_view
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
        self.n_bags = n_bags
        self.linear_blend = linear_blend
        self.device = device
        self.on_divergence = on_divergence
        self.n_threads = n_threads
        self.warm_start = warm_start
        self.verbose = verbose
        self.callbacks = callbacks
        self.random_state = random_state

    @one_network_only
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        return super().partial_fit(X, y, classes=classes, sample_weight=sample_weight)

    partial_fit.__doc__ = IncrementalMixin.partial_fit.__doc__
