"""The capacity study's contenders (benchmarks/capacity_study.py) on tiny data."""

import numpy as np
import pytest
import torch

from benchmarks import capacity_study
from benchmarks.tabular_suite import sk_mtl_model


@pytest.mark.parametrize(
    "name, widths, dropouts",
    [
        ("defaults", [128, 64], {0.1}),
        ("wide", [256, 128], {0.1}),
        ("no_dropout", [128, 64], set()),
    ],
)
def test_each_contender_builds_its_trunk(name, widths, dropouts):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    Y = (X[:, :2] + rng.normal(size=(300, 2)) > 0).astype(int)
    params = {**capacity_study.CONTENDERS[name], "max_epochs": 1, "n_bags": 1}
    model = sk_mtl_model(["binary", "binary"], 0, **params).fit(X, Y)
    modules = list(model.module_.modules())
    linears = [m.out_features for m in modules if isinstance(m, torch.nn.Linear)]
    assert linears == widths
    assert {m.p for m in modules if isinstance(m, torch.nn.Dropout)} == dropouts
