"""The batch study's contenders (benchmarks/batch_study.py) on tiny data."""

import numpy as np
import pytest

from benchmarks import batch_study
from benchmarks.tabular_suite import sk_mtl_model


@pytest.mark.parametrize(
    "name, batch, lr",
    [
        ("defaults", 128, 1e-3),
        ("bs512_lr2e-3", 512, 2e-3),
        ("bs1024_lr3e-3", 1024, 3e-3),
    ],
)
def test_each_contender_trains_with_its_batch_and_rate(name, batch, lr):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1200, 4)).astype(np.float32)
    Y = (X[:, :2] + rng.normal(size=(1200, 2)) > 0).astype(int)
    params = {**batch_study.CONTENDERS[name], "max_epochs": 2}
    model = sk_mtl_model(["binary", "binary"], 0, **params).fit(X, Y)
    assert model.batch_size_ == batch
    assert model.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(lr)
