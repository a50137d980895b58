"""sk_mtl._malloc: when the allocator tuning acts, what it sets, what it restores."""

import numpy as np
import pytest

from sk_mtl import MultiTaskClassifier, _malloc


@pytest.fixture
def calls(monkeypatch):
    """Record mallopt calls instead of making them."""
    recorded = []
    monkeypatch.setattr(
        _malloc, "_mallopt", lambda: lambda *args: recorded.append(args) or 1
    )
    return recorded


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
    raised = (_malloc.M_MMAP_THRESHOLD, _malloc.FIT_MMAP_THRESHOLD)
    restored = (_malloc.M_MMAP_THRESHOLD, _malloc.STATIC_MMAP_THRESHOLD)
    with _malloc.fast_allocation():
        with _malloc.fast_allocation():
            assert calls == [raised]
        assert calls == [raised]
    assert calls == [raised, restored]
    with pytest.raises(RuntimeError), _malloc.fast_allocation():
        raise RuntimeError
    assert calls == [raised, restored, raised, restored]


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
    X = np.random.RandomState(0).normal(size=(40, 3)).astype(np.float32)
    model = MultiTaskClassifier((4,), max_epochs=1).fit(X, X[:, 0] > 0)
    assert len(calls) == 2 and calls[0][1] == _malloc.FIT_MMAP_THRESHOLD
    model.predict(X)
    assert len(calls) == 4 and calls[-1][1] == _malloc.STATIC_MMAP_THRESHOLD


def test_mallopt_is_found_on_glibc():
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    # Found, not called: a call would switch off this test process's dynamic
    # mmap threshold for the rest of the suite.
    assert callable(_malloc._mallopt())
