"""The mid-size growing-batches study (benchmarks/mid_table_growth_study.py)."""

import numpy as np
import pytest
from _study_rows import cheap_contender_rows

from benchmarks import mid_table_growth_study
from benchmarks.tabular_suite import sk_mtl_model
from sk_mtl.multitask._shared_network import AUTO_LR, MID_FIT_BATCH_GROWTH


def _batch_counts(model):
    return [row["train_batch_count"] for row in model.history_]


def _rate(model):
    return model.net_.optimizer_.param_groups[0]["lr"]


# 5,001 rows, inside the study's range: 4,501 training rows (10 % held out),
# in batches of 128, or growing to 256 from epoch 11 and 512 from epoch 21.
GROWN = [36] * 10 + [18] * 10 + [9] * 2


@pytest.mark.parametrize(
    "name, counts, growth",
    [("defaults", [36] * 22, ()), ("grow", GROWN, MID_FIT_BATCH_GROWTH)],
)
def test_each_contender_trains_on_its_batches(name, counts, growth):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5001, 4)).astype(np.float32)
    y = (X[:, 0] + rng.normal(size=5001) > 0).astype(int)
    params = {**mid_table_growth_study.CONTENDERS[name], "hidden_units": (4,)}
    params.update(max_epochs=22, n_iter_no_change=30)
    model = sk_mtl_model(["binary"], 0, **params).fit(X, y)
    assert _batch_counts(model) == counts and model.batch_growth_ == growth
    assert model.batch_size_ == 128 and _rate(model) == AUTO_LR


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
