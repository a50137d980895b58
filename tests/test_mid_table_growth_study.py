"""The mid-size growing-batches study (benchmarks/mid_table_growth_study.py)."""

import numpy as np
from _study_rows import cheap_contender_rows

from benchmarks import mid_table_growth_study
from benchmarks.tabular_suite import sk_mtl_model
from sk_mtl.multitask._shared_network import MID_FIT_BATCH_GROWTH


def _batch_counts(model):
    return [row["train_batch_count"] for row in model.history_]


def test_the_study_s_growth_is_the_one_the_defaults_ship():
    # 1,200 rows: below the gate of the shipped growth, so only the study's
    # callback grows the batches; 1,080 training rows (10 % held out).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1200, 4)).astype(np.float32)
    y = (X[:, 0] + rng.normal(size=1200) > 0).astype(int)
    params = {"max_epochs": 22, "n_iter_no_change": 30}
    grow = {**mid_table_growth_study.CONTENDERS["grow"], **params}
    model = sk_mtl_model(["binary"], 0, **grow).fit(X, y)
    assert _batch_counts(model) == [9] * 10 + [5] * 10 + [3] * 2
    plain = sk_mtl_model(["binary"], 0, **params).fit(X, y)
    assert plain.batch_growth_ == () and set(_batch_counts(plain)) == {9}
    again = sk_mtl_model(["binary"], 0, **grow).fit(X, y)  # the callback resets
    assert _batch_counts(again) == _batch_counts(model)
    assert mid_table_growth_study.GROWTH[1:] == MID_FIT_BATCH_GROWTH


def test_a_cheaper_fit_losing_on_one_table_is_refused():
    tables = mid_table_growth_study.mid_table_study.TABLE_NAMES
    even = _rows(tables, worse_on=None)
    assert mid_table_growth_study.summary(even)[-1] == "- verdict: grow"
    one_worse = _rows(tables, worse_on=tables[-1])
    assert mid_table_growth_study.summary(one_worse)[-1].startswith("- verdict: none")


def _rows(tables, worse_on):
    return cheap_contender_rows(
        tables, mid_table_growth_study.CONTENDERS, "grow", 0.87, worse_on
    )
