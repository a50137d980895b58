"""Per-call overhead of prediction: no waiting, cached plans, one-batch path."""

import gc
import time
import weakref

import numpy as np
import pytest
import torch
from _two_tasks import fit_small, two_task_data
from sklearn.exceptions import NotFittedError
from torch import nn

from sk_mtl import MultiTaskClassifier, MultiTaskRegressor
from sk_mtl._engine import _batches, _inference
from sk_mtl._runtime import _load, _threads
from sk_mtl.modules import MultiHeadNetwork


@pytest.fixture(scope="module")
def data():
    return two_task_data()


def _fit(data, **params):
    return fit_small(data, **params)


def _thread_spy(model):
    """Record torch's thread count at each forward pass of the fitted network."""
    seen = []
    model.module_.register_forward_hook(
        lambda module, args, out: seen.append(torch.get_num_threads())
    )
    return seen


def test_no_fit_or_predict_sleeps(data, monkeypatch):
    def no_sleep(seconds):
        raise AssertionError(f"slept {seconds} s")

    monkeypatch.setattr(time, "sleep", no_sleep)
    _load._MONITOR.reset()  # the first look of a process, too
    for model in (
        _fit(data),
        MultiTaskRegressor((8,), max_epochs=2).fit(data[0], data[0][:, :2]),
    ):
        assert model.n_threads == "auto"
        model.predict(data[0][:1])
        model.predict(data[0])


def test_one_row_skips_the_load_check_and_the_batch_loop(data, monkeypatch):
    model = _fit(data)
    expected = model.predict_proba(data[0][:3])

    def forbidden(*args, **kwargs):
        raise AssertionError("not for a batch this small")

    monkeypatch.setattr(_threads, "_busy_cores", forbidden)
    monkeypatch.setattr(_batches.BatchIterator, "__iter__", forbidden)
    got = model.predict_proba(data[0][:3])
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-6)


def test_one_batch_and_many_batches_agree(data):
    model = _fit(data)
    whole = model.predict_proba(data[0])
    model.set_params(predict_batch_size=7)  # 9 batches through the loop
    for a, b in zip(whole, model.predict_proba(data[0])):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-7)


def test_prediction_plan_is_cached_until_a_refit_or_new_option(data, monkeypatch):
    calls = []
    real = _inference.predict_batch_rows

    def spy(*args):
        calls.append(args[:2])
        return real(*args)

    monkeypatch.setattr(_inference, "predict_batch_rows", spy)
    model = _fit(data)
    for _ in range(3):
        model.predict(data[0][:2])
    assert len(calls) == 1
    model.set_params(predict_batch_size=5)
    model.predict(data[0][:2])
    model.predict(data[0][:2])
    assert calls[1:] == [(5, model.batch_size_)]
    model.fit(*data)  # a refit builds a new network: its plan is new
    model.predict(data[0][:2])
    assert len(calls) == 3


@pytest.mark.parametrize("n_rows", [1, _inference.NUMPY_MAX_ROWS + 1])
def test_a_dropped_model_is_freed_after_its_predictions(data, n_rows):
    # The caches of each network (prediction plan, numpy views) are weakly
    # keyed by it: a value holding the network would keep it alive for good.
    model = _fit(data)
    model.predict_proba(data[0][:n_rows])
    gone = weakref.ref(model.module_)
    del model
    gc.collect()
    assert gone() is None


def test_changed_n_threads_applies_at_the_next_prediction(data):
    model = _fit(data, n_threads=3)
    seen = _thread_spy(model)
    model.predict(data[0][:1])
    model.set_params(n_threads=2)
    model.predict(data[0][:1])
    model.set_params(n_threads="auto")  # one row: one thread
    model.predict(data[0][:1])
    assert seen == [3, 2, 1]


def test_errors_stay_clear_on_the_fast_path(data):
    with pytest.raises(NotFittedError):
        MultiTaskClassifier().predict(data[0][:1])
    model = _fit(data)
    with pytest.raises(ValueError, match="5 features"):
        model.predict(data[0][:1, :4])
    bad = data[0][:1].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.predict(bad)
    with torch.no_grad():
        next(model.module_.parameters()).fill_(float("inf"))
    with pytest.raises(ValueError, match="non-finite outputs"):
        model.predict(data[0][:1])


def test_sums_finite_takes_one_reduction_of_stacked_outputs():
    net = MultiHeadNetwork(nn.Linear(4, 3), [2, 2, 2])
    with torch.no_grad():
        net.heads.weights[0][5].fill_(float("nan"))  # the last task's last row
    outputs = _inference.predict_outputs(net, torch.randn(2, 4), batch_size=8)
    assert outputs.stacked.shape == (2, 3, 2)  # one batch: the stack comes along
    reductions = []
    real_sum = torch.Tensor.sum
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            torch.Tensor, "sum", lambda t: reductions.append(1) or real_sum(t)
        )
        assert not _inference.sums_finite(outputs)
        assert len(reductions) == 1
        assert not _inference.sums_finite(list(outputs))  # task by task: finds it too
        assert _inference.sums_finite(list(outputs)[:2])


def test_the_plans_submodules_still_catch_one_put_in_train_mode(data):
    # The plan keeps the module tree, so eval_mode need not walk it per call; a
    # submodule switched to train mode by hand is still found and switched back.
    # (Rows enough for torch: a few rows are computed with numpy, which runs
    # no module and reads Dropout as the identity whatever its mode.)
    model = _fit(data, dropout=0.5)
    rows = data[0][: _inference.NUMPY_MAX_ROWS + 8]
    expected = model.predict_proba(rows)
    dropout = [m for m in model.module_.modules() if isinstance(m, nn.Dropout)]
    dropout[0].p = 0.9
    dropout[0].train()
    np.testing.assert_allclose(model.predict_proba(rows[:2])[0], expected[0][:2])
    np.testing.assert_allclose(model.predict_proba(rows)[0], expected[0])
    assert not dropout[0].training


def test_a_fitted_models_prediction_computes_no_tags(data, monkeypatch):
    # scikit-learn's check_is_fitted computes the tags first; a served row
    # need not: a fitted model answers from __sklearn_is_fitted__.
    model = _fit(data)
    expected = model.predict_proba(data[0][:2])

    def no_tags(self):
        raise AssertionError("tags computed")

    monkeypatch.setattr(MultiTaskClassifier, "__sklearn_tags__", no_tags)
    np.testing.assert_array_equal(model.predict_proba(data[0][:2])[0], expected[0])
    model.predict(data[0][:2])
    with pytest.raises(AssertionError, match="tags computed"):  # unfitted: sklearn's
        MultiTaskClassifier().predict(data[0][:2])
