"""The linear-path study's trunk and verdict (no data folder)."""

import numpy as np
import torch

from benchmarks import linear_path_study as study
from sk_mtl import MultiTaskClassifier
from sk_mtl.modules import MultiHeadNetwork


def test_linear_path_trunk_puts_the_input_beside_the_mlp():
    trunk = study.LinearPathTrunk(3, (8, 4), 0.0)
    x = torch.randn(5, 3)
    out = trunk(x)
    assert trunk.out_features == 7 and out.shape == (5, 7)
    torch.testing.assert_close(out[:, 4:], x)
    clf = MultiTaskClassifier((8, 4), max_epochs=1)
    network = study._with_linear_path(clf, 3, (8, 4), None, [2, 3], 0.1)
    assert isinstance(network, MultiHeadNetwork) and network.out_features == 7


def test_summary_compares_the_linear_path_with_the_defaults():
    rows = [
        dict(table=t, seed=0, model=m, score=s)
        for t, m, s in [
            ("a", "defaults", 0.80),
            ("a", "linear_path", 0.81),
            ("b", "defaults", 0.70),
            ("b", "linear_path", 0.69),
            ("c", "defaults", 0.60),
            ("c", "linear_path", 0.601),
        ]
    ]
    text = "\n".join(study.summary(rows))
    assert "| a | 0.8000 | 0.8100 | +0.0100 |" in text
    assert "better / tie / worse 1 / 1 / 1" in text
    assert f"{np.mean([0.01, -0.01, 0.001]):+.4f}" in text
