"""MixedTaskEstimator: classification and regression tasks in one network."""

from sklearn.utils import ClassifierTags
from sklearn.utils._param_validation import StrOptions

from .._data._tasks import (
    TASK_KINDS,
    fit_tasks,
    infer_task_kinds,
    predict_tasks,
    task_probas,
)
from .._engine._base import BaseNeuralEstimator
from .._engine._classifier_mixin import TaskClassifierMixin
from .._engine._incremental import IncrementalMixin, tasks_from_classes
from .._engine._inference import check_fitted
from ..losses import LOSSES, REGRESSION_LOSSES
from ..utils import encode_class_column, task_columns
from ..utils._docs import fill_doc
from ._bagging import one_network_only
from ._shared_network import NETWORK_CONSTRAINTS, SharedNetworkMixin

__all__ = ["MixedTaskEstimator"]


@fill_doc
class MixedTaskEstimator(SharedNetworkMixin, IncrementalMixin, BaseNeuralEstimator):
    """Classification and regression tasks trained together in one network.

    Each column of ``y`` is a task: a classification task (its own classes, one
    softmax head) or a regression task (standardised inside ``fit``, one output,
    predicted in the target's units). The kind of each task is inferred from its
    column's dtype (floats are regression targets, everything else is a class
    label) or given in ``task_kinds``. Missing entries (NaN / None / ``pd.NA``)
    in any column add nothing to the loss.

    ``predict`` returns every task in its own type (a DataFrame with the
    training columns when ``y`` was a DataFrame); ``predict_proba`` the class
    probabilities of the classification tasks; ``score`` the mean over tasks of
    accuracy (classification) and R² (regression). The estimator is neither a
    classifier nor a regressor for sklearn (cross-validation uses plain
    ``KFold``); select on one task with :func:`~sk_mtl.make_task_scorer`.

    Read more in the :ref:`User Guide <regression>`.

    Parameters
    ----------
    hidden_units : tuple of int, default=(128, 64)
        Widths of the shared hidden layers (of each expert for ``"mmoe"``).
    %(dropout_parameter)s
    architecture : {"shared_bottom", "mmoe"}, default="shared_bottom"
        Shared MLP trunk, or multi-gate mixture of experts (Ma et al. 2018).
    n_experts : int, default=4
        Number of experts for ``architecture="mmoe"``.
    %(shared_network_input_parameters)s
    task_kinds : "infer", "classification", "regression" or list, default="infer"
        Kind of every task, or one per column of ``y``. ``"infer"``: a column of
        a float dtype (``float64``, pandas ``Float64``) is a regression task,
        any other (ints, bools, strings, categories, pandas ``Int64``) a
        classification task. A float column of class labels (a numpy ``y``
        with NaN for missing labels) needs an explicit ``"classification"``.
    task_weighting : {"equal", "uncertainty", "dwa", "pcgrad"}, default="equal"
        How task losses are combined (see :mod:`sk_mtl.weighting`). Uncertainty
        weighting learns the relative scale of cross-entropies and regression
        losses.
    loss : {"cross_entropy", "focal", "ohem"}, default="cross_entropy"
        Loss of the classification tasks.
    regression_loss : {"squared_error", "absolute_error", "huber"}, \
default="squared_error"
        Loss of the regression tasks, on the standardised targets.
    focal_gamma : float, default=2.0
        Focusing parameter of the focal loss.
    ohem_fraction : float, default=0.25
        Fraction of each batch kept by ``loss="ohem"``.
    max_epochs : int, default=50
        Number of passes over the training data.
    %(step_size_parameters)s
    %(optimizer_parameters_auto_stop)s
    class_weight : "balanced", dict, list or None, default=None
        Weights of the classes of the classification tasks in the loss,
        multiplied with ``sample_weight``: ``"balanced"`` (every classification
        task: ``n_labelled / (n_classes * count)`` on its labelled entries, as
        in sklearn), one entry per task (``"balanced"`` / ``{label: weight}`` /
        None; None for a regression task) or ``{task_name: "balanced" or
        {label: weight}}`` naming classification tasks. Classes left out weigh
        1; regression tasks are not weighted.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, dropout, shuffling and the validation split.

    Attributes
    ----------
    tasks_ : list of ClassificationTask or RegressionTask
        One per column of ``y``: ``kind``, ``classes`` (classification) or
        ``mean``/``scale`` (regression).
    classes_ : list of (ndarray or None), or ndarray or None
        The classes of each task, in the order of ``task_names_``: an array for
        a classification task (as ``MultiOutputClassifier.classes_``), None for
        a regression task. For a 1-D ``y``, that task's entry itself.
    n_tasks_ : int
        Number of tasks.
    task_names_ : list of str
        Column names of a DataFrame ``y``; ``"task_0"``, ... otherwise.
    task_kinds_ : list of str
        ``"classification"`` or ``"regression"``, per task.
    input_ : input object
        The fitted input: validates X and makes the network's input tensors.
    n_features_in_ : int
        Number of features seen during fit.
    net_ : skorch.NeuralNet
        The trained skorch net.
    history_ : skorch.History
        Per-epoch record: ``train_loss``, ``train_loss_<task>``, ...
    n_iter_ : int
        Number of epochs run.
    module_ : torch.nn.Module
        The fitted network.
    %(bagging_attributes)s
    %(linear_blend_attributes)s

    See Also
    --------
    MultiTaskClassifier : Classification tasks only (a sklearn classifier).
    MultiTaskRegressor : Regression tasks only (a sklearn regressor).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sk_mtl import MixedTaskEstimator
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(300, 4))
    >>> Y = pd.DataFrame({
    ...     "churn": np.where(X[:, 0] > 0, "yes", "no"),   # a class
    ...     "spend": 100 + 20 * X[:, 0] + 5 * X[:, 1],      # a number
    ... })
    >>> Y.loc[:99, "spend"] = np.nan                        # unknown spend
    >>> est = MixedTaskEstimator((32,), lr=1e-2, max_epochs=30, random_state=0)
    >>> est = est.fit(X, Y)
    >>> est.task_kinds_
    ['classification', 'regression']
    >>> est.predict(X[:2]).round(1)
      churn  spend
    0   yes  136.6
    1   yes  130.8
    >>> proba = est.predict_proba(X[:2])  # one entry per task
    >>> proba[0].shape, proba[1] is None
    ((2, 2), True)
    >>> est.score(X, Y) > 0.9  # mean of the accuracy and the R²
    True
    """

    _parameter_constraints: dict = {
        **BaseNeuralEstimator._parameter_constraints,
        **NETWORK_CONSTRAINTS,
        "task_kinds": [StrOptions({"infer", *TASK_KINDS}), list, tuple],
        "regression_loss": [StrOptions(set(REGRESSION_LOSSES))],
        "loss": [StrOptions(set(LOSSES))],
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
        task_kinds="infer",
        task_weighting="equal",
        loss="cross_entropy",
        regression_loss="squared_error",
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
        self.task_kinds = task_kinds
        self.task_weighting = task_weighting
        self.loss = loss
        self.regression_loss = regression_loss
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
        self.verbose = verbose
        self.callbacks = callbacks
        self.random_state = random_state

    def _fit_tasks(self, y, ctx):
        tasks, targets = fit_tasks(y, self.task_kinds)
        _target_layout(tasks, y, ctx)
        return tasks, targets

    def _partial_fit_tasks(self, classes, y, ctx):
        kinds = infer_task_kinds(y, self.task_kinds)
        if classes is None:  # each classification task: the first chunk's classes
            cols, names, multitask = task_columns(y)
            classes = [
                encode_class_column(col, name)[0] if kind != "regression" else None
                for col, name, kind in zip(cols, names, kinds)
            ]
            classes = classes if multitask else classes[0]
        tasks, multitask = tasks_from_classes(classes, y, kinds)
        _target_layout(tasks, y, ctx)
        return tasks, multitask

    @one_network_only
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One pass of minibatches over a chunk of data.

        The first call builds the network; later calls continue training it
        with the same optimizer state, as :meth:`MultiTaskClassifier.partial_fit`.
        Early stopping is not applied (use ``fit`` for it). Only with
        ``n_bags=1`` (one network).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A chunk of training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Its targets; NaN / None mark a missing entry. The task kinds are
            read from the first chunk (``task_kinds``).
        classes : array-like or list, default=None
            On the first call, every class of each classification task: one
            entry per task (2-D ``y``), None for a regression task, or the
            classes of the single task (1-D ``y``). None: the classes of the
            first chunk (a class it lacks is then a ValueError in a later
            chunk). Afterwards optional and then equal to the first call's. A
            regression task is standardised with the mean and standard
            deviation of the first chunk's targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights (times ``class_weight``).

        Returns
        -------
        self : object
            The estimator, trained on one more chunk.
        """
        return super().partial_fit(X, y, classes=classes, sample_weight=sample_weight)

    def _task_losses(self):
        return [
            self.regression_loss if t.kind == "regression" else self.loss
            for t in self.tasks_
        ]

    def predict(self, X):
        """Prediction of every task in its own type.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_tasks), or DataFrame
            Class labels for classification tasks, values in the target's units
            for regression tasks. A DataFrame with ``task_names_`` as columns (and
            X's index, if X is a DataFrame) when ``y`` was a DataFrame; otherwise
            an array, of object dtype when the tasks' types differ.
        """
        check_fitted(self)
        outputs = self._forward(X)
        if not self._y_is_frame:
            return predict_tasks(self.tasks_, outputs, self._multitask)
        import pandas as pd

        columns = {t.name: t.predict(out) for t, out in zip(self.tasks_, outputs)}
        return pd.DataFrame(columns, index=getattr(X, "index", None))

    def predict_proba(self, X):
        """Class probabilities of the classification tasks.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        proba : list
            One entry per task, in the order of ``task_names_``: an array of shape
            (n_samples, n_classes) for a classification task (columns in the order
            of its ``classes``), None for a regression task. A single array when
            the model was fitted on one classification task (1-D ``y``).
        """
        check_fitted(self)
        probas = task_probas(self.tasks_, self._forward(X))
        return probas if self._multitask else probas[0]

    def score(self, X, y, sample_weight=None):
        """Mean over tasks of their own score on the labelled entries.

        Accuracy for a classification task, R² for a regression task (both are 1
        for a perfect model), each on the entries where ``y`` is not missing.
        Use :func:`~sk_mtl.make_task_scorer` to score one task with any metric.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            True targets; missing entries (NaN/None) are ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
        """
        return TaskClassifierMixin.score(self, X, y, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        # Some tasks are classification tasks and predict_proba serves them;
        # sklearn reads these tags of anything with a predict_proba.
        tags.classifier_tags = ClassifierTags(multi_label=True)
        return tags


def _target_layout(tasks, y, ctx):
    """The fitted attributes that record what ``y`` was (set on ``ctx``)."""
    ctx.attributes["task_kinds_"] = [t.kind for t in tasks]
    # predict answers with a DataFrame when y was one
    ctx.attributes["_y_is_frame"] = hasattr(y, "columns") and hasattr(y, "iloc")
