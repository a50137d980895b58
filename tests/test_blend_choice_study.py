"""The one-standard-error choice of the blend weight (blend_choice_study)."""

import numpy as np

from benchmarks.blend_choice_study import one_se_weight


def _losses(gaps, noise, n, seed=0):
    """Per-row losses of the 5 grid weights: a shared per-row part (rows are
    hard or easy for every weight), each weight's gap, and its own noise."""
    rng = np.random.default_rng(seed)
    shared = rng.exponential(size=n)
    return np.stack([shared + g + noise * rng.normal(size=n) for g in gaps])


def test_a_clear_winner_on_many_rows_is_kept():
    losses = _losses([0.0, 0.05, 0.1, 0.15, 0.2], noise=0.1, n=2000)
    assert one_se_weight(losses, np.ones(2000)) == 0.0


def test_few_noisy_rows_lean_to_the_linear_model():
    losses = _losses([0.0, 0.01, 0.02, 0.03, 0.04], noise=0.5, n=25)
    assert one_se_weight(losses, np.ones(25)) == 1.0


def test_the_linear_model_when_it_is_best():
    losses = _losses([0.2, 0.15, 0.1, 0.05, 0.0], noise=0.1, n=500)
    assert one_se_weight(losses, np.ones(500)) == 1.0


def test_zero_weighted_rows_do_not_count():
    losses = _losses([0.0, 0.05, 0.1, 0.15, 0.2], noise=0.1, n=2000)
    weight = np.r_[np.ones(1000), np.zeros(10)]
    noisy = np.hstack([losses[:, :1000], np.full((5, 10), 1e3) * np.arange(5)[:, None]])
    assert one_se_weight(noisy, weight) == 0.0
