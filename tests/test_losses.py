import math

import pytest
import torch
import torch.nn.functional as F

from sk_mtl.losses import (
    MultiTaskLoss,
    per_sample_loss,
    reduce_task_loss,
    stacked_task_losses,
)
from sk_mtl.weighting import DWA, PCGrad, UncertaintyWeighting


def test_focal_loss_is_cross_entropy_at_gamma_zero_and_smaller_otherwise():
    torch.manual_seed(0)
    logits, y = torch.randn(20, 3), torch.randint(0, 3, (20,))
    ce = F.cross_entropy(logits, y, reduction="none")
    torch.testing.assert_close(per_sample_loss(logits, y, "focal", 0.0), ce)
    focal = per_sample_loss(logits, y, "focal", 2.0)
    assert torch.all(focal <= ce + 1e-7)
    # confident correct samples are down-weighted far more than wrong ones
    p = torch.softmax(logits, 1)[torch.arange(20), y]
    torch.testing.assert_close(focal, (1 - p) ** 2 * ce)


def test_ohem_keeps_only_the_hardest_labelled_fraction():
    losses = torch.tensor([0.1, 5.0, 0.2, 3.0, 9.0, 0.3])
    w = torch.tensor([1.0, 1.0, 1.0, 1.0, 0.0, 1.0])  # the 9.0 is a missing label
    # 5 labelled samples, fraction 0.4 -> the 2 hardest labelled: 5.0 and 3.0
    out = reduce_task_loss(losses, w, "ohem", 0.4)
    assert float(out) == pytest.approx(4.0)
    assert float(reduce_task_loss(losses, w, "cross_entropy")) == pytest.approx(
        (0.1 + 5.0 + 0.2 + 3.0 + 0.3) / 6
    )


def test_missing_labels_change_neither_loss_nor_gradient():
    torch.manual_seed(0)
    logits = (
        torch.randn(6, 2, requires_grad=True),
        torch.randn(6, 3, requires_grad=True),
    )
    w = torch.ones(6, 2)
    w[[1, 4], 1] = 0.0
    y_a = torch.tensor([[0, 2], [1, 0], [1, 1], [0, 2], [1, 0], [0, 1]])
    y_b = y_a.clone()
    y_b[[1, 4], 1] = torch.tensor([2, 1])  # different codes under missing labels
    crit = MultiTaskLoss(2)
    total_a, _ = crit(logits, y_a, w)
    grads_a = torch.autograd.grad(total_a, logits)
    total_b, _ = crit(logits, y_b, w)
    grads_b = torch.autograd.grad(total_b, logits)
    torch.testing.assert_close(total_a, total_b)
    for ga, gb in zip(grads_a, grads_b):
        torch.testing.assert_close(ga, gb)
    assert torch.all(grads_a[1][[1, 4]] == 0)


def test_batch_without_labels_for_a_task_gives_zero_loss():
    logits = (torch.randn(4, 2), torch.randn(4, 2))
    w = torch.tensor([[1.0, 0.0]] * 4)
    for loss in ("cross_entropy", "focal", "ohem"):
        _, per_task = MultiTaskLoss(2, loss=loss)(logits, torch.zeros(4, 2).long(), w)
        assert float(per_task[1]) == 0.0


def test_uncertainty_weighting_objective_and_equal_start():
    weighting = UncertaintyWeighting(2)
    losses = torch.tensor([1.0, 3.0])
    assert float(weighting(losses)) == pytest.approx(4.0)  # equal at init
    with torch.no_grad():
        weighting.log_vars.copy_(torch.tensor([0.0, math.log(3.0)]))
    expected = 1.0 + 1.0 + 0.5 * math.log(3.0)
    assert float(weighting(losses)) == pytest.approx(expected)


def test_dwa_gives_more_weight_to_the_slower_task():
    dwa = DWA(2, temperature=2.0)
    dwa.epoch_end(torch.tensor([1.0, 1.0]))
    torch.testing.assert_close(dwa.weights(), torch.ones(2))  # needs two epochs
    dwa.epoch_end(torch.tensor([0.5, 0.9]))  # task 0 fell fast, task 1 slowly
    w = dwa.weights()
    assert w[1] > w[0]
    assert float(w.sum()) == pytest.approx(2.0)


def test_pcgrad_removes_the_conflicting_component():
    g = torch.tensor([[1.0, 0.0], [-1.0, 1.0]])  # dot = -1: conflict
    torch.manual_seed(0)
    combined = PCGrad(2).combine(g)
    # g0 projected: [1,0] - (-1/2)[-1,1] = [0.5, 0.5]
    # g1 projected: [-1,1] - (-1/1)[1,0] = [0, 1]
    torch.testing.assert_close(combined, torch.tensor([0.5, 1.5]))
    aligned = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    torch.testing.assert_close(PCGrad(2).combine(aligned), aligned.sum(0))


@pytest.mark.parametrize("loss", ["cross_entropy", "focal", "ohem"])
@pytest.mark.parametrize("weighting", ["equal", "uncertainty", "dwa"])
def test_unit_weights_fast_path_matches_weighted_path(loss, weighting):
    # w=None (no missing label, no sample_weight) skips the weight ops; it must
    # give the loss and the gradients of w = ones.
    torch.manual_seed(0)
    y = torch.stack([torch.randint(0, 2, (16,)), torch.randint(0, 3, (16,))], 1)
    grads = []
    for w in (None, torch.ones(16, 2)):
        logits = (
            torch.randn(16, 2, generator=torch.Generator().manual_seed(1)),
            torch.randn(16, 3, generator=torch.Generator().manual_seed(2)),
        )
        for lg in logits:
            lg.requires_grad_(True)
        total, per_task = MultiTaskLoss(2, loss=loss, task_weighting=weighting)(
            logits, y, w
        )
        total.backward()
        grads.append((total.detach(), per_task.detach(), [lg.grad for lg in logits]))
    (t0, p0, g0), (t1, p1, g1) = grads
    torch.testing.assert_close(t0, t1)
    torch.testing.assert_close(p0, p1)
    for a, b in zip(g0, g1):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("loss", ["cross_entropy", "squared_error", "huber"])
@pytest.mark.parametrize("weighted", [False, True])
def test_tasks_scored_in_one_op_match_task_by_task(loss, weighted):
    # Heads of one width sharing a plain loss are stacked and scored at once;
    # losses and gradients must be those of the per-task path, missing labels
    # (zero weights) included.
    gen = torch.Generator().manual_seed(0)
    n_tasks, width = 5, 1 if loss != "cross_entropy" else 3
    logits = [torch.randn(32, width, generator=gen) for _ in range(n_tasks)]
    if loss == "cross_entropy":
        y = torch.randint(0, width, (32, n_tasks), generator=gen)
    else:
        y = torch.randn(32, n_tasks, generator=gen)
    w = (torch.rand(32, n_tasks, generator=gen) > 0.3).float() if weighted else None
    results = []
    for one_op in (True, False):
        leaves = [lg.clone().requires_grad_(True) for lg in logits]
        if one_op:
            losses = list(stacked_task_losses(leaves, y, w, loss).unbind())
            assert MultiTaskLoss(n_tasks, loss=loss)._stackable
        else:
            losses = [
                reduce_task_loss(
                    per_sample_loss(lg, y[:, t], loss), None if w is None else w[:, t]
                )
                for t, lg in enumerate(leaves)
            ]
        torch.stack(losses).sum().backward()
        results.append((torch.stack(losses).detach(), [lg.grad for lg in leaves]))
    (l0, g0), (l1, g1) = results
    torch.testing.assert_close(l0, l1)
    for a, b in zip(g0, g1):
        torch.testing.assert_close(a, b)
    crit_losses = MultiTaskLoss(n_tasks, loss=loss).task_losses(logits, y, w)
    torch.testing.assert_close(torch.stack(crit_losses), l1)


def test_fused_heads_hand_the_loss_one_view_of_every_task():
    from sk_mtl.modules import FusedHeads

    heads = FusedHeads(4, [2, 2, 2])
    z = torch.randn(8, 4)
    outputs = heads(z)
    assert outputs.stacked.shape == (8, 3, 2)
    for t, part in enumerate(outputs):
        torch.testing.assert_close(outputs.stacked[:, t], part)
    y = torch.randint(0, 2, (8, 3))
    losses = MultiTaskLoss(3).task_losses(outputs, y)
    expected = [F.cross_entropy(part, y[:, t]) for t, part in enumerate(outputs)]
    torch.testing.assert_close(torch.stack(losses), torch.stack(expected))
    assert not hasattr(FusedHeads(4, [2, 3])(z), "stacked")  # widths differ


def test_member_outputs_scored_in_one_op_match_task_by_task():
    # TabM's heads give (batch, k, width) per task and a (batch, k, tasks, width)
    # view; the member-averaged loss must not depend on which one it reads.
    from sk_mtl.ensembles import MemberAveragedLoss
    from sk_mtl.losses import TaskOutputs

    gen = torch.Generator().manual_seed(0)
    out = torch.randn(6, 4, 3 * 2, generator=gen)  # batch 6, k=4, 3 tasks of 2
    parts = tuple(out.narrow(-1, 2 * t, 2) for t in range(3))
    y = torch.randint(0, 2, (6, 3), generator=gen)
    w = (torch.rand(6, 3, generator=gen) > 0.3).float()
    crit = MemberAveragedLoss(3)
    stacked = crit.task_losses(TaskOutputs(parts, out.unflatten(-1, (3, 2))), y, w)
    crit._stackable = False  # the per-task path
    looped = crit.task_losses(parts, y, w)
    torch.testing.assert_close(torch.stack(stacked), torch.stack(looped))


def test_heads_of_different_widths_or_losses_are_scored_one_by_one():
    assert not MultiTaskLoss(1)._stackable
    assert not MultiTaskLoss(2, loss=["cross_entropy", "squared_error"])._stackable
    assert not MultiTaskLoss(2, loss="focal")._stackable
    crit = MultiTaskLoss(2)
    logits = (torch.zeros(3, 2), torch.zeros(3, 4))
    y = torch.tensor([[0, 1], [1, 2], [0, 3]])
    losses = crit.task_losses(logits, y)
    assert [round(float(v), 4) for v in losses] == [0.6931, 1.3863]


def test_regression_losses_per_sample_and_fused_path_agree():
    out = torch.tensor([[0.0], [1.0], [3.0]])
    y = torch.tensor([0.5, 1.0, 0.0])
    expected = {
        "squared_error": [0.25, 0.0, 9.0],
        "absolute_error": [0.5, 0.0, 3.0],
        "huber": [0.125, 0.0, 2.5],  # quadratic below delta=1, linear above
    }
    for loss, values in expected.items():
        torch.testing.assert_close(
            per_sample_loss(out, y, loss), torch.tensor(values), check_dtype=False
        )
        crit = MultiTaskLoss(1, loss=loss)
        fused = crit.task_losses((out,), y[:, None])[0]
        weighted = crit.task_losses((out,), y[:, None], torch.ones(3, 1))[0]
        torch.testing.assert_close(fused, weighted)
        assert float(fused) == pytest.approx(sum(values) / 3)


def test_mixed_tasks_float_targets_and_missing_regression_entries():
    torch.manual_seed(0)
    outputs = (
        torch.randn(4, 3, requires_grad=True),
        torch.randn(4, 1, requires_grad=True),
    )
    # class codes travel as floats beside the regression target
    y = torch.tensor([[0.0, 1.5], [2.0, -0.5], [1.0, 9e9], [0.0, 0.0]])
    w = torch.ones(4, 2)
    w[2, 1] = 0.0  # a missing regression target (any value)
    crit = MultiTaskLoss(2, loss=["cross_entropy", "squared_error"])
    total, per_task = crit(outputs, y, w)
    codes = y[:, 0].long()
    torch.testing.assert_close(per_task[0], F.cross_entropy(outputs[0], codes))
    keep = [0, 1, 3]
    expected = ((outputs[1][keep, 0] - y[keep, 1]) ** 2).sum() / 4
    torch.testing.assert_close(per_task[1], expected)
    grad = torch.autograd.grad(total, outputs[1])[0]
    assert float(grad[2, 0]) == 0.0


def test_loss_names_are_checked():
    with pytest.raises(ValueError, match="2 entries for 3 tasks"):
        MultiTaskLoss(3, loss=["cross_entropy", "huber"])
    with pytest.raises(ValueError, match="Unknown loss 'l2'"):
        MultiTaskLoss(1, loss="l2")
