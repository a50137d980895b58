"""Whether two fitted objects hold the same fitted values.

Members of a bagged model each fit their own input on the same X (so they can
share one: :func:`~sk_mtl.multitask._bagging.shared_input`), and models merged
in weight space must read X alike (:mod:`sk_mtl.transfer._merge_math`): both
ask this one question.
"""

import numpy as np

__all__ = ["same_fit"]


def same_fit(a, b):
    """Whether two fitted objects (an input, its scaler, their arrays) hold the
    same fitted values: their pickled state, so caches rebuilt from it (which
    the classes leave out of it) are not compared."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and bool(np.array_equal(a, b))
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(map(same_fit, a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_fit(a[k], b[k]) for k in a)
    if callable(getattr(a, "to_config", None)):
        return same_fit(a.to_config(), b.to_config())
    if hasattr(a, "__dict__"):
        return same_fit(_state(a), _state(b))
    return bool(a == b)


def _state(obj):
    """What pickling ``obj`` keeps (its ``__getstate__``, else its attributes)."""
    getstate = getattr(type(obj), "__getstate__", None)
    state = getstate(obj) if getstate is not None else None
    return vars(obj) if state is None else state
