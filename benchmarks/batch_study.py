"""Larger batches on the tables over 20,000 rows: a validation study of cost.

The defaults train with batches of 128 rows at ``lr=1e-3`` and early-stop
with a patience of 5 epochs above 16,000 training rows
(``n_iter_no_change="auto"``); on these tables they cost up to 17x
HistGradientBoosting's CPU time (diamonds, cps1988 16x, fertility 10.5x;
``results/tabular_suite.md``), beyond the defaults' goal of 10x. A batch of
128 rows leaves the CPU to torch's per-operation cost more than to the
arithmetic, so larger batches make an epoch cheaper; a larger step (the rate
raised by about the square root of the batch's growth) keeps the progress
per epoch. ``large_table_study`` measured ``batch_size=512`` at the old rate
and a patience of 10 (0.81x the CPU, -0.0003 on the mean). Contenders, every
other parameter at its default (fixed before the run):

- ``defaults``;
- ``bs512_lr2e-3``: ``batch_size=512, lr=2e-3``;
- ``bs1024_lr3e-3``: ``batch_size=1024, lr=3e-3``;
- the anchor ``histgb`` (``tabular_suite._fit_anchor``), the unit of the CPU
  ratios to HistGB.

Protocol and rule (fixed before the run): ``large_table_study``'s, as
``schedule_study`` uses them: its 5 tables, validation splits of seeds 0-2
(test rows never used), its rule (a)-(d) against ``defaults`` and ``choose``.
A verdict changes the defaults above 16,000 training rows only (the gate of
the patience of 5).

Run (from the repository root), one table at a time if wanted: ``PYTHONPATH=$PWD
python -m benchmarks.batch_study --data ../shared/data --seeds 0 1 2
[--tables adult ...]``; appends to ``benchmarks/results/batch_study.jsonl``
and prints the summary (``--report``: the summary of the rows already there).
"""

from pathlib import Path

from . import large_table_study

RESULTS = Path(__file__).parent / "results" / "batch_study.jsonl"
CONTENDERS = {
    "defaults": {},
    "bs512_lr2e-3": {"batch_size": 512, "lr": 2e-3},
    "bs1024_lr3e-3": {"batch_size": 1024, "lr": 3e-3},
}


def main(argv=None):
    large_table_study.main(argv, __doc__, CONTENDERS, RESULTS)


if __name__ == "__main__":
    main()
