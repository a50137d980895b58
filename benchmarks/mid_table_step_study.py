"""Larger steps on tables of 5,000 to 16,000 fitted rows: a validation study of cost.

Below 16,000 training rows the defaults train with batches of 128 rows at
``lr=1e-3`` with a dropout of 0.1, and two tables still cost more than 10x
HistGradientBoosting's CPU time on the test splits (mammography 17x,
letter_img 11x; ``results/tabular_suite.md``). ``mid_table_study`` refused a
patience of 5 and batches of 256 *at the same rate* (loans -0.005, coil_2000
-0.014). Above 16,000 rows ``batch_study`` and ``capacity_study`` adopted
batches of 512 at ``lr=2e-3`` without dropout. This study asks whether a
larger step keeps the score below that gate with fewer epochs or cheaper
ones. Contenders, every other parameter at its default (fixed before the run):

- ``defaults`` (batches of 128 rows, ``lr=1e-3``, dropout 0.1);
- ``lr2e-3``: ``lr=2e-3`` (the same batches and dropout);
- ``bs256_lr1.5e-3``: ``batch_size=256, lr=1.5e-3`` (the rate raised by about
  the square root of the batch's growth, as ``batch_study``);
- ``large_fit``: ``batch_size=512, lr=2e-3, dropout=0.0``, the values of the
  fits above 16,000 rows;
- the anchor ``histgb``, the unit of the CPU ratios to HistGB.

Protocol and rule: ``mid_table_study``'s, fixed before the run: its 5 tables
(validation fits of 5,280 to 12,000 rows), validation splits of seeds 0-2 (test
rows never used), ``large_table_study``'s rule (a)-(d) against ``defaults``
and besides (e) no table worse by 0.005 or more; of the passing, ``choose``.
A passing contender becomes the default from 5,000 to 16,000 training rows for
the default MLP trunk (the fits the large-fit values already apply to above
that).

Run (from the repository root): ``PYTHONPATH=$PWD python -m
benchmarks.mid_table_step_study --data ../shared/data --seeds 0 1 2``; appends
to ``benchmarks/results/mid_table_step_study.jsonl`` and prints the summary
(``--report``: the summary of the rows already there).
"""

from pathlib import Path

from . import _validation_study as study
from . import mid_table_study

RESULTS = Path(__file__).parent / "results" / "mid_table_step_study.jsonl"
CONTENDERS = {
    "defaults": {},
    "lr2e-3": {"lr": 2e-3},
    "bs256_lr1.5e-3": {"batch_size": 256, "lr": 1.5e-3},
    "large_fit": {"batch_size": 512, "lr": 2e-3, "dropout": 0.0},
}

run, summary = mid_table_study.study_of(CONTENDERS)


if __name__ == "__main__":
    study.main(__doc__, run, summary, RESULTS)
