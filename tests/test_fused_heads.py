"""Tests of sk_mtl._fused_heads: all tasks' heads as one matmul."""

import pytest
import torch
from torch import nn

from sk_mtl.modules import MLP, FusedHeads, MMoE, MultiHeadNetwork


def _linear_heads(seed, in_features, sizes):
    torch.manual_seed(seed)
    return [nn.Linear(in_features, n) for n in sizes]


def test_initialisation_draws_what_one_linear_per_task_draws():
    sizes = [2, 3, 1]
    linear = _linear_heads(3, 5, sizes)
    torch.manual_seed(3)
    fused = FusedHeads(5, sizes)
    for head, ref in zip(fused, linear):
        assert torch.equal(head.weight, ref.weight)
        assert torch.equal(head.bias, ref.bias)
    assert fused.weights[0].shape == (6, 5) and len(fused.weights) == 1


def test_outputs_are_views_of_one_matmul_and_match_per_task_heads():
    sizes = [2, 3, 1]
    linear = _linear_heads(0, 5, sizes)
    torch.manual_seed(0)
    fused = FusedHeads(5, sizes)
    z = torch.randn(7, 5, requires_grad=True)
    out = fused(z)
    assert [o.shape for o in out] == [(7, 2), (7, 3), (7, 1)]
    storage = {o.untyped_storage().data_ptr() for o in out}
    assert len(storage) == 1  # slices of one output, no copies
    for o, ref in zip(out, linear):
        torch.testing.assert_close(o, ref(z))
    # Gradients are those of separate heads.
    sum(o.square().sum() for o in out).backward()
    grads = torch.autograd.grad(
        sum(ref(z).square().sum() for ref in linear),
        [p for ref in linear for p in (ref.weight,)],
    )
    torch.testing.assert_close(fused.weights[0].grad, torch.cat(grads))


def test_members_match_tabm_linear_ensembles():
    tabm = pytest.importorskip("tabm")
    torch.manual_seed(1)
    refs = [tabm.LinearEnsemble(6, n, k=4) for n in (2, 3)]
    torch.manual_seed(1)
    fused = FusedHeads(6, [2, 3], n_members=4)
    z = torch.randn(5, 4, 6)
    for head, out, ref in zip(fused, fused(z), refs):
        assert torch.equal(head.weight, ref.weight)
        assert torch.equal(head.bias, ref.bias)
        torch.testing.assert_close(out, ref(z))
        torch.testing.assert_close(head(z), ref(z))


def test_replaced_keeps_the_kept_heads_weights_and_parameters():
    torch.manual_seed(0)
    old = FusedHeads(4, [2, 3, 2])
    z = torch.randn(6, 4)
    before = [o.detach().clone() for o in old(z)]
    new = old.replaced([3, 5, 2], keep=[1, None, 0])
    # The old block is carried over as the same parameter object; new heads
    # form a second block.
    assert new.weights[0] is old.weights[0] and len(new.weights) == 2
    out = new(z)
    assert [o.shape[1] for o in out] == [3, 5, 2]
    for j, k in ((0, 1), (2, 0)):
        assert torch.equal(new[j].weight, old[k].weight)
        assert torch.equal(new[j].bias, old[k].bias)
        torch.testing.assert_close(out[j], before[k])
    # Nothing kept: only new parameters.
    fresh = old.replaced([2, 2])
    assert not {id(p) for p in fresh.parameters()} & {id(p) for p in old.parameters()}


@pytest.mark.parametrize(
    "keep, match",
    [([0], "one entry"), ([5, None], "there are 3 heads"), ([1, None], "3 outputs")],
)
def test_replaced_rejects_bad_keep(keep, match):
    heads = FusedHeads(4, [2, 3, 2])
    with pytest.raises(ValueError, match=match):
        heads.replaced([2, 2], keep=keep)


def test_layout_round_trip_and_state_dict():
    torch.manual_seed(0)
    heads = FusedHeads(4, [2, 3]).replaced([3, 4], keep=[1, None])
    rebuilt = FusedHeads.from_layout(4, heads.layout_config())
    rebuilt.load_state_dict(heads.state_dict())
    z = torch.randn(5, 4)
    assert torch.equal(rebuilt.weights[1], heads.weights[1])
    for a, b in zip(heads(z), rebuilt(z)):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="does not fit"):
        FusedHeads.from_layout(4, {"blocks": [[2]], "layout": [[0, 1, 2]]})


def test_state_dicts_of_per_task_heads_still_load():
    # What networks saved before the heads were fused hold: one nn.Linear per task.
    old = nn.ModuleDict(
        {"trunk": MLP(5, (6,)), "heads": nn.ModuleList(_linear_heads(0, 6, [2, 3]))}
    )
    net = MultiHeadNetwork(MLP(5, (6,)), [2, 3])
    net.load_state_dict(old.state_dict())
    X = torch.randn(4, 5)
    z = old["trunk"](X)
    for out, head in zip(net(X), old["heads"]):
        torch.testing.assert_close(out, head(z))


def test_reset_parameters_redraws_every_block():
    heads = FusedHeads(4, [2]).replaced([2, 3], keep=[0, None])
    before = [p.detach().clone() for p in heads.parameters()]
    heads.reset_parameters()
    assert all(not torch.equal(a, b) for a, b in zip(before, heads.parameters()))


@pytest.mark.parametrize("replace", [False, True])
def test_mmoe_fused_forward_matches_task_by_task(replace):
    torch.manual_seed(0)
    net = MMoE(5, (8,), [2, 3, 1], n_experts=3)
    if replace:  # two blocks of heads and of gates
        net.replace_heads([3, 4], keep=[1, None])
    X = torch.randn(7, 5)
    experts = net.experts(X)
    outputs = net(X)
    assert len(outputs) == len(net.heads)
    for gate, head, out in zip(net.gates, net.heads, outputs):
        mixed = torch.einsum("be,ebu->bu", torch.softmax(gate(X), 1), experts)
        torch.testing.assert_close(out, head(mixed))


def test_auto_predict_batch_knows_fused_heads():
    from sk_mtl._engine._options import AUTO_PREDICT_ROWS, predict_batch_rows

    net = MultiHeadNetwork(MLP(5, (8,)), [2, 3])
    assert predict_batch_rows("auto", 16, net) == AUTO_PREDICT_ROWS
    assert predict_batch_rows("auto", 16, MMoE(5, (8,), [2, 3])) == AUTO_PREDICT_ROWS


def test_auto_predict_batch_counts_tabm_members():
    pytest.importorskip("tabm")
    from sk_mtl._engine._options import predict_batch_rows
    from sk_mtl.ensembles import MemberEnsemble

    # 64 members x 2048 units: 2**17 floats per row, 2**24 at most per batch.
    net = MemberEnsemble(5, (2048,), [2], n_members=64)
    assert predict_batch_rows("auto", 16, net) == 2**24 // 2**17


def test_new_heads_follow_the_kept_heads_dtype():
    heads = FusedHeads(4, [2]).to(torch.float64)
    new = heads.replaced([2, 3], keep=[0, None])
    assert {p.dtype for p in new.parameters()} == {torch.float64}
    assert new(torch.zeros(2, 4, dtype=torch.float64))[1].shape == (2, 3)
