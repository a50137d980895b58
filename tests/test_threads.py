"""sk_mtl._runtime._threads: resolving ``n_threads`` and applying it to torch."""

import os
import re
import sys
from types import SimpleNamespace

import joblib
import pytest
import torch
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from sk_mtl._runtime import _threads
from sk_mtl._runtime._threads import (
    IDLE_BELOW,
    MIN_WORK_PER_THREAD,
    MIN_WORK_PER_THREAD_SHARED,
    available_cores,
    refresh_threads,
    resolve_n_threads,
    thread_scope,
    torch_threads,
    work_per_row,
    worker_thread_limit,
)

BIG = 1000 * MIN_WORK_PER_THREAD


@pytest.fixture
def eight_idle_cores(monkeypatch):
    """A machine of 8 idle cores, outside any worker, with no thread env vars."""
    monkeypatch.setattr(_threads, "available_cores", lambda: 8)
    monkeypatch.setattr(_threads, "_busy_cores", lambda: 0.0)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delitem(sys.modules, "distributed", raising=False)


def test_available_cores_is_the_affinity():
    expected = (
        len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count()
    )
    assert available_cores() == expected >= 1


@pytest.mark.parametrize("n", [2, 3])
def test_torch_threads_sets_then_restores(n):
    before = torch.get_num_threads()
    with torch_threads(n):
        assert torch.get_num_threads() == n
    assert torch.get_num_threads() == before


def test_torch_threads_restores_after_an_exception():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError, match="boom"), torch_threads(before + 1):
        assert torch.get_num_threads() == before + 1
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before


def test_torch_threads_nested_and_no_op(monkeypatch):
    before = torch.get_num_threads()
    with torch_threads(before + 2):
        with torch_threads(before + 1):
            assert torch.get_num_threads() == before + 1
        assert torch.get_num_threads() == before + 2
    assert torch.get_num_threads() == before
    # None: torch's setter is not called at all.
    calls = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    with torch_threads(None):
        assert torch.get_num_threads() == before
    assert calls == []


def _mkl_threads():
    """MKL's thread count inside torch, as torch reports it (None without MKL)."""
    found = re.search(
        r"mkl_get_max_threads\(\) : (\d+)", torch.__config__.parallel_info()
    )
    return None if found is None else int(found.group(1))


def test_torch_threads_holds_under_a_threadpoolctl_limit():
    # threadpoolctl lowers OpenMP's count, which torch.get_num_threads reads,
    # but not the MKL inside torch: the count read may already be n while
    # torch's matrix products would still use every core it had used before.
    if _mkl_threads() is None:
        pytest.skip("torch without MKL")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        with threadpool_limits(1):
            assert torch.get_num_threads() == 1 and _mkl_threads() == 2
            with torch_threads(1):
                assert _mkl_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_explicit_ints_are_honoured(eight_idle_cores):
    assert resolve_n_threads(1) == 1
    assert resolve_n_threads(3, work_per_batch=1) == 3
    assert resolve_n_threads(64) == 64  # more than the cores: the user's call
    assert resolve_n_threads(-1) == 8


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "all", None])
def test_invalid_n_threads_raise(bad):
    with pytest.raises(ValueError, match="n_threads"):
        resolve_n_threads(bad)


def test_auto_uses_idle_cores_for_big_work(eight_idle_cores):
    assert worker_thread_limit() is None
    assert resolve_n_threads("auto") == 8
    assert resolve_n_threads("auto", work_per_batch=BIG) == 8


def test_auto_small_work_uses_one_thread(eight_idle_cores):
    assert resolve_n_threads("auto", work_per_batch=MIN_WORK_PER_THREAD - 1) == 1
    assert resolve_n_threads("auto", work_per_batch=0) == 1
    # Each thread gets at least MIN_WORK_PER_THREAD.
    assert resolve_n_threads("auto", work_per_batch=3.5 * MIN_WORK_PER_THREAD) == 3


def test_auto_asks_more_work_per_thread_when_others_run(eight_idle_cores, monkeypatch):
    work = 3.5 * MIN_WORK_PER_THREAD_SHARED
    assert (
        resolve_n_threads("auto", work_per_batch=work) == 8
    )  # idle: 28 threads' worth
    monkeypatch.setattr(_threads, "_busy_cores", lambda: IDLE_BELOW)
    assert resolve_n_threads("auto", work_per_batch=work) == 3
    small = 2 * MIN_WORK_PER_THREAD
    assert small < 2 * MIN_WORK_PER_THREAD_SHARED
    assert resolve_n_threads("auto", work_per_batch=small) == 1
    monkeypatch.setattr(_threads, "_busy_cores", lambda: IDLE_BELOW / 2)
    assert resolve_n_threads("auto", work_per_batch=small) == 2


def test_refresh_follows_the_load_inside_an_auto_scope(eight_idle_cores, monkeypatch):
    busy = {"cores": 0.0}
    monkeypatch.setattr(_threads, "_busy_cores", lambda: busy["cores"])
    before = torch.get_num_threads()
    refresh_threads()  # outside any scope: nothing to do
    assert torch.get_num_threads() == before
    with thread_scope("auto", 2 * MIN_WORK_PER_THREAD):
        assert torch.get_num_threads() == 2
        busy["cores"] = 7.0
        refresh_threads()
        assert torch.get_num_threads() == 1
        busy["cores"] = 0.0
        refresh_threads()
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == before
    with thread_scope("auto", 0):  # one thread, as before: refreshed to 2 ...
        busy["cores"] = 0.0
        with thread_scope(3, BIG):  # ... but not inside an explicit setting
            refresh_threads()
            assert torch.get_num_threads() == 3
    assert torch.get_num_threads() == before


def test_refresh_is_undone_when_the_scope_had_changed_nothing(
    eight_idle_cores, monkeypatch
):
    with torch_threads(1):
        monkeypatch.setattr(_threads, "_busy_cores", lambda: 7.0)
        with thread_scope("auto", BIG):  # 1 thread: what was set already
            assert torch.get_num_threads() == 1
            monkeypatch.setattr(_threads, "_busy_cores", lambda: 6.0)
            refresh_threads()
            assert torch.get_num_threads() == 2
        assert torch.get_num_threads() == 1


def test_a_fit_resolves_auto_threads_each_epoch(monkeypatch):
    """A process that starts in the middle of a fit costs it one epoch at most."""
    import numpy as np
    from skorch.callbacks import Callback

    from sk_mtl import MultiTaskClassifier

    monkeypatch.setattr(_threads, "available_cores", lambda: 2)
    monkeypatch.setattr(_threads, "worker_thread_limit", lambda: None)
    busy = {"cores": 0.0}
    monkeypatch.setattr(_threads, "_busy_cores", lambda: busy["cores"])

    class OtherProcessStarts(Callback):
        def on_epoch_end(self, net, **kwargs):
            net.history.record("threads", torch.get_num_threads())
            busy["cores"] = 1.0  # from the second epoch on

    X = np.random.RandomState(0).normal(size=(256, 64)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    clf = MultiTaskClassifier(
        (256, 128),
        batch_size=128,
        max_epochs=3,
        early_stopping=False,
        callbacks=[OtherProcessStarts()],
    )
    assert clf.batch_size * 64 * 256 > 2 * MIN_WORK_PER_THREAD  # 2 threads, idle
    clf.fit(X, y)
    assert clf.history_[:, "threads"] == [2, 1, 1]
    clf.set_params(n_threads=2).fit(X, y)  # an explicit count stays
    assert clf.history_[:, "threads"] == [2, 2, 2]


def test_auto_leaves_busy_cores_alone(eight_idle_cores, monkeypatch):
    monkeypatch.setattr(_threads, "_busy_cores", lambda: 3.2)
    assert resolve_n_threads("auto", work_per_batch=BIG) == 5
    monkeypatch.setattr(_threads, "_busy_cores", lambda: 12.0)
    assert resolve_n_threads("auto", work_per_batch=BIG) == 1
    assert resolve_n_threads(-1) == 8  # only "auto" looks at the load


def test_busy_cores_is_a_non_negative_number():
    assert _threads._busy_cores() >= 0.0


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"OMP_NUM_THREADS": "1"}, 1),
        ({"OMP_NUM_THREADS": "3,1"}, 3),
        ({"MKL_NUM_THREADS": "2"}, 2),
        ({"OMP_NUM_THREADS": "4", "MKL_NUM_THREADS": "2"}, 2),
        ({"OMP_NUM_THREADS": "lots"}, 8),  # unreadable: ignored
        ({"OMP_NUM_THREADS": "0"}, 8),
    ],
)
def test_auto_honours_thread_env_vars(eight_idle_cores, monkeypatch, env, expected):
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert resolve_n_threads("auto", work_per_batch=BIG) == expected
    assert worker_thread_limit() == (None if expected == 8 else expected)


def _fake_distributed(worker):
    def get_worker():
        if worker is None:
            raise ValueError("No worker found")
        return worker

    return SimpleNamespace(get_worker=get_worker)


@pytest.mark.parametrize(
    "worker, expected",
    [
        (SimpleNamespace(state=SimpleNamespace(nthreads=4)), 2),  # 8 cores / 4 tasks
        (SimpleNamespace(nthreads=1), 8),  # older API: worker.nthreads
        (SimpleNamespace(state=SimpleNamespace(nthreads=16)), 1),
        (None, 8),  # distributed imported, but not in a worker
    ],
)
def test_auto_in_a_dask_worker(eight_idle_cores, monkeypatch, worker, expected):
    monkeypatch.setitem(sys.modules, "distributed", _fake_distributed(worker))
    assert resolve_n_threads("auto", work_per_batch=BIG) == expected
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the nanny's default: stricter
    assert resolve_n_threads("auto", work_per_batch=BIG) == 1


def test_distributed_is_not_imported_when_absent(eight_idle_cores):
    worker_thread_limit()
    assert "distributed" not in sys.modules


def test_auto_in_joblib_threads_is_one(eight_idle_cores):
    limits = Parallel(n_jobs=2, backend="threading")(
        delayed(worker_thread_limit)() for _ in range(2)
    )
    assert limits == [1, 1]
    assert worker_thread_limit() is None  # the calling thread is no worker


def _in_worker():
    return (
        os.environ.get("OMP_NUM_THREADS"),
        worker_thread_limit(),
        resolve_n_threads("auto", work_per_batch=BIG),
    )


def test_auto_in_loky_workers_respects_their_limit(monkeypatch):
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    # Without the variables in the parent, loky gives each of its n_jobs
    # workers cpu_count() // n_jobs threads through OMP_NUM_THREADS & co.
    expected_limit = max(joblib.cpu_count() // 2, 1)
    results = Parallel(n_jobs=2, backend="loky")(
        delayed(_in_worker)() for _ in range(2)
    )
    for omp, limit, n in results:
        assert omp == str(expected_limit)
        assert limit == expected_limit
        assert 1 <= n <= limit


def test_small_work_decides_without_looking_at_the_load(monkeypatch):
    def no_look():
        raise AssertionError("looked at the load")

    monkeypatch.setattr(_threads, "_busy_cores", no_look)
    monkeypatch.setattr(_threads, "worker_thread_limit", no_look)
    assert resolve_n_threads("auto", work_per_batch=2 * MIN_WORK_PER_THREAD - 1) == 1


def test_tabm_work_counts_the_shared_mlp_once_per_member():
    pytest.importorskip("tabm")
    from sk_mtl.embeddings import TabularFrontEnd, TabularNetwork
    from sk_mtl.ensembles import MemberEnsemble

    def n_params(m):
        return sum(p.numel() for p in m.parameters())

    net = MemberEnsemble(10, (32, 32), [2, 3], n_members=8)
    assert work_per_row(net) == n_params(net) + 7 * n_params(net.trunk)
    single = MemberEnsemble(10, (32, 32), [2, 3], n_members=1)
    assert work_per_row(single) == n_params(single)
    # Under a tabular front-end (what architecture="tabm" builds) as well.
    front = TabularFrontEnd(10, 0, [])
    assert work_per_row(TabularNetwork(front, net)) == work_per_row(net)


def test_auto_threads_see_tabm_members(eight_idle_cores, monkeypatch):
    pytest.importorskip("tabm")
    import numpy as np

    from sk_mtl import MultiTaskClassifier

    seen = []
    resolve = _threads.resolve_n_threads

    def spy(n_threads, *, work_per_batch=None):
        seen.append(work_per_batch)
        return resolve(n_threads, work_per_batch=work_per_batch)

    monkeypatch.setattr(_threads, "resolve_n_threads", spy)
    X = np.random.RandomState(0).normal(size=(40, 6))
    y = (X[:, 0] > 0).astype(int)
    work = {}
    for k in (1, 4):
        seen.clear()
        clf = MultiTaskClassifier(
            (16,), architecture="tabm", n_members=k, max_epochs=1, batch_size=8
        ).fit(X, y)
        work[k] = seen[0]
        assert seen[0] == 8 * work_per_row(clf.module_)
    trunk = sum(p.numel() for p in clf.module_.network.trunk.parameters())
    assert work[4] - work[1] >= 8 * 3 * trunk


def test_predict_threads_follow_the_rows_of_the_call(eight_idle_cores, monkeypatch):
    import numpy as np

    from sk_mtl import MultiTaskClassifier

    X = np.random.RandomState(0).normal(size=(2048, 20)).astype(np.float32)
    clf = MultiTaskClassifier((256, 256), max_epochs=1, n_threads="auto").fit(
        X[:64], (X[:64, 0] > 0).astype(int)
    )
    seen = []
    resolve = _threads.resolve_n_threads

    def spy(n_threads, *, work_per_batch=None):
        seen.append((work_per_batch, resolve(n_threads, work_per_batch=work_per_batch)))
        return seen[-1][1]

    monkeypatch.setattr(_threads, "resolve_n_threads", spy)
    per_row = work_per_row(clf.module_)
    clf.predict(X[:1])  # computed with numpy: no torch threads to choose
    clf.predict(X[:40])
    clf.predict(X)  # one forward pass of 2048 rows: ~180M multiply-adds
    # A forward pass counts rows x work per row, like a training step.
    assert [work for work, _ in seen] == [40 * per_row, 2048 * per_row]
    assert seen[1][1] == 8
