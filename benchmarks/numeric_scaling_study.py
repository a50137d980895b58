"""How the default estimators should read plain numeric X: a validation study.

A table whose columns are all numbers without missing values reaches the network
through ``NumericInput`` (a DataFrame with a categorical column or a NaN goes
through the tabular front-end, which already quantile-scales its numbers). This
study compares four ways of reading such X with every other default unchanged:

- ``as_given``: the numbers as they are (``NumericInput(scale=False)``);
- ``standard``: each column standardised (``StandardScaler``);
- ``robust_clip``: RealMLP-TD's robust scaling (median, IQR / 1.349) and smooth
  clipping ``z / sqrt(1 + (z / 3) ** 2)``;
- ``quantile``: each column to a normal through its training quantiles, as the
  tabular front-end does (``NumericInput(scale=True, linear_view=False)``; the
  default from this study to ``numeric_dual_study``, which added a linear view).

Protocol: the tabular suite's numeric-only tables except letter_img (held
aside), the suite's split for seeds 0, 1, 2 and, inside each training part, its
validation split (80 % fitted, 20 % scored): test rows are never used. Rule set
before the run: a way of reading replaces ``as_given`` when it is better (by
0.002 or more) on more than half of the tables.

Run (from the repository root): ``PYTHONPATH=$PWD python -m
benchmarks.numeric_scaling_study``; appends to
``benchmarks/results/numeric_scaling_study.jsonl`` and prints the summary.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler

from sk_mtl._data import _choice, _inputs

from . import _validation_study as study
from .tabular_suite import _fit_anchor

RESULTS = Path(__file__).parent / "results" / "numeric_scaling_study.jsonl"
TABLE_NAMES = (
    "breast_cancer",
    "digits",
    "wine",
    "iris",
    "diabetes",
    "mammography",
    "coil_2000",
)
WAYS = ("as_given", "standard", "robust_clip", "quantile")


class RobustClip:
    """RealMLP-TD's numeric preprocessing: robust scaling, then smooth clipping."""

    def fit(self, X):
        self.center = np.median(X, axis=0)
        q1, q3 = np.quantile(X, [0.25, 0.75], axis=0)
        spread = X.max(axis=0) - X.min(axis=0)
        iqr = (q3 - q1) / 1.349
        self.scale = np.where(iqr > 0, iqr, np.where(spread > 0, spread / 2, 1.0))
        return self

    def transform(self, X):
        z = (X - self.center) / self.scale
        return z / np.sqrt(1 + (z / 3) ** 2)


def _unscaled_input(X, categorical_features="from_dtype", **options):
    made = _choice.make_input(X, categorical_features, **options)
    if isinstance(made, _inputs.NumericInput):
        made.scale = False
    return made


def _fit_way(way, X, Y, kinds, fit, val, seed):
    if way == "quantile":
        return study.fit_with_input(study.quantile_input, X, Y, kinds, fit, val, seed)
    if way != "as_given":
        prep = StandardScaler() if way == "standard" else RobustClip()
        prep.fit(X.iloc[fit].to_numpy(float))
        X = pd.DataFrame(prep.transform(X.to_numpy(float)), index=X.index)
    return study.fit_with_input(_unscaled_input, X, Y, kinds, fit, val, seed)


def run(data, seeds, out):
    splits = study.validation_splits(data, TABLE_NAMES, seeds)
    for table, X, Y, kinds, seed, fit, val in splits:
        scores, cpu = _fit_anchor("linear", X, Y, kinds, fit, val, seed)
        results = {"linear": (scores, cpu, None)}
        for way in WAYS:
            results[way] = _fit_way(way, X, Y, kinds, fit, val, seed)
        study.record(out, table, seed, results)


def summary(rows):
    """Per table means over seeds, and each way against ``as_given``."""
    means, tables = study.table_means(rows)
    models = ["linear", *WAYS]
    lines = ["| table | " + " | ".join(models) + " |", "|---" * 6 + "|"]
    for t in tables:
        cells = [f"{means[t, m]:.4f}" for m in models]
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    lines += ["", "| way | mean difference to as_given | better / tie / worse |"]
    lines.append("|---|---|---|")
    for way in WAYS[1:]:
        diffs = [means[t, way] - means[t, "as_given"] for t in tables]
        counts = " / ".join(map(str, study.verdict(diffs)))
        lines.append(f"| {way} | {np.mean(diffs):+.4f} | {counts} |")
    return lines


if __name__ == "__main__":
    study.main(__doc__, run, summary, RESULTS)
