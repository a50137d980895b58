"""How the linear blend's weight is chosen on few held-out rows: a validation study.

The defaults (``defaults``) choose each task's blend weight ``w`` in {0, 0.25,
0.5, 0.75, 1} as the one of least loss on the rows held out for early stopping
(10 % of the fitted rows: 26 rows on diabetes's validation fit). On so few rows
the least loss is noisy, and a table whose linear model is the better one can
keep the network (diabetes: test R² 0.381 against the linear model's 0.415).

Contender ``one_se``: the one-standard-error rule (Breiman et al., 1984; glmnet's
``lambda.1se``): the largest ``w`` (the one closest to the linear model, the
simpler of the two) whose held-out loss is within one standard error of the
least loss, the standard error being that of the mean of the per-row loss
differences between that ``w`` and the best one (paired, weighted as the
loss). On many held-out rows the standard error is small and the choice is
the least loss's; on few it leans to the linear model.

The anchors ``linear`` and ``histgb`` are read from ``bagging_study.jsonl`` and
``bagging_study_seed2.jsonl``: the same validation splits.

Protocol: the 18 tables of the tabular suite up to 10,000 rows, the suite's
split for seeds 0, 1 and 2 and, inside each training part, its validation split
(80 % fitted, 20 % scored): test rows are never used. Scores are the suite's
(ROC AUC, R²), averaged over a table's tasks, then over seeds. CPU is the
process time of ``fit`` (one thread).

Rule fixed before the run, as the small-table study's: ``one_se`` becomes the
default when, over the 18 tables, (a) the mean of ``one_se - defaults`` is
+0.002 or more, (b) it is better by 0.002 or more on more tables than it is
worse by 0.002 or more, (c) no table is worse by 0.005 or more, and (d) the
median over tables of the CPU ratio is 1.5x or less. Reported beside it:
``- linear`` per table, and the number of tables more than 0.01 below the
linear anchor.

Run (from the repository root): ``PYTHONPATH=$PWD python -m
benchmarks.blend_choice_study --data ../shared/data``; appends to
``benchmarks/results/blend_choice_study.jsonl`` and prints the summary
(``--report``: the summary of the rows already there).
"""

import contextlib
import functools
from pathlib import Path
from unittest import mock

import numpy as np

from sk_mtl.multitask import _linear_blend, _shared_network

from . import _validation_study as study
from . import small_table_study
from .bagging_study import TABLE_NAMES, _warm_up
from .tabular_suite import _fit_sk_mtl

RESULTS = Path(__file__).parent / "results" / "blend_choice_study.jsonl"
CONTENDERS = {"defaults": False, "one_se": True}


def one_se_weight(losses, weight):
    """The largest grid weight whose mean loss is within one standard error of
    the least one; ``losses``: per-row losses, one row per grid weight."""
    losses = np.asarray(losses)
    weight = np.asarray(weight, dtype=np.float64) / np.sum(weight)
    means = losses @ weight
    best = int(np.argmin(means))
    for i in range(len(means) - 1, -1, -1):
        diff = losses[i] - losses[best]
        mean = diff @ weight
        se = np.sqrt(((diff - mean) ** 2) @ weight * (weight**2).sum())
        if mean <= se:
            return _linear_blend.BLEND_GRID[i]
    return _linear_blend.BLEND_GRID[best]


# ``choose_weights`` with the one-standard-error rule.
choose_one_se = functools.partial(_linear_blend.choose_weights, pick=one_se_weight)


def fit_contender(one_se, X, Y, kinds, fit, val, seed):
    patch = mock.patch.object(_shared_network, "choose_weights", choose_one_se)
    with patch if one_se else contextlib.nullcontext():
        return _fit_sk_mtl({}, X, Y, kinds, fit, val, seed)


def run(data, seeds, out):
    _warm_up()
    study.fit_contenders(data, TABLE_NAMES, seeds, out, CONTENDERS, fit_contender)


def summary(rows):
    return small_table_study.summary(rows, CONTENDERS, tables=TABLE_NAMES)


if __name__ == "__main__":
    study.main(__doc__, run, summary, RESULTS)
