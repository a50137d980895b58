"""MultiTaskRegressor: one network, several regression tasks."""

from sklearn.utils._param_validation import StrOptions

from .._data._tasks import fit_tasks
from .._engine._base import BaseNeuralEstimator
from .._engine._regressor_mixin import TaskRegressorMixin
from ..losses import REGRESSION_LOSSES
from ..utils._docs import fill_doc
from ._shared_network import NETWORK_CONSTRAINTS, SharedNetworkMixin

__all__ = ["MultiTaskRegressor"]


@fill_doc
class MultiTaskRegressor(SharedNetworkMixin, TaskRegressorMixin, BaseNeuralEstimator):
    """Neural multi-task regressor: a shared network with one output per task.

    Each column of ``y`` is a regression task. Targets are standardised per task
    inside ``fit`` (mean and standard deviation of its labelled entries) and
    predictions come back in the targets' units. A missing target (NaN) adds
    nothing to the loss. A 1-D ``y`` gives an ordinary single-task neural
    regressor. For classification and regression tasks in one network see
    :class:`MixedTaskEstimator`.

    Read more in the :ref:`User Guide <regression>`.

    Parameters
    ----------
    hidden_units : tuple of int, default=(128, 64)
        Widths of the shared hidden layers (of each expert for ``"mmoe"``).
    %(dropout_parameter)s
    architecture : {"shared_bottom", "mmoe"}, default="shared_bottom"
        ``"shared_bottom"``: input -> shared MLP -> one linear output per task.
        ``"mmoe"``: multi-gate mixture of experts (Ma et al. 2018), a softmax gate
        per task over ``n_experts`` MLPs; it degrades less than a shared bottom
        when the tasks are weakly related (see the User Guide).
    n_experts : int, default=4
        Number of experts for ``architecture="mmoe"``.
    %(shared_network_input_parameters)s
    task_weighting : {"equal", "uncertainty", "dwa", "pcgrad"}, default="equal"
        How task losses are combined (see :mod:`sk_mtl.weighting`).
    loss : {"squared_error", "absolute_error", "huber"}, default="squared_error"
        Per-task loss on the standardised targets; ``"huber"`` is quadratic
        within one standard deviation of the target and linear beyond.
    max_epochs : int, default=50
        Number of passes over the training data (an upper bound with early
        stopping).
    %(step_size_parameters)s
    %(optimizer_parameters_auto_stop)s
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, dropout, shuffling and the validation split.

    Attributes
    ----------
    tasks_ : list of RegressionTask
        One per column of ``y``: the ``mean`` and ``scale`` its targets were
        standardised with, prediction and scoring.
    n_tasks_ : int
        Number of tasks.
    task_names_ : list of str
        Column names of a DataFrame ``y``; ``"task_0"``, ... otherwise.
    input_ : input object
        The fitted input: validates X and makes the network's input tensors.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.
    net_ : skorch.NeuralNet
        The trained skorch net.
    history_ : skorch.History
        Per-epoch record: ``train_loss``, ``train_loss_<task>``, ...
    n_iter_ : int
        Number of epochs run.
    module_ : torch.nn.Module
        The fitted network: :class:`~sk_mtl.modules.MultiHeadNetwork` or
        :class:`~sk_mtl.modules.MMoE`.
    %(bagging_attributes)s
    %(linear_blend_attributes)s

    See Also
    --------
    MultiTaskClassifier : The same network for classification tasks.
    MixedTaskEstimator : Classification and regression tasks in one network.
    sklearn.neural_network.MLPRegressor : Single-network regressor, no missing
        targets.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl import MultiTaskRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(300, 5))
    >>> Y = np.column_stack([10 * X[:, 0] + 50, X[:, 0] - X[:, 1]])
    >>> Y[:100, 1] = np.nan  # task 1 has no target for the first 100 rows
    >>> reg = MultiTaskRegressor((32,), lr=1e-2, max_epochs=40, random_state=0)
    >>> reg = reg.fit(X, Y)
    >>> reg.predict(X[:2]).round(1)  # in the targets' units
    array([[66.5,  1.2],
           [39.7, -2. ]])
    >>> reg.score(X, Y) > 0.95  # mean R² over the tasks, labelled entries only
    True
    """

    _parameter_constraints: dict = {
        **BaseNeuralEstimator._parameter_constraints,
        **NETWORK_CONSTRAINTS,
        "loss": [StrOptions(set(REGRESSION_LOSSES))],
    }

    def __init__(
        self,
        hidden_units=(128, 64),
        *,
        dropout="auto",
        architecture="shared_bottom",
        n_experts=4,
        categorical_features="from_dtype",
        numeric_embedding=None,
        linear_view=True,
        value_view="auto",
        module=None,
        module_options=None,
        task_weighting="equal",
        loss="squared_error",
        max_epochs=50,
        lr="auto",
        batch_size="auto",
        predict_batch_size="auto",
        optimizer="adam",
        optimizer_options=None,
        weight_decay=0.0,
        lr_scheduler=None,
        lr_scheduler_options=None,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change="auto",
        tol=1e-4,
        n_bags="auto",
        linear_blend="auto",
        device="cpu",
        on_divergence="raise",
        n_threads="auto",
        verbose=0,
        callbacks=None,
        random_state=None,
    ):
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.architecture = architecture
        self.n_experts = n_experts
        self.categorical_features = categorical_features
        self.numeric_embedding = numeric_embedding
        self.linear_view = linear_view
        self.value_view = value_view
        self.module = module
        self.module_options = module_options
        self.task_weighting = task_weighting
        self.loss = loss
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.predict_batch_size = predict_batch_size
        self.optimizer = optimizer
        self.optimizer_options = optimizer_options
        self.weight_decay = weight_decay
        self.lr_scheduler = lr_scheduler
        self.lr_scheduler_options = lr_scheduler_options
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.n_bags = n_bags
        self.linear_blend = linear_blend
        self.device = device
        self.on_divergence = on_divergence
        self.n_threads = n_threads
        self.verbose = verbose
        self.callbacks = callbacks
        self.random_state = random_state

    def _fit_tasks(self, y, ctx):
        return fit_tasks(y, "regression")
