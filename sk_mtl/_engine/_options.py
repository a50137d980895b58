"""Options of the neural estimators that are more than one value.

- skorch-style nested parameters: ``set_params(optimizer__momentum=0.9)`` sets
  one entry of the ``optimizer_options`` dict (likewise ``lr_scheduler__*`` and
  ``module__*``), so skorch habits and ``GridSearchCV`` grids such as
  ``{"optimizer__momentum": [0.5, 0.9]}`` work while every parameter stays an
  ordinary sklearn parameter;
- ``class_weight``: per-task class weights as an ``(n_samples, n_tasks)``
  matrix;
- ``lr_scheduler``: the skorch callback for a torch learning-rate schedule;
- ``predict_batch_size="auto"``: the inference batch;
- the optimizer's implementation: fused where torch has it.
"""

import functools
import numbers
import sys

import numpy as np
import torch
from skorch.callbacks import LRScheduler
from torch import nn

__all__ = [
    "NestedOptionsMixin",
    "NESTED_PREFIXES",
    "class_weight_matrix",
    "fused_update",
    "lr_scheduler_callback",
    "predict_batch_rows",
    "split_nested_params",
]

# ``<prefix>__<name>`` goes into the ``<prefix>_options`` dict parameter.
NESTED_PREFIXES = ("optimizer", "lr_scheduler", "module")

# Rows per forward pass of predict_batch_size="auto": measured on 2 shared cores
# (benchmarks/speed.py), a 100-256-256 MLP predicts 1.2x faster in batches of
# 1024-4096 rows than of 128 at 1 thread, and 2-3x faster at 2 threads (fewer
# thread synchronisations); beyond ~8192 rows the activations leave the cache and
# it slows down again.
AUTO_PREDICT_ROWS = 4096
# ... but the activations of one batch stay under 2**24 floats (64 MiB).
_AUTO_ACTIVATION_FLOATS = 2**24


# Optimizer arguments that are parameters of their own: ``optimizer__lr`` sets
# ``lr``, as in skorch, where ``lr`` is the optimizer's default ``optimizer__lr``.
_OPTIMIZER_PARAMETERS = ("lr", "weight_decay")


def _nested_key(names, key):
    """``(prefix, name)`` of a key that goes into ``<prefix>_options``, else None."""
    prefix, sep, name = key.partition("__")
    if sep and prefix in NESTED_PREFIXES and f"{prefix}_options" in names:
        return prefix, name
    return None


def split_nested_params(estimator, params):
    """Fold ``<prefix>__<name>`` keys of ``params`` into ``<prefix>_options``.

    Only for prefixes whose ``<prefix>_options`` is a parameter of ``estimator``;
    other keys are returned unchanged (sklearn's own nested-parameter handling).
    ``optimizer__lr`` and ``optimizer__weight_decay`` set the parameters ``lr``
    and ``weight_decay`` where the estimator has them.
    """
    names = set(estimator._get_param_names())
    params = dict(params)
    options = {}
    for key in list(params):
        nested = _nested_key(names, key)
        if nested is None:
            continue
        prefix, name = nested
        if prefix == "optimizer" and name in _OPTIMIZER_PARAMETERS and name in names:
            params[name] = params.pop(key)
        else:
            options.setdefault(prefix, {})[name] = params.pop(key)
    for prefix, values in options.items():
        param = f"{prefix}_options"
        current = params.get(param, getattr(estimator, param))
        params[param] = {**(current or {}), **values}
    return params


def _activation_width(module):
    """Floats per row of the widest layer, or None for a layer of unknown size.

    Known: linear layers, fused task heads, the batched experts of MMoE and
    TabM's adapters (the networks sk_mtl builds; in a TabM network every layer
    runs once per member); any other layer with parameters (a convolution,
    attention, ...) makes the width unknown.
    """
    from ..ensembles import member_ensembles
    from ..modules import ExpertLayer, FusedHeads

    adapter = getattr(sys.modules.get("tabm"), "ElementwiseAffine", ())
    k = max((m.n_members for m in member_ensembles(module)), default=1)
    # FusedHeads keep their blocks in ParameterLists, counted with them.
    blocks = {
        id(p)
        for m in module.modules()
        if isinstance(m, FusedHeads)
        for p in m.children()
    }
    widths = [1]
    for layer in module.modules():
        if id(layer) in blocks or next(layer.parameters(recurse=False), None) is None:
            continue  # containers, activations, dropout
        if isinstance(layer, nn.Linear):
            widths.append(k * layer.out_features)
        elif isinstance(layer, FusedHeads):
            widths.append(k * layer.n_rows)
        elif isinstance(layer, ExpertLayer):
            widths.append(layer.weight.shape[0] * layer.weight.shape[2])
        elif isinstance(layer, adapter):
            widths.append(layer.weight.numel())
        elif not isinstance(layer, nn.LayerNorm | nn.BatchNorm1d):
            return None
    return max(widths)


def predict_batch_rows(predict_batch_size, batch_size, module, width=None):
    """Rows per forward pass at prediction.

    ``"auto"``: for the MLPs sk_mtl builds, :data:`AUTO_PREDICT_ROWS` (at least
    ``batch_size``), fewer when one batch's activations in the widest layer (or
    the ``width`` input features) would exceed 64 MiB; for any other network (a
    user's module with convolutions, a transformer), ``4 * batch_size``, as for
    the frozen-feature pass of a fit.
    """
    if predict_batch_size != "auto":
        return int(predict_batch_size)
    widest = _activation_width(module)
    if widest is None:
        return 4 * int(batch_size)
    cap = max(1, _AUTO_ACTIVATION_FLOATS // max(widest, width or 1))
    return max(int(batch_size), min(AUTO_PREDICT_ROWS, cap))


def lr_scheduler_callback(policy, options):
    """skorch's ``LRScheduler`` for ``lr_scheduler`` (a name or a class)."""
    if isinstance(policy, str):
        if not isinstance(getattr(torch.optim.lr_scheduler, policy, None), type):
            raise ValueError(
                f"lr_scheduler={policy!r} is not a scheduler of "
                "torch.optim.lr_scheduler (e.g. 'StepLR', 'CosineAnnealingLR', "
                "'ReduceLROnPlateau', 'OneCycleLR')."
            )
    elif not callable(policy):
        raise TypeError(
            "lr_scheduler must be None, the name of a torch.optim.lr_scheduler "
            f"class or a scheduler class, got {type(policy).__name__}."
        )
    return LRScheduler(policy=policy, **(options or {}))


def _task_class_weight(spec, task, codes, labelled):
    """Weight of each class of one task (array indexed by class code)."""
    classes = task.classes
    if spec is None:
        return np.ones(len(classes))
    if isinstance(spec, str):
        if spec != "balanced":
            raise ValueError(
                f"class_weight for task {task.name!r} must be 'balanced', a dict "
                f"{{label: weight}} or None, got {spec!r}."
            )
        counts = np.bincount(codes[labelled], minlength=len(classes)).astype(float)
        return labelled.sum() / (len(classes) * np.maximum(counts, 1))
    if not isinstance(spec, dict):
        raise TypeError(
            f"class_weight for task {task.name!r} must be 'balanced', a dict "
            f"{{label: weight}} or None, got {type(spec).__name__}."
        )
    weights = np.ones(len(classes))
    for label, weight in spec.items():
        at = np.flatnonzero(classes == label)
        if len(at) == 0:
            raise ValueError(
                f"class_weight has label {label!r} for task {task.name!r}, whose "
                f"classes are {classes.tolist()}."
            )
        if not (isinstance(weight, numbers.Real) and weight >= 0):
            raise ValueError(
                f"class_weight[{label!r}] of task {task.name!r} must be a "
                f"non-negative number, got {weight!r}."
            )
        weights[at[0]] = float(weight)
    return weights


def _per_task_specs(class_weight, tasks):
    """One class-weight spec (None, 'balanced' or dict) per task.

    Regression tasks have no classes: ``"balanced"`` leaves them out, and a
    dict given for one is a ValueError.
    """
    specs = _given_specs(class_weight, tasks)
    for spec, task in zip(specs, tasks):
        if task.kind == "regression" and spec not in (None, "balanced"):
            raise ValueError(
                f"class_weight has {spec!r} for task {task.name!r}, a regression "
                "task; give None for it (class weights are for classification "
                "tasks)."
            )
    return specs


def _given_specs(class_weight, tasks):
    names = [t.name for t in tasks]
    if class_weight is None or isinstance(class_weight, str):
        return [class_weight] * len(tasks)
    if isinstance(class_weight, list | tuple):
        if len(class_weight) != len(tasks):
            raise ValueError(
                f"class_weight has {len(class_weight)} entries but y has "
                f"{len(tasks)} task(s) {names}; give one per task."
            )
        return list(class_weight)
    by_task = all(isinstance(v, dict | str) or v is None for v in class_weight.values())
    if by_task and class_weight and set(class_weight) <= set(names):
        return [class_weight.get(name) for name in names]
    if len(tasks) > 1:
        raise ValueError(
            "class_weight as {label: weight} is for a single task; y has "
            f"{len(tasks)} tasks {names}: give a list with one entry per task or "
            "{task_name: {label: weight}}."
        )
    return [class_weight]


def class_weight_matrix(class_weight, tasks, targets):
    """``(n_samples, n_tasks)`` weight of each entry's class (1 if missing)."""
    specs = _per_task_specs(class_weight, tasks)
    out = np.ones(targets.codes.shape)
    for t, (spec, task) in enumerate(zip(specs, tasks)):
        if task.kind == "regression":
            continue
        # int codes (a mixed target holds them as floats beside regression targets)
        codes = targets.codes[:, t].astype(np.int64)
        labelled = targets.labelled[:, t]
        weights = _task_class_weight(spec, task, codes, labelled)
        out[labelled, t] = weights[codes[labelled]]
    return out


class NestedOptionsMixin:
    """Skorch-style ``<prefix>__<name>`` keys in the constructor and ``set_params``.

    As skorch's ``NeuralNet(optimizer__momentum=0.9)``: the constructor of every
    subclass also takes such keys (only keys of a ``<prefix>_options``
    parameter; any other unknown name stays a TypeError) and folds them into
    the options dict, so ``get_params``, ``clone`` and ``set_params`` see one
    ordinary parameter.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and not getattr(init, "_takes_nested", False):
            cls.__init__ = _taking_nested_options(init)

    def set_params(self, **params):
        """Set the parameters of this estimator.

        Besides sklearn's parameters, skorch-style ``optimizer__<name>``,
        ``lr_scheduler__<name>`` (and ``module__<name>`` where there is a
        ``module``) set one entry of ``optimizer_options`` (``lr_scheduler_options``,
        ``module_options``), e.g. ``set_params(optimizer="sgd",
        optimizer__momentum=0.9)``, also in a ``GridSearchCV`` grid.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
        """
        return super().set_params(**split_nested_params(self, params))


def _taking_nested_options(init):
    """``init`` that also takes ``<prefix>__<name>`` keys (see NestedOptionsMixin).

    The wrapper keeps ``init``'s signature (``functools.wraps``), which is what
    sklearn reads the parameter names from.
    """

    @functools.wraps(init)
    def __init__(self, *args, **params):
        names = set(self._get_param_names())
        nested = {k: params.pop(k) for k in list(params) if _nested_key(names, k)}
        init(self, *args, **params)
        for key, value in split_nested_params(self, nested).items():
            setattr(self, key, value)

    __init__._takes_nested = True
    return __init__


# Optimizers whose update torch fuses into one kernel over all parameters on
# these devices: the same update up to float rounding, without a Python loop
# over the parameter tensors at every step (0.71x to 0.98x the CPU time of
# a default fit on the tabular suite's tables over 5,000 rows).
_FUSABLE = ("adam", "adamw")
_FUSED_DEVICES = ("cpu", "cuda")


def fused_update(estimator, options):
    """``{"fused": True}`` unless the options choose an implementation or the
    optimizer or device has no fused update."""
    if "fused" in options or "foreach" in options:
        return {}
    try:
        device = torch.device(estimator.device).type
    except (RuntimeError, TypeError):
        return {}
    if estimator.optimizer in _FUSABLE and device in _FUSED_DEVICES:
        return {"fused": True}
    return {}
