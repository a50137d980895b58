"""Tests of the tabular defaults study's loaders and verdict (tiny files, no data).

The study is benchmark infrastructure (``benchmarks/tabular_study.py``); these tests
import it from the repository root and never read the real data folder.
"""

import gzip

import numpy as np
import pytest

from benchmarks import tabular_sets, tabular_study
from benchmarks.tabular_study_report import grid_section

pd = pytest.importorskip("pandas")

_ROWS = {
    "data": [
        "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical",
        "Not-in-family, White, Male, 2174, 0, 40, United-States, <=50K",
        "50, ?, 83311, Bachelors, 13, Married-civ-spouse, Exec-managerial",
        "Husband, White, Male, 0, 0, 13, United-States, >50K",
        "38, Private, 215646, HS-grad, 9, Divorced, ?, Not-in-family, White",
        "Female, 0, 0, 40, ?, <=50K",
    ],
    "test": [
        "25, Private, 226802, 11th, 7, Never-married, Machine-op-inspct",
        "Own-child, Black, Male, 0, 0, 40, Atlantis, >50K.",
        "44, Private, 160323, HS-grad, 9, Married-civ-spouse, Adm-clerical",
        "Husband, Black, Male, 7688, 0, 40, United-States, <=50K.",
    ],
}
# Each record is two halves above; the test file starts with a comment line.
TRAIN, TEST = (
    "".join(f"{a}, {b}\n" for a, b in zip(rows[::2], rows[1::2]))
    for rows in _ROWS.values()
)
TEST = "|1x3 Cross validator\n" + TEST


def _write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / name, "wb") as f:
        f.write(text.encode())


def test_load_adult_tasks_dtypes_and_missing(tmp_path):
    _write(tmp_path / "adult", "adult.data.gz", TRAIN)
    _write(tmp_path / "adult", "adult.test.gz", TEST)
    Xtr, Ytr, Xte, Yte = tabular_sets.load_adult(tmp_path)
    assert list(Ytr.columns) == ["income", "never_married"]
    assert Ytr.to_numpy().tolist() == [[0, 1], [1, 0], [0, 0]]
    # The test labels end in "." and the file starts with a comment line.
    assert Yte.to_numpy().tolist() == [[1, 1], [0, 0]]
    assert "marital-status" not in Xtr.columns and "income" not in Xtr.columns
    cat, num = tabular_sets.adult_columns(Xtr)
    assert "workclass" in cat and "relationship" in cat and "age" in num
    assert all(Xtr[c].dtype == Xte[c].dtype for c in cat)  # training categories
    assert Xtr["workclass"].isna().tolist() == [False, True, False]  # "?"
    assert Xte["native-country"].isna().tolist() == [True, False]  # unseen
    assert Xtr[num].dtypes.eq(float).all()


def test_load_adult_rejects_unknown_labels(tmp_path):
    _write(tmp_path / "adult", "adult.data.gz", TRAIN.replace("<=50K", "low"))
    _write(tmp_path / "adult", "adult.test.gz", TEST)
    with pytest.raises(ValueError, match="income labels"):
        tabular_sets.load_adult(tmp_path)


def test_validation_split_is_stratified_and_inside_the_rows():
    y = np.array([0] * 80 + [1] * 20)
    fit, val = tabular_sets.validation_split(y, seed=0)
    assert len(val) == 20 and y[val].sum() == 4
    assert sorted(np.concatenate([fit, val]).tolist()) == list(range(100))


def test_same_as_defaults_only_for_the_auto_early_stopping_outcome():
    same = tabular_study._same_as_defaults
    n = tabular_study.EARLY_STOPPING_AUTO_SAMPLES
    assert same({"early_stopping": False}, n) and not same({"early_stopping": True}, n)
    assert same({"early_stopping": True}, n + 1)
    assert not same({"early_stopping": False}, n + 1)
    assert not same({"lr": 3e-3}, n)


def _grid(scores):
    """The study's grid results from ``{candidate: [score on each set]}``."""
    n_sets = len(next(iter(scores.values())))
    return {
        (f"set{i}", "auc"): {
            c: [{"score": s[i], "fit_s": 1.0}] for c, s in scores.items()
        }
        for i in range(n_sets)
    }


def test_grid_verdict_follows_the_rule():
    candidates = {"defaults": {}, "lr=3e-3": {}, "lr=3e-4": {}}
    wins_most = _grid(
        {
            "defaults": [0.8, 0.8, 0.8],
            "lr=3e-3": [0.9, 0.9, 0.7],
            "lr=3e-4": [0.7, 0.7, 0.9],
        }
    )
    text = grid_section(wins_most, candidates)
    assert "rank: lr=3e-3 (" in text
    wins_one = _grid(
        {
            "defaults": [0.8, 0.8, 0.8],
            "lr=3e-3": [0.9, 0.7, 0.7],
            "lr=3e-4": [0.7, 0.7, 0.7],
        }
    )
    assert "confirms the defaults" in grid_section(wins_one, candidates)
