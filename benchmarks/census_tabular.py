"""Census-income on the full training split: the new tabular defaults vs boosting.

The headline comparison of the tabular defaults. The census_mtl benchmark (plain MLP on
a one-hot pipeline, run before the tabular front-end existed) is not re-run; its rows
are quoted. Here, on the anchors' splits (seeds 0-4, 59,856 training rows): one
``MultiTaskClassifier`` on the raw DataFrame with its defaults (categorical columns from
their dtype, learned embeddings, quantile-scaled numerics, early stopping), the same
with ``numeric_embedding="piecewise_linear"`` (the candidate the defaults study ranked
best), the latter with census_mtl's tuned trunk (hidden units, batch size, weight
decay), and ``HistGradientBoostingClassifier`` with native categoricals, one per task.
Test ROC AUC of income and marital status, fit seconds, paired per-seed differences to
boosting.

TabM (``architecture="tabm"``) is not run here: one fit on Adult's 32,561 rows
took 25 min on this machine (``results/tabular_study.md``), so 5 seeds on
59,856 rows would take hours. Instead a deep ensemble of five tuned networks
(seeds differ, probabilities averaged by ``MergedClassifier``), what TabM's
members approximate in one network, shows what ensembling can add here; its
epochs column is the members' mean.

Run alone (from the repository root)::

    python -m benchmarks.run --only census_tabular [--quick] [--data DIR] [--resume]
"""

import os

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from tqdm.auto import tqdm

import sk_mtl
from sk_mtl import MergedClassifier, MultiTaskClassifier

from . import _census
from ._common import SEEDS, Records, md_table, mean_std

NAME = "census_tabular"
TITLE = "Census-income, full training split: new tabular defaults vs boosting"
TASKS = ("income", "marital")
HGB = "hgb"
# census_mtl's trunk, tuned on the validation split for the one-hot pipeline
# (results/census_tuning.md); its numerics option is the pipeline's, not used here.
TUNED = {k: v for k, v in _census.CONFIG.items() if k != "numerics"}
# From results/census_mtl.md (5 seeds, same splits), not re-run.
QUOTED = (
    ("plain MLP, one-hot pipeline, shared-bottom (census_mtl)", "0.9441", "0.9939"),
    ("plain MLP + quantile-binned numerics (census_mtl)", "0.9448", "0.9941"),
    ("LogisticRegression, one per task (anchors)", "0.9415", "0.9939"),
)


N_ENSEMBLE = 5


class _SeedEnsemble:
    """``N_ENSEMBLE`` networks differing only in their seed, probabilities averaged.

    A deep ensemble, fitted here and merged with ``MergedClassifier`` (output
    space): what TabM's members approximate in one network, at 5x the cost. Its
    first member is the single model of the same seed.
    """

    def __init__(self, make_member, seed):
        self.make_member = make_member
        self.seed = seed

    def fit(self, X, Y):
        seeds = [self.seed + 1000 * i for i in range(N_ENSEMBLE)]
        members = [self.make_member(s).fit(X, Y) for s in seeds]
        self.merged_ = MergedClassifier(members).fit()
        self.n_iter_ = int(round(float(np.mean([m.n_iter_ for m in members]))))
        return self

    def predict_proba(self, X):
        return self.merged_.predict_proba(X)


def _tuned_pwl(seed):
    return MultiTaskClassifier(
        numeric_embedding="piecewise_linear", random_state=seed, **TUNED
    )


def _models(seed):
    """``(key, label, make, joint)``: joint models fit both tasks at once."""
    return [
        (
            "defaults",
            "MultiTaskClassifier() on the DataFrame (defaults)",
            lambda: MultiTaskClassifier(random_state=seed),
            True,
        ),
        (
            "pwl",
            "MultiTaskClassifier(numeric_embedding='piecewise_linear')",
            lambda: MultiTaskClassifier(
                numeric_embedding="piecewise_linear", random_state=seed
            ),
            True,
        ),
        (
            "tuned_pwl",
            "MultiTaskClassifier, census_mtl's tuned trunk + piecewise_linear",
            lambda: _tuned_pwl(seed),
            True,
        ),
        (
            "ensemble_tuned_pwl",
            f"{N_ENSEMBLE} of the tuned + piecewise_linear networks (seeds differ), "
            "probabilities averaged (MergedClassifier)",
            lambda: _SeedEnsemble(_tuned_pwl, seed),
            True,
        ),
        (
            HGB,
            "HistGradientBoostingClassifier (native categoricals), one per task",
            lambda: HistGradientBoostingClassifier(
                early_stopping=True,
                categorical_features="from_dtype",
                random_state=seed,
            ),
            False,
        ),
    ]


def _fit_score(make, joint, X, Y, train, test):
    """(per-task test AUCs, fit seconds, epochs) of one model or one per task."""
    if joint:
        model, secs = _census.fit_timed(make(), X.iloc[train], Y.iloc[train])
        return _census.task_aucs(model, X.iloc[test], Y.iloc[test]), secs, model.n_iter_
    aucs, secs = [], 0.0
    for task in Y.columns:
        model, s = _census.fit_timed(make(), X.iloc[train], Y[task].iloc[train])
        aucs += _census.task_aucs(model, X.iloc[test], Y[[task]].iloc[test])
        secs += s
    return aucs, secs, None


def run(data_home, quick, out_dir):
    X, Y, _, _ = _census.load(data_home, TASKS)
    seeds = SEEDS[:1] if quick else SEEDS
    cache = Records(NAME, quick, (sk_mtl.__version__, "v2"))
    records = []
    jobs = [(seed, *m) for seed in seeds for m in _models(seed)]
    for seed, key, _label, make, joint in tqdm(jobs, desc=NAME, unit="model"):
        rec = cache.get(seed=seed, model=key)
        if rec is None:
            train, _, test = _census.split(data_home, seed)
            if quick:
                train = train[:5000]
            aucs, secs, epochs = _fit_score(make, joint, X, Y, train, test)
            record = {"seed": seed, "model": key, "fit_s": secs, "epochs": epochs}
            record["load"] = os.getloadavg()[0]
            rec = cache.add({**record, **dict(zip(TASKS, aucs))}, seed=seed, model=key)
        records.append(rec)
    return _report(records, seeds, quick)


def _report(records, seeds, quick):
    labels = {key: label for key, label, _, _ in _models(0)}

    def col(key, field):
        return np.array([r[field] for r in records if r["model"] == key])

    rows = [
        (
            label,
            len(col(key, "fit_s")),
            *(mean_std(col(key, t)) for t in TASKS),
            f"{col(key, 'fit_s').mean():.0f}",
            "/".join(str(e) for e in col(key, "epochs")) if key != HGB else "—",
        )
        for key, label in labels.items()
    ]
    rows += [
        (f"*quoted:* {label}", 5, inc, mar, "—", "—") for label, inc, mar in QUOTED
    ]
    table = md_table(
        ["model", "seeds", "income AUC", "marital AUC", "fit s (both tasks)", "epochs"],
        rows,
    )
    lines = []
    for key in ("defaults", "pwl", "tuned_pwl", "ensemble_tuned_pwl"):
        for task in TASKS:
            diff = col(key, task) - col(HGB, task)
            per_seed = " ".join(f"{d:+.4f}" for d in diff)
            lines.append(
                f"- {labels[key]} minus boosting, **{task}**: {diff.mean():+.4f} "
                f"(network at least level on {int((diff >= 0).sum())}/{len(diff)} "
                f"seeds; "
                f"per seed {per_seed})"
            )
    ratio = col("defaults", "fit_s").mean() / col(HGB, "fit_s").mean()
    loads = [r["load"] for r in records]
    rows_note = "the first 5,000 training rows (quick run)" if quick else "59,856"
    return f"""## {TITLE}

Anchors' splits (`benchmarks/PROTOCOL.md`), seeds {", ".join(map(str, seeds))},
training rows: {rows_note}; test ROC AUC (mean ± std over seeds). The networks
read the raw DataFrame (no preprocessing), 1 torch thread; boosting fits one model
per task and its seconds are the sum. 1-min load average after each fit
{min(loads):.1f} to {max(loads):.1f} on {os.cpu_count()} shared cores: fit seconds
are only comparable within this table.

{table}

{chr(10).join(lines)}

{_ensemble_gain(col)}

The defaults train {ratio:.0f}x longer than boosting here. TabM was not run on the
full split (about 25 min per fit on Adult, see the module docstring); the deep
ensemble stands in for what ensembling adds.
"""


def _ensemble_gain(col):
    """The paired gain of the ensemble over its first member, the single model."""
    parts = []
    for task in TASKS:
        gain = col("ensemble_tuned_pwl", task) - col("tuned_pwl", task)
        parts.append(
            f"{task} {gain.mean():+.4f} (higher on {int((gain > 0).sum())}/{len(gain)})"
        )
    return (
        f"Ensemble of {N_ENSEMBLE} minus its first member (the tuned single "
        "network of the same seed): " + ", ".join(parts) + "."
    )
