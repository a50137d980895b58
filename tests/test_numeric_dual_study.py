"""The dual numeric study's inputs, anchor reuse and rule (no data folder)."""

import json

import numpy as np
import pandas as pd
import scipy.sparse as sp

from benchmarks import numeric_dual_study as study
from benchmarks._validation_study import RobustClip, inputs_made_by
from sk_mtl import MultiTaskClassifier
from sk_mtl._data._tabular import make_input


def test_robust_clip_falls_back_to_the_std_and_ignores_nan():
    X = np.column_stack(
        [np.r_[np.zeros(90), np.ones(10)], np.full(100, np.nan), np.r_[np.nan, 1:100]]
    )
    clip = RobustClip(zero_iqr="std").fit(X)
    assert np.allclose(clip.scale[:2], [0.3, 1.0]) and clip.center[1] == 0
    assert clip.center[2] == 50 and np.isnan(clip.transform(X)[0, 2])
    half_range = RobustClip().fit(X[:, :1])  # RealMLP-TD's rule
    assert half_range.scale[0] == 0.5


def _fitted(X, y):
    with inputs_made_by(study.dual_input):
        return MultiTaskClassifier((8,), max_epochs=2, random_state=0).fit(X, y)


def test_dual_input_puts_the_robust_view_beside_the_quantile_view():
    rng = np.random.default_rng(0)
    X = rng.lognormal(size=(60, 3))
    y = np.arange(60) % 2
    model = _fitted(X, y)
    default = MultiTaskClassifier((8,), max_epochs=2).fit(X, y)
    assert type(model.input_) is study.DualNumericInput
    assert model.module_.trunk[0].in_features == 6
    rows = model.input_.transform(X[:5], model)
    assert np.allclose(rows[:, :3], default.input_.transform(X[:5], default))
    linear = RobustClip(zero_iqr="std").fit(X).transform(X[:5])
    assert np.allclose(rows[:, 3:], linear, atol=1e-6)
    assert model.predict_proba(X[:1]).shape == (1, 2)


def test_dual_tabular_input_keeps_missing_values_imputed_with_indicators():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=60), "c": list("xyz") * 20})
    X.loc[::6, "a"] = np.nan
    model = _fitted(X, np.arange(60) % 2)
    data = model.input_.transform(X.iloc[:7], model)
    assert type(model.input_) is study.DualTabularInput
    assert model.input_.n_numeric == 2 and data.numeric.shape == (7, 2)
    assert (data.numeric[0] == 0).all() and data.missing[0, 0] == 1
    assert data.numeric[1, 0] * data.numeric[1, 1] > 0  # same side of the median


def test_dual_input_leaves_sparse_x_as_given():
    X = sp.random(20, 4, density=0.3, format="csr", random_state=0)
    assert type(study.dual_input(X)) is type(make_input(X))


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
