"""Served rows of the default network computed with numpy (_engine._numpy_forward)."""

import gc
import weakref

import numpy as np
import pytest
import torch
from _two_tasks import fit_small, two_task_data
from torch import nn

from sk_mtl import MultiTaskClassifier
from sk_mtl._engine import _inference
from sk_mtl._engine._numpy_forward import (
    NUMPY_MAX_ROWS,
    numpy_member_logits,
    numpy_outputs,
)
from sk_mtl.ensembles import MemberEnsemble
from sk_mtl.losses import TaskOutputs
from sk_mtl.modules import MLP, MMoE, MultiHeadNetwork


def _network(hidden=(8, 4), widths=(2, 3), dropout=0.0, seed=0):
    torch.manual_seed(seed)
    return MultiHeadNetwork(MLP(5, hidden, dropout), list(widths)).eval()


def _assert_same_outputs(module, X):
    fast = numpy_outputs(module, X)
    assert fast is not None
    with torch.inference_mode():
        slow = module(X)
    assert type(fast) is type(slow)
    assert len(fast) == len(slow)
    for a, b in zip(fast, slow):
        assert a.shape == b.shape and a.dtype == b.dtype
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    if isinstance(slow, TaskOutputs):
        torch.testing.assert_close(fast.stacked, slow.stacked, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "hidden, widths, dropout",
    [
        ((8, 4), (2, 3), 0.0),  # heads of two widths: slices
        ((8,), (2, 2, 2), 0.3),  # one width: stacked TaskOutputs; Dropout skipped
        ((), (3,), 0.0),  # no hidden layer, one head
        ((16, 8, 4), (1, 1), 0.1),  # regression-like heads
    ],
)
def test_numpy_outputs_equal_the_modules(hidden, widths, dropout):
    module = _network(hidden, widths, dropout)
    for n in (1, 7):
        _assert_same_outputs(module, torch.randn(n, 5))


def test_other_modules_and_inputs_are_left_to_torch():
    X = torch.randn(2, 5)
    assert numpy_outputs(MLP(5, (4,)), X) is None  # not a multi-head network
    assert numpy_outputs(MMoE(5, (4,), [2], n_experts=2), X) is None
    assert numpy_outputs(MemberEnsemble(5, (8,), [2], n_members=2).eval(), X) is None
    assert numpy_outputs(_network(), X.double()) is None  # float64 rows
    assert numpy_outputs(_network().double(), X) is None  # float64 parameters
    assert numpy_outputs(_network(), {"X": X}) is None  # keyword inputs

    class Custom(MultiHeadNetwork):  # a subclass may compute anything
        pass

    assert numpy_outputs(Custom(MLP(5, (4,)), [2]).eval(), X) is None
    odd = MultiHeadNetwork(nn.Sequential(nn.Linear(5, 4), nn.Tanh()), [2], 4)
    assert numpy_outputs(odd.eval(), X) is None  # a trunk other than MLP


def test_a_forward_hook_sends_the_call_to_torch():
    module, X = _network(), torch.randn(1, 5)
    assert numpy_outputs(module, X) is not None
    seen = []
    handle = module.trunk[0].register_forward_hook(lambda *a: seen.append(1))
    assert numpy_outputs(module, X) is None
    _inference.predict_outputs(module, X, 8)
    assert seen == [1]
    handle.remove()
    assert numpy_outputs(module, X) is not None
    handle = torch.nn.modules.module.register_module_forward_hook(lambda *a: None)
    try:
        assert numpy_outputs(module, X) is None
    finally:
        handle.remove()


def test_the_views_follow_updates_and_replacements_of_the_parameters():
    module, X = _network(), torch.randn(3, 5)
    _assert_same_outputs(module, X)
    with torch.no_grad():  # in place, as an optimizer step
        module.trunk[0].weight.mul_(2.0)
        module.heads.biases[0].add_(1.0)
    _assert_same_outputs(module, X)
    with torch.no_grad():  # a parameter's storage swapped
        module.trunk[2].weight.data = torch.randn(4, 8)
    _assert_same_outputs(module, X)
    module.trunk[2] = nn.Linear(8, 4)  # a layer replaced
    _assert_same_outputs(module, X)
    module.load_state_dict(_network(seed=1).state_dict(), assign=True)
    _assert_same_outputs(module, X)
    module.replace_heads([2, 4, 1], keep=[0, None, None])  # two head blocks
    _assert_same_outputs(module, X)
    assert [t.shape[1] for t in numpy_outputs(module, X)] == [2, 4, 1]


def test_the_views_do_not_keep_a_network_alive():
    module = _network()
    assert numpy_outputs(module, torch.randn(2, 5)) is not None
    gone = weakref.ref(module)
    del module
    gc.collect()
    assert gone() is None


def test_predict_outputs_uses_numpy_up_to_its_row_limit(monkeypatch):
    module = _network()
    calls = []
    monkeypatch.setattr(
        MultiHeadNetwork, "forward", lambda self, X: calls.append(len(X)) or (X,)
    )
    out = _inference.predict_outputs(module, torch.randn(NUMPY_MAX_ROWS, 5), 512)
    assert calls == []  # numpy served it
    assert isinstance(out, list)  # as torch's outputs (heads of two widths)
    _inference.predict_outputs(module, torch.randn(NUMPY_MAX_ROWS + 1, 5), 512)
    assert calls == [NUMPY_MAX_ROWS + 1]


@pytest.fixture(scope="module")
def data():
    return two_task_data()


def test_estimators_serve_few_rows_as_they_serve_many(data):
    X, Y = data
    model = fit_small(data)
    row = model.input_.tensors(model.input_.transform(X[:1], model))
    assert numpy_outputs(model.module_, row) is not None
    assert numpy_outputs(model.module_, torch.from_numpy(X[:1])) is None  # too narrow
    many = model.predict_proba(X)  # 60 rows: torch
    for rows in (slice(0, 1), slice(5, 5 + NUMPY_MAX_ROWS)):
        for few, all_rows in zip(model.predict_proba(X[rows]), many):
            np.testing.assert_allclose(few, all_rows[rows], rtol=1e-5, atol=1e-6)
    # Training further updates the parameters in place: the next call reads them.
    model.partial_fit(X, Y)
    many = model.predict_proba(X)
    for few, all_rows in zip(model.predict_proba(X[:1]), many):
        np.testing.assert_allclose(few, all_rows[:1], rtol=1e-5, atol=1e-6)


def test_a_refit_model_serves_its_new_network(data):
    X, Y = data
    model = MultiTaskClassifier((8,), max_epochs=2, random_state=0).fit(X, Y)
    first = model.predict_proba(X[:1])
    model.set_params(random_state=1).fit(X, Y)
    second = model.predict_proba(X[:1])
    assert not np.allclose(first[0], second[0])
    for few, all_rows in zip(second, model.predict_proba(X)):
        np.testing.assert_allclose(few, all_rows[:1], rtol=1e-5, atol=1e-6)


def _tabular_network(n_missing=1, cardinalities=(3, 4), seed=0):
    from sk_mtl.embeddings import TabularFrontEnd, TabularNetwork

    torch.manual_seed(seed)
    front = TabularFrontEnd(2, n_missing, list(cardinalities), d_embedding=4)
    head = MultiHeadNetwork(MLP(front.out_features, (8,)), [2, 2])
    return TabularNetwork(front, head).eval()


def _tabular_rows(n, n_missing=1, cardinalities=(3, 4), seed=0):
    rng = np.random.default_rng(seed)
    codes = np.zeros((n, len(cardinalities)), dtype=np.int64)
    for j, c in enumerate(cardinalities):
        codes[:, j] = rng.integers(0, c, n)
    return {
        "numeric": torch.from_numpy(rng.normal(size=(n, 2)).astype(np.float32)),
        "missing": torch.from_numpy((rng.random((n, n_missing)) > 0.5).astype("f4")),
        "categorical": torch.from_numpy(codes),
    }


@pytest.mark.parametrize("n_missing, cardinalities", [(1, (3, 4)), (0, (5,)), (2, ())])
def test_a_tabular_front_end_is_computed_with_numpy_too(n_missing, cardinalities):
    module = _tabular_network(n_missing, cardinalities)
    X = _tabular_rows(6, n_missing, cardinalities)
    fast = numpy_outputs(module, X)
    assert fast is not None
    with torch.inference_mode():
        slow = module(**X)
    for a, b in zip(fast, slow):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    embedding = module.front_end.categorical
    if embedding is not None:  # a hook on the embeddings: torch runs it
        handle = embedding.register_forward_hook(lambda *a: None)
        assert numpy_outputs(module, X) is None
        handle.remove()
    assert numpy_outputs(module, {**X, "numeric": X["numeric"].double()}) is None


def test_dataframe_rows_are_served_few_as_many():
    pd = pytest.importorskip("pandas")
    X, Y = two_task_data()
    frame = pd.DataFrame(X, columns=list("abcde"))
    frame["kind"] = pd.Categorical(np.where(X[:, 0] > 0, "p", "n"))
    model = MultiTaskClassifier((8,), max_epochs=2, random_state=0).fit(frame, Y)
    rows = model.input_.tensors(model.input_.transform(frame.iloc[:2], model))
    assert numpy_outputs(model.module_, rows) is not None
    many = model.predict_proba(frame)  # 60 rows: torch
    for few, all_rows in zip(model.predict_proba(frame.iloc[:3]), many):
        np.testing.assert_allclose(few, all_rows[:3], rtol=1e-5, atol=1e-6)


def _members(n=3, hidden=(8, 4), widths=(3, 3), dropout=0.0):
    return [_network(hidden, widths, dropout, seed=s) for s in range(n)]


def _assert_member_logits(modules, X):
    fast = numpy_member_logits(modules, X)
    assert fast is not None and fast.dtype == np.float32
    for module, logits in zip(modules, fast):
        with torch.inference_mode():
            slow = module(**X) if isinstance(X, dict) else module(X)
        for t, out in enumerate(slow):
            torch.testing.assert_close(
                torch.from_numpy(logits[:, t]), out, rtol=1e-5, atol=1e-6
            )
    return fast


@pytest.mark.parametrize(
    "hidden, widths, dropout",
    [((8, 4), (3, 3), 0.0), ((8,), (2, 2, 2), 0.3), ((), (4,), 0.0), ((6,), (1,), 0.0)],
)
def test_member_logits_are_each_members_outputs(hidden, widths, dropout):
    modules = _members(3, hidden, widths, dropout)
    for n_rows in (1, 7):
        fast = _assert_member_logits(modules, torch.randn(n_rows, 5))
        assert fast.shape == (3, n_rows, len(widths), widths[0])


def test_member_logits_of_networks_numpy_cannot_stack_are_none():
    X = torch.randn(2, 5)
    assert numpy_member_logits(_members(2, widths=(2, 3)), X) is None  # 2 widths
    other = [_network((8, 4)), _network((8, 5))]  # different shapes
    assert numpy_member_logits(other, X) is None
    mmoe = [MMoE(5, (4,), [2, 2], n_experts=2).eval() for _ in range(2)]
    assert numpy_member_logits(mmoe, X) is None
    modules = _members(2)
    handle = modules[1].trunk[0].register_forward_hook(lambda *a: None)
    assert numpy_member_logits(modules, X) is None  # torch runs the hook
    handle.remove()
    assert numpy_member_logits(modules, X.double()) is None
    assert numpy_member_logits(modules, torch.randn(2, 6)) is None  # wrong width


def test_member_stacks_follow_updates_and_replacements_of_the_parameters():
    modules, X = _members(3), torch.randn(4, 5)
    _assert_member_logits(modules, X)
    with torch.no_grad():  # in place, as an optimizer step
        modules[1].trunk[0].weight.mul_(2.0)
        modules[2].heads.biases[0].add_(1.0)
    _assert_member_logits(modules, X)
    modules[0].load_state_dict(_network(widths=(3, 3), seed=7).state_dict())
    _assert_member_logits(modules, X)
    modules[2].trunk[2] = nn.Linear(8, 4)  # a layer replaced
    _assert_member_logits(modules, X)
    _assert_member_logits(modules[::-1], X)  # other members, other stacks


def test_member_stacks_do_not_keep_the_networks_alive():
    modules = _members(2)
    assert numpy_member_logits(modules, torch.randn(1, 5)) is not None
    gone = [weakref.ref(m) for m in modules]
    del modules
    gc.collect()
    assert all(ref() is None for ref in gone)


def test_member_logits_under_tabular_front_ends():
    modules = [_tabular_network(seed=s) for s in range(3)]
    X = _tabular_rows(5)
    assert _assert_member_logits(modules, X).shape == (3, 5, 2, 2)
    assert numpy_member_logits([modules[0], _network()], X) is None
