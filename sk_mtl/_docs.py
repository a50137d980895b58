"""Parameter and attribute docs shared by the neural estimators, written once.

A docstring line holding only ``%(name)s`` (indented like the section around it)
is replaced by the fragment ``name`` by :func:`fill_doc`, as imbalanced-learn's
``Substitution`` does.
"""

import re
import textwrap

__all__ = ["fill_doc"]

_OPTIMIZER = """\
optimizer : {"adam", "adamw", "sgd"}, default="adam"
    Optimizer.
weight_decay : float, default=0.0
    L2 penalty (decoupled for ``"adamw"``).
"""
_EARLY_STOPPING = """\
early_stopping : bool, default=False
    Hold out ``validation_fraction`` of the training data (stratified on the
    first task), stop when the summed validation loss of the tasks has not
    improved by ``tol`` for ``n_iter_no_change`` epochs, and restore the best
    weights.
"""
_EARLY_STOPPING_AUTO = """\
early_stopping : "auto" or bool, default="auto"
    Hold out ``validation_fraction`` of the training data (stratified on the
    first task), stop when the summed validation loss of the tasks has not
    improved by ``tol`` for ``n_iter_no_change`` epochs, and restore the best
    weights. ``"auto"``: on when there are more than 10,000 training rows (as
    :class:`~sklearn.ensemble.HistGradientBoostingClassifier` does).
"""
_TRAINING = """\
validation_fraction : float, default=0.1
    Fraction of the training data held out for early stopping.
n_iter_no_change : int, default=10
    Patience of early stopping, in epochs.
tol : float, default=1e-4
    Minimum improvement of the validation loss for early stopping.
device : str, default="cpu"
    Torch device, e.g. ``"cpu"`` or ``"cuda"``.
n_threads : "auto" or int, default="auto"
    torch intra-op threads used during ``fit`` and prediction only (the caller's
    setting is restored afterwards). ``"auto"``: one thread for small networks
    and batches, more for large ones, never more than the cores this process
    may use, than the limit of the joblib/dask worker it runs in, or than the
    cores left idle by other work. An int is used as given; ``-1`` uses every
    available core.
verbose : int, default=0
    Print an epoch table (losses per task, timing) when > 0.
callbacks : list of skorch callbacks, default=None
    Extra skorch callbacks (instances or ``(name, callback)`` tuples).
"""

_FRAGMENTS = {
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
    "optimizer_parameters": _OPTIMIZER + _EARLY_STOPPING + _TRAINING,
    "optimizer_parameters_auto_stop": _OPTIMIZER + _EARLY_STOPPING_AUTO + _TRAINING,
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
