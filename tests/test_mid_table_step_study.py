"""The contenders of the mid-size step study (benchmarks/mid_table_step_study.py)."""

import numpy as np
import pytest
import torch
from _study_rows import cheap_contender_rows

from benchmarks import mid_table_step_study
from benchmarks.tabular_suite import sk_mtl_model


@pytest.mark.parametrize(
    "name, batch, lr, dropout",
    [
        ("defaults", 128, 1e-3, 0.1),
        ("lr2e-3", 128, 2e-3, 0.1),
        ("bs256_lr1.5e-3", 256, 1.5e-3, 0.1),
        ("large_fit", 512, 2e-3, None),
    ],
)
def test_each_contender_trains_with_its_batch_rate_and_dropout(
    name, batch, lr, dropout
):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1200, 4)).astype(np.float32)
    y = (X[:, 0] + rng.normal(size=1200) > 0).astype(int)
    params = {**mid_table_step_study.CONTENDERS[name], "max_epochs": 2}
    model = sk_mtl_model(["binary"], 0, **params).fit(X, y)
    assert model.batch_size_ == batch
    assert model.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(lr)
    rates = {m.p for m in model.module_.modules() if isinstance(m, torch.nn.Dropout)}
    assert rates == ({dropout} if dropout else set())


def test_a_cheap_contender_losing_on_one_table_is_refused():
    # mid_table_study's rule (e): no table worse by 0.005 or more.
    tables = mid_table_step_study.mid_table_study.TABLE_NAMES
    even = _rows(tables, worse_on=None)
    assert mid_table_step_study.summary(even)[-1] == "- verdict: large_fit"
    one_worse = _rows(tables, worse_on=tables[0])
    assert mid_table_step_study.summary(one_worse)[-1].startswith("- verdict: none")


def _rows(tables, worse_on):
    return cheap_contender_rows(
        tables, mid_table_step_study.CONTENDERS, "large_fit", 0.5, worse_on
    )
