import pytest
import torch
from torch import nn

from sk_mtl.modules import MLP, ExpertLayer, MMoE, MultiHeadNetwork


def test_mlp_layers_and_width():
    mlp = MLP(5, (8, 4), dropout=0.5)
    assert mlp.out_features == 4
    assert [lin.out_features for lin in mlp.linear_layers()] == [8, 4]
    assert sum(isinstance(m, nn.Dropout) for m in mlp) == 2
    assert MLP(5, ()).out_features == 5


def test_multi_head_network_outputs_and_shared_parameters():
    net = MultiHeadNetwork(MLP(5, (8,)), [2, 4, 3])
    out = net(torch.randn(7, 5))
    assert [o.shape for o in out] == [(7, 2), (7, 4), (7, 3)]
    assert net.features(torch.randn(7, 5)).shape == (7, 8)
    shared = {id(p) for p in net.shared_parameters()}
    assert shared == {id(p) for p in net.trunk.parameters()}


def test_expert_layer_equals_independent_linear_layers():
    torch.manual_seed(0)
    layer = ExpertLayer(3, 4, 5)
    x = torch.randn(6, 4)
    out = layer(x)
    assert out.shape == (3, 6, 5)
    for e in range(3):
        torch.testing.assert_close(out[e], x @ layer.weight[e] + layer.bias[e])


def test_mmoe_gates_mix_experts_per_task():
    torch.manual_seed(0)
    net = MMoE(5, (8,), n_classes=[2, 3], n_experts=4)
    x = torch.randn(10, 5)
    out = net(x)
    assert [o.shape for o in out] == [(10, 2), (10, 3)]
    assert net.features(x).shape == (10, 32)
    # each task's head reads its own gated mixture of the experts
    experts = net.experts(x)
    for gate, head, logits in zip(net.gates, net.heads, out):
        g = torch.softmax(gate(x), dim=1)
        mixed = (g.T.unsqueeze(-1) * experts).sum(0)
        torch.testing.assert_close(head(mixed), logits)
    shared = {id(p) for p in net.shared_parameters()}
    assert not shared & {id(p) for p in net.gates.parameters()}


@pytest.mark.parametrize(
    "n_classes, path",
    [
        ([2, 2, 2], "_heads_of_experts"),
        ([3, 1, 5], "_heads_of_experts"),
        ([60, 60], "_heads_of_mixtures"),  # wide heads: mixtures first
        ([2, 60], "_heads_of_mixtures"),
    ],
)
def test_mmoe_each_task_reads_its_own_head_on_its_own_mixture(
    n_classes, path, monkeypatch
):
    torch.manual_seed(0)
    net = MMoE(5, (8,), n_classes, n_experts=4)
    calls = []
    chosen = getattr(MMoE, path)
    monkeypatch.setattr(
        MMoE, path, lambda self, *a: calls.append(path) or chosen(self, *a)
    )
    X = torch.randn(7, 5)
    out = net(X)
    assert calls == [path]
    _assert_each_task_reads_its_mixture(net, X, out, n_classes)
    # Gradients reach each task's own head rows only from that task's loss.
    out[1].sum().backward()
    start, width = net.heads.slices[1]
    grad = net.heads.weights[0].grad
    assert grad[start : start + width].abs().sum() > 0
    others = torch.ones(len(grad), dtype=torch.bool)
    others[start : start + width] = False
    assert grad[others].abs().sum() == 0


def test_mmoe_with_replaced_heads_reads_each_kept_gate_and_head():
    # Kept heads keep their blocks: fused rows out of task order, and rows of a
    # head no task keeps.
    torch.manual_seed(0)
    net = MMoE(5, (8,), [2, 3, 4], n_experts=3)
    net.replace_heads([4, 2, 2], keep=[2, 0, None])
    X = torch.randn(6, 5)
    _assert_each_task_reads_its_mixture(net, X, net(X), [4, 2, 2])


def _assert_each_task_reads_its_mixture(net, X, out, n_classes):
    experts = net.experts(X)  # (experts, batch, units)
    gates = torch.softmax(torch.stack(net.gates(X), dim=1), dim=2)
    for t, n in enumerate(n_classes):
        mixture = torch.einsum("be,ebu->bu", gates[:, t], experts)
        head = net.heads[t]
        expected = mixture @ head.weight.T + head.bias
        assert out[t].shape == (len(X), n)
        torch.testing.assert_close(out[t], expected)


def test_mmoe_trains_after_a_network_of_its_layout_predicted():
    # The heads' row indices are made once per layout: a prediction (inference
    # mode) that makes them first must not leave indices backward cannot save.
    from sk_mtl.modules import _mmoe_layout

    _mmoe_layout.cache_clear()
    first, second = (
        MMoE(5, (8,), [2, 3], n_experts=2),
        MMoE(5, (8,), [2, 3], n_experts=2),
    )
    with torch.inference_mode():
        first.eval()(torch.randn(4, 5))
    outputs = second(torch.randn(4, 5))
    sum(o.sum() for o in outputs).backward()
    assert all(p.grad is not None for p in second.heads.parameters())


def test_mlp_in_eval_mode_skips_its_dropout_and_in_train_mode_applies_it():
    torch.manual_seed(0)
    mlp = MLP(4, (16, 8), dropout=0.5)
    plain = MLP(4, (16, 8))
    for dst, src in zip(plain.linear_layers(), mlp.linear_layers()):
        dst.load_state_dict(src.state_dict())
    x = torch.randn(32, 4)
    torch.testing.assert_close(mlp.eval()(x), plain.eval()(x))
    calls = []
    mlp[2].register_forward_hook(lambda *a: calls.append(1))
    mlp.train()(x)
    assert calls == [1]  # training runs the dropout
    assert not torch.equal(mlp(x), plain(x))
