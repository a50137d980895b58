"""A learning-rate schedule on the tables over 20,000 rows: a validation study.

The defaults train Adam at a constant ``lr=1e-3``, early stopping on
``valid_task_loss`` with the best epoch restored (``n_iter_no_change="auto"``:
a patience of 5 epochs above 16,000 training rows, which every fit here has).
A schedule that lowers the rate when the validation loss stops improving may
let the last epochs settle in a better minimum. Contenders, every other
parameter at its default (fixed before the run):

- ``defaults``;
- ``plateau``: ``lr_scheduler="ReduceLROnPlateau"``,
  ``lr_scheduler_options={"monitor": "valid_loss", "factor": 0.2,
  "patience": 1}``: the rate times 0.2 after 2 epochs without a better
  validation loss (``valid_loss`` is in the history when skorch's
  ``LRScheduler`` steps at the end of each epoch; early stopping's patience
  unchanged);
- ``plateau_p10``: the same and ``n_iter_no_change=10``, room for the lower
  rate to pay;
- the anchor ``histgb`` (``tabular_suite._fit_anchor``), the unit of the CPU
  ratios to HistGB.

Protocol: ``large_table_study``'s: the 5 tables of the tabular suite over
20,000 rows (adult, census_kdd, cps1988, diamonds, fertility; capped at 30,000
rows), the suite's split for seeds 0, 1, 2 and, inside each training part, its
validation split (80 % fitted, 20 % scored): test rows are never used. Scores
are the suite's (ROC AUC, R²), averaged over a table's tasks, then over seeds.
CPU is the process time of ``fit`` (one thread).

Rule fixed before the run: ``large_table_study.rule`` and ``choose``. A
contender passes, against ``defaults`` over the 5 tables, either on score: (a)
the mean difference is +0.001 or more, (b) it is better by 0.002 or more on
more tables than it is worse by 0.002 or more, and (c) the median over tables
of its CPU ratio to ``defaults`` is 1.5x or less; or on cost: (d) that median
ratio is 0.9x or less and the mean difference is -0.0005 or more. Of the
passing contenders the one of the highest mean difference is the verdict, the
cheaper of two within 0.0005 of each other; none passing, the defaults stay.

Run (from the repository root), one table at a time if wanted: ``PYTHONPATH=$PWD
python -m benchmarks.schedule_study --data ../shared/data --seeds 0 1 2
[--tables adult ...]``; appends to ``benchmarks/results/schedule_study.jsonl``
and prints the summary (``--report``: the summary of the rows already there).
"""

from pathlib import Path

from . import large_table_study

RESULTS = Path(__file__).parent / "results" / "schedule_study.jsonl"
PLATEAU = {
    "lr_scheduler": "ReduceLROnPlateau",
    "lr_scheduler_options": {"monitor": "valid_loss", "factor": 0.2, "patience": 1},
}
CONTENDERS = {
    "defaults": {},
    "plateau": PLATEAU,
    "plateau_p10": {**PLATEAU, "n_iter_no_change": 10},
}


def main(argv=None):
    large_table_study.main(argv, __doc__, CONTENDERS, RESULTS)


if __name__ == "__main__":
    main()
