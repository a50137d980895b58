"""The value view's check on a table no study saw (benchmarks/value_view_aside.py)."""

from benchmarks import value_view_aside


def test_the_report_pairs_the_defaults_with_the_view_off_per_seed():
    scores = {
        "defaults": [[0.80, 0.70], [0.82, 0.70]],
        "value_view=False": [[0.80, 0.71], [0.80, 0.70]],
        "histgb": [[0.81, 0.69], [0.81, 0.69]],
    }
    lines = value_view_aside.report(scores).splitlines()
    assert lines[2] == "| defaults | 0.8100 | 0.7000 | 0.7550 | 1/2 |"
    assert lines[3] == "| value_view=False | 0.8000 | 0.7050 | 0.7525 |  |"
    assert lines[-1].endswith("-0.0050 +0.0100")
