"""The rule of the mid-size table study (benchmarks/mid_table_study.py)."""

from benchmarks import mid_table_study


def test_a_cheap_contender_fails_when_one_table_loses_too_much():
    cheap = [0.5, 0.6, 0.7, 0.8, 0.7]  # CPU ratios to the defaults
    passed, *_ = mid_table_study.rule([0.0, 0.001, -0.001, 0.0, 0.0], cheap)
    assert passed  # on cost
    passed, mean, _, text = mid_table_study.rule(
        [0.003, 0.002, 0.0, 0.0, -0.006], cheap
    )
    assert not passed and "worst table -0.0060: fail" in text
    assert abs(mean + 0.0002) < 1e-12
