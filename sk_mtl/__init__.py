"""sk_mtl: multi-task learning, fine-tuning, transfer learning and hard example mining
as scikit-learn estimators."""

from ._multitask import MultiTaskClassifier
from .metrics import make_task_scorer
from .text import SentenceEncoder

__version__ = "0.1.0.dev0"

__all__ = [
    "MultiTaskClassifier",
    "SentenceEncoder",
    "make_task_scorer",
    "__version__",
]
