"""The bagging study's summary and verdict by row group (no data folder)."""

from benchmarks import bagging_study as study

MODELS = ("linear", "histgb", "defaults", "bag3", "bag5")


def _rows(table, fit_rows, table_rows, scores, cpu):
    return [
        dict(
            table=table,
            seed=0,
            model=m,
            score=s,
            cpu_s=c,
            fit_rows=fit_rows,
            table_rows=table_rows,
        )
        for m, s, c in zip(MODELS, scores, cpu)
    ]


def test_summary_groups_tables_by_fit_rows_and_applies_the_rule():
    cpu = [0.1, 1.0, 2.0, 6.0, 10.0]
    rows = _rows("small", 500, 800, [0.9, 0.9, 0.80, 0.81, 0.80], cpu)
    rows += _rows("diabetes", 300, 400, [0.6, 0.6, 0.50, 0.55, 0.50], cpu)
    rows += _rows("big", 6_000, 10_000, [0.7, 0.7, 0.70, 0.69, 0.72], cpu)
    text = "\n".join(study.summary(rows))
    assert "| small | 500 | 0.9000 | 0.9000 | 0.8000 | 0.8100 | 0.8000 |" in text
    assert "| 0 - 1,000 | 2 | bag3 | +0.0300 | 2 / 0 / 0 | 3.0x | adopt |" in text
    assert "| 0 - 1,000 | 2 | bag5 | +0.0000 | 0 / 2 / 0 | 5.0x | no |" in text
    assert "| >= 3,000 | 1 | bag5 | +0.0200 | 1 / 0 / 0 | 5.0x | adopt |" in text
    assert "- bag5: big 10.0x" in text  # only the table over 5,000 rows
    assert "- diabetes: defaults -0.1000, bag3 -0.0500, bag5 -0.1000" in text
