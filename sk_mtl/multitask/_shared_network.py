"""The input and network that the shared-trunk estimators build (a mixin)."""

import copy
import numbers

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _num_samples
from torch import nn

from .._data._choice import make_input
from .._data._inputs import as_dense
from .._data._tabular import TabularInput
from .._engine._phases import Network
from .._engine._training_data import AUTO_BATCH_SIZE
from ..embeddings import (
    NUMERIC_EMBEDDINGS,
    TabularFrontEnd,
    TabularNetwork,
    piecewise_linear_bins,
)
from ..ensembles import MemberEnsemble
from ..modules import MLP, MMoE, MultiHeadNetwork
from ..utils import is_missing, task_columns
from ._bagging import N_BAGS_CONSTRAINT, BaggingMixin
from ._linear_blend import (
    BLEND_ATTRIBUTES,
    LINEAR_BLEND_CONSTRAINT,
    blend_outputs,
    choose_weights,
    fit_linear_models,
    linear_outputs,
)

__all__ = [
    "AUTO_DROPOUT",
    "AUTO_LR",
    "AUTO_PATIENCE",
    "EARLY_STOPPING_AUTO_SAMPLES",
    "LARGE_FIT_BATCH_SIZE",
    "LARGE_FIT_DROPOUT",
    "LARGE_FIT_LR",
    "LARGE_FIT_PATIENCE",
    "LARGE_FIT_SAMPLES",
    "MID_FIT_BATCH_GROWTH",
    "MID_FIT_SAMPLES",
    "NETWORK_CONSTRAINTS",
    "SharedNetworkMixin",
]

# Parameters of the shared-trunk / MMoE network that MultiTaskRegressor and
# MixedTaskEstimator share with MultiTaskClassifier (which adds "tabm").
NETWORK_CONSTRAINTS: dict = {
    "hidden_units": [tuple, list],
    "architecture": [StrOptions({"shared_bottom", "mmoe"})],
    "categorical_features": [str, list, tuple, "array-like", None],
    "numeric_embedding": [StrOptions(set(NUMERIC_EMBEDDINGS)), None],
    "linear_view": ["boolean"],
    "value_view": ["boolean", StrOptions({"auto"})],
    "n_experts": [Interval(numbers.Integral, 1, None, closed="left")],
    "module": [nn.Module, type, None],
    "module_options": [dict, None],
    "early_stopping": ["boolean", StrOptions({"auto"})],
    "n_iter_no_change": [
        Interval(numbers.Integral, 1, None, closed="left"),
        StrOptions({"auto"}),
    ],
    "n_bags": N_BAGS_CONSTRAINT,
    "linear_blend": LINEAR_BLEND_CONSTRAINT,
    "lr": [Interval(numbers.Real, 0, None, closed="neither"), StrOptions({"auto"})],
    "dropout": [Interval(numbers.Real, 0, 1, closed="left"), StrOptions({"auto"})],
}

# early_stopping="auto" holds out validation rows, stops on their loss and keeps
# the best epoch's weights above this many training rows, at every size beyond
# (chosen on the validation splits of benchmarks/tabular_suite.py); fewer rows
# leave too few held-out rows to pick an epoch on.
EARLY_STOPPING_AUTO_SAMPLES = 100

# n_iter_no_change="auto": early stopping's patience, AUTO_PATIENCE epochs, but
# LARGE_FIT_PATIENCE above LARGE_FIT_SAMPLES training rows
# (benchmarks/results/large_table_study.md, validation splits of the suite's 5
# tables over 20,000 rows, seeds 0-2: 0.71x the CPU time of patience 10 at
# -0.0005 on the mean, the same score on 3 of 5 tables; its rule takes a
# contender 0.9x as costly or less and at most 0.0005 worse). The gate lies
# below the fits of those tables (16,892 to 22,500 rows) and above those of
# the smaller ones (letter_img: 15,000).
AUTO_PATIENCE = 10
LARGE_FIT_PATIENCE = 5
LARGE_FIT_SAMPLES = 16_000

# batch_size="auto" and lr="auto": batches of AUTO_BATCH_SIZE rows at AUTO_LR,
# but LARGE_FIT_BATCH_SIZE rows at LARGE_FIT_LR above LARGE_FIT_SAMPLES
# training rows (benchmarks/results/batch_study.md, the same tables, splits and
# rule as the patience: 0.70x the CPU time at -0.0002 on the mean, within
# 0.0005 of batches of 1,024 at 3e-3, which cost 0.74x).
AUTO_LR = 1e-3
LARGE_FIT_BATCH_SIZE = 512
LARGE_FIT_LR = 2e-3

# batch_size="auto" from MID_FIT_SAMPLES to LARGE_FIT_SAMPLES training rows:
# batches of AUTO_BATCH_SIZE rows for the first 10 epochs, then growing, at
# the same rate: ((first epoch, rows), ...)
# (benchmarks/results/mid_table_growth_study.md, validation splits of the
# suite's 5 tables fitted on 5,280 to 12,000 rows, seeds 0-2: 0.87x the CPU
# time at +0.0004 on the mean, mammography +0.0073, loans -0.0049; the fits
# that stop by epoch 10 plus the patience are the same). Seven recipes that
# changed every epoch from the first failed on the same tables.
MID_FIT_SAMPLES = 5_000
MID_FIT_BATCH_GROWTH = ((11, 256), (21, 512))

# dropout="auto": AUTO_DROPOUT, none above LARGE_FIT_SAMPLES training rows
# (benchmarks/results/capacity_study.md, the same tables, splits and rule:
# 0.80x the CPU time at +0.0003 on the mean; a wider trunk, (256, 128), was
# +0.0001 at 1.74x).
AUTO_DROPOUT = 0.1
LARGE_FIT_DROPOUT = 0.0


class SharedNetworkMixin(BaggingMixin):
    """Input and network of the shared-trunk estimators (not for direct use).

    Numeric X is quantile-scaled, with a robust-scaled copy of each column
    beside (sparse X read as given), or read by the tabular front-end
    (categorical columns, NaN);
    the network is a shared MLP (or the user's ``module``) with one head per task,
    an MMoE, or (MultiTaskClassifier) a TabM-mini ensemble; each head is as wide
    as its task's ``n_outputs``, so regression tasks get one output; ``n_bags``
    bags such networks (:mod:`~sk_mtl.multitask._bagging`); ``linear_blend``
    blends a linear model per task into the network's outputs
    (:mod:`~sk_mtl.multitask._linear_blend`).
    """

    def _fit_input(self, X, ctx):
        tabular = self.numeric_embedding is not None or self.architecture == "tabm"
        # A numeric embedding reads the quantile-normal values alone, and a
        # user's module the columns of X.
        input_ = make_input(
            X,
            self.categorical_features,
            tabular=tabular,
            linear_view=self.linear_view
            and self.numeric_embedding is None
            and self.module is None,
            value_view=self._value_view(X, ctx),
        )
        return input_, input_.fit(X, self)

    def _value_view(self, X, ctx):
        """Whether the tabular front-end reads mostly-one-value columns by
        value too: ``"auto"`` where every task has more than LARGE_FIT_SAMPLES
        labelled rows (``value_view_study``: it paid on adult, and lost on
        tables of a few thousand rows, where an embedding per value is learned
        from few labels); a warm start keeps the choice of the fit it
        continues, whose network reads those columns."""
        if self.module is not None:
            return False
        if self.value_view != "auto":
            return bool(self.value_view)
        if ctx.previous is not None:
            return bool(getattr(self.__dict__.get("input_"), "value_columns_", ()))
        large = _num_samples(X) > LARGE_FIT_SAMPLES  # no labels to count below
        return large and _fewest_labels(ctx.y, X) > LARGE_FIT_SAMPLES

    def _validation_fraction(self, ctx):
        on = self._holds_rows_out(_num_samples(ctx.X))
        return self.validation_fraction if on else None

    def _holds_rows_out(self, n_rows):
        """Whether early stopping is on for a fit of ``n_rows`` rows."""
        on = self.early_stopping
        if isinstance(on, str):  # "auto"
            on = n_rows > EARLY_STOPPING_AUTO_SAMPLES
        return bool(on)

    def _patience(self):
        return self.n_iter_no_change_

    def _set_fitted(self, ctx):
        for name in BLEND_ATTRIBUTES:  # a new network: no blend until chosen
            self.__dict__.pop(name, None)
        super()._set_fitted(ctx)

    def _studied_trunk(self):
        """Whether the network is the default MLP trunk, the one the studies
        of the size-gated defaults measured (MMoE, TabM and a user's module
        keep the small-fit values at every size)."""
        return self.module is None and self.architecture == "shared_bottom"

    def _large_default_fit(self, ctx):
        """Whether ``"auto"`` batch size, rate and dropout are those of large
        fits: above LARGE_FIT_SAMPLES rows, for the default MLP trunk."""
        return self._studied_trunk() and _large_fit(ctx)

    def _fit_batch_size(self, ctx, n_rows):
        if self.batch_size == "auto":
            large = self._large_default_fit(ctx)
            return LARGE_FIT_BATCH_SIZE if large else AUTO_BATCH_SIZE
        return super()._fit_batch_size(ctx, n_rows)

    def _fit_batch_growth(self, ctx):
        """``"auto"`` batches grow on fits of MID_FIT_SAMPLES to
        LARGE_FIT_SAMPLES rows, for the default MLP trunk."""
        n_rows = _num_samples(ctx.X)
        mid = MID_FIT_SAMPLES < n_rows <= LARGE_FIT_SAMPLES
        if self.batch_size == "auto" and mid and self._studied_trunk():
            return MID_FIT_BATCH_GROWTH
        return ()

    def _learning_rate(self):
        if self.lr != "auto":
            return self.lr
        large = self.batch_size == "auto" and self.batch_size_ == LARGE_FIT_BATCH_SIZE
        return LARGE_FIT_LR if large else AUTO_LR

    def _train(self, network, ctx, targets, weights, rows, seed):
        patience = self.n_iter_no_change
        if isinstance(patience, str):  # "auto"
            patience = LARGE_FIT_PATIENCE if _large_fit(ctx) else AUTO_PATIENCE
        self.n_iter_no_change_ = patience
        blend = self._blends(rows[1])
        super()._train(network, ctx, targets, weights, rows, seed)
        if blend:
            self._fit_linear_blend(ctx, targets, weights, rows)

    def _blends(self, valid):
        """Whether this fit blends a linear model in (``linear_blend``)."""
        if isinstance(self.linear_blend, str):  # "auto"
            return valid is not None
        if not self.linear_blend:
            return False
        if valid is None:
            raise ValueError(
                "linear_blend=True chooses the blend on the rows held out for "
                "early stopping, but this fit holds out none (early_stopping="
                f"{self.early_stopping!r}; 'auto' holds rows out above "
                f"{EARLY_STOPPING_AUTO_SAMPLES} training rows). Set "
                "early_stopping=True, or linear_blend='auto' to blend only when "
                "rows are held out."
            )
        return True

    def _fit_linear_blend(self, ctx, targets, weights, rows):
        """Fit the linear models on the training rows and choose each task's
        blend weight on the held-out rows (:mod:`._linear_blend`)."""
        train, valid = rows
        # one weight per entry (a column of sample weights without class_weight)
        weights = np.broadcast_to(weights, targets.labelled.shape)
        cardinalities = getattr(ctx.input, "cardinalities_", ())
        coef, intercept, fitted = fit_linear_models(
            ctx.tasks, ctx.X, targets, weights, train, cardinalities
        )
        X_valid = ctx.X[valid]  # an array, a sparse matrix or TabularData
        chosen = choose_weights(
            ctx.tasks,
            self._network_outputs(X_valid),
            linear_outputs(X_valid, coef, intercept, cardinalities),
            fitted,
            targets,
            weights,
            valid,
        )
        self._set_blend(chosen, coef, intercept)

    def _set_blend(self, weights, coef, intercept):
        """The blend's fitted attributes; no linear model kept when every
        weight is 0 (then predictions are the network's, at its cost)."""
        self.linear_blend_weights_ = weights
        self.linear_coef_ = coef if weights.any() else None
        self.linear_intercept_ = intercept if weights.any() else None

    def _forward(self, X):
        if "estimators_" in self.__dict__:  # a bagged model: its members'
            return super()._forward(X)
        return self._transformed_outputs(self.input_.transform(X, self))

    def _transformed_outputs(self, X):
        """Per-task outputs for X validated and transformed by ``input_``: the
        network's, with the linear models blended in where fit chose to."""
        if self.__dict__.get("linear_coef_") is None:
            return self._network_outputs(X)
        # Only a task of weight below 1 reads the network.
        reads = (self.linear_blend_weights_ < 1.0).any()
        outputs = self._network_outputs(X) if reads else None
        return blend_outputs(self.tasks_, outputs, X, self)

    def _one_pass(self, net, X, targets, weights):
        # The weights were chosen for the network as fit left it: the one that
        # partial_fit trains further predicts alone.
        if "linear_blend_weights_" in self.__dict__:
            self._set_blend(np.zeros(self.n_tasks_), None, None)
        super()._one_pass(net, X, targets, weights)

    def _build_network(self, ctx):
        if self.module is not None:
            return self._user_trunk_network(ctx)
        units = tuple(self.hidden_units)
        if not all(isinstance(u, numbers.Integral) and u > 0 for u in units):
            raise ValueError(
                "hidden_units must be a tuple of positive ints, got "
                f"{self.hidden_units!r}."
            )
        if self.architecture == "mmoe" and not units:
            raise ValueError("architecture='mmoe' needs at least one hidden layer.")
        front = None
        n_features = ctx.input.width
        if isinstance(ctx.input, TabularInput):
            front = self._front_end(ctx.input, ctx.X)
            n_features = front.out_features
        n_outputs = [task.n_outputs for task in ctx.tasks]
        dropout = self.dropout
        if dropout == "auto":
            large = self._large_default_fit(ctx)
            dropout = LARGE_FIT_DROPOUT if large else AUTO_DROPOUT
        network = self._multitask_network(n_features, units, front, n_outputs, dropout)
        return Network(network if front is None else TabularNetwork(front, network))

    def _front_end(self, input_, X):
        bins = None
        if self.numeric_embedding == "piecewise_linear" and input_.n_numeric:
            bins = piecewise_linear_bins(torch.from_numpy(X.numeric))
        return TabularFrontEnd(
            input_.n_numeric,
            len(input_.missing_columns_),
            input_.cardinalities_,
            numeric_embedding=self.numeric_embedding,
            bins=bins,
        )

    def _multitask_network(self, n_features, units, front, n_outputs, dropout):
        if self.architecture == "mmoe":
            return MMoE(n_features, units, n_outputs, self.n_experts, dropout)
        if self.architecture == "tabm":
            return MemberEnsemble(
                n_features,
                units,
                n_outputs,
                self.n_members,
                dropout,
                scaling_chunks=None if front is None else front.chunks,
                scaling_init="random-signs"
                if self.numeric_embedding is None
                else "normal",
            )
        return MultiHeadNetwork(MLP(n_features, units, dropout), n_outputs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _user_trunk_network(self, ctx):
        if isinstance(ctx.input, TabularInput):
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
        rows = np.arange(min(2, ctx.X.shape[0]))
        width = _trunk_width(trunk, as_dense(ctx.input.tensors(ctx.X, rows)))
        trunk.train()
        n_outputs = [task.n_outputs for task in ctx.tasks]
        return Network(MultiHeadNetwork(trunk, n_outputs, trunk_out_features=width))


def _fewest_labels(y, X):
    """The labelled rows of the task that has the fewest, read as the tasks
    read y (:func:`~sk_mtl.utils.task_columns`, missing labels by
    :func:`~sk_mtl.utils.is_missing`); X's rows where y is None
    (``partial_fit``)."""
    if y is None:
        return _num_samples(X)
    columns, _, _ = task_columns(y)
    return min(int((~is_missing(column)).sum()) for column in columns)


def _large_fit(ctx):
    """Whether a fit of ``ctx.X`` is above the large-fit gate (the patience
    of ``"auto"``; its batch size, rate and dropout too for the MLP trunk)."""
    return _num_samples(ctx.X) > LARGE_FIT_SAMPLES


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
