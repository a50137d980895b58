"""How many torch intra-op threads a fit or predict should use.

Idle-spinning intra-op threads fight for cores: on a shared 2-core machine a tiny
network fitted 27x slower with torch's default 2 threads than with 1. The
estimators' ``n_threads`` parameter is resolved here (:func:`resolve_n_threads`)
and applied for the duration of one call only (:func:`torch_threads`). The
``"auto"`` rule and its threshold come from ``benchmarks/threads.py``; the
figures are in ``benchmarks/results/threads.md``. The load of other processes
is measured between calls (:mod:`._load`), so a call never waits for it:
a one-row prediction costs what its network costs.
"""

import math
import numbers
import os
import sys
import threading

import torch

from . import _load
from ._load import _affinity
from ._malloc import fast_allocation, may_map

# "auto" gives each intra-op thread at least this much work per batch, in
# multiply-adds of one forward+backward batch (batch_size * n_parameters), on a
# machine where other processes keep less than IDLE_BELOW of a core busy; where
# they keep more, at least MIN_WORK_PER_THREAD_SHARED. Below these, one thread
# wins or ties (benchmarks/results/threads.md: idle, 2 threads are 0-11 % faster
# from 2M multiply-adds per batch and level below; with other work on the
# machine, 1 thread wins below about 16M).
MIN_WORK_PER_THREAD = 1_000_000
MIN_WORK_PER_THREAD_SHARED = 8_000_000
IDLE_BELOW = 0.25

# The thread-count variables torch honours (OpenMP for its own kernels, MKL for
# BLAS); joblib's loky backend sets both in its workers.
_THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def available_cores():
    """The number of CPUs this process may run on.

    Returns
    -------
    int
        ``len(os.sched_getaffinity(0))`` where the platform has it, else
        ``os.cpu_count()``; at least 1.
    """
    return max(1, len(_affinity()))


def _env_limit():
    """The smallest positive ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS``, or None."""
    limits = []
    for var in _THREAD_ENV_VARS:
        # OpenMP accepts a nesting list such as "4,2"; the first level is ours.
        value = os.environ.get(var, "").split(",")[0].strip()
        if value.isdigit() and int(value) > 0:
            limits.append(int(value))
    return min(limits) if limits else None


def _dask_limit():
    """Cores per task slot inside a dask.distributed worker, else None.

    A worker runs ``nthreads`` tasks at once in one process, so each task gets
    ``available_cores() // nthreads``. ``distributed`` is only consulted when
    already imported (a worker always has it).
    """
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        worker = distributed.get_worker()
    except (ValueError, AttributeError):  # not in a worker / no get_worker
        return None
    state = getattr(worker, "state", worker)
    nthreads = getattr(state, "nthreads", None) or getattr(worker, "nthreads", None)
    if not nthreads:
        return None
    return max(1, available_cores() // int(nthreads))


def _joblib_thread_limit():
    """1 inside a thread of a joblib thread-based worker pool, else None.

    joblib runs every task under a nested backend (``nesting_level >= 1``). Its
    process workers (loky) run tasks in their main thread and get their limit from
    the ``OMP_NUM_THREADS`` joblib sets; a task in a worker *thread* shares the
    process's cores with its sibling tasks, whose number is not recorded.
    """
    parallel = sys.modules.get("joblib.parallel")
    if parallel is None or threading.current_thread() is threading.main_thread():
        return None
    try:
        backend, _ = parallel.get_active_backend()
    except Exception:  # pragma: no cover - defensive against joblib changes
        return None
    return 1 if (getattr(backend, "nesting_level", 0) or 0) > 0 else None


def worker_thread_limit():
    """The thread limit of the parallel worker this code runs in, else None.

    Takes the smallest of: ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` (set by the
    user, or by joblib's loky backend in its workers: ``inner_max_num_threads``,
    else ``cpu_count() // n_jobs``), the per-task share of a dask.distributed
    worker, and 1 in a joblib worker thread.

    Returns
    -------
    int or None
        None when no limit applies.
    """
    limits = [f() for f in (_env_limit, _dask_limit, _joblib_thread_limit)]
    limits = [n for n in limits if n is not None]
    return min(limits) if limits else None


def _busy_cores():
    """Cores that other processes keep busy now (:func:`._load.busy_cores`)."""
    return _load.busy_cores()


def work_per_row(module):
    """Multiply-adds of one row's forward pass through ``module``, roughly.

    Each parameter is used once per row, except the shared MLP of an ensemble of
    ``k`` members (TabM, :class:`~sk_mtl.ensembles.MemberEnsemble`), which every
    member runs: ``k`` times.
    (Per-member weights, such as the members' heads, already count ``k`` times
    in the parameter count.)

    Parameters
    ----------
    module : torch.nn.Module
        The network.

    Returns
    -------
    int

    Examples
    --------
    >>> from sk_mtl.modules import MLP
    >>> work_per_row(MLP(10, (20,)))  # 10 * 20 weights + 20 biases
    220
    """
    from ..ensembles import member_ensembles

    work = sum(p.numel() for p in module.parameters())
    for m in member_ensembles(module):
        work += (m.n_members - 1) * sum(p.numel() for p in m.trunk.parameters())
    return work


def resolve_n_threads(n_threads, *, work_per_batch=None):
    """The number of torch intra-op threads for one fit or predict call.

    Parameters
    ----------
    n_threads : "auto", int >= 1 or -1
        An int is used as given; -1 means :func:`available_cores`. ``"auto"``
        starts from :func:`available_cores`, is capped by
        :func:`worker_thread_limit`, gives each thread at least
        :data:`MIN_WORK_PER_THREAD` of ``work_per_batch`` and leaves the cores
        that other processes kept busy lately (:mod:`._load`, looked at
        only when more than one thread is still in question) to them; when
        they keep :data:`IDLE_BELOW` of a core or more busy, each thread gets
        at least :data:`MIN_WORK_PER_THREAD_SHARED`.
    work_per_batch : float, optional
        Multiply-adds of one batch, ``rows * work_per_row(module)`` for a
        training step and for a forward pass alike. None skips the work rule.

    Returns
    -------
    int
        At least 1.
    """
    if n_threads == -1:
        return available_cores()
    if n_threads != "auto":
        if (
            isinstance(n_threads, numbers.Integral)
            and not isinstance(n_threads, bool)
            and n_threads >= 1
        ):
            return int(n_threads)
        raise ValueError(
            f"n_threads must be 'auto', a positive int or -1; got {n_threads!r}."
        )
    if work_per_batch is not None and work_per_batch < 2 * MIN_WORK_PER_THREAD:
        return 1  # the work rule alone decides: nothing else to look up
    n = available_cores()
    limit = worker_thread_limit()
    if limit is not None:
        n = min(n, limit)
    if work_per_batch is not None:
        n = min(n, int(work_per_batch // MIN_WORK_PER_THREAD))
    if n > 1:
        busy = _busy_cores()
        if work_per_batch is not None and busy >= IDLE_BELOW:
            n = min(n, int(work_per_batch // MIN_WORK_PER_THREAD_SHARED))
        # Rounded half up: another process holding half a core or more costs a
        # thread (an intra-op thread that waits for a core stalls all others).
        n = min(n, math.floor(available_cores() - busy + 0.5))
    return max(1, n)


class torch_threads:
    """Run the body with ``torch.set_num_threads(n)``, then restore the setting.

    The previous value comes back also when the body raises. Nothing is changed
    when ``n`` is None. The count is set even when :func:`torch.get_num_threads`
    already reads ``n``: that reads OpenMP's count, which threadpoolctl's
    ``threadpool_limits`` lowers without telling the MKL inside torch, so a fit
    under such a limit would otherwise run its matrix products on every core
    torch had used before (a call costs about 0.1 µs). Inter-op threads are left
    alone (torch refuses to change them once used). The setting belongs to the
    calling thread (OpenMP's per-thread thread count): a block in one thread
    changes neither the caller's nor other threads' count, so concurrent fits and
    predictions in threads do not undo each other's settings
    (``tests/test_concurrency.py``). A class rather than a generator: entered
    on every prediction, it costs no generator frame.

    Parameters
    ----------
    n : int or None
        Intra-op threads for the body, e.g. from :func:`resolve_n_threads`.
    """

    __slots__ = ("n", "previous")

    def __init__(self, n):
        self.n = n
        self.previous = None

    def __enter__(self):
        if self.n is not None:
            self.previous = torch.get_num_threads()
            torch.set_num_threads(self.n)

    def __exit__(self, *exc_info):
        if self.previous is not None:
            torch.set_num_threads(self.previous)
            self.previous = None
        return False


class compute_scope(torch_threads):
    """:class:`torch_threads` ``(n)`` and :class:`~._malloc.fast_allocation` in
    one block: where a fit or prediction computes.

    Parameters
    ----------
    n : int or None
        Intra-op threads for the body.
    work_per_batch : float, optional
        Multiply-adds of the body's batches; batches too small to allocate past
        the mmap threshold (:func:`~._malloc.may_map`) skip the allocator tuning.
    setting : "auto", int or None, default=None
        The ``n_threads`` setting ``n`` was resolved from; while the block runs,
        :func:`refresh_threads` resolves an ``"auto"`` setting again.
    """

    __slots__ = ("allocation", "setting", "work_per_batch", "outer")

    def __init__(self, n, work_per_batch=None, setting=None):
        super().__init__(n)
        self.setting, self.work_per_batch, self.outer = setting, work_per_batch, None
        small = work_per_batch is not None and not may_map(work_per_batch)
        self.allocation = None if small else fast_allocation()

    def __enter__(self):
        super().__enter__()
        self.outer, _SCOPES.current = getattr(_SCOPES, "current", None), self
        if self.allocation is None:
            return
        try:
            self.allocation.__enter__()
        except BaseException:
            self.allocation = None
            self.__exit__(None, None, None)
            raise

    def __exit__(self, *exc_info):
        try:
            if self.allocation is not None:
                self.allocation.__exit__(*exc_info)
        finally:
            _SCOPES.current, self.outer = self.outer, None
            super().__exit__(*exc_info)
        return False


# The innermost compute scope of each thread (refresh_threads acts on it).
_SCOPES = threading.local()


def refresh_threads():
    """Resolve the ``"auto"`` threads of the calling thread's innermost compute
    scope again, with the load as it is now; called between training epochs.

    A fit decides its threads when it starts; another process that starts
    during a long fit then costs it at most one epoch at the wrong thread count.
    Does nothing outside a compute scope or for an explicit ``n_threads``. The
    load is looked up at most every :data:`LOAD_REFRESH_S` (no file is read in
    between, and nothing waits).
    """
    scope = getattr(_SCOPES, "current", None)
    if scope is None or scope.setting != "auto":
        return
    n = resolve_n_threads("auto", work_per_batch=scope.work_per_batch)
    if n != torch.get_num_threads():  # the scope restores its previous count
        torch.set_num_threads(n)


def thread_scope(n_threads, work_per_batch):
    """The :class:`compute_scope` of an estimator's ``n_threads`` setting for
    batches of ``work_per_batch`` multiply-adds (:func:`resolve_n_threads`)."""
    n = resolve_n_threads(n_threads, work_per_batch=work_per_batch)
    return compute_scope(n, work_per_batch, setting=n_threads)
