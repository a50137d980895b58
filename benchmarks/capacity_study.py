"""Capacity on the tables over 20,000 rows: a validation study.

The defaults' network is the same at every size (``hidden_units=(128, 64)``,
``dropout=0.1``); above 16,000 training rows it now trains on batches of 512
rows at ``lr=2e-3`` (``batch_study``), 0.70x the CPU time of batches of 128.
With that many rows a wider network or less dropout may fit the tables better
(the defaults trail HistGradientBoosting there by 0.0003 on the mean of the
test splits, by 0.0054 on adult). Contenders, every other parameter at its
default (fixed before the run):

- ``defaults``;
- ``wide``: ``hidden_units=(256, 128)``;
- ``no_dropout``: ``dropout=0.0``;
- the anchor ``histgb`` (``tabular_suite._fit_anchor``), the unit of the CPU
  ratios to HistGB.

Protocol and rule (fixed before the run): ``large_table_study``'s, as
``schedule_study`` uses them: its 5 tables, validation splits of seeds 0-2
(test rows never used), its rule (a)-(d) against ``defaults`` and ``choose``.
A verdict would change the defaults above 16,000 training rows only.

Run (from the repository root): ``PYTHONPATH=$PWD python -m
benchmarks.capacity_study --data ../shared/data --seeds 0 1 2 [--tables ...]``;
appends to ``benchmarks/results/capacity_study.jsonl`` and prints the summary
(``--report``: the summary of the rows already there).
"""

from pathlib import Path

from . import large_table_study

RESULTS = Path(__file__).parent / "results" / "capacity_study.jsonl"
CONTENDERS = {
    "defaults": {},
    "wide": {"hidden_units": (256, 128)},
    "no_dropout": {"dropout": 0.0},
}


def main(argv=None):
    large_table_study.main(argv, __doc__, CONTENDERS, RESULTS)


if __name__ == "__main__":
    main()
