"""Cheaper training on tables of 5,000 to 16,000 fitted rows: a validation study.

Above 16,000 training rows the defaults wait 5 epochs for early stopping, not
10 (``benchmarks/large_table_study.py``: 0.71x the CPU time, the same score on
3 of 5 tables). Below that gate two tables still cost more than 10x
HistGradientBoosting's CPU time on the test splits (mammography 17x,
letter_img 11x). Contenders, every other parameter at its default (fixed before
the run):

- ``defaults`` (a patience of 10 epochs, batches of 128 rows);
- ``p5``: ``n_iter_no_change=5``;
- ``bs256``: ``batch_size=256``;
- ``p5_bs256``: both;
- the anchor ``histgb``, the reference and the unit of the CPU ratios.

Protocol: the suite's tables whose validation fit has 5,000 to 16,000 rows
(health_insurance 5,280, coil_2000 5,892, loans 6,000, mammography 6,710,
letter_img 12,000), seeds 0, 1, 2, validation splits only (80 % fitted, 20 %
scored inside each training part): test rows are never used.

Rule fixed before the run: ``large_table_study``'s (pass on score: mean +0.001
or more, better on more tables than worse, median CPU ratio 1.5x or less; or
on cost: median CPU ratio 0.9x or less and mean -0.0005 or more; of the
passing, the highest mean, the cheaper of two within 0.0005), and besides (e)
no table worse by 0.005 or more. A passing contender becomes the default above
5,000 training rows (the gate of this study's smallest fit; star's test fit,
4,963 rows, and the smaller tables stay below it).

Run (from the repository root): ``PYTHONPATH=$PWD python -m
benchmarks.mid_table_study --data ../shared/data --seeds 0 1 2``; appends to
``benchmarks/results/mid_table_study.jsonl`` and prints the summary
(``--report``: the summary of the rows already there).
"""

from pathlib import Path

from . import _validation_study as study
from . import large_table_study

RESULTS = Path(__file__).parent / "results" / "mid_table_study.jsonl"
TABLE_NAMES = ("health_insurance", "coil_2000", "loans", "mammography", "letter_img")
CONTENDERS = {
    "defaults": {},
    "p5": {"n_iter_no_change": 5},
    "bs256": {"batch_size": 256},
    "p5_bs256": {"n_iter_no_change": 5, "batch_size": 256},
}
WORST = -0.005  # rule (e)


def rule(diffs, ratios):
    """``large_table_study.rule`` and (e) no table worse by 0.005 or more."""
    passed, mean, ratio, text = large_table_study.rule(diffs, ratios)
    if passed and min(diffs) <= WORST:
        passed, text = False, f"{text}; but worst table {min(diffs):+.4f}: fail"
    return passed, mean, ratio, text


def study_of(contenders):
    """``(run, summary)`` of a study of ``contenders`` on this study's tables,
    splits and rule."""

    def run(data, seeds, out):
        large_table_study.run(data, seeds, out, TABLE_NAMES, contenders)

    def summary(rows):
        return large_table_study.summary(rows, contenders, rule)

    return run, summary


run, summary = study_of(CONTENDERS)


if __name__ == "__main__":
    study.main(__doc__, run, summary, RESULTS)
