"""A fast glibc allocator for torch where ``MALLOC_TRIM_THRESHOLD_`` is set.

dask.distributed's nanny starts every worker process with
``MALLOC_TRIM_THRESHOLD_=65536`` (its ``distributed.nanny.pre-spawn-environ``
config), so that workers hand freed memory back to the system. Setting any
malloc threshold from the environment also switches off glibc's *dynamic* mmap
threshold, which stays at its 128 KiB minimum: every tensor of 128 KiB or more
(a 256 x 485 float32 batch is 485 KiB) becomes a fresh ``mmap``, zero-filled page
by page and unmapped when freed. Measured in ``benchmarks/results/scale_out.md``:
torch's training steps ran about 40 % slower in such a worker than in a plain
process.

:func:`fast_allocation` raises the mmap threshold (``mallopt(M_MMAP_THRESHOLD)``)
for the duration of a fit or predict, so tensors are served from the heap, then
puts back the 128 KiB that was in effect. The trim threshold is raised with it:
at 64 KiB every free at the top of the heap hands pages back and the next batch
faults them in again (about ten times the page faults of a plain process,
measured on a fit in a thread). On the way out the environment's trim threshold
is restored and ``malloc_trim(0)`` returns the freed memory at once, so a worker
between tasks holds no more than the nanny's setting intends. It acts only on
glibc, only while ``MALLOC_TRIM_THRESHOLD_`` is set and only when
``MALLOC_MMAP_THRESHOLD_`` is not: a user who sets the mmap threshold keeps it.
"""

import ctypes
import functools
import os
import platform
import threading

# mallopt's parameter numbers (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# Allocations below this come from the heap while a fit runs, and free memory
# at the heap's top is kept up to it: above the largest batch tensors of
# typical models, far below a machine's memory.
FIT_MMAP_THRESHOLD = 32 * 1024 * 1024
# glibc's fixed threshold once the dynamic one is off (DEFAULT_MMAP_THRESHOLD_MIN).
STATIC_MMAP_THRESHOLD = 128 * 1024
# glibc's default trim threshold (DEFAULT_TRIM_THRESHOLD).
DEFAULT_TRIM_THRESHOLD = 128 * 1024

_lock = threading.Lock()
_active = 0


@functools.cache
def _libc():
    """glibc, or None on another C library or platform (looked up once: the
    check reads the interpreter's binary)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def _mallopt():
    """glibc's ``mallopt``, or None on another C library or platform."""
    return getattr(_libc(), "mallopt", None)


def _malloc_trim():
    """glibc's ``malloc_trim``, or a no-op where it is missing."""
    return getattr(_libc(), "malloc_trim", lambda pad: 0)


def _environ_trim_threshold():
    """The trim threshold the environment asked for (glibc's default if unreadable)."""
    try:
        return int(os.environ["MALLOC_TRIM_THRESHOLD_"])
    except (KeyError, ValueError):
        return DEFAULT_TRIM_THRESHOLD


def needs_tuning(environ=None):
    """Whether the environment froze glibc's mmap threshold at its minimum.

    Parameters
    ----------
    environ : mapping, optional
        Defaults to ``os.environ``.

    Returns
    -------
    bool
        True when ``MALLOC_TRIM_THRESHOLD_`` is set and ``MALLOC_MMAP_THRESHOLD_``
        is not.
    """
    environ = os.environ if environ is None else environ
    return (
        "MALLOC_TRIM_THRESHOLD_" in environ and "MALLOC_MMAP_THRESHOLD_" not in environ
    )


class fast_allocation:
    """Raise glibc's mmap threshold for the body where the environment froze it.

    Nested and concurrent bodies (several fits in the threads of one dask
    worker) share one raise; the last one out puts the 128 KiB mmap threshold
    and the environment's trim threshold back and trims the heap. Does nothing
    where :func:`needs_tuning` is False or ``mallopt`` is missing. A class
    rather than a generator: entered on every prediction, it costs no
    generator frame.
    """

    __slots__ = ("mallopt",)

    def __enter__(self):
        global _active
        self.mallopt = mallopt = _mallopt() if needs_tuning() else None
        if mallopt is None:
            return
        with _lock:
            if _active == 0:
                mallopt(M_MMAP_THRESHOLD, FIT_MMAP_THRESHOLD)
                mallopt(M_TRIM_THRESHOLD, FIT_MMAP_THRESHOLD)
            _active += 1

    def __exit__(self, *exc_info):
        global _active
        mallopt = self.mallopt
        if mallopt is None:
            return False
        with _lock:
            _active -= 1
            if _active == 0:
                mallopt(M_MMAP_THRESHOLD, STATIC_MMAP_THRESHOLD)
                mallopt(M_TRIM_THRESHOLD, _environ_trim_threshold())
                _malloc_trim()(0)
        return False


def may_map(work_per_batch):
    """Whether a batch of ``work_per_batch`` multiply-adds can allocate a tensor
    of the mmap threshold's size (128 KiB).

    Its tensors hold at most rows x widest layer <= rows x parameters = work
    float32 values; the test keeps a margin of 3 over that bound. Below the
    threshold every allocation comes from the heap anyway, so
    :class:`fast_allocation` has nothing to do (a one-row prediction).
    """
    return 3 * work_per_batch * 4 >= STATIC_MMAP_THRESHOLD


def release_free_memory():
    """Hand the heap's free memory back to the system (glibc's ``malloc_trim``).

    Called at the end of ``fit``: glibc raises its mmap and trim thresholds after
    large tensors are freed, so the batches and temporaries of a fit on large X
    would otherwise stay resident in the heap (measured in benchmarks/memory.py:
    1.9x the size of X after a fit on 500,000 x 50 float32). A no-op elsewhere,
    and where :func:`fast_allocation` tunes the allocator: it trims on its way out.
    """
    if not needs_tuning():
        _malloc_trim()(0)
