"""Many threads predicting with one fitted model get the results of serial calls."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sk_mtl import (
    FineTuner,
    FineTunerRegressor,
    MergedClassifier,
    MixedTaskEstimator,
    MultiTaskClassifier,
    MultiTaskRegressor,
    TransferClassifier,
)
from sk_mtl._runtime._threads import torch_threads

N_THREADS, N_CALLS = 4, 12


def _data(n=300, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 8)).astype(np.float32)
    y = np.column_stack([X[:, 0] + X[:, 1] > 0, X[:, 2] - X[:, 3] > 0]).astype(int)
    return X, y


def _mode(model):
    return [m.training for m in model.module_.modules()]


def _concurrent(method, X):
    """``method(X)`` called N_CALLS times from N_THREADS threads at once."""
    start = threading.Barrier(N_THREADS)

    def call(i):
        if i < N_THREADS:
            start.wait()
        return method(X)

    with ThreadPoolExecutor(N_THREADS) as pool:
        return list(pool.map(call, range(N_CALLS)))


def _parts(result):
    """A result as a list of arrays (a list of per-task arrays, None for none)."""
    return [
        np.asarray(p, dtype=object if p is None else None)
        for p in (result if isinstance(result, list) else [result])
    ]


def _assert_same(results, serial):
    for got in results:
        for a, b in zip(_parts(serial), _parts(got), strict=True):
            np.testing.assert_array_equal(a, b)


def _fitted_models():
    X, y = _data()
    # One network alone (linear_blend=False, n_bags=1): a blend of weight 1
    # would predict without it; "blended" predicts through the blends of the
    # default's 3 cross-fitted members (n_bags="auto" on 300 rows).
    net = dict(dropout=0.3, linear_blend=False, n_bags=1, random_state=0)
    source = MultiTaskClassifier((32, 16), max_epochs=3, **net).fit(X, y)
    reg_y = X[:, :2] @ np.array([[1.0, -1.0], [0.5, 2.0]])
    mixed_y = np.column_stack([y[:, 0], reg_y[:, 0]])
    tuned = [
        FineTuner(source, max_epochs=2, random_state=s).fit(X, y) for s in range(2)
    ]
    return X, {
        "classifier": source,
        "blended": MultiTaskClassifier(
            (32,), dropout=0.3, linear_blend=True, max_epochs=2, random_state=0
        ).fit(X, y),
        "mmoe": MultiTaskClassifier(architecture="mmoe", max_epochs=2, **net).fit(X, y),
        "tabm": MultiTaskClassifier(
            architecture="tabm", n_members=4, max_epochs=2, **net
        ).fit(X, y[:, 0]),
        "regressor": MultiTaskRegressor((32,), max_epochs=2, **net).fit(X, reg_y),
        "mixed": MixedTaskEstimator(
            (32,), task_kinds=["classification", "regression"], max_epochs=2, **net
        ).fit(X, mixed_y),
        "fine_tuner": tuned[0],
        "fine_tuner_regressor": FineTunerRegressor(
            source, max_epochs=2, random_state=0
        ).fit(X, reg_y),
        "transfer": TransferClassifier(
            source, hidden_units=(16,), dropout=0.3, max_epochs=2, random_state=0
        ).fit(X, y),
        "soup": MergedClassifier(tuned, space="weights").fit(),
        "merged_outputs": MergedClassifier(tuned).fit(),
    }


@pytest.fixture(scope="module")
def fitted():
    return _fitted_models()


@pytest.mark.parametrize(
    "name",
    [
        "classifier",
        "blended",
        "mmoe",
        "tabm",
        "regressor",
        "mixed",
        "fine_tuner",
        "fine_tuner_regressor",
        "transfer",
        "soup",
        "merged_outputs",
    ],
)
def test_concurrent_predictions_equal_serial_ones(fitted, name):
    X, models = fitted
    model = models[name]
    if name == "blended":  # the default's cross-fitted members
        assert len(model.estimators_) == 3
    mode = _mode(model.merged_) if name == "soup" else None
    methods = ["predict"] + [
        m for m in ("predict_proba", "decision_function") if hasattr(model, m)
    ]
    for method in methods:
        for rows in (X, X[:3]):  # a few rows: the numpy path of served rows
            serial = getattr(model, method)(rows)
            _assert_same(_concurrent(getattr(model, method), rows), serial)
    if hasattr(model, "module_"):
        assert not any(m.training for m in model.module_.modules())
    if mode is not None:
        assert _mode(model.merged_) == mode


def test_concurrent_score_equals_serial(fitted):
    X, models = fitted
    y = _data()[1]
    model = models["classifier"]
    serial = model.score(X, y)
    assert _concurrent(lambda X: model.score(X, y), X) == [serial] * N_CALLS


def test_fitted_module_is_left_in_eval_mode_and_trains_in_train_mode():
    X, y = _data()
    seen = []
    model = MultiTaskClassifier(
        (16,), dropout=0.5, max_epochs=2, random_state=0, n_bags=1
    )
    model.set_params(callbacks=[_ModeSpy(seen)])
    model.fit(X, y)
    assert seen and all(seen)  # every training batch ran in train mode
    assert not any(m.training for m in model.module_.modules())
    model.partial_fit(X, y)
    assert not any(m.training for m in model.module_.modules())
    assert len(seen) > 2 and all(seen)


def test_module_put_in_train_mode_predicts_as_in_eval_mode(fitted):
    X, models = fitted
    model = models["classifier"]
    serial = model.predict_proba(X)
    model.module_.train()  # e.g. set by hand: inference puts it back, for good
    _assert_same(_concurrent(model.predict_proba, X), serial)
    assert not model.module_.training


def test_torch_threads_of_one_thread_leave_the_others_alone():
    """torch's intra-op thread count is a per-thread setting: a worker thread's
    ``torch_threads`` block changes neither the caller's nor a sibling's."""
    seen = {}
    inside = threading.Event()
    leave = threading.Event()

    def worker():
        with torch_threads(3):
            seen["worker"] = torch.get_num_threads()
            inside.set()
            leave.wait(10)

    before = torch.get_num_threads()
    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(10)
    seen["main during"] = torch.get_num_threads()
    leave.set()
    thread.join()
    assert seen == {"worker": 3, "main during": before}
    assert torch.get_num_threads() == before


class _ModeSpy(Callback):
    """Records the module's mode at each forward pass that builds a graph (the
    training batches; validation and inference run without one). Not
    deep-copied, so the list the test holds is the one filled."""

    def __init__(self, seen):
        self.seen = seen

    def __deepcopy__(self, memo):
        return self

    def on_train_begin(self, net, **kwargs):
        def record(module, args):
            if torch.is_grad_enabled():
                self.seen.append(module.training)

        self.hook_ = net.module_.register_forward_pre_hook(record)

    def on_train_end(self, net, **kwargs):
        self.hook_.remove()


def test_text_transfer_predicts_from_many_threads(sentences):
    texts, y = sentences
    model = TransferClassifier(
        "all-MiniLM-L6-v2", dropout=0.3, max_epochs=3, random_state=0
    ).fit(texts, y)
    serial = model.predict_proba(texts)
    _assert_same(_concurrent(model.predict_proba, texts), serial)
    assert not any(m.training for m in model.module_.modules())
