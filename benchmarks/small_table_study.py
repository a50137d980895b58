"""Size-gated defaults for small tables: a validation study.

Contenders, each a change of the current defaults (``defaults``: one network
trained in batches of 128 rows, early stopping on 10 % held-out rows above 100
training rows, the linear blend fitted on the other 90 % and its weights chosen
on the held-out rows):

- ``vf20``: ``validation_fraction=0.2`` when the model is fitted on fewer than
  1,000 rows (below it 10 % is fewer than 100 held-out rows to choose the best
  epoch and the blend weights on);
- ``auto``: ``batch_size="auto"`` instead of 128 (128 rows, but at least 8
  training steps per epoch: a batch of ``n // 8`` rows, at least 8), which
  changes every fit below 1,024 training rows;
- ``auto32``: ``batch_size="auto"`` with at least 32 steps per epoch
  (``AUTO_BATCH_STEPS`` 32: ``n // 32`` rows, at least 8 and at most 128), which
  changes every fit below 4,096 training rows;
- ``refit``: once the blend weights are chosen, each task's linear model is
  fitted again on all the training rows (the network's and the held-out ones)
  when the model is fitted on fewer than 3,000 rows (the range of this study);
- ``vf20_refit``: ``vf20`` and ``refit`` together;
- ``vf20_refit_auto``: ``vf20``, ``refit`` and ``auto`` together.

The anchors ``linear`` and ``histgb`` are read from ``bagging_study.jsonl`` and
``bagging_study_seed2.jsonl``: the same validation splits.

Protocol: the 12 tables of the tabular suite whose validation fit has fewer
than 3,000 rows, the suite's split for seeds 0, 1 and 2 and, inside each
training part, its validation split (80 % fitted, 20 % scored): test rows are
never used. Scores are the suite's (ROC AUC, R²), averaged over a table's
tasks, then over seeds. CPU is the process time of ``fit`` (one thread).

Rule fixed before the run: a contender passes when, over the 12 tables, (a) the
mean of ``contender - defaults`` is +0.002 or more, (b) it is better by 0.002 or
more on more tables than it is worse by 0.002 or more, (c) no table is worse by
0.005 or more, and (d) the median over tables of the CPU ratio contender /
defaults is 1.5x or less. Of the contenders that pass, the one of the highest
mean difference becomes the default; none passing, the defaults stay. Reported
beside it: ``contender - linear`` per table, and the number of tables more than
0.01 below the linear anchor for each model.

Run (from the repository root): ``PYTHONPATH=$PWD python -m
benchmarks.small_table_study --data ../shared/data``; appends to
``benchmarks/results/small_table_study.jsonl`` and prints the summary
(``--report``: the summary of the rows already there).
"""

import contextlib
from pathlib import Path
from unittest import mock

import numpy as np
from sklearn.utils.validation import _num_samples

from sk_mtl._engine import _training_data
from sk_mtl.multitask._linear_blend import fit_linear_models
from sk_mtl.multitask._shared_network import SharedNetworkMixin

from . import _validation_study as study
from .bagging_study import RESULTS as ANCHOR_RESULTS
from .bagging_study import TABLE_NAMES as BAGGING_TABLES
from .bagging_study import _cpu_means, _warm_up
from .linear_blend_study import BELOW_LINEAR, WORST, anchor_rows
from .tabular_suite import _fit_sk_mtl

RESULTS = Path(__file__).parent / "results" / "small_table_study.jsonl"
ANCHOR_FILES = (ANCHOR_RESULTS, ANCHOR_RESULTS.with_name("bagging_study_seed2.jsonl"))
TABLE_NAMES = BAGGING_TABLES[:12]  # the tables fitted on fewer than 3,000 rows
CONTENDERS = {
    "defaults": (),
    "vf20": ("vf20",),
    "auto": ("auto",),
    "auto32": ("auto", "steps32"),
    "refit": ("refit",),
    "vf20_refit": ("vf20", "refit"),
    "vf20_refit_auto": ("vf20", "refit", "auto"),
}
VF20_ROWS = 1_000  # vf20: validation_fraction=0.2 below this many fitted rows
AUTO300_ROWS = 300  # auto300 (small_table_confirm): batch "auto" below this
REFIT_ROWS = 3_000  # refit: below this many fitted rows
STEPS = 32  # auto32: AUTO_BATCH_STEPS
MAX_CPU_RATIO = 1.5  # rule (d)
_FIT_BLEND = SharedNetworkMixin._fit_linear_blend


def _refit_blend(self, ctx, targets, weights, rows):
    """The blend as the defaults fit it, then (``refit``) each task's linear
    model fitted again on every training row, the weights kept."""
    _FIT_BLEND(self, ctx, targets, weights, rows)
    if self.linear_coef_ is None or _num_samples(ctx.X) >= REFIT_ROWS:
        return
    coef, intercept, _ = fit_linear_models(
        ctx.tasks,
        ctx.X,
        targets,
        np.broadcast_to(weights, targets.labelled.shape),
        np.sort(np.concatenate(rows)),
        getattr(ctx.input, "cardinalities_", ()),
    )
    self._set_blend(self.linear_blend_weights_, coef, intercept)


def contender_params(changes, n_rows):
    """The estimator parameters that ``changes`` set for a fit on ``n_rows``."""
    params = {}
    if "vf20" in changes and n_rows < VF20_ROWS:
        params["validation_fraction"] = 0.2
    if "auto" in changes or ("auto300" in changes and n_rows < AUTO300_ROWS):
        params["batch_size"] = "auto"
    return params


@contextlib.contextmanager
def contender_changes(changes):
    """A context in which the library's code makes the code-level ``changes``."""
    with contextlib.ExitStack() as stack:
        if "steps32" in changes:
            stack.enter_context(
                mock.patch.object(_training_data, "AUTO_BATCH_STEPS", STEPS)
            )
        if "refit" in changes:
            stack.enter_context(
                mock.patch.object(SharedNetworkMixin, "_fit_linear_blend", _refit_blend)
            )
        yield


def fit_contender(changes, X, Y, kinds, fit, val, seed):
    """The suite's fit and score of the defaults with ``changes`` made."""
    with contender_changes(changes):
        params = contender_params(changes, len(fit))
        return _fit_sk_mtl(params, X, Y, kinds, fit, val, seed)


def run(data, seeds, out):
    _warm_up()
    study.fit_contenders(data, TABLE_NAMES, seeds, out, CONTENDERS, fit_contender)


def rule(diffs, ratios):
    """``(passed, mean difference, a line of the four conditions)``."""
    passed, _ = study.adoption_rule(diffs, ratios, "contender", WORST, MAX_CPU_RATIO)
    better, tie, worse = study.verdict(diffs)
    mean, ratio = float(np.mean(diffs)), float(np.median(ratios))
    line = (
        f"{mean:+.4f} | {better} / {tie} / {worse} | {min(diffs):+.4f} | "
        f"{ratio:.2f}x | {'pass' if passed else 'fail'}"
    )
    return passed, mean, line


def _table(header, rows):
    return [
        "| " + " | ".join(header) + " |",
        "|---" * len(header) + "|",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def summary(rows, contenders=None, anchor_files=None, tables=None):
    """Per-table scores, each contender against the defaults and the linear
    anchor, the CPU time, and the rule's verdict. ``contenders``: the models
    compared (default :data:`CONTENDERS`, ``"defaults"`` first); the anchors
    are read from ``anchor_files`` (default :data:`ANCHOR_FILES`) or ``rows``;
    ``tables``: the tables in order (default :data:`TABLE_NAMES`)."""
    compared = list(CONTENDERS if contenders is None else contenders)
    files = ANCHOR_FILES if anchor_files is None else anchor_files
    anchors = [a for path in files for a in anchor_rows(rows, path)]
    means, _ = study.table_means([*anchors, *rows])
    names = TABLE_NAMES if tables is None else tables
    tables = [t for t in names if (t, "defaults") in means]
    cpu = _cpu_means(rows)
    fit_rows = {r["table"]: r["fit_rows"] for r in rows}
    contenders = compared[1:]
    models = [m for m in ("linear", "histgb", *compared) if (tables[0], m) in means]
    scores = [
        [t, f"{fit_rows[t]:,}", *(f"{means[t, m]:.4f}" for m in models)] for t in tables
    ]
    lines = ["Scores:", "", *_table(["table", "fit rows", *models], scores)]
    diffs = [
        [t, *(f"{means[t, c] - means[t, 'defaults']:+.4f}" for c in contenders)]
        for t in tables
    ]
    lines += ["", "Contender - defaults:", "", *_table(["table", *contenders], diffs)]
    if "linear" in models:
        gaps = [
            [t, *(f"{means[t, m] - means[t, 'linear']:+.4f}" for m in compared)]
            for t in tables
        ]
        below = [
            str(sum(means[t, m] - means[t, "linear"] < BELOW_LINEAR for t in tables))
            for m in compared
        ]
        gaps.append(["tables below linear - 0.01", *below])
        lines += ["", "Model - linear:", "", *_table(["table", *compared], gaps)]
    times = [[t, *(f"{cpu[t, m]:.2f}" for m in compared)] for t in tables]
    lines += ["", "CPU of fit (s):", "", *_table(["table", *compared], times)]
    verdicts, best = [], (None, -np.inf)
    for c in contenders:
        passed, mean, line = rule(
            [means[t, c] - means[t, "defaults"] for t in tables],
            [cpu[t, c] / cpu[t, "defaults"] for t in tables],
        )
        verdicts.append([c, line])
        if passed and mean > best[1]:
            best = (c, mean)
    header = "contender | mean diff | better / tie / worse | worst table | "
    header += "median CPU ratio | rule"
    lines += ["", "Rule (against defaults):", "", *_table(header.split(" | "), [])]
    lines += [f"| {c} | {line} |" for c, line in verdicts]
    lines.append(f"\nVerdict: {best[0] or 'none passes; the defaults stay'}.")
    return lines


if __name__ == "__main__":
    study.main(__doc__, run, summary, RESULTS)
