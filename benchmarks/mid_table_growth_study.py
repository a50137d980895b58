"""Growing batches on tables of 5,000 to 16,000 fitted rows: a validation study.

Mammography's default fit costs 16x HistGradientBoosting's CPU time on the test
splits, the one table over 5,000 rows above the 10x the defaults aim at; it
often runs to ``max_epochs=50``. Seven cheaper recipes have failed on these
tables (``mid_table_study``, ``mid_table_step_study``,
``mid_table_dropout_study``): each made every epoch cheaper or shorter from the
first, and lost on loans or coil_2000, whose best epochs come early (3 to 12).
Larger batches late in a fit are what a decaying learning rate does to the
noise of the steps (Smith et al. 2018, "Don't decay the learning rate,
increase the batch size"), and they make those epochs cheaper. This study
keeps the first 10 epochs as they are and grows the batches after them.

Contenders, every other parameter at its default (fixed before the run):

- ``defaults`` (batches of 128 rows at ``lr=1e-3``, dropout 0.1, a patience
  of 10);
- ``grow``: batches of 128 rows for epochs 1-10, 256 for epochs 11-20 and 512
  from epoch 21 on, the rate, dropout and patience of the defaults;
- the anchor ``histgb``, the reference and the unit of the CPU ratios.

Protocol and rule: ``mid_table_study``'s (its 5 tables, seeds 0-2, validation
splits only; ``large_table_study``'s rule (a)-(d) against ``defaults`` and (e)
no table worse by 0.005 or more). A passing contender would become the default
below 16,000 training rows for the default MLP trunk.

The run grew the batches with a skorch callback; the growth is now the
defaults' own (``MID_FIT_BATCH_GROWTH`` in
:mod:`sk_mtl.multitask._shared_network`), so ``grow`` is the defaults and
``defaults`` pins the batches they had before (a batch size given keeps its
size, at ``lr=1e-3``): both reproduce the recorded rows exactly (checked on
mammography and loans, seeds 0 and 2).

Run (from the repository root): ``PYTHONPATH=$PWD python -m
benchmarks.mid_table_growth_study --data ../shared/data --seeds 0 1 2``;
appends to ``benchmarks/results/mid_table_growth_study.jsonl`` and prints the
summary (``--report``: the summary of the rows already there).
"""

from pathlib import Path

from . import _validation_study as study
from . import mid_table_study

RESULTS = Path(__file__).parent / "results" / "mid_table_growth_study.jsonl"
CONTENDERS = {
    "defaults": {"batch_size": 128},  # no growth: the defaults before the study
    "grow": {},  # the defaults since
}

run, summary = mid_table_study.study_of(CONTENDERS)


if __name__ == "__main__":
    study.main(__doc__, run, summary, RESULTS)
