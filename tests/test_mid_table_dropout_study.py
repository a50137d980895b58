"""The mid-size dropout study (benchmarks/mid_table_dropout_study.py)."""

import numpy as np
import pytest
import torch
from _study_rows import cheap_contender_rows

from benchmarks import mid_table_dropout_study
from benchmarks.tabular_suite import sk_mtl_model


@pytest.mark.parametrize("name, dropout", [("defaults", 0.1), ("no_dropout", None)])
def test_each_contender_trains_with_its_dropout(name, dropout):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1200, 4)).astype(np.float32)
    y = (X[:, 0] + rng.normal(size=1200) > 0).astype(int)
    params = {**mid_table_dropout_study.CONTENDERS[name], "max_epochs": 2}
    model = sk_mtl_model(["binary"], 0, **params).fit(X, y)
    assert model.batch_size_ == 128
    rates = {m.p for m in model.module_.modules() if isinstance(m, torch.nn.Dropout)}
    assert rates == ({dropout} if dropout else set())


def test_a_cheaper_fit_losing_on_one_table_is_refused():
    tables = mid_table_dropout_study.mid_table_study.TABLE_NAMES
    assert mid_table_dropout_study.summary(_rows(tables, None))[-1] == (
        "- verdict: no_dropout"
    )
    one_worse = _rows(tables, worse_on=tables[-1])
    assert mid_table_dropout_study.summary(one_worse)[-1].startswith("- verdict: none")


def _rows(tables, worse_on):
    return cheap_contender_rows(
        tables, mid_table_dropout_study.CONTENDERS, "no_dropout", 0.7, worse_on
    )
