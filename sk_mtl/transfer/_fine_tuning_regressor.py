"""FineTunerRegressor: fine-tune a fitted sk_mtl network on regression targets."""

from sklearn.utils._param_validation import StrOptions

from .._data._tasks import fit_tasks
from .._engine._base import BaseNeuralEstimator
from .._engine._regressor_mixin import TaskRegressorMixin
from ..losses import REGRESSION_LOSSES
from ..utils._docs import fill_doc
from ._fine_tuning import FINE_TUNING_CONSTRAINTS, FineTuningMixin

__all__ = ["FineTunerRegressor"]


@fill_doc
class FineTunerRegressor(FineTuningMixin, TaskRegressorMixin, BaseNeuralEstimator):
    """Fine-tune a fitted sk_mtl network on regression targets (hot or cold start).

    The regression counterpart of :class:`FineTuner`: the network of
    ``estimator`` (a classifier, regressor or mixed-task model) is copied, each
    column of ``y`` gets a regression head (one output on the target
    standardised inside ``fit``, as in :class:`MultiTaskRegressor`) and the
    network is trained on the new data. A source head is kept for a regression
    task of the same name (or position); a classification source always gets new
    heads. New heads are first trained alone on the frozen shared layers
    (``head_warmup``), then every layer is fine-tuned (LP-FT).

    It is a separate class rather than a mode of :class:`FineTuner` because
    scikit-learn reads the kind of an estimator from its class:
    ``is_regressor``, ``score`` (R², not accuracy), the absence of
    ``predict_proba`` and ``classes_``, and cross-validation (``KFold`` here,
    ``StratifiedKFold`` for a classifier) all differ, as for
    :class:`~sklearn.neural_network.MLPRegressor` and
    :class:`~sklearn.neural_network.MLPClassifier`.

    Read more in the :ref:`User Guide <fine_tuning>`.

    Parameters
    ----------
    %(fine_tuning_parameters)s
    task_weighting : {"equal", "uncertainty", "dwa", "pcgrad"}, default="equal"
        How task losses are combined (see :mod:`sk_mtl.weighting`).
    loss : {"squared_error", "absolute_error", "huber"}, default="squared_error"
        Per-task loss on the standardised targets.
    max_epochs : int, default=20
        Number of passes over the new data (an upper bound with early stopping).
    %(batch_size_auto_parameter)s
    %(optimizer_parameters)s
    random_state : int, RandomState instance or None, default=None
        Seeds new heads (all weights for a cold start), dropout, shuffling and the
        validation split.

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
        The source's fitted input: validates X and makes the network's input.
    n_features_in_ : int
        Number of features seen during fit (numeric X).
    net_ : skorch.NeuralNet
        The skorch net of the last training phase.
    history_ : skorch.History
        Per-epoch record: ``train_loss``, ``train_loss_<task>``, ``phase``, ...
    n_iter_ : int
        Number of epochs run.
    %(fine_tuning_attributes)s

    See Also
    --------
    FineTuner : The same for classification targets.
    MultiTaskRegressor : Train a regression network from scratch.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl import FineTunerRegressor, MultiTaskClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(400, 6))
    >>> source = MultiTaskClassifier((16,), max_epochs=30, random_state=0)
    >>> source = source.fit(X[:300], X[:300, 0] + X[:300, 1] > 0)
    >>> y_new = 3 * (X[:, 0] + X[:, 1]) + 10  # a number: regression heads
    >>> reg = FineTunerRegressor(source, lr=1e-2, max_epochs=20, random_state=0)
    >>> reg = reg.fit(X[300:], y_new[300:])
    >>> reg.reused_heads_, reg.history_[-1, "phase"]
    ([False], 'fine_tune')
    >>> reg.score(X[:300], y_new[:300]) > 0.9  # R²
    True
    """

    _parameter_constraints: dict = {
        **BaseNeuralEstimator._parameter_constraints,
        **FINE_TUNING_CONSTRAINTS,
        "loss": [StrOptions(set(REGRESSION_LOSSES))],
    }

    def __init__(
        self,
        estimator,
        *,
        start="hot",
        freeze=None,
        lr=1e-3,
        reused_lr=None,
        input_mismatch="error",
        head_warmup="auto",
        shrink=1.0,
        perturb=0.0,
        task_weighting="equal",
        loss="squared_error",
        max_epochs=20,
        batch_size="auto",
        predict_batch_size="auto",
        optimizer="adam",
        optimizer_options=None,
        weight_decay=0.0,
        lr_scheduler=None,
        lr_scheduler_options=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="cpu",
        on_divergence="raise",
        n_threads="auto",
        verbose=0,
        callbacks=None,
        random_state=None,
    ):
        self.estimator = estimator
        self.start = start
        self.freeze = freeze
        self.lr = lr
        self.reused_lr = reused_lr
        self.input_mismatch = input_mismatch
        self.head_warmup = head_warmup
        self.shrink = shrink
        self.perturb = perturb
        self.task_weighting = task_weighting
        self.loss = loss
        self.max_epochs = max_epochs
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
        self.device = device
        self.on_divergence = on_divergence
        self.n_threads = n_threads
        self.verbose = verbose
        self.callbacks = callbacks
        self.random_state = random_state

    def _fit_tasks(self, y, ctx):
        return fit_tasks(y, "regression")
