"""The small-table study: its rule and its refit contender (no data folder)."""

import json

import numpy as np
import pytest

from benchmarks import small_table_confirm as confirm
from benchmarks import small_table_study as study
from sk_mtl import MultiTaskRegressor


def _rows(table, models, scores, cpu):
    return [
        dict(table=table, seed=0, model=m, score=s, cpu_s=c, fit_rows=300)
        for m, s, c in zip(models, scores, cpu)
    ]


def test_summary_applies_the_rule_and_picks_the_best_passing_contender(
    tmp_path, monkeypatch
):
    anchors = tmp_path / "anchors.jsonl"
    lines = _rows("diabetes", ["linear"], [0.535], [0.01])
    lines += _rows("iris", ["linear"], [0.905], [0.01])
    anchors.write_text("".join(json.dumps(r) + "\n" for r in lines))
    monkeypatch.setattr(study, "ANCHOR_FILES", (anchors,))
    # defaults, vf20, auto, auto32, refit, vf20_refit, vf20_refit_auto
    cpu = [1.0, 1.0, 2.0, 1.0, 1.1, 1.2, 1.0]
    rows = _rows(
        "diabetes", study.CONTENDERS, [0.50, 0.52, 0.53, 0.56, 0.51, 0.53, 0.50], cpu
    )
    rows += _rows(
        "iris", study.CONTENDERS, [0.90, 0.90, 0.91, 0.80, 0.91, 0.91, 0.93], cpu
    )
    text = "\n".join(study.summary(rows))
    assert "| vf20 | +0.0100 | 1 / 1 / 0 | +0.0000 | 1.00x | pass |" in text
    assert "| auto | +0.0200 | 2 / 0 / 0 | +0.0100 | 2.00x | fail |" in text  # (d)
    assert "| auto32 | -0.0200 | 1 / 0 / 1 | -0.1000 | 1.00x | fail |" in text
    assert "| vf20_refit | +0.0200 | 2 / 0 / 0 | +0.0100 | 1.20x | pass |" in text
    assert "Verdict: vf20_refit." in text
    assert "| diabetes | 300 | 0.5350 | 0.5000 | 0.5200 |" in text
    # more than 0.01 below linear: diabetes but for auto, auto32 and vf20_refit;
    # iris for auto32 alone
    assert "| tables below linear - 0.01 | 1 | 1 | 0 | 1 | 1 | 0 | 1 |" in text


def test_summary_says_when_no_contender_passes(monkeypatch):
    monkeypatch.setattr(study, "ANCHOR_FILES", ())
    rows = _rows("wine", study.CONTENDERS, [0.9] * 7, [1.0] * 7)
    text = "\n".join(study.summary(rows))
    assert "Verdict: none passes; the defaults stay." in text
    assert "| refit | +0.0000 | 0 / 1 / 0 | +0.0000 | 1.00x | fail |" in text


def _blend(changes, X, y):
    model = MultiTaskRegressor(
        (8,),
        max_epochs=3,
        early_stopping=True,
        linear_blend=True,
        n_bags=1,
        random_state=0,
    )
    with study.contender_changes(changes):
        return model.fit(X, y)


def test_refit_refits_the_linear_models_below_its_gate(monkeypatch):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 3))
    y = X @ [2.0, -1.0, 0.5] + rng.normal(scale=0.1, size=200)
    plain, refit = _blend((), X, y), _blend(("refit",), X, y)
    assert plain.linear_blend_weights_[0] > 0  # a blend whose models differ
    np.testing.assert_array_equal(
        plain.linear_blend_weights_, refit.linear_blend_weights_
    )
    assert not np.allclose(plain.linear_coef_, refit.linear_coef_)
    np.testing.assert_allclose(plain.predict(X[:5]), refit.predict(X[:5]), atol=0.2)
    monkeypatch.setattr(study, "REFIT_ROWS", 200)  # 200 rows: at the gate
    np.testing.assert_array_equal(
        plain.linear_coef_, _blend(("refit",), X, y).linear_coef_
    )


@pytest.mark.parametrize("n_rows, fraction", [(999, 0.2), (1_000, None)])
def test_vf20_holds_out_a_fifth_below_its_gate(n_rows, fraction):
    assert study.contender_params(("vf20",), n_rows).get("validation_fraction") == (
        fraction
    )


@pytest.mark.parametrize("n_rows, batch_size", [(299, "auto"), (300, None)])
def test_auto300_trains_in_auto_batches_below_its_gate(n_rows, batch_size):
    params = study.contender_params(("auto300",), n_rows)
    assert params.get("batch_size") == batch_size


def test_second_round_reads_the_linear_anchor_from_its_own_rows():
    models = ["linear", *confirm.CONTENDERS]
    rows = _rows("diabetes", models, [0.5, 0.45, 0.47, 0.45, 0.48], [1] * 5)
    text = "\n".join(confirm.summary(rows))
    assert "| diabetes | 300 | 0.5000 | 0.4500 | 0.4700 | 0.4500 | 0.4800 |" in text
    assert "| tables below linear - 0.01 | 1 | 1 | 1 | 1 |" in text
    assert "| auto300_refit | +0.0300 | 1 / 0 / 0 | +0.0300 | 1.00x | pass |" in text
    assert "Verdict: auto300_refit." in text
