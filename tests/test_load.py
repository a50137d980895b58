"""sk_mtl._runtime._load: the load of other processes, measured without waiting."""

import os

import pytest

from sk_mtl._runtime import _load


def test_busy_cores_is_a_non_negative_number():
    assert _load.busy_cores() >= 0.0


class _FakeProc:
    """Counters a test sets: the machine's busy/total ticks, this process's own
    CPU ticks, the runnable threads elsewhere; counts the reads."""

    def __init__(self, monkeypatch, n_cpus=2):
        self.cpus = frozenset(range(n_cpus))
        self.busy = self.total = self.own = 0
        self.running = 0
        self.reads = 0
        self.now = 100.0
        monkeypatch.setattr(_load, "_affinity", lambda: self.cpus)
        monkeypatch.setattr(_load, "_cpu_ticks", self._ticks)
        monkeypatch.setattr(_load, "_own_ticks", lambda: self.own)
        monkeypatch.setattr(_load, "_running_elsewhere", lambda: self.running)

    def _ticks(self, cpus):
        self.reads += 1
        return self.busy, self.total

    def advance(self, seconds, others, own):
        """``seconds`` pass with ``others`` and ``own`` cores busy (100 Hz)."""
        self.now += seconds
        ticks = 100 * seconds
        self.total += ticks * len(self.cpus)
        self.busy += ticks * (others + own)
        self.own += ticks * own


def test_load_monitor_measures_the_others_between_calls(monkeypatch):
    proc = _FakeProc(monkeypatch)
    monitor = _load._LoadMonitor(clock=lambda: proc.now)
    proc.running = 3  # the first look is at the runnable threads right now
    assert monitor.busy_cores() == 3.0
    # Later looks are the busy time of the window, less this process's own.
    proc.advance(1.0, others=1.0, own=1.0)
    assert monitor.busy_cores() == pytest.approx(1.0)
    proc.advance(1.0, others=0.0, own=2.0)
    assert monitor.busy_cores() == pytest.approx(0.0)
    proc.advance(0.5, others=0.5, own=0.0)
    assert monitor.busy_cores() == pytest.approx(0.5)


def test_load_monitor_reuses_a_recent_estimate(monkeypatch):
    proc = _FakeProc(monkeypatch)
    monitor = _load._LoadMonitor(clock=lambda: proc.now)
    monitor.busy_cores()
    reads = proc.reads
    for _ in range(100):  # one-row predictions in quick succession
        proc.advance(_load.LOAD_REFRESH_S / 200, others=2.0, own=0.0)
        assert monitor.busy_cores() == 0.0
    assert proc.reads == reads
    proc.advance(_load.LOAD_REFRESH_S, others=2.0, own=0.0)
    assert monitor.busy_cores() == pytest.approx(2.0, abs=0.1)
    assert proc.reads == reads + 1


def test_load_monitor_stale_window_looks_at_now(monkeypatch):
    proc = _FakeProc(monkeypatch)
    monitor = _load._LoadMonitor(clock=lambda: proc.now)
    monitor.busy_cores()
    # An hour of a busy machine, then quiet now: the old average is not used.
    proc.advance(3600.0, others=2.0, own=0.0)
    proc.running = 0
    assert monitor.busy_cores() == 0.0


def test_load_monitor_falls_back_to_the_load_average(monkeypatch):
    proc = _FakeProc(monkeypatch)
    monkeypatch.setattr(_load, "_cpu_ticks", lambda cpus: None)
    monkeypatch.setattr(os, "getloadavg", lambda: (3.5, 0.0, 0.0))
    assert _load._LoadMonitor(clock=lambda: proc.now).busy_cores() == 2.5


def test_load_monitor_reads_the_real_machine_without_sleeping(monkeypatch):
    def no_sleep(seconds):
        raise AssertionError("the load monitor slept")

    monkeypatch.setattr(_load.time, "sleep", no_sleep)
    now = [0.0]
    monitor = _load._LoadMonitor(clock=lambda: now[0])
    for _ in range(3):
        assert monitor.busy_cores() >= 0.0
        now[0] += 1.0
    if _load._cpu_ticks(_load._affinity()) is not None:
        assert monitor._sample is not None  # /proc/stat was read


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_forked_child_starts_a_fresh_load_monitor():
    monitor = _load._MONITOR
    monitor.busy_cores()
    assert monitor._estimate is not None
    pid = os.fork()
    if pid == 0:  # the child: its CPU time restarts, so the samples must go
        fresh = monitor._sample is None and monitor._estimate is None
        os._exit(0 if fresh else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert monitor._estimate is not None  # the parent's is kept
