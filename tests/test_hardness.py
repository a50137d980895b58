"""Unit tests of the pure functions of hard example mining (sk_mtl.mining._hardness)."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from sk_mtl.mining._hardness import (
    EPS,
    align_classes,
    class_thresholds,
    decision_to_proba,
    hardness_scores,
    keep_every_class,
    label_issues,
    mine_weights,
    model_proba,
    noise_multipliers,
    rank_multipliers,
    task_hardness,
)
from sk_mtl.mining._out_of_fold import assemble_out_of_fold


def test_decision_to_proba_binary_and_multiclass():
    proba = decision_to_proba([0.0, 2.0, -2.0])
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp([0.0, -2.0, 2.0])))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    proba = decision_to_proba([[0.0, 0.0, np.log(2.0)]])
    np.testing.assert_allclose(proba, [[0.25, 0.25, 0.5]])


def test_align_classes_puts_unseen_classes_at_zero():
    classes = [np.array([0, 1, 2])]
    (proba,) = align_classes([np.array([[0.3, 0.7]])], [np.array([0, 2])], classes)
    np.testing.assert_array_equal(proba, [[0.3, 0.0, 0.7]])
    with pytest.raises(ValueError, match="Task 0.*do not match"):
        align_classes([np.array([[0.3, 0.7]])], [np.array([0, 5])], classes)


def test_model_proba_of_a_fold_without_a_class():
    X = np.array([[0.0], [0.1], [2.0], [2.1]])
    fold_model = LogisticRegression().fit(X, ["a", "a", "c", "c"])
    classes = [np.array(["a", "b", "c"])]
    (proba,) = model_proba(fold_model, X, classes, [np.array([True, False, True])])
    assert proba.shape == (4, 3)
    np.testing.assert_array_equal(proba[:, 1], 0.0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba[0, 0] > 0.5 and proba[3, 2] > 0.5
    # scored through decision_function when there is no predict_proba
    svm = LinearSVC().fit(X, [0, 0, 1, 1])
    (proba,) = model_proba(svm, X, [np.array([0, 1])], [np.array([True, True])])
    assert proba[0, 0] > 0.5 and proba[3, 1] > 0.5
    with pytest.raises(ValueError, match="scores for 1 outputs, but y has 2"):
        model_proba(svm, X, [np.array([0, 1])] * 2, [np.array([True, True])] * 2)


def test_assemble_out_of_fold_averages_rows_outside_the_folds():
    fold_proba = [
        [np.array([[1.0, 0.0], [0.8, 0.2], [0.4, 0.6]])],
        [np.array([[0.1, 0.9], [0.2, 0.8]])],
    ]
    rows = [np.array([0, 1, 3]), np.array([2, 3])]
    (proba,) = assemble_out_of_fold(fold_proba, rows, 4, active=np.array([0, 1, 2]))
    np.testing.assert_allclose(proba, [[1.0, 0.0], [0.8, 0.2], [0.1, 0.9], [0.3, 0.7]])
    with pytest.raises(ValueError, match="exactly one test fold"):
        assemble_out_of_fold(fold_proba, rows, 4, active=np.array([0, 1, 2, 3]))


def test_task_hardness_loss_and_margin():
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.0, 1.0]])
    y = np.array([0, 0, 0])
    loss = task_hardness(proba, y, "loss")
    np.testing.assert_allclose(loss, [-np.log(0.9), -np.log(0.2), -np.log(EPS)])
    margin = task_hardness(proba, y, "margin")
    np.testing.assert_allclose(margin, [0.1, 0.8, 1.0])
    assert margin[0] < 0.5 < margin[1]  # correct vs misclassified
    # multiclass: the margin is to the most probable other class
    margin = task_hardness(np.array([[0.5, 0.1, 0.4]]), np.array([0]), "margin")
    np.testing.assert_allclose(margin, [0.45])


def test_hardness_scores_sum_over_labelled_tasks():
    proba = [
        np.array([[0.5, 0.5], [0.25, 0.75], [0.5, 0.5]]),
        np.array([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]),
    ]
    codes = np.array([[0, 1], [1, -1], [-1, -1]])
    hardness = hardness_scores(proba, codes, "loss")
    np.testing.assert_allclose(hardness[:2], [2 * np.log(2), -np.log(0.75)])
    assert np.isnan(hardness[2])


def test_class_thresholds_are_weighted_self_confidence():
    proba = np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8], [0.4, 0.6]])
    y = np.array([0, 0, 1, 1])
    thresholds = class_thresholds(proba, y, np.array([1.0, 3.0, 1.0, 0.0]))
    np.testing.assert_allclose(thresholds, [0.6, 0.8])
    thresholds = class_thresholds(proba, y, np.array([1.0, 1.0, 0.0, 0.0]))
    assert thresholds[1] == np.inf


def test_confidently_mislabelled_example_is_flagged():
    proba = np.array(
        [
            [0.9, 0.1],
            [0.9, 0.1],
            [0.8, 0.2],
            [0.1, 0.9],  # labelled 0, confidently 1: a label issue
            [0.1, 0.9],
            [0.2, 0.8],
            [0.3, 0.7],  # labelled 1, hard but not confidently 0
            [0.05, 0.95],  # no label
        ]
    )
    codes = np.array([0, 0, 0, 0, 1, 1, 1, -1]).reshape(-1, 1)
    flags, ratio, (thresholds,) = label_issues([proba], codes, np.ones(8))
    np.testing.assert_allclose(thresholds, [0.675, 0.8])
    np.testing.assert_array_equal(flags[:, 0], [0, 0, 0, 1, 0, 0, 0, 0])
    np.testing.assert_allclose(ratio[3, 0], 0.1 / 0.675)
    np.testing.assert_array_equal(np.delete(ratio[:, 0], 3), 1.0)


def test_label_issue_needs_its_own_class_below_threshold():
    members = [[0.5, 0.3, 0.2]] * 2 + [[0.2, 0.5, 0.3]] * 2 + [[0.1, 0.1, 0.8]]
    candidates = [[0.5, 0.5, 0.0], [0.45, 0.5, 0.05]]
    proba = np.array(members + candidates)
    codes = np.array([0, 0, 1, 1, 2, 0, 0]).reshape(-1, 1)
    weight = np.array([1.0, 1, 1, 1, 1, 0, 0])  # the candidates set no threshold
    flags, ratio, (thresholds,) = label_issues([proba], codes, weight)
    np.testing.assert_allclose(thresholds, [0.5, 0.5, 0.8])
    # both reach class 1's threshold; only the second is below its own
    np.testing.assert_array_equal(flags[:, 0], [0, 0, 0, 0, 0, 0, 1])
    np.testing.assert_allclose(ratio[-1, 0], 0.9)


def test_rank_multipliers_bounded_and_average_one():
    hardness = np.arange(10.0)[::-1]  # the first example is the hardest
    multiplier = rank_multipliers(hardness, np.ones(10), 2.0, 0.2)
    # ranks 0.85 and 0.95 of the two hardest: levels 0.25, 0.75, then / (11 / 10)
    np.testing.assert_allclose(multiplier[:2], np.array([1.75, 1.25]) / 1.1)
    np.testing.assert_allclose(multiplier[2:], 1 / 1.1)
    weight = np.linspace(0.5, 2.0, 10)
    for hard_fraction in (0.2, 1.0):
        multiplier = rank_multipliers(hardness, weight, 3.0, hard_fraction)
        assert np.all(multiplier <= 3.0) and np.all(multiplier > 0)
        np.testing.assert_allclose(np.average(multiplier, weights=weight), 1.0)
        assert np.all(np.diff(multiplier) <= 0)  # harder, heavier


def test_noise_multipliers_downweight_drop_none():
    multiplier = np.array([1.5, 0.8, 1.0])
    noisy = np.array([False, True, True])
    ratio = np.array([[1.0, 1.0], [0.5, 0.4], [0.25, 1.0]])
    down = noise_multipliers(multiplier, noisy, ratio, "downweight")
    np.testing.assert_allclose(down, [1.5, 0.2, 0.25])
    np.testing.assert_array_equal(
        noise_multipliers(multiplier, noisy, ratio, "drop"), [1.5, 0.0, 0.0]
    )
    np.testing.assert_array_equal(
        noise_multipliers(multiplier, noisy, ratio, None), multiplier
    )
    np.testing.assert_array_equal(multiplier, [1.5, 0.8, 1.0])  # not modified


def test_keep_every_class_restores_an_emptied_class():
    codes = np.array([0, 0, 1, 1, 2]).reshape(-1, 1)
    weight = np.array([1.0, 1.0, 1.0, 1.0, 0.0])
    noisy = np.array([True, False, True, True, True])
    multiplier = np.array([0.0, 1.0, 0.0, 0.0, 0.0])
    kept, restored = keep_every_class(multiplier, noisy, codes, weight)
    # class 1 lost all its weight; class 0 keeps one example, class 2 had none
    np.testing.assert_array_equal(kept, [0.0, 1.0, 1.0, 1.0, 0.0])
    assert restored == [(0, 1)]


def _scores(hardness, flagged):
    flags = np.asarray(flagged, dtype=bool).reshape(-1, 1)
    ratio = np.where(flags, 0.5, 1.0)
    return np.asarray(hardness, dtype=float), flags, ratio


def test_mine_weights_per_class_schedule_and_noise():
    codes = np.array([0, 0, 0, 0, 1, 1, 1, 1]).reshape(-1, 1)
    hardness, flags, ratio = _scores(
        [0.1, 0.2, 0.3, 5.0, 0.1, 0.4, 0.2, 0.3], [0, 0, 0, 1, 0, 0, 0, 0]
    )
    params = dict(max_weight=2.0, hard_fraction=0.5)
    weight = np.ones(8)
    plain, _ = mine_weights(
        hardness, flags, ratio, codes, weight, noise_handling=None, **params
    )
    for c in (0, 1):
        np.testing.assert_allclose(plain[codes[:, 0] == c].mean(), 1.0)
    assert plain.max() <= 2.0
    # the hardest of each class gets the largest multiplier of its class
    assert plain[3] == plain[:4].max() > 1 and plain[5] == plain[4:].max() > 1
    dropped, restored = mine_weights(
        hardness, flags, ratio, codes, weight, noise_handling="drop", **params
    )
    assert dropped[3] == 0.0 and restored == []
    # the three others of class 0 are re-ranked among themselves
    np.testing.assert_allclose(dropped[:3].mean(), 1.0)
    assert dropped[2] == dropped[:3].max()
    down, _ = mine_weights(
        hardness, flags, ratio, codes, weight, noise_handling="downweight", **params
    )
    assert down[3] == 0.5
    np.testing.assert_array_equal(down[:3], dropped[:3])


def test_mine_weights_never_empties_a_class():
    codes = np.array([0, 0, 0, 1, 1]).reshape(-1, 1)
    hardness, flags, ratio = _scores([0.1, 0.2, 0.3, 3.0, 4.0], [0, 0, 0, 1, 1])
    multiplier, restored = mine_weights(
        hardness,
        flags,
        ratio,
        codes,
        np.ones(5),
        max_weight=2.0,
        hard_fraction=0.2,
        noise_handling="drop",
    )
    np.testing.assert_array_equal(multiplier[3:], 1.0)
    assert restored == [(0, 1)]
    assert np.all(multiplier[:3] > 0)
