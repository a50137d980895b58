"""Tied extremes of the quantile view mapped mid-run: a validation study.

The default estimators read every dense numeric column through its training
quantiles mapped to a standard normal (:mod:`sk_mtl._data._quantiles`), beside
a robust-scaled view. That map sends a column's smallest and largest training
values to about -5.2 and 5.2 however many rows share them: the 0 and 1 of a
binary column, the zeros of a count column. ``transfer_digits_views`` found
that mapping such a tied extreme to the middle of its run of quantiles (about
``Phi^-1(p / 2)``, p its share of the training rows) recovered most of a loss
on 60-label digits. Contenders, every other parameter at its default:

- ``defaults``: ``tied_extremes="bound"`` (about +-5.2, scikit-learn's
  QuantileTransformer's rule);
- ``mid_ties``: ``tied_extremes="mid"``: a tied extreme, and the values beyond
  it, map to the middle of its run; an extreme held by one quantile as before.

Both are fitted one after the other on each split (the choice is switched
through ``sk_mtl._data._quantiles.TIED_EXTREMES``, what newly fitted inputs
read), so that their CPU times share the machine's load.

Protocol: the 18 tables of ``bagging_study`` (the tabular suite's tables of up
to 10,000 rows), the suite's split for seeds 0, 1 and 2 and, inside each
training part, its validation split (80 % fitted, 20 % scored): test rows are
never used. Scores are the suite's (ROC AUC, R²), averaged over a table's
tasks, then over seeds; CPU is the process time of ``fit`` (one thread). Each
row also records the fitted rows' numeric columns (those not categorical by
dtype): how many are binary (two values), counts (non-negative integers, more
than two values), have a tied extreme in their fitted quantiles (constant
columns left out), and the share of their non-missing values that sit at a tied
extreme (the values the contenders map differently).

Rule fixed before the run: ``mid_ties`` becomes the default when, over the 18
tables, (a) the mean of ``mid_ties - defaults`` is +0.002 or more, (b) it is
better by 0.002 or more on more tables than it is worse by 0.002 or more, (c)
no table is worse by 0.005 or more, and (d) the median over tables of the CPU
ratio mid_ties / defaults is 1.3x or less.

Run (from the repository root): ``PYTHONPATH=$PWD python -m
benchmarks.quantile_ties_study --data ../shared/data --seeds 0 1 2``; appends to
``benchmarks/results/quantile_ties_study.jsonl`` and prints the summary
(``--report``: the summary of the rows already there).
"""

from pathlib import Path
from unittest import mock

import numpy as np

from sk_mtl._data import _quantiles
from sk_mtl._data._categories import from_dtype

from . import _validation_study as study
from .bagging_study import TABLE_NAMES, _cpu_means, _warm_up
from .tabular_suite import _fit_sk_mtl

RESULTS = Path(__file__).parent / "results" / "quantile_ties_study.jsonl"
CONTENDERS = {"defaults": "bound", "mid_ties": "mid"}
WORST = -0.005  # rule (c): no table this much worse or more
MAX_CPU_RATIO = 1.3  # rule (d)
PROFILE = ("numeric", "binary", "count", "tied", "tied_values")


def fit_with_ties(tied_extremes, X, Y, kinds, fit, val, seed):
    """The suite's fit and score of the defaults, their inputs fitted with
    ``tied_extremes``."""
    with mock.patch.object(_quantiles, "TIED_EXTREMES", tied_extremes):
        return _fit_sk_mtl({}, X, Y, kinds, fit, val, seed)


def column_profile(X):
    """``PROFILE``'s counts of frame X's numeric columns (see the docstring)."""
    categorical = set(from_dtype(X))
    counts = dict.fromkeys(PROFILE[:-1], 0)
    at_tie = seen = 0
    for j in range(X.shape[1]):
        if j in categorical:
            continue
        values = X.iloc[:, j].to_numpy(dtype=np.float64, na_value=np.nan)
        values = values[~np.isnan(values)]
        counts["numeric"] += 1
        distinct = np.unique(values)
        if len(distinct) < 2:  # constant: the same to the network either way
            continue
        counts["binary"] += len(distinct) == 2
        whole = (values >= 0).all() and (values == np.round(values)).all()
        counts["count"] += bool(whole) and len(distinct) > 2
        q = _quantiles.fit_quantile_transformer(values[:, None]).quantiles_[:, 0]
        tied = [e for e, run in ((q[0], q[:2]), (q[-1], q[-2:])) if run[0] == run[1]]
        counts["tied"] += bool(tied)
        at_tie += int(np.isin(values, tied).sum())
        seen += len(values)
    return {**counts, "tied_values": round(at_tie / max(seen, 1), 4)}


def run(data, seeds, out):
    _warm_up()
    splits = study.validation_splits(data, TABLE_NAMES, seeds)
    for table, X, Y, kinds, seed, fit, val in splits:
        results = {
            name: fit_with_ties(choice, X, Y, kinds, fit, val, seed)
            for name, choice in CONTENDERS.items()
        }
        profile = column_profile(X.iloc[fit])
        study.record(
            out, table, seed, results, fit_rows=len(fit), table_rows=len(X), **profile
        )


def rule(diffs, ratios):
    """``(passed, the four checks' lines)`` of the rule of the docstring."""
    return study.adoption_rule(diffs, ratios, "mid_ties", WORST, MAX_CPU_RATIO)


def summary(rows):
    """Per-table means and columns, ``mid_ties`` against ``defaults``, the rule."""
    means, tables = study.table_means(rows)
    cpu = _cpu_means(rows)
    first = {}
    for r in rows:
        first.setdefault(r["table"], r)
    lines = [
        "| table | fit rows | numeric | binary | count | tied extreme | values at "
        "a tie | defaults | mid_ties | mid_ties - defaults | CPU defaults / "
        "mid_ties (s) |",
        "|---" * 11 + "|",
    ]
    diffs, ratios = [], []
    for t in tables:
        diffs.append(means[t, "mid_ties"] - means[t, "defaults"])
        ratios.append(cpu[t, "mid_ties"] / cpu[t, "defaults"])
        r = first[t]
        cells = [f"{r['fit_rows']:,}", *(str(r[k]) for k in PROFILE[:-1])]
        cells += [
            f"{100 * r['tied_values']:.0f} %",
            f"{means[t, 'defaults']:.4f}",
            f"{means[t, 'mid_ties']:.4f}",
            f"{diffs[-1]:+.4f}",
            f"{cpu[t, 'defaults']:.2f} / {cpu[t, 'mid_ties']:.2f}",
        ]
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    passed, checks = rule(diffs, ratios)
    lines += ["", "Rule (mid_ties against defaults, over the tables above):", *checks]
    lines.append(f"- verdict: {'adopt' if passed else 'not adopted'}")
    return lines


if __name__ == "__main__":
    study.main(__doc__, run, summary, RESULTS)
