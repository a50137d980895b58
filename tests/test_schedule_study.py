"""The schedule study's contenders (benchmarks/schedule_study.py) on tiny data."""

import numpy as np
import pytest

from benchmarks import schedule_study
from benchmarks.tabular_suite import sk_mtl_model


def _fit(name):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    noise = rng.normal(size=(300, 2))
    Y = np.c_[X[:, 0] + noise[:, 0] > 0, X[:, 1] - X[:, 2] + noise[:, 1] > 0]
    # one network (300 rows would bag 3): its history is what is read
    params = {**schedule_study.CONTENDERS[name], "early_stopping": True, "n_bags": 1}
    model = sk_mtl_model(["binary", "binary"], 0, **params)
    return model.fit(X, Y.astype(int))


@pytest.mark.parametrize("name", ["plateau", "plateau_p10"])
def test_the_rate_falls_by_a_fifth_after_two_epochs_without_a_better_loss(name):
    model = _fit(name)
    history = model.history_
    lrs = [e["event_lr"] for e in history if "event_lr" in e]
    losses = history[:, "valid_loss"]
    drops = [i for i in range(1, len(lrs)) if lrs[i] < lrs[i - 1]]
    assert lrs[0] == pytest.approx(1e-3) and drops
    first = drops[0]
    assert lrs[first] == pytest.approx(2e-4)
    # the two epochs before the drop were no better than the best before them
    best = min(losses[: first - 2])
    assert min(losses[first - 2 : first]) > best * (1 - 1e-4)


def test_the_defaults_keep_a_constant_rate():
    model = _fit("defaults")
    assert "event_lr" not in model.history_[0]
