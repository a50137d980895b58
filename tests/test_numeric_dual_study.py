"""The dual numeric study's contenders, anchor reuse and rule (no data folder)."""

import json

import numpy as np
import pandas as pd
import scipy.sparse as sp

from benchmarks import numeric_dual_study as study
from benchmarks._validation_study import inputs_made_by, quantile_input
from sk_mtl import MultiTaskClassifier


def test_defaults_contender_reads_the_quantile_view_alone():
    rng = np.random.default_rng(0)
    X = rng.lognormal(size=(60, 3))
    y = np.arange(60) % 2
    with inputs_made_by(quantile_input):
        before = MultiTaskClassifier((8,), max_epochs=2).fit(X, y)
    frame = pd.DataFrame({"a": X[:, 0], "c": list("xyz") * 20})
    assert before.input_.width == 3 and before.module_.trunk[0].in_features == 3
    assert quantile_input(frame).linear_view is False
    dual = MultiTaskClassifier((8,), max_epochs=2).fit(X, y)  # the default
    assert dual.input_.width == 6
    assert quantile_input(sp.csr_matrix(X)).scale is False  # as given


def _stored(tmp_path, fit_rows):
    path = tmp_path / "bagging.jsonl"
    with open(path, "w") as f:
        for model, score in (("linear", 0.7), ("histgb", 0.8), ("defaults", 0.6)):
            row = dict(table="t", seed=0, model=model, score=score, cpu_s=0.1)
            f.write(json.dumps({**row, "fit_rows": fit_rows}) + "\n")
    return study._stored_anchors(path, [0])


class _Table:
    name = "t"


def test_anchors_are_reused_only_from_a_split_of_the_same_size(tmp_path):
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(40, 2)), columns=["a", "b"])
    Y = pd.DataFrame({"y": (X["a"] > 0).astype(int)})
    fit, val = np.arange(30), np.arange(30, 40)
    args = (_Table(), X, Y, ["binary"], 0, fit, val)
    reused, source = study._anchors(_stored(tmp_path, 30), *args)
    assert source == {"source": "bagging_study.jsonl"}
    assert reused["linear"] == ([0.7], 0.1, None) and "defaults" not in reused
    refit, source = study._anchors(_stored(tmp_path, 29), *args)
    assert source == {} and refit["linear"][0] != [0.7]


def _rows(table, scores, cpu):
    models = ("linear", "histgb", "defaults", "dual")
    return [
        dict(table=table, seed=0, model=m, score=s, cpu_s=c)
        for m, s, c in zip(models, scores, cpu)
    ]


def test_summary_applies_the_four_checks_of_the_rule():
    rows = _rows("a", [0.80, 0.8, 0.75, 0.80], [0.1, 1, 1.0, 1.2])
    rows += _rows("b", [0.60, 0.6, 0.60, 0.60], [0.1, 1, 2.0, 2.4])
    rows += _rows("c", [0.70, 0.7, 0.70, 0.71], [0.1, 1, 1.0, 1.5])
    text = "\n".join(study.summary(rows))
    assert "| a | 0.8000 | 0.8000 | 0.7500 | 0.8000 | +0.0500 | -0.0500 |" in text
    assert "- defaults: 1 tables more than 0.01 below linear (a)" in text
    assert "- dual: 0 tables more than 0.01 below linear" in text
    assert "(b) better on 2 tables, worse on 0: yes" in text
    assert "(d) median CPU ratio 1.20x <= 1.3x: yes" in text
    assert "verdict: adopt dual" in text
    rows += _rows("d", [0.70, 0.7, 0.70, 0.68], [0.1, 1, 1.0, 1.5])
    text = "\n".join(study.summary(rows))
    assert "(c) worst table -0.0200 > -0.01: no" in text
    assert "verdict: keep the defaults" in text
