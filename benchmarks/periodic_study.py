"""Periodic numeric embeddings on the tables over 20,000 rows: a validation study.

On the tables over 20,000 rows the defaults trail HistGradientBoosting by
0.0004 on the mean, most on adult (``results/tabular_suite.md``).
``large_table_study`` measured piecewise-linear embeddings there (-0.0005 on the
mean, refused) but not periodic ones (``numeric_embedding="periodic"``,
Gorishniy et al. 2022: each numeric column through sines and cosines of learned
frequencies, then a linear layer and ReLU), which led on census-income with 12,000
training rows when the trunk was older (income AUC 0.9359 against 0.9312 for
that trunk's defaults and 0.9348 for piecewise-linear; ``results/tabular.md``).
The embedding replaces the two numeric views (``linear_view`` does not apply).
Contenders, every other parameter at its default (fixed before the run):

- ``defaults``;
- ``periodic``: ``numeric_embedding="periodic"``;
- the anchor ``histgb``, the unit of the CPU ratios to HistGB.

Protocol and rule (fixed before the run): ``large_table_study``'s: its 5
tables, validation splits of seeds 0-2 (test rows never used), its rule (a)-(d)
against ``defaults`` and ``choose``. A verdict changes the defaults above 16,000
training rows for the default MLP trunk only.

Run (from the repository root): ``PYTHONPATH=$PWD python -m
benchmarks.periodic_study --data ../shared/data --seeds 0 1 2 [--tables adult
...]``; appends to ``benchmarks/results/periodic_study.jsonl`` and prints the
summary (``--report``: the summary of the rows already there).
"""

from pathlib import Path

from . import large_table_study

RESULTS = Path(__file__).parent / "results" / "periodic_study.jsonl"
CONTENDERS = {
    "defaults": {},
    "periodic": {"numeric_embedding": "periodic"},
}


def main(argv=None):
    large_table_study.main(argv, __doc__, CONTENDERS, RESULTS)


if __name__ == "__main__":
    main()
