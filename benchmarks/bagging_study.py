"""Cross-fitted bagging (``n_bags``) of the default estimators: a validation study.

Contenders, every other parameter at its default: ``defaults`` (one network,
``validation_fraction`` of the rows held out for early stopping), ``bag3`` and
``bag5`` (``n_bags=3`` / ``5``: k networks, each trained on k - 1 folds and
early-stopped on its own fold, probabilities and predictions averaged), and the
suite's anchors ``linear`` and ``histgb`` for reference (their CPU time is the
cost bound's unit).

Protocol: the tabular suite's tables of up to 10,000 rows, the suite's split for
seeds 0 and 1 and, inside each training part, its validation split (80 % fitted,
20 % scored): test rows are never used. Scores are the suite's (ROC AUC, R²),
averaged over a table's tasks, then over seeds. CPU is the process time of
``fit``.

Rule fixed before the run: the tables are grouped by the rows the model is
fitted on (``< 1,000``, ``1,000 - 3,000``, ``>= 3,000``). In a group, bagging
with k members is adopted for the default (``n_bags="auto"``) only if it scores
better than ``defaults`` by 0.002 or more on more than half of the group's
tables; when both k pass, the smaller k (the cheaper). Whatever the scores,
``"auto"`` bags no table that the suite fits on more than 3,750 rows (a table
of more than 5,000 rows), unless the bagged model's CPU time measured here
stays within 10x HistGB's on every such table (the fit-cost goal of the
defaults).

Run (from the repository root): ``PYTHONPATH=$PWD python -m
benchmarks.bagging_study --data ../shared/data --seeds 0 1``; appends to
``benchmarks/results/bagging_study.jsonl`` and prints the summary
(``--report``: the summary of the rows already there).
"""

from pathlib import Path

import numpy as np

from . import _validation_study as study
from .tabular_suite import _fit_anchor, _fit_sk_mtl, _warm_up

RESULTS = Path(__file__).parent / "results" / "bagging_study.jsonl"
TABLE_NAMES = (
    "wine",
    "iris",
    "diabetes",
    "breast_cancer",
    "mroz",
    "credit_card",
    "digits",
    "hmda",
    "wage",
    "thyroid_disease",
    "slid",
    "nmes1988",
    "doctor_visits",
    "arrests",
    "star",
    "health_insurance",
    "coil_2000",
    "loans",
)
BAGS = {"bag3": 3, "bag5": 5}
GROUPS = ((0, 1_000), (1_000, 3_000), (3_000, None))
LARGE_TABLE_ROWS = 5_000  # the fit-cost goal's "tables over 5,000 rows"
NAMED = ("coil_2000", "diabetes", "doctor_visits")


def run(data, seeds, out):
    _warm_up()
    splits = study.validation_splits(data, TABLE_NAMES, seeds)
    for table, X, Y, kinds, seed, fit, val in splits:
        results = {}
        for anchor in ("linear", "histgb"):
            scores, cpu = _fit_anchor(anchor, X, Y, kinds, fit, val, seed)
            results[anchor] = (scores, cpu, None)
        results["defaults"] = _fit_sk_mtl({}, X, Y, kinds, fit, val, seed)
        for name, k in BAGS.items():
            results[name] = _fit_sk_mtl({"n_bags": k}, X, Y, kinds, fit, val, seed)
        study.record(out, table, seed, results, fit_rows=len(fit), table_rows=len(X))


def _cpu_means(rows):
    by_seed = {}
    for r in rows:
        by_seed.setdefault((r["table"], r["model"]), {})[r["seed"]] = r["cpu_s"]
    return {k: float(np.mean(list(v.values()))) for k, v in by_seed.items()}


def _group_name(low, high):
    return f">= {low:,}" if high is None else f"{low:,} - {high:,}"


def _in_group(n, low, high):
    return n >= low and (high is None or n < high)


def summary(rows):
    """Per-table means, then each bagged contender against ``defaults`` by group."""
    means, tables = study.table_means(rows)
    cpu = _cpu_means(rows)
    sizes = {r["table"]: (r["fit_rows"], r["table_rows"]) for r in rows}
    models = ["linear", "histgb", "defaults", *BAGS]
    lines = [
        "| table | fit rows | "
        + " | ".join(models)
        + " | "
        + " | ".join(f"{b} - defaults" for b in BAGS)
        + " | CPU defaults / bag3 / bag5 / histgb (s) |",
        "|---" * (3 + len(models) + len(BAGS)) + "|",
    ]
    for t in tables:
        cells = [f"{means[t, m]:.4f}" for m in models]
        cells += [f"{means[t, b] - means[t, 'defaults']:+.4f}" for b in BAGS]
        times = " / ".join(f"{cpu[t, m]:.2f}" for m in ("defaults", *BAGS, "histgb"))
        lines.append(
            f"| {t} | {sizes[t][0]:,} | " + " | ".join(cells) + f" | {times} |"
        )
    lines += [
        "",
        "| fit rows | tables | contender | mean difference | better / tie / worse "
        "| CPU ratio to defaults (median) | rule |",
        "|---|---|---|---|---|---|---|",
    ]
    for low, high in GROUPS:
        group = [t for t in tables if _in_group(sizes[t][0], low, high)]
        if not group:
            continue
        for b in BAGS:
            diffs = [means[t, b] - means[t, "defaults"] for t in group]
            better, tie, worse = study.verdict(diffs)
            ratio = np.median([cpu[t, b] / cpu[t, "defaults"] for t in group])
            passed = "adopt" if better > len(group) / 2 else "no"
            lines.append(
                f"| {_group_name(low, high)} | {len(group)} | {b} | "
                f"{np.mean(diffs):+.4f} | {better} / {tie} / {worse} | "
                f"{ratio:.1f}x | {passed} |"
            )
    large = [t for t in tables if sizes[t][1] > LARGE_TABLE_ROWS]
    lines += ["", "CPU time over HistGB's on the tables over 5,000 rows:"]
    for m in ("defaults", *BAGS):
        ratios = ", ".join(f"{t} {cpu[t, m] / cpu[t, 'histgb']:.1f}x" for t in large)
        lines.append(f"- {m}: {ratios}")
    lines += ["", "Against the linear anchor (score - linear):"]
    for t in NAMED:
        if t in tables:
            diffs = ", ".join(
                f"{m} {means[t, m] - means[t, 'linear']:+.4f}"
                for m in ("defaults", *BAGS)
            )
            lines.append(f"- {t}: {diffs}")
    return lines


if __name__ == "__main__":
    study.main(__doc__, run, summary, RESULTS)
