"""Hard example mining: hardness math, out-of-fold fits and the meta-estimator.

This family never imports the training engine: it wraps any classifier.
"""

from ._hard_example_mining import HardExampleMiningClassifier

__all__ = ["HardExampleMiningClassifier"]
