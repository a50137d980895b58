"""What the small validation studies of the tabular defaults share.

Each study (``numeric_scaling_study``, ``linear_path_study``,
``numeric_dual_study``, ...) fits contenders on the validation split of the
tabular suite's training parts, appends one JSON row per fit and prints a table
of per-table means from its rows. The studies of how X is read share RealMLP-TD's
numeric preprocessing (:class:`RobustClip`) and :func:`fit_with_input`, which
fits the default estimators with another input object in place of theirs.
"""

import argparse
import json
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
from threadpoolctl import threadpool_limits

from sk_mtl.multitask import _shared_network

from ._suite_tables import TABLES
from .tabular_suite import _fit_sk_mtl, _split

TIE = 0.002


def validation_splits(data, names, seeds):
    """``(table, X, Y, kinds, seed, fit_rows, validation_rows)`` of the suite's
    training parts (80 % fitted / 20 % scored inside each; test rows unused)."""
    for table in TABLES:
        if table.name not in names:
            continue
        X, Y, kinds = table.load(data)
        for seed in seeds:
            train, _ = _split(Y, kinds, seed, 0.25)
            fit, val = _split(Y.iloc[train], kinds, seed, 0.2)
            yield table, X, Y, kinds, seed, train[fit], train[val]


class RobustClip:
    """RealMLP-TD's numeric preprocessing: robust scaling, then smooth clipping.

    ``z = (x - median) / (IQR / 1.349)``, then ``z / sqrt(1 + (z / 3) ** 2)``;
    NaN are ignored in fit and stay NaN. A column of zero IQR is scaled by half
    its range (``zero_iqr="half_range"``, RealMLP-TD's rule) or by its standard
    deviation (``"std"``); a constant column by 1.
    """

    def __init__(self, zero_iqr="half_range"):
        self.zero_iqr = zero_iqr

    def fit(self, X):
        X = np.asarray(X, dtype=np.float64)
        empty = np.isnan(X).all(axis=0)
        X = np.where(empty, 0.0, X)  # an all-NaN column: centre 0, scale 1
        self.center = np.nanmedian(X, axis=0)
        q1, q3 = np.nanquantile(X, [0.25, 0.75], axis=0)
        if self.zero_iqr == "std":
            other = np.nanstd(X, axis=0)
        else:
            other = (np.nanmax(X, axis=0) - np.nanmin(X, axis=0)) / 2
        iqr = (q3 - q1) / 1.349
        self.scale = np.where(iqr > 0, iqr, np.where(other > 0, other, 1.0))
        return self

    def transform(self, X):
        z = (X - self.center) / self.scale
        return z / np.sqrt(1 + (z / 3) ** 2)


def inputs_made_by(input_for):
    """A context in which the default estimators' input objects are made by
    ``input_for(X, categorical_features, tabular=...)`` (``make_input``'s
    signature) instead of ``make_input``."""
    return mock.patch.object(_shared_network, "make_input", input_for)


def fit_with_input(input_for, X, Y, kinds, fit, val, seed):
    """The suite's fit and score of the defaults, inputs made by ``input_for``."""
    with inputs_made_by(input_for):
        return _fit_sk_mtl({}, X, Y, kinds, fit, val, seed)


def record(out, table, seed, results, **fields):
    """Append and print one row per ``model -> (scores, cpu_s, epochs)``, with
    the further ``fields`` in each."""
    for model, (scores, cpu, epochs) in results.items():
        row = dict(table=table.name, seed=seed, model=model, **fields)
        row.update(score=round(float(np.mean(scores)), 5), cpu_s=round(cpu, 2))
        with open(out, "a") as f:
            f.write(json.dumps({**row, "epochs": epochs}) + "\n")
        print(json.dumps(row), flush=True)


def table_means(rows):
    """``{(table, model): mean over seeds}`` and the tables in order; a rerun of
    (table, seed, model) replaces the earlier row."""
    by_seed = {}
    for r in rows:
        by_seed.setdefault((r["table"], r["model"]), {})[r["seed"]] = r["score"]
    means = {k: float(np.mean(list(v.values()))) for k, v in by_seed.items()}
    return means, list(dict.fromkeys(r["table"] for r in rows))


def verdict(diffs):
    """``(better, tie, worse)`` counts of differences, a tie within TIE."""
    better = sum(d >= TIE for d in diffs)
    worse = sum(d <= -TIE for d in diffs)
    return better, len(diffs) - better - worse, worse


def main(doc, run, summary, results, argv=None):
    """A study's command line: run (unless ``--report``), then print the summary."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(
        "--data", default=str(Path(__file__).parents[1] / ".." / "shared" / "data")
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--results", default=str(results), help="the JSON lines file")
    args = parser.parse_args(argv)
    if not args.report:
        with threadpool_limits(1), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run(args.data, args.seeds, args.results)
    rows = [json.loads(line) for line in open(args.results)]
    print("\n".join(summary(rows)))
