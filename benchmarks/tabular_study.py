"""Tabular defaults study: are MultiTaskClassifier's defaults right across tables?

Three parts, on data sets other than the census subset of ``benchmarks/tabular.py``
(:mod:`benchmarks.tabular_sets` loads them):

1. **Adult**, two tasks in one model (income >50K and never-married), the official
   training and test files; the seed changes the networks' initialisation and
   shuffling, their early-stopping hold-out and HistGradientBoosting's. Old
   default (one-hot + standardised Pipeline, ``early_stopping=False``), the new
   defaults on the DataFrame, piecewise-linear embeddings, TabM-mini,
   HistGradientBoosting (native categoricals, early stopping) and
   LogisticRegression per task. Test ROC AUC and accuracy per task, fit seconds.
2. **Imbalanced** sets of the anchors (noise rate 0): old vs new default network,
   HistGradientBoosting, LogisticRegression, each behind a StandardScaler. Test
   average precision and balanced accuracy.
3. **Candidate defaults**, chosen on validation data only: each candidate changes
   one default (early stopping, ``lr``, ``weight_decay``, ``batch_size``,
   ``numeric_embedding``); it is fitted on 80 % of each training split and scored
   on the other 20 % (never on a test split), on Adult, the five imbalanced sets
   and scikit-learn's breast cancer, digits and wine. A candidate replaces a
   default only if it ranks better than the default on most sets.

Run alone (from the repository root)::

    PYTHONPATH=$PWD python -m benchmarks.tabular_study --data ../shared/data [--quick]

``--quick``: Adult subsampled to 4,000 training rows, one seed, two imbalanced
sets, no TabM. ``--part adult|imbalanced|grid`` (or ``grid-adult``,
``grid-arrays``, ``grid-small``) runs one part and adds its per-model results to
``benchmarks/_cache/tabular_study.jsonl``, so the parts can run side by side; then
``python -m benchmarks.run --only tabular_study --resume`` writes the section.
"""

import argparse
import os
import time
from functools import partial

import numpy as np
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    roc_auc_score,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import sk_mtl
from sk_mtl import MultiTaskClassifier
from sk_mtl.multitask._shared_network import EARLY_STOPPING_AUTO_SAMPLES

from . import tabular_sets as sets
from ._common import Records
from .tabular_study_report import adult_section, grid_section, imbalanced_section

NAME = "tabular_study"
TITLE = "Tabular defaults study: Adult, imbalanced sets, candidate defaults"

# Seeds per part on a full run (the machine is 2 cores shared by several people;
# at a 1-min load of 10-14 the old default took 6-9 min per Adult fit and TabM-mini
# 25 min, so Adult has 3 seeds instead of the 5 and TabM one).
ADULT_SEEDS = (0, 1, 2)
TABM_SEEDS = (0,)
IMBALANCED_SEEDS = (0, 1, 2, 3, 4)
GRID_SEEDS = {"adult": (0,), "imbalanced": (0,), "small": (0, 1, 2)}

# Quick runs: Adult's training file subsampled to this many rows, 1 seed, 2 sets.
QUICK_ADULT_ROWS = 4_000

# One default changed at a time; "defaults" is MultiTaskClassifier() as shipped.
CANDIDATES = {
    "defaults": {},
    "early_stopping=False": {"early_stopping": False},
    "early_stopping=True": {"early_stopping": True},
    "lr=3e-3": {"lr": 3e-3},
    "lr=3e-4": {"lr": 3e-4},
    "weight_decay=1e-4": {"weight_decay": 1e-4},
    "batch_size=512": {"batch_size": 512},
    "numeric_embedding='piecewise_linear'": {"numeric_embedding": "piecewise_linear"},
}


def _one_hot(cat, num):
    return make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore", sparse_output=False), cat),
        (StandardScaler(), num),
    )


def adult_models(seed, cat, num):
    """``label -> (factory, how)``; ``how`` is "joint" or "per_task"."""
    net = {"random_state": seed}
    return {
        "old default: one-hot Pipeline, early_stopping=False": (
            lambda: make_pipeline(
                _one_hot(cat, num), MultiTaskClassifier(early_stopping=False, **net)
            ),
            "joint",
        ),
        "new defaults on the DataFrame": (
            lambda: MultiTaskClassifier(**net),
            "joint",
        ),
        "new + numeric_embedding='piecewise_linear'": (
            lambda: MultiTaskClassifier(numeric_embedding="piecewise_linear", **net),
            "joint",
        ),
        "new + architecture='tabm', piecewise_linear": (
            lambda: MultiTaskClassifier(
                architecture="tabm", numeric_embedding="piecewise_linear", **net
            ),
            "joint",
        ),
        "HistGradientBoosting (native categoricals, early stopping), per task": (
            lambda: HistGradientBoostingClassifier(
                early_stopping=True,
                categorical_features="from_dtype",
                random_state=seed,
            ),
            "per_task",
        ),
        "LogisticRegression (one-hot + standardised), per task": (
            lambda: make_pipeline(
                _one_hot(cat, num), LogisticRegression(max_iter=1000)
            ),
            "per_task",
        ),
    }


def _probas(model, X):
    proba = model.predict_proba(X)
    return proba if isinstance(proba, list) else [proba]


def _fit_predict(make, how, X, Y, X_eval):
    """Fit (jointly or one model per task); ``(probas, predictions, seconds)``."""
    start = time.perf_counter()
    Y2 = Y if Y.ndim == 2 else Y[:, None]
    if how == "joint":
        model = make().fit(X, Y)
        probas, preds = _probas(model, X_eval), model.predict(X_eval)
    else:
        probas, preds = [], []
        for t in range(Y2.shape[1]):
            model = make().fit(X, Y2[:, t])
            probas.append(model.predict_proba(X_eval))
            preds.append(model.predict(X_eval))
        preds = np.column_stack(preds)
    preds = np.asarray(preds)
    return probas, preds.reshape(len(X_eval), -1), time.perf_counter() - start


def _adult(data_home, seeds, tabm_seeds, cache, n_train=None):
    Xtr, Ytr, Xte, Yte = sets.load_adult(data_home, n_train)
    cat, num = sets.adult_columns(Xtr)
    Ytr, Yte = Ytr.to_numpy(), Yte.to_numpy()
    out = {}
    for seed in seeds:
        for label, (make, how) in adult_models(seed, cat, num).items():
            if "tabm" in label and seed not in tabm_seeds:
                continue
            rec = cache.get(part="adult", seed=seed, model=label)
            if rec is None:
                probas, preds, secs = _fit_predict(make, how, Xtr, Ytr, Xte)
                rec = cache.add(
                    {
                        "auc": [
                            roc_auc_score(Yte[:, t], p[:, 1])
                            for t, p in enumerate(probas)
                        ],
                        "acc": [
                            accuracy_score(Yte[:, t], preds[:, t])
                            for t in range(Yte.shape[1])
                        ],
                        "fit_s": secs,
                    },
                    part="adult",
                    seed=seed,
                    model=label,
                )
                print(f"  adult seed {seed} {label[:40]}: {rec}", flush=True)
            out.setdefault(label, []).append(rec)
    corr = float(np.corrcoef(Ytr.T)[0, 1])
    return out, corr, (len(Xtr), len(Xte))


def imbalanced_models(seed):
    net = {"random_state": seed}
    return {
        "old default (early_stopping=False)": lambda: make_pipeline(
            StandardScaler(), MultiTaskClassifier(early_stopping=False, **net)
        ),
        "new defaults": lambda: make_pipeline(
            StandardScaler(), MultiTaskClassifier(**net)
        ),
        "HistGradientBoosting": lambda: make_pipeline(
            StandardScaler(), HistGradientBoostingClassifier(random_state=seed)
        ),
        "LogisticRegression": lambda: make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=1000)
        ),
    }


def _imbalanced(data_home, names, seeds, cache):
    out = {}
    for name in names:
        for seed in seeds:
            Xtr, ytr, Xte, yte = sets.imbalanced(name, data_home, seed)
            for label, make in imbalanced_models(seed).items():
                same = (
                    label == "new defaults" and len(Xtr) <= EARLY_STOPPING_AUTO_SAMPLES
                )
                key = "old default (early_stopping=False)" if same else label
                rec = cache.get(part="imbalanced", set=name, seed=seed, model=key)
                if rec is None:
                    (proba,), pred, secs = _fit_predict(make, "joint", Xtr, ytr, Xte)
                    rec = cache.add(
                        {
                            "ap": average_precision_score(yte, proba[:, 1]),
                            "ba": balanced_accuracy_score(yte, pred[:, 0]),
                            "fit_s": secs,
                        },
                        part="imbalanced",
                        set=name,
                        seed=seed,
                        model=key,
                    )
                    print(f"  {name} seed {seed} {label}: {rec}", flush=True)
                out.setdefault((name, label), []).append(rec)
    return out


def _grid_sets(data_home, names, seeds_of, n_train=None):
    """``(set name, seed, X_fit, Y_fit, X_val, Y_val, metric)`` of part 3."""
    Xtr, Ytr, _, _ = sets.load_adult(data_home, n_train)
    for seed in seeds_of["adult"]:
        fit, val = sets.validation_split(Ytr.to_numpy(), seed)
        yield (
            "Adult",
            seed,
            Xtr.iloc[fit],
            Ytr.to_numpy()[fit],
            Xtr.iloc[val],
            Ytr.to_numpy()[val],
            "auc",
        )
    for name in names:
        for seed in seeds_of["imbalanced"]:
            X, y, _, _ = sets.imbalanced(name, data_home, seed)
            fit, val = sets.validation_split(y, seed)
            yield name, seed, X[fit], y[fit], X[val], y[val], "ap"
    for name, X, Y in sets.small_sets():
        for seed in seeds_of["small"]:
            train, _ = sets.small_split(Y, seed)
            fit, val = sets.validation_split(Y[train], seed)
            fit, val = train[fit], train[val]
            yield name, seed, X[fit], Y[fit], X[val], Y[val], "acc"


def _score(metric, Y, probas, preds):
    Y = Y.reshape(len(Y), -1)
    if metric == "acc":
        return float(
            np.mean([accuracy_score(Y[:, t], preds[:, t]) for t in range(Y.shape[1])])
        )
    score = roc_auc_score if metric == "auc" else average_precision_score
    return float(np.mean([score(Y[:, t], p[:, 1]) for t, p in enumerate(probas)]))


def _candidate(params, seed, scaled):
    clf = MultiTaskClassifier(random_state=seed, **params)
    return make_pipeline(StandardScaler(), clf) if scaled else clf


def _same_as_defaults(params, n_rows):
    """Whether ``params`` resolve to the defaults' model on ``n_rows`` rows."""
    if set(params) != {"early_stopping"}:
        return False
    return params["early_stopping"] == (n_rows > EARLY_STOPPING_AUTO_SAMPLES)


def _grid(data_home, names, seeds_of, cache, n_train=None):
    out = {}
    grid_sets = _grid_sets(data_home, names, seeds_of, n_train)
    for name, seed, Xf, Yf, Xv, Yv, metric in grid_sets:
        scaled = not hasattr(Xf, "columns")  # arrays: StandardScaler in front
        for label, params in CANDIDATES.items():
            same = _same_as_defaults(params, len(Xf))
            key = dict(part="grid", set=name, seed=seed)
            rec = cache.get(model="defaults" if same else label, **key)
            if rec is None:
                make = partial(_candidate, params, seed, scaled)
                probas, preds, secs = _fit_predict(make, "joint", Xf, Yf, Xv)
                score = _score(metric, Yv, probas, preds)
                rec = cache.add({"score": score, "fit_s": secs}, model=label, **key)
                print(f"  grid {name} seed {seed} {label}: {rec}", flush=True)
            out.setdefault((name, metric), {}).setdefault(label, []).append(rec)
    return out


def _parts(data_home, quick, cache, only=None, adult_seeds=ADULT_SEEDS):
    names = sets.IMBALANCED_SETS[-2:] if quick else sets.IMBALANCED_SETS
    grid_seeds = {k: (0,) for k in GRID_SEEDS} if quick else GRID_SEEDS
    rows = QUICK_ADULT_ROWS if quick else None
    parts = {
        "adult": lambda: _adult(
            data_home,
            (0,) if quick else adult_seeds,
            () if quick else TABM_SEEDS,
            cache,
            rows,
        ),
        "imbalanced": lambda: _imbalanced(
            data_home, names, (0,) if quick else IMBALANCED_SEEDS, cache
        ),
        "grid": lambda: _grid(data_home, names, grid_seeds, cache, rows),
        # The same fits in parts, to run side by side (then "grid" reuses).
        "grid-adult": lambda: _grid(
            data_home, names, {**grid_seeds, "imbalanced": (), "small": ()}, cache, rows
        ),
        "grid-arrays": lambda: _grid(
            data_home, names, {**grid_seeds, "adult": ()}, cache
        ),
        "grid-small": lambda: _grid(
            data_home, names, {**grid_seeds, "adult": (), "imbalanced": ()}, cache
        ),
    }
    only = only or ("adult", "imbalanced", "grid")
    return names, {k: f() for k, f in parts.items() if k in only}


def report(data_home, quick=False, only=None, adult_seeds=ADULT_SEEDS):
    """The markdown section (``only``: run one part, to fill the cache)."""
    load_before = os.getloadavg()
    start = time.perf_counter()
    cache = Records(NAME, quick, (sorted(CANDIDATES), sk_mtl.__version__))
    names, parts = _parts(data_home, quick, cache, only and (only,), adult_seeds)
    if only is not None:
        return f"{only}: done"
    minutes = (time.perf_counter() - start) / 60
    fit_minutes = sum(r["fit_s"] for r in cache.done.values()) / 60
    load_after = os.getloadavg()
    return "\n\n".join(
        [
            f"## {TITLE}",
            f"{fit_minutes:.0f} min of fits in all; this section took {minutes:.0f} "
            "min to assemble (parts run first with `--part`, side by side, are "
            f"reused). 1-min load average {load_before[0]:.1f} before and "
            f"{load_after[0]:.1f} after assembling, on 2 cores shared with other "
            "jobs: the seconds are noisy and only comparable within a table. "
            "Metrics are mean ± std over the seeds.",
            adult_section(parts["adult"]),
            imbalanced_section(parts["imbalanced"], names),
            grid_section(parts["grid"], CANDIDATES),
        ]
    )


def run(data_home, quick, out_dir):
    return report(data_home, quick)


def main(argv=None):
    from ._common import limit_threads
    from .datasets import get_data_home

    parser = argparse.ArgumentParser(prog="python -m benchmarks.tabular_study")
    parser.add_argument("--data", default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--part",
        choices=(
            "adult",
            "imbalanced",
            "grid",
            "grid-adult",
            "grid-arrays",
            "grid-small",
        ),
        default=None,
        help="run one part only, adding to the saved per-model results (resume)",
    )
    parser.add_argument("--adult-seeds", type=int, nargs="+", default=None)
    args = parser.parse_args(argv)
    limit_threads()
    if args.part:
        os.environ["SK_MTL_BENCH_RESUME"] = "1"
    seeds = tuple(args.adult_seeds or ADULT_SEEDS)  # e.g. one per process
    print(report(str(get_data_home(args.data)), args.quick, args.part, seeds))


if __name__ == "__main__":
    main()
