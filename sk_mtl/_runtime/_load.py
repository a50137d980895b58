"""How busy other processes keep this machine's cores, measured without waiting.

:func:`busy_cores` is what ``n_threads="auto"`` (:mod:`._threads`) leaves to
other processes. A :class:`_LoadMonitor` per process reads ``/proc/stat`` and the
process's own CPU time between calls, never sleeping, and reuses its estimate
for :data:`LOAD_REFRESH_S`; a forked child starts a fresh one.
"""

import math
import os
import threading
import time

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


def busy_cores():
    """Cores that other processes keep busy now (:class:`_LoadMonitor`)."""
    return _MONITOR.busy_cores()
