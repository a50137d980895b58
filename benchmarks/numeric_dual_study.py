"""Numeric columns read both quantile-normal and linear: a validation study.

The default estimators read each numeric column mapped to a standard normal
through its training quantiles (``NumericInput(scale=True)`` for plain numeric X,
the tabular front-end's numeric columns otherwise). The map keeps the order of
the values but bends linear relations, which a small network fitted on few rows
does not straighten: on some tables the defaults stay below one linear model per
task. Contenders, every other parameter at its default:

- ``defaults``: the quantile-normal value of each numeric column (the default
  before this study; ``linear_view=False`` of the inputs since);
- ``dual``: that value and, beside it, a linear-preserving one (RealMLP-TD's
  robust scaling ``(x - median) / (IQR / 1.349)``, the standard deviation or 1
  in place of a zero IQR, then smooth clipping ``z / sqrt(1 + (z / 3) ** 2)``),
  concatenated: 2 network inputs per numeric column, for plain numeric X and for
  the tabular front-end's numeric columns (whose NaN stay imputed, at 0 in both
  views, with their missing indicators); sparse X is read as given by both.
  The default since this study (``linear_view=True``,
  :mod:`sk_mtl._data._robust`).

Protocol: the 18 tables of ``bagging_study`` (the tabular suite's tables of up
to 10,000 rows), the suite's split for seeds 0 and 1 and, inside each training
part, its validation split (80 % fitted, 20 % scored): test rows are never used.
Scores are the suite's (ROC AUC, R²), averaged over a table's tasks, then over
seeds; CPU is the process time of ``fit`` (torch at 1 thread). The anchors
``linear`` and ``histgb`` are read from ``bagging_study.jsonl`` where its row
was fitted on the same split (same table, seed and number of fitted rows, from
the same ``validation_splits``), else fitted here; ``defaults`` and ``dual`` are
fitted here, one after the other on each split, so that their CPU times share
the machine's load.

Rule fixed before the run: ``dual`` becomes the default if (a) the mean over
tables of ``dual - defaults`` is +0.002 or more, (b) it is better (by 0.002 or
more) on more tables than it is worse (by 0.002 or more), (c) no table is worse
by 0.01 or more, and (d) the median over tables of the CPU ratio dual / defaults
is at most 1.3. Reported beside it: ``dual - linear`` per table and the number
of tables more than 0.01 below ``linear`` with ``defaults`` and with ``dual``.

Run (from the repository root): ``PYTHONPATH=$PWD python -m
benchmarks.numeric_dual_study --data ../shared/data --seeds 0 1``; appends to
``benchmarks/results/numeric_dual_study.jsonl`` and prints the summary
(``--report``: the summary of the rows already there).
"""

import json
from pathlib import Path

import numpy as np

from . import _validation_study as study
from .bagging_study import RESULTS as BAGGING_RESULTS
from .bagging_study import TABLE_NAMES, _cpu_means, _warm_up
from .tabular_suite import _fit_anchor, _fit_sk_mtl

RESULTS = Path(__file__).parent / "results" / "numeric_dual_study.jsonl"
ANCHORS = ("linear", "histgb")
TOLERANCE = 0.01  # rule (c), and "below linear"
MAX_CPU_RATIO = 1.3


def _stored_anchors(path, seeds):
    """``{(table, seed, model): row}`` of the anchors in ``path`` (if present)."""
    if not Path(path).exists():
        return {}
    rows = [json.loads(line) for line in open(path)]
    return {
        (r["table"], r["seed"], r["model"]): r
        for r in rows
        if r["model"] in ANCHORS and r["seed"] in seeds
    }


def _anchors(stored, table, X, Y, kinds, seed, fit, val):
    """The anchors' ``(scores, cpu, None)`` and where they come from."""
    rows = [stored.get((table.name, seed, m)) for m in ANCHORS]
    if all(r is not None and r["fit_rows"] == len(fit) for r in rows):
        return {m: ([r["score"]], r["cpu_s"], None) for m, r in zip(ANCHORS, rows)}, {
            "source": "bagging_study.jsonl"
        }
    fitted = {}
    for m in ANCHORS:
        scores, cpu = _fit_anchor(m, X, Y, kinds, fit, val, seed)
        fitted[m] = (scores, cpu, None)
    return fitted, {}


def run(data, seeds, out):
    _warm_up()
    stored = _stored_anchors(BAGGING_RESULTS, seeds)
    splits = study.validation_splits(data, TABLE_NAMES, seeds)
    for table, X, Y, kinds, seed, fit, val in splits:
        sizes = dict(fit_rows=len(fit), table_rows=len(X))
        anchors, source = _anchors(stored, table, X, Y, kinds, seed, fit, val)
        study.record(out, table, seed, anchors, **sizes, **source)
        results = {
            "defaults": study.fit_with_input(
                study.quantile_input, X, Y, kinds, fit, val, seed
            ),
            "dual": _fit_sk_mtl({}, X, Y, kinds, fit, val, seed),
        }
        study.record(out, table, seed, results, **sizes)


def _rule(diffs, ratios):
    """The rule's four checks (see the module docstring), as ``(name, passed)``."""
    better, _, worse = study.verdict(diffs)
    return [
        (
            f"(a) mean difference {np.mean(diffs):+.4f} >= +{study.TIE}",
            np.mean(diffs) >= study.TIE,
        ),
        (f"(b) better on {better} tables, worse on {worse}", better > worse),
        (f"(c) worst table {min(diffs):+.4f} > -{TOLERANCE}", min(diffs) > -TOLERANCE),
        (
            f"(d) median CPU ratio {np.median(ratios):.2f}x <= {MAX_CPU_RATIO}x",
            np.median(ratios) <= MAX_CPU_RATIO,
        ),
    ]


def summary(rows):
    """Per-table means, ``dual`` against ``defaults`` and ``linear``, the rule."""
    means, tables = study.table_means(rows)
    cpu = _cpu_means(rows)
    models = [*ANCHORS, "defaults", "dual"]
    lines = [
        "| table | " + " | ".join(models) + " | dual - defaults | defaults - linear "
        "| dual - linear | CPU defaults / dual (s) | CPU ratio |",
        "|---" * (len(models) + 6) + "|",
    ]
    diffs, ratios = [], []
    for t in tables:
        diffs.append(means[t, "dual"] - means[t, "defaults"])
        ratios.append(cpu[t, "dual"] / cpu[t, "defaults"])
        cells = [f"{means[t, m]:.4f}" for m in models]
        cells += [
            f"{diffs[-1]:+.4f}",
            f"{means[t, 'defaults'] - means[t, 'linear']:+.4f}",
            f"{means[t, 'dual'] - means[t, 'linear']:+.4f}",
            f"{cpu[t, 'defaults']:.2f} / {cpu[t, 'dual']:.2f}",
            f"{ratios[-1]:.2f}x",
        ]
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    lines.append("")
    for m in ("defaults", "dual"):
        below = [t for t in tables if means[t, m] - means[t, "linear"] < -TOLERANCE]
        lines.append(
            f"- {m}: {len(below)} tables more than {TOLERANCE} below linear"
            + (f" ({', '.join(below)})" if below else "")
        )
    checks = _rule(diffs, ratios)
    lines += ["", "Rule:"] + [f"- {c}: {'yes' if ok else 'no'}" for c, ok in checks]
    adopt = all(ok for _, ok in checks)
    lines.append(f"- verdict: {'adopt dual' if adopt else 'keep the defaults'}")
    return lines


if __name__ == "__main__":
    study.main(__doc__, run, summary, RESULTS)
