"""A linear path beside the trunk: does it keep the network above a linear model?

The lever: each task's head reads the trunk's output *and* the network's input
(the trunk's output concatenated with its input), so the network contains a
linear model of the (scaled, embedded) features and can fall back on it where a
linear model wins. Compared with the shared-bottom defaults on the validation
splits (seeds 0, 1, 2; 80 % fitted / 20 % scored inside each training part,
never a test split) of the suite's tables up to 10,000 rows where the linear
anchor is close to or ahead of the network, and some where it is not. Rule set
before the run: adopted when better (by 0.002 or more) on more than half of the
tables.

Run (from the repository root): ``PYTHONPATH=$PWD python -m
benchmarks.linear_path_study``; appends to
``benchmarks/results/linear_path_study.jsonl`` and prints the summary.
"""

from pathlib import Path
from unittest import mock

import numpy as np
import torch
from torch import nn

from sk_mtl.modules import MLP, MultiHeadNetwork
from sk_mtl.multitask import _shared_network

from . import _validation_study as study
from .tabular_suite import _fit_sk_mtl

RESULTS = Path(__file__).parent / "results" / "linear_path_study.jsonl"
TABLE_NAMES = (
    "health_insurance",
    "star",
    "slid",
    "credit_card",
    "hmda",
    "doctor_visits",
    "arrests",
    "nmes1988",
    "wage",
    "mroz",
    "breast_cancer",
    "diabetes",
    "coil_2000",
)


class LinearPathTrunk(nn.Module):
    """The MLP's output with the input beside it: ``[mlp(x), x]``."""

    def __init__(self, in_features, hidden_units, dropout):
        super().__init__()
        self.mlp = MLP(in_features, hidden_units, dropout)
        self.out_features = self.mlp.out_features + in_features

    def forward(self, x):
        return torch.cat([self.mlp(x), x], dim=1)


_SHARED_BOTTOM = _shared_network.SharedNetworkMixin._multitask_network


def _with_linear_path(self, n_features, units, front, n_outputs, dropout):
    if self.architecture != "shared_bottom":
        return _SHARED_BOTTOM(self, n_features, units, front, n_outputs, dropout)
    trunk = LinearPathTrunk(n_features, units, dropout)
    return MultiHeadNetwork(trunk, n_outputs)


def run(data, seeds, out):
    mixin = _shared_network.SharedNetworkMixin
    splits = study.validation_splits(data, TABLE_NAMES, seeds)
    for table, X, Y, kinds, seed, fit, val in splits:
        results = {"defaults": _fit_sk_mtl({}, X, Y, kinds, fit, val, seed)}
        with mock.patch.object(mixin, "_multitask_network", _with_linear_path):
            results["linear_path"] = _fit_sk_mtl({}, X, Y, kinds, fit, val, seed)
        study.record(out, table, seed, results)


def summary(rows):
    """Per table means over seeds, and the linear path against the defaults."""
    means, tables = study.table_means(rows)
    lines = ["| table | defaults | linear_path | difference |", "|---|---|---|---|"]
    diffs = []
    for t in tables:
        base, path = means[t, "defaults"], means[t, "linear_path"]
        diffs.append(path - base)
        lines.append(f"| {t} | {base:.4f} | {path:.4f} | {path - base:+.4f} |")
    counts = " / ".join(map(str, study.verdict(diffs)))
    lines.append(
        f"\nlinear_path - defaults: {np.mean(diffs):+.4f} on the mean; better / tie"
        f" / worse {counts}"
    )
    return lines


if __name__ == "__main__":
    study.main(__doc__, run, summary, RESULTS)
