"""sk_mtl on a real dask.distributed cluster: 2 worker processes x 1 thread.

The cluster starts once for the module (bounded by a timeout) and is shut down in
teardown. Every search runs serially and through ``joblib.parallel_backend("dask")``
with the same random_state; the results must be identical.
"""

import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_validate
from skorch.callbacks import Callback

from sk_mtl import FineTuner, HardExampleMiningClassifier, MultiTaskClassifier
from sk_mtl.model_selection import TaskStratifiedKFold

distributed = pytest.importorskip("distributed")

import dask  # noqa: E402

from sk_mtl.scaling import ship_to_workers, training_worker_config  # noqa: E402


@pytest.fixture(scope="module")
def client():
    # Started as the scaling guide advises for training workers.
    with dask.config.set(training_worker_config()):
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            timeout=120,
        )
    client = distributed.Client(cluster, timeout=120)
    client.wait_for_workers(2, timeout=120)
    yield client
    client.close(timeout=30)
    cluster.close(timeout=30)


def _multitask_data(n=240):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0]).astype(float)
    Y[: n // 4, 1] = np.nan  # task 1 unlabelled for a quarter of the rows
    return X, Y


class TorchThreads(Callback):
    """Records torch's intra-op threads while the net trains."""

    def on_epoch_begin(self, net, **kwargs):
        net.history.record("torch_threads", torch.get_num_threads())


def test_grid_search_matches_serial(client):
    X, Y = _multitask_data()
    model = MultiTaskClassifier((16,), max_epochs=4, random_state=0)
    grid = {"lr": [1e-3, 1e-2], "hidden_units": [(8,), (16,)]}
    cv = TaskStratifiedKFold(3, task=1, shuffle=True, random_state=0)
    serial = GridSearchCV(model, grid, cv=cv).fit(X, Y)
    with joblib.parallel_backend("dask"):
        on_dask = GridSearchCV(model, grid, cv=cv).fit(X, Y)
    for key in ("mean_test_score", "split0_test_score", "split2_test_score"):
        np.testing.assert_array_equal(on_dask.cv_results_[key], serial.cv_results_[key])
    assert on_dask.best_params_ == serial.best_params_


def test_workers_fit_with_one_torch_thread(client):
    X, Y = _multitask_data()
    model = MultiTaskClassifier(
        (16,), max_epochs=2, n_bags=1, random_state=0, callbacks=[TorchThreads()]
    )
    with joblib.parallel_backend("dask"):
        result = cross_validate(model, X, Y, cv=TaskStratifiedKFold(2), n_jobs=2)
        fitted = cross_validate(
            model, X, Y, cv=TaskStratifiedKFold(2), return_estimator=True
        )["estimator"]
    assert np.all(np.isfinite(result["test_score"]))
    threads = [t for est in fitted for t in est.history_[:, "torch_threads"]]
    assert threads == [1] * len(threads)

    def limits():
        from sk_mtl._runtime._threads import resolve_n_threads

        # A network big enough for several threads on an idle machine still
        # gets one per task slot: 2 workers x 1 thread on this host.
        return resolve_n_threads("auto", work_per_batch=1e12), torch.get_num_threads()

    assert set(client.run(limits).values()) == {(1, 1)}


def test_fine_tuner_source_is_shipped_once(client):
    X, Y = _multitask_data()
    source = MultiTaskClassifier((64, 64), max_epochs=3, random_state=0)
    source = source.fit(X[:120], Y[:120, 0])
    model = FineTuner(source, max_epochs=3, random_state=0)
    grid = {"lr": [1e-3, 1e-2]}
    serial = GridSearchCV(model, grid, cv=3).fit(X[120:], Y[120:, 0])
    plain_bytes = len(pickle.dumps(clone(model)))
    with ship_to_workers(source, client=client):
        shipped_bytes = len(pickle.dumps(clone(model)))
        with joblib.parallel_backend("dask"):
            on_dask = GridSearchCV(model, grid, cv=3).fit(X[120:], Y[120:, 0])
            fitted = cross_validate(
                model, X[120:], Y[120:, 0], cv=3, return_estimator=True
            )["estimator"]
    np.testing.assert_array_equal(
        on_dask.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )
    # The source (two 64-unit layers) is ~20 KB of weights; a task carries a token.
    assert plain_bytes > 20_000 and shipped_bytes < 2_000
    # Estimators fitted on the workers come back reading the caller's source.
    assert all(est.estimator is source for est in fitted)
    # Outside the block the source pickles in full again.
    assert len(pickle.dumps(clone(model))) == plain_bytes


def test_hard_example_mining_out_of_fold_fits_on_dask(client):
    X, Y = _multitask_data(180)
    y = Y[:, 0].astype(int)
    model = HardExampleMiningClassifier(
        MultiTaskClassifier((8,), max_epochs=3, random_state=0),
        n_rounds=1,
        cv=3,
        n_jobs=2,
        random_state=0,
    )
    serial = clone(model).set_params(n_jobs=None).fit(X, y)
    with joblib.parallel_backend("dask"):
        on_dask = clone(model).fit(X, y)
    np.testing.assert_array_equal(on_dask.sample_weight_, serial.sample_weight_)
    np.testing.assert_array_equal(on_dask.predict_proba(X), serial.predict_proba(X))


def test_training_worker_config_reaches_the_workers(client):
    config = training_worker_config()
    for key in config:  # real dask settings (a misspelt key would be accepted)
        dask.config.get(key)

    def worker_settings():
        return {key: dask.config.get(key) for key in config}

    assert list(client.run(worker_settings).values()) == [config, config]


def test_fits_on_workers_raise_the_frozen_mmap_threshold(client):
    def fit_and_record():
        from sk_mtl._runtime import _malloc

        calls, real = [], _malloc._mallopt
        _malloc._mallopt = lambda: lambda *args: calls.append(args) or 1
        try:
            # Batches large enough to allocate past the mmap threshold.
            X = np.random.RandomState(0).normal(size=(200, 30)).astype(np.float32)
            MultiTaskClassifier((256,), max_epochs=1, n_bags=1).fit(X, X[:, 0] > 0)
        finally:
            _malloc._mallopt = real
        return _malloc.needs_tuning(), calls

    from sk_mtl._runtime._malloc import (
        FIT_MMAP_THRESHOLD,
        M_MMAP_THRESHOLD,
        M_TRIM_THRESHOLD,
        STATIC_MMAP_THRESHOLD,
    )

    # dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 in its workers (its
    # pre-spawn-environ), which freezes glibc's mmap threshold at 128 KiB.
    raised = [
        (M_MMAP_THRESHOLD, FIT_MMAP_THRESHOLD),
        (M_TRIM_THRESHOLD, FIT_MMAP_THRESHOLD),
    ]
    restored = [(M_MMAP_THRESHOLD, STATIC_MMAP_THRESHOLD), (M_TRIM_THRESHOLD, 65536)]
    expected = (True, raised + restored)
    assert list(client.run(fit_and_record).values()) == [expected, expected]


def test_bundled_text_encoder_is_read_once_per_worker(client, sentences):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from sk_mtl import TransferClassifier
    from sk_mtl.text import SentenceEncoder

    texts, y = sentences
    texts = np.array(texts, dtype=object)
    with joblib.parallel_backend("dask"):
        cross_validate(make_pipeline(SentenceEncoder(), LogisticRegression()), texts, y)
        GridSearchCV(
            TransferClassifier("all-MiniLM-L6-v2", max_epochs=2, random_state=0),
            {"lr": [1e-3, 1e-2]},
            cv=2,
        ).fit(texts, y)

    def loads():
        from sk_mtl.text._loading import cached_text_encoder

        info = cached_text_encoder.cache_info()
        return info.misses, info.hits

    counts = list(client.run(loads).values())
    # 5 + 4 fits and their predictions used the encoder; each worker read it
    # from disk at most once.
    assert all(misses <= 1 for misses, _ in counts)
    assert sum(misses + hits for misses, hits in counts) >= 9
