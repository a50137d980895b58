"""sk_mtl: multi-task learning (classification, regression and mixed tasks),
fine-tuning, transfer learning and hard example mining as scikit-learn estimators."""

from ._fine_tuning import FineTuner
from ._fine_tuning_regressor import FineTunerRegressor
from ._hard_example_mining import HardExampleMiningClassifier
from ._merge import MergedClassifier, merge_models
from ._mixed import MixedTaskEstimator
from ._multitask import MultiTaskClassifier
from ._persistence import load, register_savable, save
from ._regressor import MultiTaskRegressor
from ._transfer import TransferClassifier
from .metrics import make_task_scorer
from .text import SentenceEncoder

__version__ = "0.1.0.dev0"

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
