"""FineTuner: start a new task from a network trained on another one.

:class:`FineTuningMixin` holds what FineTuner and :class:`FineTunerRegressor`
share: reading the source, copying its network (new heads where the tasks
differ), freezing, and the two training phases of LP-FT (Kumar et al. 2022):
``"head"`` (new heads on the frozen shared layers) then ``"fine_tune"`` (all),
and the optional shrink-and-perturb of the reused weights (Ash & Adams 2020).
"""

import copy
import dataclasses
import numbers

import numpy as np
from sklearn.utils import get_tags
from sklearn.utils._param_validation import Interval, StrOptions
from skorch.callbacks import Callback

from .._engine._base import BaseNeuralClassifier, BaseNeuralEstimator
from .._engine._phases import Network
from ..modules import layer_groups
from ..utils._docs import fill_doc
from ._reuse import (
    SharedSourceMixin,
    check_source,
    large_model_optimizer_options,
    name_patterns,
    reset_parameters,
    reuse_input,
    set_requires_grad,
    shrink_perturb,
)

__all__ = ["FineTuner", "FineTuningMixin"]

HEAD_WARMUP_SHARE = 10  # head_warmup="auto": max_epochs // this (measured: see
# benchmarks/results/transfer_digits.md)

FINE_TUNING_CONSTRAINTS = {
    "estimator": "no_validation",
    "start": [StrOptions({"hot", "cold"})],
    "freeze": [
        None,
        StrOptions({"trunk"}),
        Interval(numbers.Integral, 0, None, closed="left"),
    ],
    "reused_lr": [None, Interval(numbers.Real, 0, None, closed="neither")],
    "input_mismatch": [StrOptions({"error", "reinit"})],
    "head_warmup": [
        StrOptions({"auto"}),
        Interval(numbers.Integral, 0, None, closed="left"),
    ],
    "shrink": [Interval(numbers.Real, 0, 1, closed="right")],
    "perturb": [Interval(numbers.Real, 0, None, closed="left")],
}


class _PhaseRecorder(Callback):
    """Records the phase in ``history_``; freezes ``frozen`` during the phase.

    The parameters of ``frozen`` that are trainable when the phase starts get no
    gradient (the optimizer leaves them unchanged) until it ends.
    """

    def __init__(self, phase, frozen=()):
        self.phase = phase
        self.frozen = frozen

    def on_train_begin(self, net, **kwargs):
        self.frozen_ = [p for p in self.frozen if p.requires_grad]
        set_requires_grad(self.frozen_, False)

    def on_epoch_begin(self, net, **kwargs):
        net.history.record("phase", self.phase)

    def on_train_end(self, net, **kwargs):
        set_requires_grad(self.frozen_, True)


class FineTuningMixin(SharedSourceMixin):
    """Builds the network of a fine-tuned model from the source ``estimator``.

    Needs the parameters of :data:`FINE_TUNING_CONSTRAINTS` and the engine of
    :class:`~sk_mtl._engine._base.BaseNeuralEstimator`.
    """

    _source_param = "estimator"

    def _fit_input(self, X, ctx):
        ctx.source = source = check_source(self.estimator, caller=type(self).__name__)
        input_, X, ctx.new_input_layer = reuse_input(
            source,
            X,
            self,
            input_mismatch=self.input_mismatch,
            reader="source estimator",
        )
        return input_, X

    @staticmethod
    def _matching_heads(source, tasks):
        """Index of the source head each new task keeps, or None: same name (or
        position), same kind, and for classification the same classes."""
        src_names = [t.name for t in source.tasks_]
        by_name = any(task.name in src_names for task in tasks)
        keep = []
        for j, task in enumerate(tasks):
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

    def _build_network(self, ctx):
        module = copy.deepcopy(ctx.source.module_).cpu()
        if not callable(getattr(module, "replace_heads", None)):
            raise TypeError(
                f"The source's network ({type(module).__name__}) has no "
                f"replace_heads(); {type(self).__name__} needs a network built by "
                "sk_mtl."
            )
        set_requires_grad(module.parameters(), True)
        module.train()
        hot = self.start == "hot"
        tasks = ctx.tasks
        keep = self._matching_heads(ctx.source, tasks) if hot else [None] * len(tasks)
        old = {id(p) for p in module.parameters()} if hot else set()
        if ctx.new_input_layer:
            module.replace_input_layer(ctx.input.width)
        module.replace_heads([task.n_outputs for task in tasks], keep)
        if not hot:
            reset_parameters(module)
        ctx.attributes["reused_heads_"] = [k is not None for k in keep]

        # Only reused weights are frozen (never a new, random layer).
        frozen = [p for p in self._frozen_parameters(module) if id(p) in old]
        set_requires_grad(frozen, False)
        frozen_ids = {id(p) for p in frozen}
        ctx.attributes["frozen_parameters_"] = [
            n for n, p in module.named_parameters() if id(p) in frozen_ids
        ]
        reused = [n for n, p in module.named_parameters() if id(p) in old]
        trained = [n for n, p in module.named_parameters() if id(p) in old - frozen_ids]
        shrink_perturb(module, trained, self.shrink, self.perturb)
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

    # ------------------------------------------------------------- LP-FT
    def _head_warmup_epochs(self, ctx):
        """Epochs of the "head" phase: 0 when no new head sits on reused layers
        (cold start, frozen trunk, new input layer, warm start, no new head)."""
        if (
            self.start == "cold"
            or self.freeze == "trunk"
            or ctx.new_input_layer
            or all(ctx.attributes["reused_heads_"])
            or ctx.previous is not None
        ):
            return 0
        if self.head_warmup == "auto":
            return self.max_epochs // HEAD_WARMUP_SHARE
        return min(self.head_warmup, self.max_epochs)

    def _training_phases(self, network, ctx):
        (train,) = super()._training_phases(network, ctx)
        warmup = self._head_warmup_epochs(ctx)
        fine_tune = dataclasses.replace(
            train,
            name="fine_tune",
            max_epochs=self.max_epochs - warmup,
            callbacks=[("phase", _PhaseRecorder("fine_tune"))],
        )
        if warmup == 0:
            return [fine_tune]
        shared = list(network.module.shared_parameters())
        head = dataclasses.replace(
            train,
            name="head",
            max_epochs=warmup,
            callbacks=[("phase", _PhaseRecorder("head", shared))],
        )
        return [head, fine_tune]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if isinstance(self.estimator, BaseNeuralEstimator):
            source = get_tags(self.estimator).input_tags
            tags.input_tags.string = source.string
            tags.input_tags.two_d_array = source.two_d_array
        return tags


@fill_doc
class FineTuner(FineTuningMixin, BaseNeuralClassifier):
    """Fine-tune a fitted sk_mtl network on a new task (hot or cold start).

    The network of ``estimator`` (any fitted sk_mtl neural estimator: a
    :class:`MultiTaskClassifier`, :class:`MultiTaskRegressor`,
    :class:`MixedTaskEstimator`, :class:`TransferClassifier` or a fine-tuned
    model) is copied and trained on the new data. With ``start="hot"`` every
    weight starts from the source; the output head of a task is kept when the new
    task has the source task's classes and replaced by a new one when it does not
    (always for a regression source). New heads are first trained alone on the
    frozen shared layers for ``head_warmup`` epochs, then every layer is
    fine-tuned (LP-FT). ``start="cold"`` trains the same architecture from random
    weights: the baseline that tells whether the source helped. For regression
    targets use :class:`FineTunerRegressor`.

    ``estimator`` is only read, never modified, and it survives
    :func:`sklearn.base.clone`: ``GridSearchCV(FineTuner(source), ...)``
    fine-tunes the fitted source in every candidate.

    Read more in the :ref:`User Guide <fine_tuning>`.

    Parameters
    ----------
    %(fine_tuning_parameters)s
    %(task_loss_parameters)s
    max_epochs : int, default=20
        Number of passes over the new data (an upper bound with early stopping).
    %(batch_size_auto_parameter)s
    %(optimizer_parameters)s
    %(class_weight_parameter)s
    random_state : int, RandomState instance or None, default=None
        Seeds new heads (all weights for a cold start), dropout, shuffling and the
        validation split.

    Attributes
    ----------
    %(fitted_attributes)s
    %(fine_tuning_attributes)s

    See Also
    --------
    FineTunerRegressor : The same for regression targets.
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
        **FINE_TUNING_CONSTRAINTS,
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
        max_epochs=20,
        batch_size="auto",
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
        self.head_warmup = head_warmup
        self.shrink = shrink
        self.perturb = perturb
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

    def _fit_tasks(self, y, ctx):
        try:
            return super()._fit_tasks(y, ctx)
        except ValueError as exc:
            if "continuous" not in str(exc):
                raise
            raise ValueError(
                f"{exc} FineTuner fine-tunes for classes; for numeric targets use "
                "FineTunerRegressor."
            ) from None
