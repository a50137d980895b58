"""FineTuner: start a new task from a network trained on another one."""

import copy
import numbers

import numpy as np
from sklearn.utils import get_tags
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseNeuralClassifier, Network
from ._docs import fill_doc
from ._reuse import (
    SharedSourceMixin,
    check_source,
    large_model_optimizer_options,
    name_patterns,
    reset_parameters,
    reuse_input,
    set_requires_grad,
)
from .modules import layer_groups

__all__ = ["FineTuner"]


@fill_doc
class FineTuner(SharedSourceMixin, BaseNeuralClassifier):
    """Fine-tune a fitted sk_mtl network on a new task (hot or cold start).

    The network of ``estimator`` (a fitted :class:`MultiTaskClassifier`,
    :class:`TransferClassifier` or ``FineTuner``) is copied and trained on the new
    data. With ``start="hot"`` every weight starts from the source; the output head
    of a task is kept when the new task has the source task's classes and replaced
    by a new one when it does not. ``start="cold"`` trains the same architecture
    from random weights: the baseline that tells whether the source helped.

    ``estimator`` is only read, never modified, and it survives
    :func:`sklearn.base.clone`: ``GridSearchCV(FineTuner(source), ...)``
    fine-tunes the fitted source in every candidate.

    Read more in the :ref:`User Guide <fine_tuning>`.

    Parameters
    ----------
    estimator : fitted sk_mtl neural estimator
        The source model. X given to ``fit`` and ``predict`` must be what the
        source reads (same features, or strings for a text source).
    start : {"hot", "cold"}, default="hot"
        ``"hot"``: start from the source's weights. ``"cold"``: same architecture,
        random initialisation (``freeze`` and ``reused_lr`` are then ignored:
        nothing is reused).
    freeze : None, "trunk" or int, default=None
        Reused layers that stay fixed during fit: none, the whole shared trunk
        (only the heads, and MMoE gates, are trained), or the first ``k`` trunk
        layers (input side).
    lr : float, default=1e-3
        Learning rate of the new layers (new heads).
    reused_lr : float, default=None
        Learning rate of the layers that come from the source (trunk and kept
        heads); None uses ``lr``. A smaller value keeps the network closer to the
        source.
    input_mismatch : {"error", "reinit"}, default="error"
        When X has another number of features than the source was fitted on:
        raise a ValueError, or replace the source's input layer (and MMoE gates) by
        a new, randomly initialised one and reuse every layer above it (like
        ``ignore_mismatched_sizes`` in Hugging Face transformers). Numeric sources
        only.
    %(task_loss_parameters)s
    max_epochs : int, default=20
        Number of passes over the new data (an upper bound with early stopping).
    batch_size : int, default=128
        Mini-batch size for training (``predict_batch_size`` for prediction).
    %(optimizer_parameters)s
    random_state : int, RandomState instance or None, default=None
        Seeds new heads (all weights for a cold start), dropout, shuffling and the
        validation split.

    Attributes
    ----------
    %(fitted_attributes)s
    reused_heads_ : list of bool
        For each new task, whether the source's head was kept (hot start, same
        task name or position, same classes).
    frozen_parameters_ : list of str
        Names of the parameters that were frozen during fit.
    module_ : torch.nn.Module
        The fine-tuned network (a copy: the source's network is unchanged).

    See Also
    --------
    TransferClassifier : Keep the source's layers frozen and train a new head.
    merge_models : Average several fine-tuned models (outputs or weights).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl import FineTuner, MultiTaskClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(300, 6))
    >>> y_old = (X[:, 0] + X[:, 1] > 0).astype(int)
    >>> source = MultiTaskClassifier((16,), max_epochs=30, random_state=0)
    >>> source = source.fit(X[:200], y_old[:200])
    >>> y_new = np.where(X[:, 0] + X[:, 1] > 0.5, "high", "low")
    >>> ft = FineTuner(source, lr=1e-2, max_epochs=20, random_state=0)
    >>> ft = ft.fit(X[200:], y_new[200:])
    >>> ft.reused_heads_  # new classes: new head, reused trunk
    [False]
    >>> ft.predict(X[:4])
    array(['high', 'high', 'high', 'low'], dtype='<U4')
    >>> ft.score(X[:200], y_new[:200]) > 0.85
    True
    """

    _parameter_constraints: dict = {
        **BaseNeuralClassifier._parameter_constraints,
        "estimator": "no_validation",
        "start": [StrOptions({"hot", "cold"})],
        "freeze": [
            None,
            StrOptions({"trunk"}),
            Interval(numbers.Integral, 0, None, closed="left"),
        ],
        "reused_lr": [None, Interval(numbers.Real, 0, None, closed="neither")],
        "input_mismatch": [StrOptions({"error", "reinit"})],
    }

    _source_param = "estimator"

    def __init__(
        self,
        estimator,
        *,
        start="hot",
        freeze=None,
        lr=1e-3,
        reused_lr=None,
        input_mismatch="error",
        max_epochs=20,
        batch_size=128,
        predict_batch_size="auto",
        optimizer="adam",
        optimizer_options=None,
        weight_decay=0.0,
        lr_scheduler=None,
        lr_scheduler_options=None,
        class_weight=None,
        task_weighting="equal",
        loss="cross_entropy",
        focal_gamma=2.0,
        ohem_fraction=0.25,
        early_stopping=False,
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
        self.estimator = estimator
        self.start = start
        self.freeze = freeze
        self.lr = lr
        self.reused_lr = reused_lr
        self.input_mismatch = input_mismatch
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.predict_batch_size = predict_batch_size
        self.optimizer = optimizer
        self.optimizer_options = optimizer_options
        self.weight_decay = weight_decay
        self.lr_scheduler = lr_scheduler
        self.lr_scheduler_options = lr_scheduler_options
        self.class_weight = class_weight
        self.task_weighting = task_weighting
        self.loss = loss
        self.focal_gamma = focal_gamma
        self.ohem_fraction = ohem_fraction
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

    def _fit_input(self, X):
        source = check_source(self.estimator, caller=type(self).__name__)
        input_, X, self._new_input_layer = reuse_input(
            source,
            X,
            self,
            input_mismatch=self.input_mismatch,
            reader="source estimator",
        )
        return input_, X

    def _matching_heads(self):
        """Index of the source head each new task keeps, or None."""
        source = self.estimator
        src_names = [t.name for t in source.tasks_]
        by_name = any(task.name in src_names for task in self.tasks_)
        keep = []
        for j, task in enumerate(self.tasks_):
            if by_name:
                i = src_names.index(task.name) if task.name in src_names else None
            else:
                i = j
            same = i is not None and i < len(source.tasks_)
            if same:
                old = source.tasks_[i]
                same = old.kind == task.kind and np.array_equal(
                    old.classes, task.classes
                )
            keep.append(i if same else None)
        return keep

    def _build_network(self, X):
        module = copy.deepcopy(self.estimator.module_).cpu()
        if not callable(getattr(module, "replace_heads", None)):
            raise TypeError(
                f"The source's network ({type(module).__name__}) has no "
                "replace_heads(); FineTuner needs a network built by sk_mtl."
            )
        set_requires_grad(module.parameters(), True)
        module.train()
        hot = self.start == "hot"
        keep = self._matching_heads() if hot else [None] * len(self.tasks_)
        old = {id(p) for p in module.parameters()} if hot else set()
        if self._new_input_layer:
            module.replace_input_layer(self.input_.width)
        module.replace_heads([task.n_outputs for task in self.tasks_], keep)
        if not hot:
            reset_parameters(module)
        self.reused_heads_ = [k is not None for k in keep]

        # Only reused weights are frozen (never a new, random layer).
        frozen = [p for p in self._frozen_parameters(module) if id(p) in old]
        set_requires_grad(frozen, False)
        frozen_ids = {id(p) for p in frozen}
        self.frozen_parameters_ = [
            n for n, p in module.named_parameters() if id(p) in frozen_ids
        ]
        reused = [n for n, p in module.named_parameters() if id(p) in old]
        groups = []
        if self.reused_lr is not None:
            lr = {"lr": self.reused_lr}
            groups = [(pattern, lr) for pattern in name_patterns(module, reused)]
        n_parameters = sum(p.numel() for p in module.parameters())
        options = large_model_optimizer_options(
            n_parameters, self.optimizer, self.device
        )
        return Network(module, groups, options)

    def _frozen_parameters(self, module):
        if self.freeze is None or self.freeze == 0:
            return []
        if self.freeze == "trunk":
            return list(module.shared_parameters())
        groups = layer_groups(module)
        if self.freeze > len(groups):
            raise ValueError(
                f"freeze={self.freeze} but the source's trunk has {len(groups)} "
                "layer(s); use at most that many, or freeze='trunk'."
            )
        return [p for g in groups[: self.freeze] for p in g.parameters()]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if isinstance(self.estimator, BaseNeuralClassifier):
            source = get_tags(self.estimator).input_tags
            tags.input_tags.string = source.string
            tags.input_tags.two_d_array = source.two_d_array
        return tags
