"""sk_mtl: multi-task learning (classification, regression and mixed tasks),
fine-tuning, transfer learning and hard example mining as scikit-learn estimators."""

from ._moved_modules import install_aliases as _install_aliases
from ._persistence import load, register_savable, save
from ._version import __version__
from .metrics import make_task_scorer
from .mining import HardExampleMiningClassifier
from .multitask import MixedTaskEstimator, MultiTaskClassifier, MultiTaskRegressor
from .text import SentenceEncoder
from .transfer import (
    FineTuner,
    FineTunerRegressor,
    MergedClassifier,
    TransferClassifier,
    merge_models,
)

_install_aliases()

__all__ = [
    "FineTuner",
    "FineTunerRegressor",
    "HardExampleMiningClassifier",
    "MergedClassifier",
    "MixedTaskEstimator",
    "MultiTaskClassifier",
    "MultiTaskRegressor",
    "SentenceEncoder",
    "TransferClassifier",
    "load",
    "make_task_scorer",
    "merge_models",
    "register_savable",
    "save",
    "__version__",
]
