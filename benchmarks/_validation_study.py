"""What the small validation studies of the tabular defaults share.

Each study (``numeric_scaling_study``, ``linear_path_study``,
``numeric_dual_study``, ...) fits contenders on the validation split of the
tabular suite's training parts, appends one JSON row per fit and prints a table
of per-table means from its rows. The studies of how X is read share
:func:`fit_with_input`, which fits the default estimators with another input
object in place of theirs.
"""

import argparse
import json
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
from threadpoolctl import threadpool_limits

from sk_mtl._data import _choice
from sk_mtl.multitask import _shared_network

from ._suite_tables import TABLES
from .tabular_suite import _fit_sk_mtl, _split

TIE = 0.002


def validation_splits(data, names, seeds, redraw=0):
    """``(table, X, Y, kinds, seed, fit_rows, validation_rows)`` of the suite's
    training parts (80 % fitted / 20 % scored inside each; test rows unused);
    ``redraw``: the inner split is drawn with ``seed + redraw``."""
    for table in TABLES:
        if table.name not in names:
            continue
        X, Y, kinds = table.load(data)
        for seed in seeds:
            train, _ = _split(Y, kinds, seed, 0.25)
            fit, val = _split(Y.iloc[train], kinds, seed + redraw, 0.2)
            yield table, X, Y, kinds, seed, train[fit], train[val]


def fit_contenders(data, names, seeds, out, contenders, fit, redraw=0):
    """Fit, score and record every contender on each validation split of the
    tables ``names``: ``fit(spec, X, Y, kinds, fit_rows, validation_rows,
    seed)`` of each ``name -> spec`` of ``contenders`` gives
    ``(scores, cpu_s, epochs)``; ``redraw`` as :func:`validation_splits`'s."""
    splits = validation_splits(data, names, seeds, redraw)
    for table, X, Y, kinds, seed, rows, val in splits:
        results = {
            name: fit(spec, X, Y, kinds, rows, val, seed)
            for name, spec in contenders.items()
        }
        record(out, table, seed, results, fit_rows=len(rows), table_rows=len(X))


def inputs_made_by(input_for):
    """A context in which the default estimators' input objects are made by
    ``input_for(X, categorical_features, tabular=..., linear_view=...)``
    (``make_input``'s signature) instead of ``make_input``."""
    return mock.patch.object(_shared_network, "make_input", input_for)


def quantile_input(X, categorical_features="from_dtype", *, tabular=False, **_):
    """``make_input``'s input object, reading numeric columns quantile-normal
    alone and without the value view (the defaults before
    ``numeric_dual_study``) whatever the estimator asks."""
    return _choice.make_input(
        X, categorical_features, tabular=tabular, linear_view=False, value_view=False
    )


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


def adoption_rule(diffs, ratios, contender, worst=-0.005, max_cpu_ratio=1.3):
    """``(passed, the four checks' lines)`` of the usual rule for adopting
    ``contender`` over the defaults, from per-table score differences and CPU
    ratios: (a) a mean difference of +TIE or more, (b) better (by TIE) on more
    tables than worse, (c) no table ``worst`` or worse, (d) a median CPU ratio
    of ``max_cpu_ratio`` or less."""
    better, tie, worse = verdict(diffs)
    checks = [
        (np.mean(diffs) >= TIE, f"(a) mean difference {np.mean(diffs):+.4f}"),
        (better > worse, f"(b) better / tie / worse {better} / {tie} / {worse}"),
        (min(diffs) > worst, f"(c) worst table {min(diffs):+.4f}"),
        (
            np.median(ratios) <= max_cpu_ratio,
            f"(d) median CPU ratio {contender} / defaults {np.median(ratios):.2f}x",
        ),
    ]
    return all(ok for ok, _ in checks), [
        f"- {text}: {'pass' if ok else 'FAIL'}" for ok, text in checks
    ]


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
