"""The tabular suite's scoring, splits and summary (benchmarks/tabular_suite.py)."""

import json

import numpy as np
import pandas as pd
import pytest

from benchmarks import _suite_report as report
from benchmarks import tabular_suite as suite


def _row(table, model, score, seed=0, rows=1000, cpu=1.0):
    return dict(
        table=table,
        rows=rows,
        n_train=750,
        kinds=["binary"],
        seed=seed,
        model=model,
        scores=[score],
        score=score,
        cpu_s=cpu,
        epochs=None,
    )


def test_summary_ranks_normalises_and_counts_wins():
    rows = [
        _row("a", "sk_mtl", 0.90),
        _row("a", "linear", 0.80),
        _row("a", "histgb", 1.00),
        _row("b", "sk_mtl", 0.70, rows=30_000),
        _row("b", "linear", 0.60, rows=30_000),
        _row("b", "histgb", 0.701, rows=30_000),
    ]
    means, _ = report.table_means(rows)
    models = ["sk_mtl", "histgb", "linear"]
    ranks = report._ranks(means, models)  # by exact score, tie rule aside
    assert ranks == {"sk_mtl": 2.0, "histgb": 1.0, "linear": 3.0}
    norm = report._normalised(means, models, "linear")
    assert norm["sk_mtl"] == pytest.approx((0.5 + 0.1 / 0.101) / 2)
    text = "\n".join(report.summary(rows, "sk_mtl"))
    assert "| histgb | 0 | 1 | 1 |" in text  # a loss on a, a tie on b
    assert "| linear | 2 | 0 | 0 |" in text
    assert "sk_mtl - linear = +0.1000" in text  # table a, the only small one
    assert "| a | 1,000 | 1 | 0.9000 |" in text  # rows, seeds, sk_mtl's score
    assert "sk_mtl - histgb = -0.0010" in text  # table b, the only large one


def test_the_cost_of_every_table_stands_beside_histgbs():
    costs = {"a": (3.0, 0.75, 0.1), "b": (1.5, 1.5, 0.1)}
    scores = {"sk_mtl": 0.9, "histgb": 0.95, "linear": 0.8}
    rows = [
        _row(t, m, scores[m], rows=1000 if t == "a" else 30_000, cpu=c)
        for t, cpu in costs.items()
        for m, c in zip(scores, cpu)
    ]
    text = "\n".join(report.summary(rows, "sk_mtl"))
    # CPU s per 1,000 of the 750 training rows, and sk_mtl's over histgb's
    assert "| a | 1,000 | 4.000 | 1.000 | 4.0x |" in text
    assert "| b | 30,000 | 2.000 | 2.000 | 1.0x |" in text


def test_a_model_with_fewer_seeds_narrows_the_ranks_but_not_the_targets():
    rows = [_row("a", m, s, seed=0) for m, s in [("sk_mtl", 0.9), ("linear", 0.8)]]
    rows += [_row("a", m, s, seed=1) for m, s in [("sk_mtl", 0.7), ("linear", 0.8)]]
    rows.append(_row("a", "realmlp", 0.85, seed=0))  # seed 0 only
    text = "\n".join(report.summary(rows, "sk_mtl"))
    assert "| a | 1,000 | 1 | 0.9000 | 0.8000 | 0.8500 |" in text  # seed 0
    assert "| sk_mtl | 1.00 |" in text
    assert "sk_mtl - linear = +0.0000" in text  # both seeds


def test_only_seeds_every_model_ran_are_averaged_and_reruns_replace(tmp_path):
    rows = [
        _row("a", "sk_mtl", 0.5, seed=0),
        _row("a", "sk_mtl", 0.9, seed=1),
        _row("a", "linear", 0.6, seed=0),
        _row("a", "sk_mtl", 0.7, seed=0),  # a rerun of seed 0
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    means, _ = report.table_means(report.read_rows(path))
    assert means["a"]["sk_mtl"][0] == pytest.approx(0.7)


def test_split_is_stratified_and_study_rows_stay_inside_the_training_part():
    Y = pd.DataFrame({"y": [0.0] * 80 + [1.0] * 20})
    train, test = suite._split(Y, ["binary"], 0, 0.25)
    assert len(test) == 25 and Y["y"].to_numpy()[test].sum() == 5
    fit, val = suite._split(Y.iloc[train], ["binary"], 0, 0.2)
    assert set(train[fit]) | set(train[val]) == set(train)
    assert not set(train[val]) & set(test)


def test_sk_mtl_model_follows_the_task_kinds_and_scores_each_task():
    rng = np.random.RandomState(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    X["c"] = pd.Categorical(np.where(X["a"] > 0, "x", "y"))
    Y = pd.DataFrame({"r": 2 * X["a"] + 0.1 * rng.normal(size=300)})
    Y["k"] = (X["b"] > 0).astype(float)
    assert type(suite.sk_mtl_model(["regression"], 0)).__name__ == (
        "MultiTaskRegressor"
    )
    train, test = np.arange(200), np.arange(200, 300)
    params = {"hidden_units": (16,), "max_epochs": 30, "lr": 1e-2}
    scores, cpu, epochs = suite._fit_sk_mtl(
        params, X, Y, ["regression", "binary"], train, test, 0
    )
    assert scores[0] > 0.8 and scores[1] > 0.8 and cpu > 0 and epochs >= 1
    linear, _ = suite._fit_anchor(
        "linear", X, Y, ["regression", "binary"], train, test, 0
    )
    assert linear[0] > 0.9 and linear[1] > 0.9


def test_realmlp_anchor_reads_categories_and_numeric_nan():
    pytest.importorskip("pytabkit")
    rng = np.random.RandomState(0)
    X = pd.DataFrame({"a": rng.normal(size=240), "b": rng.normal(size=240)})
    X["c"] = pd.Categorical(np.where(X["b"] > 0, "x", "y"))
    Y = pd.DataFrame({"k": ((X["c"] == "x") ^ (X["a"] > 1)).astype(float)})
    X.loc[::7, "a"], X.loc[::5, "c"] = np.nan, np.nan  # missing, train and test
    model, _ = suite._anchor("realmlp", "binary", X, 0)
    assert model[0].fit_transform(X)["c"].dtype == X["c"].dtype  # not encoded
    train, test = np.arange(160), np.arange(160, 240)
    scores, cpu = suite._fit_anchor("realmlp", X, Y, ["binary"], train, test, 0)
    assert scores[0] > 0.75 and cpu > 0
