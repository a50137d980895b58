"""The value view of mostly-one-value numeric columns: a validation study.

On the tables over 20,000 rows the defaults trailed HistGradientBoosting by
0.0004 on the mean, most on adult, whose income task (0.913 AUC against
0.924) nothing had moved: not embeddings of the numbers (piecewise-linear,
periodic), schedules, bagging, width or dropout. An exploration on adult's
validation splits (seeds 0-2) found the gap in two columns: capital-gain and
capital-loss are 0 in 92 % and 95 % of the rows, and a few exact amounts
recur, each with its own meaning. Read them also as categories of their values
(a learned embedding per value, as a category gets) and income rose from 0.912
to 0.926. The same exploration (``value_view_exploration``), on 17 tables
read by the tabular front-end, refused a view of every column of at most 255
values (+0.027 on star, but -0.041 on mroz, -0.022 on loans and -0.015 on
wage, where ages and counts were cut into categories) and kept the columns
that are mostly one value (``sk_mtl._data._values``: the
most frequent value holds half the rows or more and at least 3 values recur 5
times); on tables of a few thousand rows these lost too (doctor_visits,
hmda). This study measures that rule with the library's value view
(``value_view=True``) against ``value_view=False`` (``defaults``, the
defaults before this study), on the validation splits of seeds 0-2 (test rows
never used), HistGB fitted on the same splits as the CPU unit, in two groups
on either side of the large-fit gate (16,000 fitted rows, the gate of the
other large-fit defaults; not chosen here):

- above it, ``large_table_study``'s 5 tables (adult and census_kdd have such
  columns, cps1988, diamonds and fertility none: there the two fits are the
  same);
- below it, the 5 suite tables fitted below the gate that have such columns
  (loans, doctor_visits, hmda, credit_card, mroz).

Rule: ``large_table_study``'s (a)-(d) against ``defaults``, in each group
apart; the value view becomes the default on the side of the gate where it
passes. Every task of these tables is labelled on every row; the default
counts the labelled rows of the task with the fewest (with 2 % of
census-income's income labels, a gate on all rows cost the multi-task model of
``missing_labels`` 0.007 AUC). As the exploration saw these splits, the
evidence that it holds elsewhere is the suite's test splits and the tables
kept aside.

Run (from the repository root): ``PYTHONPATH=$PWD python -m
benchmarks.value_view_study --data ../shared/data --seeds 0 1 2``; appends to
``benchmarks/results/value_view_study.jsonl`` and prints the summary
(``--report``: the summary of the rows already there).
"""

from pathlib import Path

from . import _validation_study as study
from . import large_table_study

RESULTS = Path(__file__).parent / "results" / "value_view_study.jsonl"
ABOVE_GATE = large_table_study.TABLE_NAMES
BELOW_GATE = ("loans", "doctor_visits", "hmda", "credit_card", "mroz")
CONTENDERS = {
    "defaults": {"value_view": False},
    "value_view": {"value_view": True},
}


def run(data, seeds, out):
    tables = ABOVE_GATE + BELOW_GATE
    large_table_study.run(data, seeds, out, tables, CONTENDERS)


def summary(rows):
    lines = []
    for title, tables in (
        ("Above the gate (over 16,000 fitted rows)", ABOVE_GATE),
        ("Below the gate", BELOW_GATE),
    ):
        group = [r for r in rows if r["table"] in tables]
        if group:
            lines += [f"### {title}", ""]
            lines += large_table_study.summary(group, CONTENDERS) + [""]
    return lines[:-1]


if __name__ == "__main__":
    study.main(__doc__, run, summary, RESULTS)
