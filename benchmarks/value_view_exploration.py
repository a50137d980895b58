"""Which numeric columns to read as categories of their values: the exploration.

Run before ``value_view_study`` (which measures the rule kept here, with the
library's ``value_view``), on the same validation splits (seeds 0-2, test rows
never used), every table read by the tabular front-end (a categorical column or
a missing value). Each contender adds, for the columns it picks, a categorical
column of the numeric column's values to the DataFrame, which the defaults'
front-end then encodes as any categorical column (values seen at least 5 times
get their own embedding, the rest share "other"); everything else is at its
defaults but ``value_view=False`` (the defaults at the time):

- ``defaults``;
- ``v255``: every numeric column of at most 255 distinct values in the fitted
  rows;
- ``spike``: every numeric column whose most frequent value holds at least
  half of the fitted rows that have one (run only where it picks a column).

Run (from the repository root): ``PYTHONPATH=$PWD python -m
benchmarks.value_view_exploration --data ../shared/data --seeds 0 1 2``;
appends to ``benchmarks/results/value_view_exploration.jsonl``; ``--report``
prints each contender's mean difference to ``defaults`` per table.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from . import _validation_study as study
from .tabular_suite import _fit_sk_mtl, _warm_up

RESULTS = Path(__file__).parent / "results" / "value_view_exploration.jsonl"
TABLE_NAMES = (
    "health_insurance", "loans", "cps1988", "fertility", "diamonds", "star",
    "slid", "credit_card", "hmda", "doctor_visits", "arrests", "nmes1988",
    "wage", "mroz", "adult", "census_kdd", "thyroid_disease",
)  # fmt: skip


def picks_v255(values):
    return values.nunique() <= 255


def picks_spike(values):
    present = values.dropna()
    return len(present) > 0 and present.value_counts(normalize=True).iloc[0] >= 0.5


CONTENDERS = {"defaults": None, "v255": picks_v255, "spike": picks_spike}


def with_values(X, fit_rows, picks):
    """X and the names of the numeric columns ``picks`` chose on the fitted
    rows, each of which gets a categorical copy of its values."""
    X, picked = X.copy(), []
    for c in list(X.columns):
        if isinstance(X[c].dtype, pd.CategoricalDtype) or not picks(
            X[c].iloc[fit_rows]
        ):
            continue
        X[f"{c}__value"] = X[c].astype(str).where(X[c].notna()).astype("category")
        picked.append(c)
    return X, picked


def run(data, seeds, out):
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _warm_up()
        for table, X, Y, kinds, seed, fit, val in study.validation_splits(
            data, TABLE_NAMES, seeds
        ):
            for name, picks in CONTENDERS.items():
                Xv, picked = (X, []) if picks is None else with_values(X, fit, picks)
                if picks is not None and not picked:
                    continue  # the same fit as the defaults
                scores, cpu, epochs = _fit_sk_mtl(
                    {"value_view": False}, Xv, Y, kinds, fit, val, seed
                )
                row = dict(table=table.name, seed=seed, model=name, picked=picked)
                row.update(scores=[round(float(s), 5) for s in scores])
                row.update(score=round(float(np.mean(scores)), 5), cpu_s=round(cpu, 2))
                with open(out, "a") as f:
                    f.write(json.dumps({**row, "epochs": epochs}) + "\n")
                print(json.dumps(row), flush=True)


def summary(rows):
    means, tables = study.table_means(rows)
    lines = ["| table | " + " | ".join(CONTENDERS) + " | columns picked |"]
    lines.append("|---" * (2 + len(CONTENDERS)) + "|")
    for t in tables:
        cells = [f"{means[t, 'defaults']:.4f}"]
        cells += [
            f"{means[t, m] - means[t, 'defaults']:+.4f}" if (t, m) in means else "="
            for m in list(CONTENDERS)[1:]
        ]
        picked = {r["model"]: len(r["picked"]) for r in rows if r["table"] == t}
        cells.append(", ".join(f"{m} {n}" for m, n in picked.items() if n))
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    return lines


if __name__ == "__main__":
    study.main(__doc__, run, summary, RESULTS)
