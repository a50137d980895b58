"""Tabular front-end: DataFrames in, embeddings, TabM-mini, at small scale.

Two small studies, seeds 0 and 1 (``--seeds`` in a standalone run):

1. Census-income (KDD), the anchors' split for the seed, with the training split
   subsampled to ``N_TRAIN`` rows (test: the full test split, 19,953 rows):
   the old default network (one-hot + standardised numerics in a Pipeline,
   ``early_stopping=False``), the same Pipeline with the new defaults, the new
   front-end straight on the DataFrame
   (default; periodic and piecewise-linear numeric embeddings; TabM-mini) vs
   HistGradientBoosting (native categoricals) and LogisticRegression (one-hot),
   one per task. Test ROC AUC per task and fit seconds.
2. Small-data defaults on scikit-learn's bundled sets (breast cancer; digits as two
   tasks, the digit and its parity; wine): the defaults vs early stopping on vs
   the user guide's former advice for small data (raise ``lr`` to 1e-2, or
   ``max_epochs`` to 200). Test accuracy (mean over tasks) on a 30 % split.

Run alone (from the repository root)::

    PYTHONPATH=$PWD python -m benchmarks.tabular [--seeds 0 1] [--n-train 12000]
"""

import argparse
import os
import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_mtl import MultiTaskClassifier

from . import _census
from ._common import md_table
from .tabular_sets import small_sets

NAME = "tabular"
TITLE = "Tabular front-end: DataFrames, embeddings, TabM-mini (small scale)"
N_TRAIN = 12_000  # > 10,000: early_stopping="auto" is on
SEEDS = (0, 1)


def _census_models(seed, cat, num):
    net = dict(random_state=seed)
    return [
        (
            "old default: one-hot + standardised Pipeline, MultiTaskClassifier() "
            "with early_stopping=False (the former default)",
            lambda: make_pipeline(
                _census.preprocessor(cat, num),
                MultiTaskClassifier(early_stopping=False, **net),
            ),
            "joint",
        ),
        (
            "one-hot + standardised Pipeline, MultiTaskClassifier() (new defaults: "
            "early_stopping='auto' is on)",
            lambda: make_pipeline(
                _census.preprocessor(cat, num), MultiTaskClassifier(**net)
            ),
            "joint",
        ),
        (
            "new: MultiTaskClassifier() on the DataFrame (defaults)",
            lambda: MultiTaskClassifier(**net),
            "joint",
        ),
        (
            "new: + numeric_embedding='periodic'",
            lambda: MultiTaskClassifier(numeric_embedding="periodic", **net),
            "joint",
        ),
        (
            "new: + numeric_embedding='piecewise_linear'",
            lambda: MultiTaskClassifier(numeric_embedding="piecewise_linear", **net),
            "joint",
        ),
        (
            "new: architecture='tabm' (16 members), piecewise_linear",
            lambda: MultiTaskClassifier(
                architecture="tabm", numeric_embedding="piecewise_linear", **net
            ),
            "joint",
        ),
        (
            "HistGradientBoostingClassifier (native categoricals, early stopping), "
            "one per task",
            lambda: HistGradientBoostingClassifier(
                early_stopping=True,
                categorical_features="from_dtype",
                random_state=seed,
            ),
            "per_task",
        ),
        (
            "LogisticRegression (one-hot + standardised), one per task",
            lambda: make_pipeline(
                _census.preprocessor(cat, num), LogisticRegression(max_iter=1000)
            ),
            "per_task",
        ),
    ]


def _census_rows(data_home, seeds, n_train):
    X, Y, cat, num = _census.load(data_home)
    results = {}
    for seed in seeds:
        train, _, test = _census.split(data_home, seed)
        train = np.sort(np.random.default_rng(seed).permutation(train)[:n_train])
        for label, make, how in _census_models(seed, cat, num):
            start = time.perf_counter()
            if how == "joint":
                model = make().fit(X.iloc[train], Y.iloc[train])
                aucs = _census.task_aucs(model, X.iloc[test], Y.iloc[test])
            else:
                aucs = []
                for task in Y.columns:
                    model = make().fit(X.iloc[train], Y[task].iloc[train])
                    aucs += _census.task_aucs(model, X.iloc[test], Y[[task]].iloc[test])
            secs = time.perf_counter() - start
            results.setdefault(label, []).append((*aucs, secs))
            print(f"  census seed {seed}: {label[:50]}: {aucs} {secs:.0f}s", flush=True)
    rows = []
    for label, runs in results.items():
        runs = np.array(runs)
        rows.append(
            [
                label,
                *(f"{v:.4f}" for v in runs[:, :2].mean(0)),
                f"{runs[:, 2].mean():.0f}",
            ]
        )
    return rows


# Table labels of scikit-learn's bundled sets (loaded by tabular_sets.small_sets).
SMALL_LABELS = {
    "breast cancer": "breast cancer (569 rows, 1 task)",
    "digits (2 tasks)": "digits (1,797 rows, digit + parity)",
    "wine": "wine (178 rows, 1 task)",
}


SMALL_CONFIGS = {
    "defaults (lr=1e-3, 50 epochs, no early stopping below 10k rows)": {},
    "early_stopping=True": {"early_stopping": True},
    "lr=1e-2 (former advice)": {"lr": 1e-2},
    "max_epochs=200 (former advice)": {"max_epochs": 200},
}


def _small_rows(seeds):
    rows = []
    for name, X, y in small_sets():
        row = [SMALL_LABELS[name]]
        for params in SMALL_CONFIGS.values():
            scores = []
            for seed in seeds:
                tr, te = train_test_split(
                    np.arange(len(X)), test_size=0.3, random_state=seed
                )
                model = make_pipeline(
                    StandardScaler(), MultiTaskClassifier(random_state=seed, **params)
                ).fit(X[tr], y[tr])
                scores.append(model.score(X[te], y[te]))
            row.append(f"{np.mean(scores):.3f}")
        print(f"  small: {row}", flush=True)
        rows.append(row)
    return rows


def report(data_home, seeds, n_train):
    load_before = os.getloadavg()
    start = time.perf_counter()
    census = _census_rows(data_home, seeds, n_train)
    small = _small_rows(seeds)
    minutes = (time.perf_counter() - start) / 60
    load_after = os.getloadavg()
    seeds_txt = ", ".join(str(s) for s in seeds)
    return "\n\n".join(
        [
            f"## {TITLE}",
            f"Small-scale study: seed(s) {seeds_txt}, one run, {minutes:.0f} min; "
            f"1-min load average {load_before[0]:.1f} before, {load_after[0]:.1f} "
            "after, on 2 cores shared with other jobs, so the seconds are noisy "
            "and only comparable within this table. Not the issue's 5-seed study.",
            f"### Census-income, {n_train:,} training rows (test: full test split)",
            "Mean over the seeds of the test ROC AUC and of the fit seconds.",
            md_table(["model", "income AUC", "marital AUC", "fit s"], census),
            "### Small data: defaults vs the former advice (test accuracy)",
            "Mean over the seeds; 30 % test split of each seed; StandardScaler in "
            "front.",
            md_table(["data set", *SMALL_CONFIGS], small),
        ]
    )


def run(data_home, quick, out_dir):
    return report(data_home, SEEDS[:1] if quick else SEEDS, 4_000 if quick else N_TRAIN)


def main(argv=None):
    from benchmarks.datasets import get_data_home

    from ._common import limit_threads

    parser = argparse.ArgumentParser(prog="python -m benchmarks.tabular")
    parser.add_argument("--data", default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--n-train", type=int, default=N_TRAIN)
    args = parser.parse_args(argv)
    limit_threads()
    print(report(str(get_data_home(args.data)), tuple(args.seeds), args.n_train))


if __name__ == "__main__":
    main()
