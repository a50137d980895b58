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
  tabular front-end does (``NumericInput(scale=True)``, the default since this
  study).

Protocol: the tabular suite's numeric-only tables except letter_img (held
aside), the suite's split for seeds 0, 1, 2 and, inside each training part, its
validation split (80 % fitted, 20 % scored): test rows are never used. Rule set
before the run: a way of reading replaces ``as_given`` when it is better (by
0.002 or more) on more than half of the tables.

Run (from the repository root): ``PYTHONPATH=$PWD python -m
benchmarks.numeric_scaling_study``; appends to
``benchmarks/results/numeric_scaling_study.jsonl`` and prints the summary.
"""

import argparse
import json
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sk_mtl._data import _tabular
from sk_mtl.multitask import _shared_network

from ._suite_tables import TABLES
from .tabular_suite import _fit_anchor, _fit_sk_mtl, _split

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


def _unscaled_input(X, categorical_features="from_dtype", *, tabular=False):
    made = _tabular.make_input(X, categorical_features, tabular=tabular)
    if isinstance(made, _tabular.NumericInput):
        made.scale = False
    return made


def _fit_way(way, X, Y, kinds, fit, val, seed):
    if way == "quantile":
        return _fit_sk_mtl({}, X, Y, kinds, fit, val, seed)
    if way != "as_given":
        prep = StandardScaler() if way == "standard" else RobustClip()
        prep.fit(X.iloc[fit].to_numpy(float))
        X = pd.DataFrame(prep.transform(X.to_numpy(float)), index=X.index)
    with mock.patch.object(_shared_network, "make_input", _unscaled_input):
        return _fit_sk_mtl({}, X, Y, kinds, fit, val, seed)


def run(data, seeds, out):
    for table in TABLES:
        if table.name not in TABLE_NAMES:
            continue
        X, Y, kinds = table.load(data)
        for seed in seeds:
            train, _ = _split(Y, kinds, seed, 0.25)
            fit, val = _split(Y.iloc[train], kinds, seed, 0.2)
            fit, val = train[fit], train[val]
            scores, cpu = _fit_anchor("linear", X, Y, kinds, fit, val, seed)
            results = {"linear": (scores, cpu, None)}
            for way in WAYS:
                results[way] = _fit_way(way, X, Y, kinds, fit, val, seed)
            for model, (scores, cpu, epochs) in results.items():
                row = dict(table=table.name, seed=seed, model=model)
                row.update(score=round(float(np.mean(scores)), 5), cpu_s=round(cpu, 2))
                with open(out, "a") as f:
                    f.write(json.dumps({**row, "epochs": epochs}) + "\n")
                print(json.dumps(row), flush=True)


def summary(rows):
    """Per table means over seeds, and each way against ``as_given``."""
    means = {}
    for r in rows:  # a rerun of (table, seed, model) replaces the earlier row
        means.setdefault((r["table"], r["model"]), {})[r["seed"]] = r["score"]
    tables = list(dict.fromkeys(r["table"] for r in rows))
    models = ["linear", *WAYS]
    lines = ["| table | " + " | ".join(models) + " |", "|---" * 6 + "|"]
    for t in tables:
        cells = [f"{np.mean(list(means[t, m].values())):.4f}" for m in models]
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    lines += ["", "| way | mean difference to as_given | better / tie / worse |"]
    lines.append("|---|---|---|")
    for way in WAYS[1:]:
        diffs = [
            np.mean(list(means[t, way].values()))
            - np.mean(list(means[t, "as_given"].values()))
            for t in tables
        ]
        counts = [sum(d >= 0.002 for d in diffs), 0, sum(d <= -0.002 for d in diffs)]
        counts[1] = len(diffs) - counts[0] - counts[2]
        lines.append(
            f"| {way} | {np.mean(diffs):+.4f} | {' / '.join(map(str, counts))} |"
        )
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default=str(Path(__file__).parents[1] / ".." / "shared" / "data")
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args(argv)
    if not args.report:
        with threadpool_limits(1), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run(args.data, args.seeds, RESULTS)
    rows = [json.loads(line) for line in open(RESULTS)]
    print("\n".join(summary(rows)))


if __name__ == "__main__":
    main()
