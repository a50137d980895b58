"""Parameter and attribute docs shared by the neural estimators, written once.

A docstring line holding only ``%(name)s`` (indented like the section around it)
is replaced by the fragment ``name`` by :func:`fill_doc`, as imbalanced-learn's
``Substitution`` does.
"""

import re
import textwrap
from pathlib import Path

__all__ = ["DocLinkMixin", "fill_doc"]

# The API reference page of an estimator in the HTML build of the checkout sk_mtl
# is installed from (``make docs`` writes docs/_build/html; docs/api.rst builds
# generated/): there is no hosted documentation site.
DOC_LINK_TEMPLATE = (
    Path(__file__).resolve().parents[2] / "docs" / "_build" / "html"
).as_uri() + "/generated/sk_mtl.{estimator_name}.html"


class DocLinkMixin:
    """The "?" of an estimator's HTML repr links to our API page (sklearn's
    doc-link hooks)."""

    _doc_link_module = "sk_mtl"
    _doc_link_template = DOC_LINK_TEMPLATE

    def _doc_link_url_param_generator(self):
        return {"estimator_name": type(self).__name__}


_OPTIMIZER = """\
predict_batch_size : int or "auto", default="auto"
    Rows per forward pass in ``predict`` / ``predict_proba``. ``"auto"``: 4096
    rows (at least ``batch_size``; fewer for very wide layers) for sk_mtl's
    MLPs, whose inference is faster in such batches than in training
    mini-batches on CPU; ``4 * batch_size`` for networks with other layers (a
    user's module). The bundled text encoder embeds 32 texts at a time whatever
    this value.
optimizer : {"adam", "adamw", "sgd"}, default="adam"
    Optimizer.
optimizer_options : dict, default=None
    Extra keyword arguments of the optimizer, e.g. ``{"momentum": 0.9}`` for
    ``"sgd"``. Settable one at a time skorch-style, in the constructor or
    ``set_params``: ``optimizer__momentum=0.9`` (also in a ``GridSearchCV``
    grid); ``optimizer__lr`` and ``optimizer__weight_decay`` set ``lr`` and
    ``weight_decay``.
weight_decay : float, default=0.0
    L2 penalty (decoupled for ``"adamw"``).
lr_scheduler : str, scheduler class or None, default=None
    A learning-rate schedule: the name of a ``torch.optim.lr_scheduler``
    class (``"StepLR"``, ``"CosineAnnealingLR"``, ``"ReduceLROnPlateau"``, ...)
    or a class, run by skorch's ``LRScheduler`` callback (stepped every epoch;
    the learning rate is recorded in ``history_`` as ``event_lr``).
lr_scheduler_options : dict, default=None
    Its keyword arguments, e.g. ``{"step_size": 10, "gamma": 0.5}``; settable
    as ``lr_scheduler__step_size=10`` (constructor or ``set_params``).
"""
_CLASS_WEIGHT = """\
class_weight : "balanced", dict, list or None, default=None
    Weights of the classes in the loss, multiplied with ``sample_weight``:
    ``"balanced"`` (every task: ``n_labelled / (n_classes * count)`` on the
    task's labelled entries, as in sklearn), ``{label: weight}`` (single
    task), one entry per task (a list of ``"balanced"`` / dict / None) or
    ``{task_name: "balanced" or {label: weight}}``. Classes left out weigh 1.
"""
_EARLY_STOPPING = """\
early_stopping : bool, default=False
    Hold out ``validation_fraction`` of the training data (stratified on the
    first task if it is a classification task), stop when the summed validation
    loss of the tasks has not improved by ``tol`` for ``n_iter_no_change``
    epochs, and restore the best weights.
"""
_EARLY_STOPPING_AUTO = """\
early_stopping : "auto" or bool, default="auto"
    Hold out ``validation_fraction`` of the training data (stratified on the
    first task if it is a classification task), stop when the summed validation
    loss of the tasks has not improved by ``tol`` for ``n_iter_no_change``
    epochs, and restore the best epoch's weights. ``"auto"``: on whenever there
    are more than 100 training rows, at every size (the network then never
    keeps an overfitted last epoch; see :ref:`tabular`); off below, where too
    few rows would be held out to pick an epoch.
"""
_VALIDATION = """\
validation_fraction : float, default=0.1
    Fraction of the training data held out for early stopping.
n_iter_no_change : int, default=10
    Patience of early stopping, in epochs.
tol : float, default=1e-4
    Minimum improvement of the validation loss for early stopping.
"""
_VALIDATION_AUTO = """\
validation_fraction : float, default=0.1
    Fraction of the training data held out for early stopping.
n_iter_no_change : int or "auto", default="auto"
    Patience of early stopping, in epochs. ``"auto"``: 10, but 5 above 16,000
    training rows (on the tables of 17,000 to 22,500 training rows of the
    tabular suite it cut the fit's CPU time by about 30 % and kept the same
    score on 3 of 5; see :ref:`tabular`). The patience used is
    ``n_iter_no_change_``.
tol : float, default=1e-4
    Minimum improvement of the validation loss for early stopping.
"""
_N_BAGS = """\
n_bags : int or "auto", default="auto"
    Cross-fitted bagging. 1: one network. ``k > 1``: the training rows are
    split into k folds (shuffled; stratified on the first task when it is a
    classification task labelled on every row) and k networks are fitted, each
    on k - 1 folds and early-stopped on the remaining one (instead of a random
    ``validation_fraction``): every row trains k - 1 members and validates
    one. Predictions average the members' class probabilities and regression
    outputs; fit and prediction cost about k times one network's.
    ``"auto"``: 3 members where early stopping holds rows out (above 100
    training rows with ``early_stopping="auto"``) and there are fewer than
    1,000 training rows; one network otherwise (and under ``warm_start``). On
    the validation splits of the tabular suite, 3 members scored better on 5
    of the 6 tables fitted on fewer than 1,000 rows (+0.010 on the mean, about
    3x the fit's CPU time) and on 3 of 6 from 1,000 to 3,000 rows; above,
    better on 4 of 6 but at more than 10x HistGradientBoosting's fit time on 3
    of the 6 tables over 5,000 rows (see :ref:`tabular`). The members are in
    ``estimators_``; a bagged model has no single ``net_``, ``module_``,
    ``input_`` or ``history_`` (``n_bags=1`` fits one network), no
    ``partial_fit``, and ``warm_start=True`` with ``k > 1`` is an error. As
    the source of a :class:`~sk_mtl.FineTuner` or
    :class:`~sk_mtl.TransferClassifier` it lends its member of best
    validation score.
"""
_LINEAR_BLEND = """\
linear_blend : bool or "auto", default="auto"
    Blend a linear model into each task's predictions, chosen on the rows held
    out for early stopping. After the network is fitted, one
    L2-penalised logistic regression (``C=1``; a classification task) or ridge
    regression (a regression task) per task is fitted on the training part
    of the rows, on the features the network reads (numeric columns
    quantile-normal and robust-scaled, missing indicators, one-hot
    categories); each task then predicts
    ``(1 - w)`` times the network's class probabilities (or predictions) plus
    ``w`` times the linear model's, with ``w`` in ``{0, 0.25, 0.5, 0.75, 1}``
    of least log loss (squared error) on the held-out rows: 0, the network
    alone, unless the linear model helps there. ``True`` needs held-out rows
    (a ValueError otherwise); ``"auto"``: on whenever early stopping holds
    rows out (the default: on the validation splits of the tabular suite's
    18 tables up to 10,000 rows, +0.0025 on the mean, better by 0.002 or more
    on 5 tables, worse on none, at 1.02x the fit's CPU time, median). With
    ``n_bags > 1`` each member chooses on its own fold. A further
    ``partial_fit`` sets every weight to 0 (the weights were chosen for the
    network as fit left it). See :ref:`tabular`.
"""
_N_THREADS = """\
n_threads : "auto" or int, default="auto"
    torch intra-op threads used during ``fit`` and prediction only (the caller's
    setting is restored afterwards). ``"auto"``: one thread for small networks
    and batches, more for large ones, never more than the cores this process
    may use, than the limit of the joblib/dask worker it runs in, or than the
    cores left idle by other work. An int is used as given; ``-1`` uses every
    available core.
"""
_RUNTIME = (
    """\
device : str, default="cpu"
    Torch device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``, ... (an
    unavailable one is a ValueError at fit).
on_divergence : {"raise", "restore"}, default="raise"
    When the training loss or the weights stop being finite (too large ``lr``,
    badly scaled X): raise a ValueError naming the epoch (and the task), or
    restore the weights of the last finite epoch, warn and stop training.
"""
    + _N_THREADS
    + """\
warm_start : bool, default=False
    When True, ``fit`` starts from the weights of the previous fit (same
    tasks, classes and architecture) instead of a new initialisation, with a
    fresh optimizer. ``partial_fit`` always continues training.
verbose : int, default=0
    1: print an epoch table (losses per task, timing; plain text when the
    output is not a terminal). 2: also a progress bar over each epoch's
    batches (tqdm), on a terminal only: in a log file the epoch lines alone.
callbacks : list of skorch callbacks, default=None
    Extra skorch callbacks (instances or ``(name, callback)`` tuples).
"""
)

_FINE_TUNING = """\
estimator : fitted sk_mtl neural estimator
    The source model: a :class:`MultiTaskClassifier`, :class:`MultiTaskRegressor`,
    :class:`MixedTaskEstimator`, :class:`TransferClassifier`,
    :class:`FineTuner` or :class:`FineTunerRegressor`. X given to ``fit`` and
    ``predict`` must be what the source reads (same features, or strings for a
    text source).
start : {"hot", "cold"}, default="hot"
    ``"hot"``: start from the source's weights. ``"cold"``: same architecture,
    random initialisation (``freeze``, ``reused_lr`` and ``head_warmup`` are
    then ignored: nothing is reused).
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
head_warmup : "auto" or int, default="auto"
    LP-FT (Kumar et al. 2022): the first ``head_warmup`` of the ``max_epochs``
    epochs train the heads (and MMoE gates) alone on the frozen shared layers
    (phase ``"head"``), the rest fine-tune every layer not frozen by ``freeze``
    (phase ``"fine_tune"``, a fresh optimizer); ``history_`` records the
    ``phase`` of each epoch. A new head then starts fine-tuning from a useful
    guess instead of sending random gradients into the reused layers.
    ``"auto"``: a tenth of ``max_epochs`` (1 of 10, 2 of 20; none below 10),
    so that most epochs move the reused layers (the User Guide gives the
    measurements). 0: fine-tune every layer from the start.
    Skipped when there is no new head, with ``start="cold"``,
    ``freeze="trunk"``, a new input layer or a warm start.
shrink : float in (0, 1], default=1.0
    Shrink-and-perturb (Ash & Adams 2020): each reused weight that is trained
    (trunk and kept heads; not those frozen by ``freeze``, not new layers)
    starts at ``shrink * w_source + perturb * w_fresh``, where ``w_fresh`` is
    a fresh random initialisation of the same layer (the one a cold start with
    the same ``random_state`` would draw when no head is kept). 1: the
    source's weights as they are. Smaller weights keep the direction of what
    the source learned but let training move them further; they help most
    when the source is unrelated to the new task (see the
    :ref:`User Guide <shrink_perturb>`).
perturb : float >= 0, default=0.0
    Scale of the fresh initialisation added by shrink-and-perturb; 0 adds
    nothing. Ignored, like ``shrink``, with ``start="cold"``.
"""
_BATCH_SIZE_AUTO = """\
batch_size : int or "auto", default="auto"
    Mini-batch size for training (``predict_batch_size`` for prediction).
    ``"auto"``: 128 rows, but at least 8 steps per epoch on small data
    (``n_samples // 8`` rows, at least 8): a model fitted on 60 rows takes 8
    steps per epoch instead of one. The batch size used is ``batch_size_``.
"""

_STEP_SIZE = """\
lr : float or "auto", default="auto"
    Learning rate. ``"auto"``: 1e-3, but 2e-3 where ``batch_size="auto"``
    takes batches of 512 rows from the first epoch (above 16,000 training
    rows; batches that grow keep 1e-3).
batch_size : int or "auto", default="auto"
    Mini-batch size for training (``predict_batch_size`` for prediction).
    ``"auto"``: 128 rows, but 512 above 16,000 training rows for the default
    MLP trunk (on the tabular suite's 5 tables of 17,000 to 22,500 training
    rows, batches of 512 at ``lr=2e-3`` took 0.70x the CPU time at -0.0002 on
    the mean score; see :ref:`tabular`); from 5,000 to 16,000 training rows
    its batches grow after the first 10 epochs of a fit, to 256 rows from
    epoch 11 and 512 from epoch 21, at the same rate (on the suite's 5 tables
    of 5,280 to 12,000 training rows, 0.87x the CPU time at +0.0004 on the
    mean score). MMoE, TabM and a ``module`` of yours keep 128. The batch size
    used is ``batch_size_``, its growth ``batch_growth_`` (``((first epoch,
    rows), ...)``, empty where the batches keep their size).
"""

_DROPOUT = """\
dropout : float or "auto", default="auto"
    Dropout probability after each hidden layer. ``"auto"``: 0.1, but none
    above 16,000 training rows for the default MLP trunk (on the tabular
    suite's 5 tables of 17,000 to 22,500 training rows it took 0.80x the CPU
    time at +0.0003 on the mean score; see :ref:`tabular`). MMoE and TabM keep
    0.1.
"""

_FRAGMENTS = {
    "dropout_parameter": _DROPOUT,
    "step_size_parameters": _STEP_SIZE,
    "fine_tuning_parameters": _FINE_TUNING,
    "batch_size_auto_parameter": _BATCH_SIZE_AUTO,
    "fine_tuning_attributes": """
reused_heads_ : list of bool
    For each new task, whether the source's head was kept (hot start, same
    task name or position, same kind, same classes).
frozen_parameters_ : list of str
    Names of the parameters that were frozen during fit (by ``freeze``; the
    ``head_warmup`` phase freezes the shared layers for its epochs only).
batch_size_ : int
    Rows per training step (``batch_size``, resolved for ``"auto"``).
module_ : torch.nn.Module
    The fine-tuned network (a copy: the source's network is unchanged).
""",
    "task_loss_parameters": """
task_weighting : {"equal", "uncertainty", "dwa", "pcgrad"}, default="equal"
    How task losses are combined: plain sum; learned homoscedastic uncertainty
    (Kendall et al. 2018); dynamic weight average (Liu et al. 2019); or
    projected conflicting gradients on the shared layers (Yu et al. 2020).
    See :mod:`sk_mtl.weighting`.
loss : {"cross_entropy", "focal", "ohem"}, default="cross_entropy"
    Per-task loss: cross-entropy, focal loss (Lin et al. 2017) or online hard
    example mining (Shrivastava et al. 2016: only the hardest
    ``ohem_fraction`` of each batch's labelled samples is back-propagated).
focal_gamma : float, default=2.0
    Focusing parameter of the focal loss.
ohem_fraction : float, default=0.25
    Fraction of each batch kept by ``loss="ohem"``.
""",
    "optimizer_parameters": _OPTIMIZER + _EARLY_STOPPING + _VALIDATION + _RUNTIME,
    "optimizer_parameters_auto_stop": (
        _OPTIMIZER
        + _EARLY_STOPPING_AUTO
        + _VALIDATION_AUTO
        + _N_BAGS
        + _LINEAR_BLEND
        + _RUNTIME
    ),
    # MultiTaskRegressor and MixedTaskEstimator (MultiTaskClassifier says more).
    "shared_network_input_parameters": """
categorical_features : "from_dtype", list of str or int, bool mask or None, \
default="from_dtype"
    Categorical columns of X, read through learned embeddings by the tabular
    front-end, as in :class:`MultiTaskClassifier` (see :ref:`tabular`):
    ``"from_dtype"`` takes the DataFrame columns of ``category``, ``object``
    or ``string`` dtype. X with a categorical column or a missing value (NaN)
    is read by the front-end (quantile-scaled numbers, missing indicators).
numeric_embedding : {None, "periodic", "piecewise_linear"}, default=None
    Embedding of each numeric column through the tabular front-end (needs
    the ``tabular`` extra); None: the value itself.
linear_view : bool, default=True
    Beside each numeric column's quantile-normal value, the column
    robust-scaled and smoothly clipped, as in :class:`MultiTaskClassifier`;
    False: the quantile view alone. Not with ``numeric_embedding`` or
    ``module``.
value_view : bool or "auto", default="auto"
    A numeric column that is mostly one value with a few others recurring
    (a capital gain) also read as a categorical column of its values, as in
    :class:`MultiTaskClassifier`; ``"auto"``: where every task has more than
    16,000 labelled training rows. Dense numeric X with such a column is read
    by the tabular front-end; not with ``module``.
module : torch.nn.Module, its class, or None, default=None
    Your own shared trunk instead of the MLP of ``hidden_units``, as in
    :class:`MultiTaskClassifier`: it maps ``(n_samples, n_features)`` to
    ``(n_samples, d)`` and sk_mtl adds one head per task.
module_options : dict, default=None
    Keyword arguments of a ``module`` class (``module__<name>``).
""",
    # Classifiers only (after the optimizer parameters in their docstrings).
    "class_weight_parameter": _CLASS_WEIGHT,
    "n_threads_parameter": _N_THREADS,
    "bagging_attributes": """
estimators_ : list of estimators
    With ``n_bags > 1`` only: the k members, each this estimator with
    ``n_bags=1`` and its own ``net_``, ``module_``, ``input_`` and ``history_``
    (which the bagged model does not have).
bag_folds_ : ndarray of shape (n_samples,)
    With ``n_bags > 1`` only: the fold of each training row; member i was
    early-stopped on the rows of fold i and trained on the others.
""",
    "linear_blend_attributes": """
linear_blend_weights_ : ndarray of shape (n_tasks,)
    With ``linear_blend`` on and rows held out (``n_bags=1``): each task's
    weight ``w`` of its linear model (0: the network alone).
linear_coef_ : ndarray of shape (n_linear_features, n_outputs) or None
    The linear models of every task side by side (each task's columns as wide
    as its head: logits of its classes, or its standardised prediction), on
    the numeric or scaled numeric columns, then the missing indicators and the
    one-hot codes of each categorical column of the input; None when every
    weight is 0.
linear_intercept_ : ndarray of shape (n_outputs,) or None
    Their intercepts; None when every weight is 0.
""",
    "fitted_attributes": """
classes_ : ndarray or list of ndarray
    Classes of the task (1-D ``y``) or of each task.
n_tasks_ : int
    Number of tasks.
task_names_ : list of str
    Column names of a DataFrame ``y``; ``"task_0"``, ... otherwise.
tasks_ : list of task objects
    One per column of ``y``: its classes, head width, prediction and scoring.
input_ : input object
    What X is (numeric features, or texts with their tokenizer), fitted on the
    training X; it validates X and makes the network's input tensors.
n_features_in_ : int
    Number of features seen during fit (numeric X).
feature_names_in_ : ndarray of shape (`n_features_in_`,)
    Names of features seen during fit, when X has string column names.
net_ : skorch.NeuralNet
    The skorch net of the (last) training phase.
history_ : skorch.History
    Per-epoch record: ``train_loss``, ``train_loss_<task>``, ``valid_loss``,
    ``valid_task_loss``, ``dur``, ...
n_iter_ : int
    Number of epochs run.
loss_curve_ : list of float
    Training loss of each epoch (a view of ``history_``, as in
    MLPClassifier).
validation_scores_ : list of float or None
    With ``early_stopping``: mean over tasks of the accuracy on the labelled
    validation entries, each epoch; None otherwise.
best_validation_score_ : float or None
    Best of ``validation_scores_``; None without ``early_stopping``.
""",
}

_PLACEHOLDER = re.compile(r"^( *)%\((\w+)\)s$", re.MULTILINE)


def fill_doc(cls):
    """Class decorator: put the shared fragments into ``cls.__doc__``."""

    def substitute(match):
        indent, name = match.groups()
        return textwrap.indent(_FRAGMENTS[name].strip("\n"), indent)

    cls.__doc__ = _PLACEHOLDER.sub(substitute, cls.__doc__)
    return cls
