"""The census defaults benchmark's report (benchmarks/census_defaults.py)."""

from benchmarks import census_defaults


def test_report_pairs_the_seeds_and_counts_the_wins():
    results = {
        0: {"defaults": (0.95, 0.99, 40.0, "12"), "histgb": (0.94, 0.995, 6.0, None)},
        1: {"defaults": (0.93, 0.99, 50.0, "9"), "histgb": (0.94, 0.99, 7.0, None)},
    }
    text = census_defaults.report(results, [1.0, 2.0])
    assert "| defaults | 2 | 0.9400 ± 0.0100 |" in text
    assert "| 45 | 12/9 |" in text
    assert (
        "**income**: +0.0000 (level or above on 1/2 seeds; per seed +0.0100 -0.0100)"
        in text
    )
    assert "**marital**: -0.0025 (level or above on 1/2 seeds" in text
    assert "load average 1.0 to 2.0" in text


def test_epochs_of_a_bagged_model_are_its_members():
    class Member:
        def __init__(self, n):
            self.n_iter_ = n

    class Bagged:
        estimators_ = [Member(3), Member(5)]

    assert census_defaults._epochs(Bagged()) == "3+5"
    assert census_defaults._epochs(Member(7)) == "7"
