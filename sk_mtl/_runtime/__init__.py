"""Where and how the computation runs.

Device strings, float32 networks and Ctrl-C (:mod:`._device`), torch threads
(:mod:`._threads`), the allocator tuning (:mod:`._malloc`).
"""

from ._device import (
    FitInterruptedWarning,
    check_device,
    float32_default_dtype,
    handle_interrupt,
)

__all__ = [
    "FitInterruptedWarning",
    "check_device",
    "float32_default_dtype",
    "handle_interrupt",
]
