"""The contenders of the periodic-embedding study (benchmarks/periodic_study.py)."""

import numpy as np
import pandas as pd
import pytest

from benchmarks import periodic_study
from benchmarks.tabular_suite import sk_mtl_model

pytest.importorskip("rtdl_num_embeddings")


@pytest.mark.parametrize("name, embedded", [("defaults", False), ("periodic", True)])
def test_each_contender_reads_the_numbers_as_named(name, embedded):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    X["kind"] = pd.Categorical(rng.choice(["x", "y"], size=300))
    y = (X.a + rng.normal(size=300) > 0).astype(int)
    params = {**periodic_study.CONTENDERS[name], "max_epochs": 2, "n_bags": 1}
    model = sk_mtl_model(["binary"], 0, **params).fit(X, y)
    kinds = {type(m).__name__ for m in model.module_.modules()}
    assert ("PeriodicEmbeddings" in kinds) == embedded
