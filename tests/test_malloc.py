"""_runtime._malloc: when the allocator tuning acts, what it sets, what it restores."""

import numpy as np
import pytest

from sk_mtl import MultiTaskClassifier
from sk_mtl._runtime import _malloc


@pytest.fixture
def calls(monkeypatch):
    """Record mallopt and malloc_trim calls instead of making them."""
    recorded = []
    monkeypatch.setattr(
        _malloc, "_mallopt", lambda: lambda *args: recorded.append(args) or 1
    )
    monkeypatch.setattr(
        _malloc, "_malloc_trim", lambda: lambda pad: recorded.append(("trim", pad))
    )
    return recorded


RAISED = [
    (_malloc.M_MMAP_THRESHOLD, _malloc.FIT_MMAP_THRESHOLD),
    (_malloc.M_TRIM_THRESHOLD, _malloc.FIT_MMAP_THRESHOLD),
]


def restored(trim_threshold):
    """mmap threshold back to its frozen value, the environment's trim threshold
    back, then the heap trimmed."""
    return [
        (_malloc.M_MMAP_THRESHOLD, _malloc.STATIC_MMAP_THRESHOLD),
        (_malloc.M_TRIM_THRESHOLD, trim_threshold),
        ("trim", 0),
    ]


@pytest.mark.parametrize(
    "environ, expected",
    [
        ({}, False),
        ({"MALLOC_TRIM_THRESHOLD_": "65536"}, True),
        ({"MALLOC_TRIM_THRESHOLD_": "65536", "MALLOC_MMAP_THRESHOLD_": "1"}, False),
        ({"MALLOC_MMAP_THRESHOLD_": "1"}, False),
    ],
)
def test_needs_tuning_only_where_the_trim_threshold_froze_mmap(environ, expected):
    assert _malloc.needs_tuning(environ) is expected


def test_raise_once_for_nested_bodies_then_restore(calls, monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    with _malloc.fast_allocation():
        with _malloc.fast_allocation():
            assert calls == RAISED
        assert calls == RAISED
    assert calls == RAISED + restored(65536)
    with pytest.raises(RuntimeError), _malloc.fast_allocation():
        raise RuntimeError
    assert calls == 2 * (RAISED + restored(65536))


def test_an_unreadable_trim_threshold_restores_glibcs_default(calls, monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "lots")
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    with _malloc.fast_allocation():
        pass
    assert calls == RAISED + restored(_malloc.DEFAULT_TRIM_THRESHOLD)


def test_untouched_without_the_trim_threshold_or_with_a_user_mmap_threshold(
    calls, monkeypatch
):
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with _malloc.fast_allocation():
        pass
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    with _malloc.fast_allocation():
        pass
    assert calls == []


def test_fit_and_predict_run_with_the_raised_threshold(calls, monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    X = np.random.RandomState(0).normal(size=(200, 30)).astype(np.float32)
    # The network alone: a blend of weight 1 would predict without it.
    model = MultiTaskClassifier((256,), max_epochs=1, linear_blend=False, n_bags=1)
    model.fit(X, X[:, 0] > 0)
    assert calls == RAISED + restored(65536)
    model.predict(X)
    assert calls == 2 * (RAISED + restored(65536))


def test_batches_too_small_to_map_leave_the_allocator_alone(calls, monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    # 15 features, each read in two views: 1 x 8k weights, no tensor near
    # 128 KiB (the network alone, as above).
    X = np.random.RandomState(0).normal(size=(200, 15)).astype(np.float32)
    model = MultiTaskClassifier((256,), max_epochs=1, linear_blend=False, n_bags=1)
    model.fit(X, X[:, 0] > 0)
    del calls[:]
    model.predict(X[:1])
    assert calls == []
    assert not _malloc.may_map(1_000) and _malloc.may_map(100_000)


def test_mallopt_is_found_on_glibc():
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    # Found, not called: a call would switch off this test process's dynamic
    # mmap threshold for the rest of the suite.
    assert callable(_malloc._mallopt())
    assert callable(_malloc._libc().malloc_trim)
