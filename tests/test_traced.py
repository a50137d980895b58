"""The traced forward pass of repeated predictions: used only while it is right."""

import gc
import os
import weakref

import numpy as np
import pytest
import torch
from _two_tasks import fit_small, two_task_data
from torch import nn

from sk_mtl._engine import _traced
from sk_mtl._engine._inference import predict_outputs


@pytest.fixture(scope="module")
def data():
    return two_task_data()


def _fit(data, **params):
    return fit_small(data, **params)


def _eager(model, X):
    """The network called as a module, softmaxed like predict_proba."""
    with torch.inference_mode():
        outs = model.module_(torch.from_numpy(X))
    return [torch.softmax(o.double(), dim=1).numpy() for o in outs]


def _trace_of(module):
    found = _traced._LAYOUTS.get(module)
    return None if found is None else found.trace


def _assert_predicts_like_the_module(model, X):
    for got, expected in zip(model.predict_proba(X), _eager(model, X)):
        np.testing.assert_array_equal(got, expected)


def test_second_prediction_is_traced_and_bitwise_equal(data):
    model = _fit(data)
    X = data[0]
    model.predict_proba(X[:1])
    assert _trace_of(model.module_) is None  # one call: no trace yet
    for rows in (X[:1], X[:2], X):  # any batch size
        _assert_predicts_like_the_module(model, rows)
    assert isinstance(_trace_of(model.module_), torch.jit.ScriptModule)


def test_in_place_weight_updates_are_seen(data):
    model = _fit(data)
    X = data[0][:4]
    model.predict_proba(X), model.predict_proba(X)
    with torch.no_grad():
        for p in model.module_.parameters():
            p.mul_(-1.5)
    _assert_predicts_like_the_module(model, X)
    model.partial_fit(*data)  # trains the same network in place
    _assert_predicts_like_the_module(model, X)


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m.trunk.__setitem__(1, nn.Tanh()),  # a layer without weights
        lambda m: setattr(m.trunk[0], "weight", nn.Parameter(-m.trunk[0].weight)),
        lambda m: m.trunk.append(nn.Sigmoid()),
    ],
    ids=["swapped-layer", "new-parameter", "added-layer"],
)
def test_a_changed_network_is_called_as_changed(data, change):
    model = _fit(data)
    X = data[0][:3]
    model.predict_proba(X), model.predict_proba(X)
    before = _traced._LAYOUTS[model.module_]
    change(model.module_)
    model.module_.eval()
    _assert_predicts_like_the_module(model, X)
    _assert_predicts_like_the_module(model, X)  # re-traced from the change on
    assert _traced._LAYOUTS[model.module_] is not before


def test_hooks_run_on_every_call(data):
    model = _fit(data)
    X = data[0][:2]
    model.predict_proba(X), model.predict_proba(X)
    seen = []
    model.module_.trunk[0].register_forward_hook(lambda *a: seen.append(1))
    for _ in range(3):
        model.predict_proba(X)
    assert len(seen) == 3


class _RowDependent(nn.Module):
    """Branches on the data: a trace would freeze one branch."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2)

    def forward(self, x):
        out = self.linear(x)
        return (out * 2,) if x.sum() > 0 else (out - 5,)


def test_untraceable_network_is_called_as_a_module(monkeypatch):
    module = _RowDependent().eval()
    # Let this test's module count as pure, so that tracing is tried.
    monkeypatch.setattr(_traced, "_PURE", _traced._PURE | {__name__.split(".")[0]})
    x_pos, x_neg = torch.ones(2, 3), -torch.ones(2, 3)
    for x in (x_pos, x_pos, x_neg, x_pos, x_neg):
        (got,) = predict_outputs(module, x, 16)
        with torch.inference_mode():
            (expected,) = module(x)
        torch.testing.assert_close(got, expected, rtol=0, atol=0)
    assert _trace_of(module) is False


def test_a_module_in_training_mode_predicts_in_eval_mode(data):
    model = _fit(data)
    X = data[0][:5]
    expected = model.predict_proba(X)
    model.module_.train()  # dropout on: the next call switches it off again
    for got, exp in zip(model.predict_proba(X), expected):
        np.testing.assert_array_equal(got, exp)
    assert not any(m.training for m in model.module_.modules())


def test_refit_gets_a_new_trace_and_the_old_network_is_freed(data):
    model = _fit(data)
    X = data[0][:2]
    model.predict_proba(X), model.predict_proba(X)
    old = weakref.ref(model.module_)
    model.fit(*data)
    _assert_predicts_like_the_module(model, X)
    _assert_predicts_like_the_module(model, X)
    gc.collect()
    assert old() is None  # neither its layout nor its trace keeps it alive


def test_dict_inputs_are_never_traced(monkeypatch):
    monkeypatch.setattr(_traced, "_PURE", _traced._PURE | {__name__.split(".")[0]})

    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(3, 2)

        def forward(self, a, b):
            return (self.linear(a + b),)

    module = Two().eval()
    X = {"a": torch.ones(4, 3), "b": torch.zeros(4, 3)}
    for _ in range(3):
        (out,) = predict_outputs(module, X, 16)
    assert out.shape == (4, 2)
    assert _trace_of(module) is None


class _Counting(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2)
        self.calls = 0

    def forward(self, x):
        self.calls += 1  # a Python side effect a trace would skip
        return self.linear(x)


def test_a_users_module_is_always_called():
    module = _Counting().eval()
    for _ in range(4):
        predict_outputs(module, torch.ones(2, 3), 16)
    assert module.calls == 4
    assert _trace_of(module) is False


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_predicts_with_the_parents_trace(data):
    model = _fit(data)
    X = data[0][:3]
    model.predict_proba(X), model.predict_proba(X)
    assert _trace_of(model.module_)
    expected = _eager(model, X)
    with _traced._LOCK:  # held by the parent at the fork: the child has its own
        pid = os.fork()
        if pid == 0:  # child: exit status 0 only if it predicts as the parent
            ok = all(
                np.array_equal(g, e) for g, e in zip(model.predict_proba(X), expected)
            )
            model.module_.trunk[1] = nn.Tanh()  # re-traces: takes the lock
            model.predict_proba(X), model.predict_proba(X)
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
