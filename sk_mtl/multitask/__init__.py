"""Multi-task estimators: one shared network, one head per task."""

from ._classifier import MultiTaskClassifier
from ._mixed import MixedTaskEstimator
from ._regressor import MultiTaskRegressor

__all__ = ["MixedTaskEstimator", "MultiTaskClassifier", "MultiTaskRegressor"]
