"""The value view's validation study (benchmarks/value_view_study.py)."""

import numpy as np
import pandas as pd

from benchmarks import value_view_study
from benchmarks.tabular_suite import sk_mtl_model


def test_the_contenders_differ_by_the_value_view_alone():
    rng = np.random.default_rng(0)
    gain = np.where(rng.random(400) < 0.7, 0.0, rng.choice([500.0, 900.0, 70.0], 400))
    X = pd.DataFrame({"gain": gain, "c": pd.Categorical(rng.choice(["a", "b"], 400))})
    y = (gain > 100).astype(int)
    seen = {}
    for name, params in value_view_study.CONTENDERS.items():
        model = sk_mtl_model(["binary"], 0, max_epochs=1, n_bags=1, **params)
        seen[name] = model.fit(X, y).input_.value_columns_
    assert seen == {"defaults": [], "value_view": ["gain"]}


def test_each_side_of_the_gate_gets_its_own_verdict():
    rows = []
    above, below = value_view_study.ABOVE_GATE, value_view_study.BELOW_GATE
    for table in above + below:
        gain = 0.003 if table in above else -0.003
        for model, score in [
            ("histgb", 0.7),
            ("defaults", 0.7),
            ("value_view", 0.7 + gain),
        ]:
            rows.append(
                dict(table=table, seed=0, model=model, fit_rows=1000, table_rows=2000)
                | dict(score=score, cpu_s=1.0)
            )
    lines = value_view_study.summary(rows)
    verdicts = [line for line in lines if line.startswith("- verdict")]
    assert verdicts == [
        "- verdict: value_view",
        "- verdict: none adopted; the defaults stay",
    ]
    assert lines[0].startswith("### Above the gate")
