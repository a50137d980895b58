"""How many torch intra-op threads a fit or predict should use.

Idle-spinning intra-op threads fight for cores: on a shared 2-core machine a tiny
network fitted 27x slower with torch's default 2 threads than with 1. The
estimators' ``n_threads`` parameter is resolved here (:func:`resolve_n_threads`)
and applied for the duration of one call only (:func:`torch_threads`). The
``"auto"`` rule and its threshold come from ``benchmarks/threads.py``; the
figures are in ``benchmarks/results/threads.md``. The load of other processes
is measured between calls (:class:`_LoadMonitor`), so a call never waits for it:
a one-row prediction costs what its network costs.
"""

import math
import numbers
import os
import sys
import threading
import time

import torch

from ._malloc import fast_allocation, may_map

# "auto" gives each intra-op thread at least this much work per batch, in
# multiply-adds of one forward+backward batch (batch_size * n_parameters). Below
# it one thread wins or ties; chosen in benchmarks/results/threads.md.
MIN_WORK_PER_THREAD = 8_000_000

# The thread-count variables torch honours (OpenMP for its own kernels, MKL for
# BLAS); joblib's loky backend sets both in its workers.
_THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")

# The load estimate of other processes is reused for this long: calls in quick
# succession read no file. A window of 0.25 s holds 25 clock ticks per core.
LOAD_REFRESH_S = 0.25
# A window between two refreshes longer than this is stale: the next refresh
# counts the threads runnable at that instant instead.
LOAD_STALE_S = 5.0

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _affinity():
    """The ids of the CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return frozenset(os.sched_getaffinity(0))
    return frozenset(range(os.cpu_count() or 1))


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


def _running_elsewhere():
    """Runnable threads on the machine now, less this process's own (Linux).

    ``/proc/loadavg`` counts the threads runnable at this instant; this process's
    (the caller, torch threads still spinning after the last op) are taken off.
    None where ``/proc`` is missing.
    """
    try:
        with open("/proc/loadavg") as f:
            running = int(f.read().split()[3].split("/")[0])
        own = 0
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/stat") as f:
                own += f.read().rpartition(")")[2].split()[0] == "R"
    except (OSError, ValueError, IndexError):
        return None
    return max(0, running - own)


def _cpu_ticks(cpus):
    """``(busy, total)`` clock ticks of ``cpus`` since boot, from ``/proc/stat``.

    Busy is user, nice, system, irq, softirq and steal time (a core the
    hypervisor gave to another guest is not ours either); total adds idle and
    iowait. None where ``/proc/stat`` is missing or unreadable.
    """
    busy = total = 0
    try:
        with open("/proc/stat") as f:
            for line in f:
                if not line.startswith("cpu"):
                    break
                name, *fields = line.split()
                if name == "cpu" or int(name[3:]) not in cpus:
                    continue
                ticks = [int(v) for v in fields[:8]]
                busy += sum(ticks[:3]) + sum(ticks[5:8])
                total += sum(ticks)
    except (OSError, ValueError):
        return None
    return (busy, total) if total else None


def _own_ticks():
    """CPU time of this process (all its threads) so far, in clock ticks."""
    times = os.times()
    return (times.user + times.system) * _CLOCK_TICKS


class _LoadMonitor:
    """Cores that other processes keep busy, measured between calls, never waiting.

    Each refresh reads ``/proc/stat`` and this process's CPU time: the busy time
    of the available cores since the previous refresh, less this process's
    own, is the load of the others over that window. The estimate is kept for
    :data:`LOAD_REFRESH_S`, so back-to-back calls (one-row predictions) read no
    file at all. The first refresh of a process, or one after a window longer
    than :data:`LOAD_STALE_S` (an old average says little about now), counts
    the threads runnable elsewhere at that instant instead; without ``/proc``,
    the 1-minute load average less one (this process).

    Parameters
    ----------
    clock : callable, default=time.monotonic
        Seconds, for the age of the estimate and of the window.
    """

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.reset()

    def reset(self):
        """Forget every sample (a forked child: its own CPU time restarts)."""
        self._lock = threading.Lock()
        self._sample = None  # (time, cpus, busy ticks, total ticks, own ticks)
        self._estimate = None
        self._estimated_at = -math.inf

    def busy_cores(self):
        """Cores busy with other processes, recent average (float >= 0)."""
        now = self.clock()
        if now - self._estimated_at < LOAD_REFRESH_S:
            return self._estimate
        with self._lock:
            if now - self._estimated_at >= LOAD_REFRESH_S:
                self._estimate = self._refresh(now)
                self._estimated_at = now
            return self._estimate

    def _refresh(self, now):
        cpus = _affinity()
        ticks = _cpu_ticks(cpus)
        previous, own = self._sample, _own_ticks()
        self._sample = None if ticks is None else (now, cpus, *ticks, own)
        if ticks is None:
            return _load_average_elsewhere()
        if previous is None or previous[1] != cpus or now - previous[0] > LOAD_STALE_S:
            count = _running_elsewhere()
            return _load_average_elsewhere() if count is None else float(count)
        d_busy, d_total = ticks[0] - previous[2], ticks[1] - previous[3]
        if d_total <= 0:
            return self._estimate or 0.0
        others = (d_busy - (own - previous[4])) / d_total * len(cpus)
        return max(0.0, others)


def _load_average_elsewhere():
    try:
        return max(0.0, os.getloadavg()[0] - 1)
    except (OSError, AttributeError):
        return 0.0


_MONITOR = _LoadMonitor()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_MONITOR.reset)


def _busy_cores():
    """Cores that other processes keep busy now (:class:`_LoadMonitor`)."""
    return _MONITOR.busy_cores()


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
        that other processes kept busy lately (:class:`_LoadMonitor`, looked at
        only when more than one thread is still in question) to them.
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
        # Rounded half up: another process holding half a core or more costs a
        # thread (an intra-op thread that waits for a core stalls all others).
        n = min(n, math.floor(available_cores() - _busy_cores() + 0.5))
    return max(1, n)


class torch_threads:
    """Run the body with ``torch.set_num_threads(n)``, then restore the setting.

    The previous value comes back also when the body raises. Nothing is changed
    when ``n`` is None or already the current value. Inter-op threads are left
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
            previous = torch.get_num_threads()
            if self.n != previous:
                torch.set_num_threads(self.n)
                self.previous = previous

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
    """

    __slots__ = ("allocation",)

    def __init__(self, n, work_per_batch=None):
        super().__init__(n)
        small = work_per_batch is not None and not may_map(work_per_batch)
        self.allocation = None if small else fast_allocation()

    def __enter__(self):
        super().__enter__()
        if self.allocation is None:
            return
        try:
            self.allocation.__enter__()
        except BaseException:
            super().__exit__(None, None, None)
            raise

    def __exit__(self, *exc_info):
        try:
            if self.allocation is not None:
                self.allocation.__exit__(*exc_info)
        finally:
            super().__exit__(*exc_info)
        return False


def thread_scope(n_threads, work_per_batch):
    """The :class:`compute_scope` of an estimator's ``n_threads`` setting for
    batches of ``work_per_batch`` multiply-adds (:func:`resolve_n_threads`)."""
    n = resolve_n_threads(n_threads, work_per_batch=work_per_batch)
    return compute_scope(n, work_per_batch)
