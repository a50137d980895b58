"""A linear model blended in on held-out rows (``linear_blend``): a validation study.

Contenders, every other parameter at its default: ``defaults`` (the network
alone) and ``blend`` (``linear_blend="auto"``: after the network is fitted, one
LogisticRegression (C=1) / Ridge per task on the training part of the
early-stopping split, on the features the network reads, and each task's blend
weight in {0, 0.25, 0.5, 0.75, 1} chosen on the held-out rows; on whenever
early stopping holds rows out, i.e. above 100 fitted rows). The anchors
``linear`` and ``histgb`` are read from ``bagging_study.jsonl``: the same
validation splits (``_validation_study.validation_splits``), seeds 0 and 1.

Protocol: the 18 tables of the bagging study (the suite's tables of up to 10,000
rows), the suite's split for seeds 0 and 1 and, inside each training part, its
validation split (80 % fitted, 20 % scored): test rows are never used. Scores
are the suite's (ROC AUC, R²), averaged over a table's tasks, then over seeds.
CPU is the process time of ``fit`` (one thread).

Rule fixed before the run: the blend becomes the default (``linear_blend=
"auto"``) when, over the 18 tables, (a) the mean of ``blend - defaults`` is
+0.002 or more, (b) it is better by 0.002 or more on more tables than it is
worse by 0.002 or more, (c) no table is worse by 0.005 or more, and (d) the
median over tables of the CPU ratio blend / defaults is 1.3x or less. Reported
beside it: ``blend - linear`` per table, and the number of tables more than
0.01 below the linear anchor with and without the blend.

Run (from the repository root): ``PYTHONPATH=$PWD python -m
benchmarks.linear_blend_study --data ../shared/data --seeds 0 1``; appends to
``benchmarks/results/linear_blend_study.jsonl`` and prints the summary
(``--report``: the summary of the rows already there).
"""

import json
from pathlib import Path

from . import _validation_study as study
from .bagging_study import RESULTS as ANCHOR_RESULTS
from .bagging_study import TABLE_NAMES, _cpu_means, _warm_up
from .tabular_suite import _fit_sk_mtl

RESULTS = Path(__file__).parent / "results" / "linear_blend_study.jsonl"
CONTENDERS = {"defaults": {}, "blend": {"linear_blend": "auto"}}
ANCHORS = ("linear", "histgb")
WORST = -0.005  # rule (c): no table this much worse or more
MAX_CPU_RATIO = 1.3  # rule (d)
BELOW_LINEAR = -0.01  # "more than 0.01 below the linear model"


def run(data, seeds, out):
    _warm_up()
    study.fit_contenders(data, TABLE_NAMES, seeds, out, CONTENDERS, _fit_sk_mtl)


def anchor_rows(rows, path=ANCHOR_RESULTS):
    """The anchors' rows of the bagging study for the tables and seeds of
    ``rows`` (the same splits); none when its file is absent."""
    if not Path(path).exists():
        return []
    wanted = {(r["table"], r["seed"]) for r in rows}
    anchors = [json.loads(line) for line in open(path)]
    return [
        r
        for r in anchors
        if r["model"] in ANCHORS and (r["table"], r["seed"]) in wanted
    ]


def rule(diffs, ratios):
    """``(passed, the four checks' lines)`` of the rule of the docstring."""
    return study.adoption_rule(diffs, ratios, "blend", WORST, MAX_CPU_RATIO)


def summary(rows, anchors=None):
    """Per-table means, the blend against the defaults and the linear anchor,
    and the rule's verdict."""
    anchors = anchor_rows(rows) if anchors is None else anchors
    means, tables = study.table_means([*anchors, *rows])
    cpu = _cpu_means(rows)
    fit_rows = {r["table"]: r["fit_rows"] for r in rows}
    has_linear = all((t, "linear") in means for t in tables)
    models = [
        m for m in (*ANCHORS, *CONTENDERS) if all((t, m) in means for t in tables)
    ]
    lines = [
        "| table | fit rows | "
        + " | ".join(models)
        + " | blend - defaults | "
        + ("blend - linear | defaults - linear | " if has_linear else "")
        + "CPU defaults / blend (s) |",
        "|---" * (4 + len(models) + 2 * has_linear) + "|",
    ]
    diffs, ratios = [], []
    below = {"defaults": 0, "blend": 0}
    for t in tables:
        diff = means[t, "blend"] - means[t, "defaults"]
        diffs.append(diff)
        ratios.append(cpu[t, "blend"] / cpu[t, "defaults"])
        cells = [f"{means[t, m]:.4f}" for m in models] + [f"{diff:+.4f}"]
        if has_linear:
            for m in CONTENDERS:
                gap = means[t, m] - means[t, "linear"]
                below[m] += gap < BELOW_LINEAR
            cells += [
                f"{means[t, m] - means[t, 'linear']:+.4f}"
                for m in ("blend", "defaults")
            ]
        times = f"{cpu[t, 'defaults']:.2f} / {cpu[t, 'blend']:.2f}"
        lines.append(
            f"| {t} | {fit_rows[t]:,} | " + " | ".join(cells) + f" | {times} |"
        )
    passed, checks = rule(diffs, ratios)
    lines += ["", "Rule (blend against defaults, over the tables above):", *checks]
    lines.append(f"- verdict: {'adopt' if passed else 'not adopted'}")
    if has_linear:
        lines.append(
            f"\nTables more than 0.01 below the linear anchor: defaults "
            f"{below['defaults']}, blend {below['blend']} (of {len(tables)})."
        )
    return lines


if __name__ == "__main__":
    study.main(__doc__, run, summary, RESULTS)
