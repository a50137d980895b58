"""Census-income (KDD): multi-task networks vs single-task networks vs boosting.

Tasks income > 50K and marital status "Never married" (the MMoE paper's group 1),
optionally education >= college as a third task. Every model is fitted on the
training split of the anchors' protocol (seeds 0-4) and scored by ROC AUC on the
test split; networks use their built-in early stopping (10 % of the training
rows), and their configuration was chosen on the validation split
(``census_tuning``).
"""

import csv

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

import sk_mtl  # noqa: E402

from . import _census  # noqa: E402
from ._common import SEEDS, Records, figure_path, md_table, mean_std  # noqa: E402

NAME = "census_mtl"
TITLE = "Multi-task learning on census-income (KDD)"

WEIGHTINGS = ("equal", "uncertainty", "dwa", "pcgrad")

# Published, Ma et al. KDD 2018, Table 1 (best income run of 400; 199,523 rows).
PAPER_TRAIN_ROWS = 199_523
PUBLISHED = {
    "Single-task": (0.9398, 0.9933),
    "Shared-bottom": (0.9361, 0.9915),
    "MMoE": (0.9410, 0.9926),
}
# benchmarks/PROTOCOL.md, section 3 (same data, same split protocol, seeds 0-4).
ANCHORS = {
    "HistGradientBoosting, one per task": ("0.9487 ± 0.0030", "0.9944 ± 0.0002"),
    "LogisticRegression, one per task": ("0.9415 ± 0.0033", "0.9939 ± 0.0003"),
    "sklearn MLPClassifier (128, 64), one per task": (
        "0.9415 ± 0.0029",
        "0.9938 ± 0.0004",
    ),
}


# Seeds per model on a full run (on a slow machine, fewer seeds for the weighting
# variants and the 3-task comparison keep the run short; the report says so).
CORE_SEEDS = SEEDS
VARIANT_SEEDS = SEEDS
THREE_TASK_SEEDS = SEEDS


def _models(quick):
    """``(key, label, kind, options, seeds)`` of the 2-task comparison."""
    core = SEEDS[:1] if quick else CORE_SEEDS
    variant = SEEDS[:1] if quick else VARIANT_SEEDS
    models = [
        ("stl", "Single-task networks (same trunk), one per task", "stl", {}, core)
    ]
    weightings = ("equal",) if quick else WEIGHTINGS
    for w in weightings:
        models.append(
            (
                f"sb_{w}",
                f"MultiTaskClassifier shared-bottom, `task_weighting={w!r}`",
                "mtl",
                {"task_weighting": w},
                core if w == "equal" else variant,
            )
        )
    models.append(
        (
            "mmoe_equal",
            f"MultiTaskClassifier MMoE ({_census.MMOE['n_experts']} experts of "
            f"{_census.MMOE['hidden_units']}), `task_weighting='equal'`",
            "mtl",
            {"architecture": "mmoe", **_census.MMOE},
            core,
        )
    )
    if not quick:
        # A later attempt at closing the gap to boosting (see the tuning section's
        # last group): the same networks with quantile-binned numerics added.
        bins = {"numerics": "bins"}
        models += [
            (
                "stl_bins",
                "Single-task networks, + quantile-binned numerics",
                "stl",
                bins,
                core,
            ),
            (
                "sb_equal_bins",
                "MultiTaskClassifier shared-bottom, `task_weighting='equal'`, + "
                "quantile-binned numerics",
                "mtl",
                bins,
                core,
            ),
        ]
    models.append(
        (
            "hgb_native",
            "HistGradientBoostingClassifier (native categoricals), one per task",
            "hgb_native",
            {},
            core,
        )
    )
    return models


def _fit_per_task(make, X, Y, train, test):
    """One model per column of Y; returns (aucs, total seconds, epochs list)."""
    aucs, secs, epochs = [], 0.0, []
    for task in Y.columns:
        model, s = _census.fit_timed(make(), X.iloc[train], Y[task].iloc[train])
        aucs += _census.task_aucs(model, X.iloc[test], Y[[task]].iloc[test])
        secs += s
        epochs.append(_census.n_epochs(model))
    return aucs, secs, epochs


def _run_model(data_home, kind, options, seed, X, Y, train, test, tasks):
    if kind == "mtl":
        make = _census.network_pipeline(data_home, seed=seed, tasks=tasks, **options)
        model, secs = _census.fit_timed(make, X.iloc[train], Y.iloc[train])
        return (
            _census.task_aucs(model, X.iloc[test], Y.iloc[test]),
            secs,
            [_census.n_epochs(model)],
        )
    if kind == "stl":
        return _fit_per_task(
            lambda: _census.network_pipeline(
                data_home, seed=seed, tasks=tasks, **options
            ),
            X,
            Y,
            train,
            test,
        )
    native = kind == "hgb_native"
    return _fit_per_task(
        lambda: _census.hgb_pipeline(data_home, seed=seed, native=native, tasks=tasks),
        X,
        Y,
        train,
        test,
    )


SHORT = {
    "stl": "single-task networks",
    "sb_equal": "shared-bottom, equal",
    "sb_uncertainty": "shared-bottom, uncertainty",
    "sb_dwa": "shared-bottom, DWA",
    "sb_pcgrad": "shared-bottom, PCGrad",
    "mmoe_equal": "MMoE, equal",
    "stl_bins": "single-task, + bins",
    "sb_equal_bins": "shared-bottom, equal, + bins",
    "hgb_native": "HistGradientBoosting",
}


def _plot(records, labels, path):
    """Per-seed AUC minus the single-task networks' AUC on the same split."""
    keys = [k for k in labels if any(r["model"] == k for r in records)]
    fig, axes = plt.subplots(1, 2, figsize=(9, 0.42 * len(keys) + 1.8), sharey=True)
    ypos = np.arange(len(keys))[::-1]
    for ax, task in zip(axes, ("income", "marital")):
        base = {r["seed"]: r[task] for r in records if r["model"] == "stl"}
        for y, k in zip(ypos, keys):
            d = [r[task] - base[r["seed"]] for r in records if r["model"] == k]
            color = "tab:green" if k.startswith("hgb") else "tab:blue"
            ax.scatter(d, [y] * len(d), color=color, alpha=0.35, s=14)
            ax.errorbar(np.mean(d), y, xerr=np.std(d), fmt="o", color=color, capsize=3)
        ax.axvline(0, color="gray", lw=0.8)
        ax.set_yticks(ypos)
        ax.set_yticklabels([SHORT.get(k, k) for k in keys])
        ax.set_title(task)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("Census-income: paired by seed (dots), mean ± std (bars)")
    fig.supxlabel("test ROC AUC minus that of the single-task networks (same seed)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _paired(records, a, b, task):
    """Per-seed difference a - b on ``task``: (mean, std, wins of a)."""
    va = {r["seed"]: r[task] for r in records if r["model"] == a}
    vb = {r["seed"]: r[task] for r in records if r["model"] == b}
    common = sorted(set(va) & set(vb))
    d = np.array([va[s] - vb[s] for s in common])
    return d.mean(), d.std(), int((d > 0).sum()), len(common)


def run(data_home, quick, out_dir):
    X, Y, _, _ = _census.load(data_home)
    tasks3 = ("income", "marital", "education")
    X3, Y3, _, _ = _census.load(data_home, tasks3)
    models = _models(quick)
    seeds3 = SEEDS[:1] if quick else THREE_TASK_SEEDS
    three = [("mtl3", "mtl", {}), ("stl3", "stl", {})]
    # Every model on seed 0 first, then the next seeds: an interrupted run
    # (continued with --resume) has the whole table early.
    jobs = []
    for seed in SEEDS:
        jobs += [(seed, m[0], m[2], m[3], None) for m in models if seed in m[4]]
        if seed in seeds3:
            jobs += [(seed, k, kind, opt, tasks3) for k, kind, opt in three]
    cache = Records(NAME, quick, (_census.CONFIG, _census.MMOE, sk_mtl.__version__))
    records = []
    for seed, key, kind, options, tasks in tqdm(jobs, desc=NAME, unit="model"):
        rec = cache.get(seed=seed, model=key)
        if rec is None:
            Xs, Ys = (X, Y) if tasks is None else (X3, Y3)
            train, _, test = _census.split(data_home, seed)
            aucs, secs, epochs = _run_model(
                data_home, kind, options, seed, Xs, Ys, train, test, tasks
            )
            rec = cache.add(
                {
                    "seed": seed,
                    "model": key,
                    "income": aucs[0],
                    "marital": aucs[1],
                    "education": aucs[2] if len(aucs) > 2 else "",
                    "fit_s": secs,
                    "epochs": "/".join(str(e) for e in epochs if e is not None),
                },
                seed=seed,
                model=key,
            )
        records.append(rec)

    with open(out_dir / f"{NAME}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    return _report(records, models, seeds3, quick, out_dir, data_home)


def _col(records, key, field):
    return [r[field] for r in records if r["model"] == key]


def _report(records, models, seeds3, quick, out_dir, data_home):
    labels = {m[0]: m[1] for m in models}
    n_train = len(_census.split(data_home, 0)[0])
    rows = []
    for key, label, *_ in models:
        epochs = _col(records, key, "epochs")
        rows.append(
            [
                label,
                len(epochs),
                mean_std(_col(records, key, "income")),
                mean_std(_col(records, key, "marital")),
                mean_std(_col(records, key, "fit_s"), 1),
                ", ".join(epochs) if epochs and epochs[0] else "—",
            ]
        )
    for label, (inc, mar) in ANCHORS.items():
        rows.append([f"*anchors:* {label}", 5, inc, mar, "—", "—"])
    for label, (inc, mar) in PUBLISHED.items():
        rows.append(
            [
                f"*published (Ma et al. 2018, 199,523 training rows):* {label}",
                "best of 400",
                f"{inc:.4f}",
                f"{mar:.4f}",
                "—",
                "—",
            ]
        )
    table = md_table(
        [
            "model",
            "seeds",
            "income test AUC",
            "marital test AUC",
            "train time, both tasks (s)",
            "epochs per seed",
        ],
        rows,
    )

    # Verdict, computed seed by seed. The reference network is the configuration
    # tuned on the validation split (shared-bottom, equal weighting); picking the
    # best variant by its test AUC would flatter it.
    main = "sb_equal"
    mtl = [k for k, _, kind, *_ in models if kind == "mtl"]
    hgb = "hgb_native"
    verdict = []
    for task in ("income", "marital"):
        d, s, wins, n = _paired(records, main, hgb, task)
        verdict.append(
            f"- **{task}**, multi-task network minus HistGradientBoosting: "
            f"{d:+.4f} ± {s:.4f} AUC (network higher on {wins}/{n} seeds)."
        )
    for task in ("income", "marital"):
        d, s, wins, n = _paired(records, main, "stl", task)
        verdict.append(
            f"- **{task}**, multi-task network minus single-task networks: "
            f"{d:+.4f} ± {s:.4f} AUC (multi-task higher on {wins}/{n} seeds)."
        )
    below = [
        t
        for t in ("income", "marital")
        if np.mean(_col(records, main, t)) < np.mean(_col(records, hgb, t))
    ]
    best = {
        t: max(mtl, key=lambda k, t=t: np.mean(_col(records, k, t)))
        for t in ("income", "marital")
    }
    any_above = [
        t
        for t in ("income", "marital")
        if np.mean(_col(records, best[t], t)) >= np.mean(_col(records, hgb, t))
    ]
    if below:
        summary = (
            f"The multi-task network ({labels[main]}) stays **below "
            f"HistGradientBoosting on {' and '.join(below)}** (mean test AUC), "
            + (
                "and so does every multi-task variant in the table"
                if not any_above
                else f"while the best variant reaches it on {' and '.join(any_above)}"
            )
            + ": a tabular user who only needs these predictions should use "
            "HistGradientBoostingClassifier, which is also faster to train here."
        )
    else:
        summary = (
            f"The multi-task network ({labels[main]}) is **at or above "
            "HistGradientBoosting on both tasks** (mean test AUC)."
        )

    path = figure_path("census_auc.png", quick, out_dir)
    _plot(records, labels, path)

    rows3 = []
    for key, label in (
        ("mtl3", "MultiTaskClassifier shared-bottom, 3 tasks, one model"),
        ("stl3", "3 single-task networks (same trunk)"),
    ):
        rows3.append(
            [
                label,
                mean_std(_col(records, key, "income")),
                mean_std(_col(records, key, "marital")),
                mean_std(_col(records, key, "education")),
                mean_std(_col(records, key, "fit_s"), 1),
            ]
        )
    t_mtl = np.array(_col(records, "mtl3", "fit_s"))
    t_stl = np.array(_col(records, "stl3", "fit_s"))
    ep_mtl = np.array([int(e) for e in _col(records, "mtl3", "epochs")], dtype=float)
    ep_stl = np.array(
        [sum(int(x) for x in e.split("/")) for e in _col(records, "stl3", "epochs")],
        dtype=float,
    )
    ratio = t_stl / t_mtl
    per_epoch = (t_stl / ep_stl) / (t_mtl / ep_mtl) * 3
    table3 = md_table(
        [
            "model",
            "income AUC",
            "marital AUC",
            "education AUC",
            "train time, 3 tasks (s)",
        ],
        rows3,
    )
    cfg = ", ".join(f"`{k}={v}`" for k, v in _census.CONFIG.items())
    X, Y, _, _ = _census.load(data_home)
    core = sorted({r["seed"] for r in records if r["model"] == "stl"})
    variant = sorted({r["seed"] for r in records if r["model"] == "sb_dwa"})
    text = [
        f"## {TITLE}",
        f"Data: the {len(X):,} rows of the UCI census-income *test* file (the only "
        "one "
        f"available offline), split 60/20/20 as in `benchmarks/PROTOCOL.md` "
        f"(seeds {', '.join(map(str, core))}): **{n_train:,} training rows**, "
        f"{n_train / PAPER_TRAIN_ROWS:.0%} of the {PAPER_TRAIN_ROWS:,} the MMoE "
        "paper trained on, so our numbers and "
        "the published ones are not on the same footing. Tasks: income > 50K "
        f"({Y['income'].mean():.1%} positive) and marital status 'Never married' "
        f"({Y['marital'].mean():.1%}). Inputs: the other {X.shape[1]} columns "
        "(`instance_weight` dropped); categoricals one-hot "
        "(`handle_unknown='ignore'`), numerics standardised, inside a Pipeline. "
        "Networks: "
        f"{cfg} (chosen on the validation split, see the tuning section), with the "
        "estimator's own early stopping on 10 % of the training rows; the test "
        "split is only scored. HistGradientBoosting uses its default early "
        "stopping. Train time is the wall time of `fit` (preprocessing included) "
        "on one thread of a shared machine: compare rows, not absolute values. "
        f"Fitting all {len(records)} models took "
        f"{sum(r['fit_s'] for r in records) / 60:.0f} min.",
        "### Two tasks: test ROC AUC (mean ± std over seeds)",
        (
            "Cut to fit a 2-core machine shared with other jobs: the "
            f"`uncertainty`, `dwa` and `pcgrad` weightings ran on seeds "
            f"{', '.join(map(str, variant))} only. "
            if variant and len(variant) < len(core)
            else ""
        )
        + "The two '+ quantile-binned numerics' rows are a second attempt at "
        "closing the gap to boosting, run after the main grid; they are reported "
        "as measured, and the tuning section shows how that setting fared on the "
        "validation split. "
        "HistGradientBoosting on the anchors' one-hot pipeline (hundreds of dense "
        "columns, many times slower than with native categoricals) was not "
        "re-run: its anchors row was measured on the same data with the same "
        "split protocol and seeds.",
        table,
        f"![Test AUC of each model minus the single-task networks', seed by seed]"
        f"(../docs/_static/{path.name})",
        "### Verdict",
        summary,
        "\n".join(verdict),
        f"The published numbers come from a training set "
        f"{PAPER_TRAIN_ROWS / n_train:.1f}× larger and "
        "report the best of 400 runs for income; ours are means over seeds.",
        f"### Three tasks (adding education ≥ college): one model vs three "
        f"({len(seeds3)} seed{'s' if len(seeds3) > 1 else ''})",
        "Education is dropped from the inputs here, so the income and marital "
        "numbers differ slightly from the two-task table.",
        table3,
        f"Training the 3-task network takes {mean_std(t_mtl, 1)} s; the three "
        f"single-task networks take {mean_std(t_stl, 1)} s together: the multi-task "
        f"model is **{ratio.mean():.2f}× faster** to train (per seed: "
        f"{', '.join(f'{r:.2f}' for r in ratio)}). Early stopping ends each "
        "network at its own epoch; per epoch, one multi-task epoch is "
        f"{per_epoch.mean():.2f}× faster than one epoch of each of the three "
        "single-task networks together.",
    ]
    return "\n\n".join(text)
