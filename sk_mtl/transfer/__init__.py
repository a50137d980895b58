"""Transfer learning.

Fine-tuning, transfer onto new heads, the sources they read and model merging.
"""

from ._fine_tuning import FineTuner
from ._fine_tuning_regressor import FineTunerRegressor
from ._merge import MergedClassifier, merge_models
from ._transfer import TransferClassifier

__all__ = [
    "FineTuner",
    "FineTunerRegressor",
    "MergedClassifier",
    "TransferClassifier",
    "merge_models",
]
