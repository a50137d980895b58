"""Small tables, a second round on re-drawn validation splits.

After ``small_table_study`` (no contender passed), two of its changes did well
where they acted: ``batch_size="auto"`` on the tables of fewer than 300 fitted
rows (iris +0.028, diabetes +0.020; it lost on mroz, 451 rows) and ``refit``
(worse nowhere, diabetes +0.008). This round checks them on other validation
splits, contenders and rule fixed before the run:

- ``auto300``: ``batch_size="auto"`` (at least 8 steps per epoch) when the
  model is fitted on fewer than 300 rows, 128 from 300 rows on;
- ``refit``: as in ``small_table_study`` (each task's blend linear model fitted
  again on all training rows once its weight is chosen, below 3,000 rows);
- ``auto300_refit``: both.

Protocol: ``small_table_study``'s 12 tables and the suite's split for seeds 0,
1 and 2, but the inner validation split (80 % fitted, 20 % scored) drawn with
``seed + 100``: other fitted and scored rows of the same training parts (not
fresh data: the contenders were chosen on the first draw). Test rows are never
used. The ``linear`` anchor (LogisticRegression / Ridge per task) is fitted on
each split in the run.

Rule fixed before the run: ``small_table_study``'s ((a) mean difference to
``defaults`` +0.002 or more over the 12 tables, (b) better by 0.002 or more on
more tables than worse, (c) no table worse by 0.005 or more, (d) median CPU
ratio 1.5x or less); of the contenders that pass, the one of the highest mean
difference becomes the default.

Run (from the repository root): ``PYTHONPATH=$PWD python -m
benchmarks.small_table_confirm --data ../shared/data``; appends to
``benchmarks/results/small_table_confirm.jsonl`` and prints the summary
(``--report``: the summary of the rows already there).
"""

from pathlib import Path

from . import _validation_study as study
from . import small_table_study as small
from .bagging_study import _warm_up
from .tabular_suite import _fit_anchor

RESULTS = Path(__file__).parent / "results" / "small_table_confirm.jsonl"
CONTENDERS = {
    "defaults": (),
    "auto300": ("auto300",),
    "refit": ("refit",),
    "auto300_refit": ("auto300", "refit"),
}
REDRAW = 100  # the inner split's seed: the suite's seed + REDRAW


def _fit(changes, X, Y, kinds, fit, val, seed):
    """The linear anchor for ``changes="linear"``, else the contender's fit."""
    if changes == "linear":
        scores, cpu = _fit_anchor("linear", X, Y, kinds, fit, val, seed)
        return scores, cpu, None
    return small.fit_contender(changes, X, Y, kinds, fit, val, seed)


def run(data, seeds, out):
    _warm_up()
    fits = {"linear": "linear", **CONTENDERS}
    study.fit_contenders(data, small.TABLE_NAMES, seeds, out, fits, _fit, REDRAW)


def summary(rows):
    """``small_table_study``'s summary of these contenders, anchors from rows."""
    return small.summary(rows, CONTENDERS, anchor_files=())


if __name__ == "__main__":
    study.main(__doc__, run, summary, RESULTS)
