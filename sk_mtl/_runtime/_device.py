"""Where a fit runs: the device, the default dtype, and what Ctrl-C does.

- :func:`check_device`: any torch device string works or gets a clear ValueError
  (``"cpu"``, ``"cpu:0"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``; ``"meta"`` holds
  no data, so nothing can be trained on it);
- :func:`float32_default_dtype`: the networks compute in float32 whatever
  ``torch.set_default_dtype`` says (a float64 default would build float64 layers
  that cannot read the float32 input);
- :func:`handle_interrupt`: Ctrl-C during fit. skorch swallows it and returns a
  partly trained net; sk_mtl keeps that convention for a fit called directly (the
  model is kept as it was when interrupted, with a warning that says how many
  epochs ran), but re-raises it inside a model-selection loop (``GridSearchCV``,
  ``cross_validate``, joblib workers), so one Ctrl-C stops the whole search, and
  in ``partial_fit``, so that it stops the caller's loop over chunks.
"""

import contextlib
import sys
import warnings

import torch

__all__ = ["check_device", "float32_default_dtype", "handle_interrupt"]


class FitInterruptedWarning(UserWarning):
    """A fit was stopped by Ctrl-C; the model is the partly trained one."""


def check_device(device, caller):
    """The ``torch.device`` for a ``device`` string, or a ValueError saying why not."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"{caller}: invalid device {device!r} ({exc}). Use e.g. 'cpu', 'cuda', "
            "'cuda:1' or 'mps'."
        ) from None
    if dev.type == "cpu":
        return dev
    if dev.type == "meta":
        raise ValueError(
            f"{caller}: device='meta' holds no data, so a network cannot be trained "
            "or run on it; use 'cpu', 'cuda' or 'mps'."
        )
    module = getattr(torch, dev.type, None)
    available = getattr(module, "is_available", None)
    if dev.type == "mps":
        available = torch.backends.mps.is_available
    if available is None or not available():
        raise ValueError(
            f"{caller}: device={device!r} was requested but {dev.type.upper()} is "
            "not available on this machine (or this torch build); use device='cpu'."
        )
    count = getattr(module, "device_count", None)
    if dev.index is not None and callable(count) and dev.index >= count():
        raise ValueError(
            f"{caller}: device={device!r} does not exist: this machine has "
            f"{count()} {dev.type} device(s), numbered from 0."
        )
    return dev


@contextlib.contextmanager
def float32_default_dtype():
    """Run the block with torch's default dtype set to float32, then restore it."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


# Frames of these modules on the stack mean the fit runs inside a search or a
# cross-validation loop: Ctrl-C must stop the loop, not only this fit.
_LOOP_MODULES = ("sklearn.model_selection", "sklearn.utils.parallel", "joblib")


def _inside_search():
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name.startswith(_LOOP_MODULES):
            return True
        frame = frame.f_back
    return False


def handle_interrupt(estimator, epochs_done, method="fit"):
    """After Ctrl-C in ``method``: re-raise inside a search or a partial_fit
    loop, otherwise warn and keep the model.

    ``partial_fit`` is called in a loop of the caller's (one call per chunk), so
    Ctrl-C always stops it with a KeyboardInterrupt: a warning would let the loop
    go on with the next chunk. The model keeps the steps trained so far.
    """
    name = type(estimator).__name__
    if method == "partial_fit":
        raise KeyboardInterrupt(
            f"{name}.partial_fit interrupted (Ctrl-C) after {epochs_done} "
            "passes in all; the model keeps the steps trained so far."
        )
    if _inside_search():
        raise KeyboardInterrupt(
            f"{name}.fit interrupted after {epochs_done} of {estimator.max_epochs} "
            "epochs; the search is stopped."
        )
    warnings.warn(
        f"{name}.fit was interrupted (Ctrl-C) after {epochs_done} of "
        f"{estimator.max_epochs} epochs: the model is kept as it was then "
        "(partly trained). Call fit again to train it fully.",
        FitInterruptedWarning,
        stacklevel=3,
    )
