"""Missing labels on census-income: multi-task with NaN labels vs labelled rows only.

In the training split of each seed, only a random fraction of the income labels is
kept (the rest set to NaN); marital status stays fully labelled. A multi-task
network trains on every row (income loss on the labelled rows only); the
single-task network and HistGradientBoosting can only use the labelled rows.
Income ROC AUC on the untouched test split.
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

NAME = "missing_labels"
TITLE = "Missing labels: income labelled on a fraction of the training rows"

FRACTIONS = (1.0, 0.5, 0.1, 0.02)
# 3 seeds on a full run: the machine is 2 cores shared by several people.
FULL_SEEDS = SEEDS[:3]
QUICK_FRACTIONS = (1.0, 0.1)

MODELS = {
    "mtl": "MultiTaskClassifier (income with NaN + marital), all rows",
    "stl": "single-task network, labelled rows only",
    "hgb": "HistGradientBoosting (native categoricals), labelled rows only",
}


def labelled_rows(n, fraction, seed):
    """Positions (into the training split) whose income label is kept."""
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[: max(2, round(fraction * n))])


def _fit_one(data_home, key, seed, X, Y, train, test, keep):
    Xtr, Ytr = X.iloc[train], Y.iloc[train]
    if key == "mtl":
        income = np.full(len(train), np.nan)
        income[keep] = Ytr["income"].to_numpy()[keep]
        model = _census.network_pipeline(data_home, seed=seed)
        model, secs = _census.fit_timed(model, Xtr, Ytr.assign(income=income))
        aucs = _census.task_aucs(model, X.iloc[test], Y.iloc[test])
    else:
        model = (
            _census.network_pipeline(data_home, seed=seed)
            if key == "stl"
            else _census.hgb_pipeline(data_home, seed=seed, native=True)
        )
        model, secs = _census.fit_timed(model, Xtr.iloc[keep], Ytr["income"].iloc[keep])
        aucs = _census.task_aucs(model, X.iloc[test], Y[["income"]].iloc[test])
    return {
        "n_labelled": len(keep),
        "model": key,
        "income_auc": aucs[0],
        "fit_s": secs,
    }


def run(data_home, quick, out_dir):
    seeds = SEEDS[:1] if quick else FULL_SEEDS
    fractions = QUICK_FRACTIONS if quick else FRACTIONS
    X, Y, _, _ = _census.load(data_home)
    bar = tqdm(total=len(seeds) * len(fractions) * len(MODELS), desc=NAME, unit="model")
    cache = Records(NAME, quick, (_census.CONFIG, sk_mtl.__version__))
    records = []
    for seed in seeds:
        train, _, test = _census.split(data_home, seed)
        for fraction in fractions:
            keep = labelled_rows(len(train), fraction, seed)
            for key in MODELS:
                bar.set_postfix_str(f"seed {seed} f={fraction} {key}")
                rec = cache.get(seed=seed, fraction=fraction, model=key)
                if rec is None:
                    rec = cache.add(
                        _fit_one(data_home, key, seed, X, Y, train, test, keep),
                        seed=seed,
                        fraction=fraction,
                        model=key,
                    )
                records.append({"seed": seed, "fraction": fraction, **rec})
                bar.update()
    bar.close()
    with open(out_dir / f"{NAME}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    corr = float(np.corrcoef(Y["income"], Y["marital"])[0, 1])
    return _report(records, seeds, fractions, quick, out_dir, corr)


def _values(records, key, fraction):
    return np.array(
        [
            r["income_auc"]
            for r in sorted(records, key=lambda r: r["seed"])
            if r["model"] == key and r["fraction"] == fraction
        ]
    )


def _report(records, seeds, fractions, quick, out_dir, corr):
    rows = []
    for fraction in fractions:
        n_lab = next(r["n_labelled"] for r in records if r["fraction"] == fraction)
        diff = _values(records, "mtl", fraction) - _values(records, "stl", fraction)
        rows.append(
            [
                f"{fraction:g}",
                f"{n_lab:,}",
                mean_std(_values(records, "mtl", fraction)),
                mean_std(_values(records, "stl", fraction)),
                mean_std(_values(records, "hgb", fraction)),
                f"{diff.mean():+.4f} ± {diff.std():.4f} "
                f"({int((diff > 0).sum())}/{len(diff)})",
            ]
        )
    table = md_table(
        [
            "fraction of income labels kept",
            "labelled rows",
            "multi-task, all rows",
            "single-task net, labelled rows",
            "HistGB, labelled rows",
            "multi-task − single-task (seeds won)",
        ],
        rows,
    )

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    styles = {
        "mtl": ("tab:blue", "o"),
        "stl": ("tab:orange", "s"),
        "hgb": ("tab:green", "^"),
    }
    for key, label in MODELS.items():
        means = [_values(records, key, f).mean() for f in fractions]
        stds = [_values(records, key, f).std() for f in fractions]
        color, marker = styles[key]
        ax.errorbar(
            fractions,
            means,
            yerr=stds,
            label=label,
            color=color,
            marker=marker,
            capsize=3,
        )
    ax.set_xscale("log")
    ax.set_xticks(list(fractions))
    ax.set_xticklabels([f"{f:g}" for f in fractions])
    ax.set_xlabel("fraction of training rows with an income label")
    ax.set_ylabel("income test ROC AUC")
    ax.set_title(f"Census-income, missing income labels ({len(seeds)} seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path = figure_path("missing_labels.png", quick, out_dir)
    fig.savefig(path, dpi=110)
    plt.close(fig)

    lowest = min(fractions)
    below = [
        (_values(records, "mtl", f) - _values(records, "stl", f)).mean()
        for f in fractions
        if f < 1
    ]
    d = _values(records, "mtl", lowest) - _values(records, "stl", lowest)
    h = _values(records, "mtl", lowest) - _values(records, "hgb", lowest)
    gain = float(np.mean(below))
    finding = (
        f"Paired by seed, with {lowest:g} of the income labels: multi-task minus "
        f"single-task network {d.mean():+.4f} ± {d.std():.4f} AUC (multi-task higher "
        f"on {int((d > 0).sum())}/{len(d)} seeds); multi-task minus "
        f"HistGradientBoosting on the labelled rows {h.mean():+.4f} ± {h.std():.4f} "
        f"(higher on {int((h > 0).sum())}/{len(h)} seeds). Averaged over the "
        "fractions below 1, the multi-task network is "
        f"{'**ahead of**' if gain > 0 else '**not ahead of**'} the single-task "
        f"network trained on the labelled rows only ({gain:+.4f} AUC)."
    )
    if gain <= 0:
        finding += (
            f" On this pair of tasks (Pearson correlation of the labels {corr:.2f}) "
            "the fully labelled marital task does not turn into better income "
            "predictions."
        )
    return "\n\n".join(
        [
            f"## {TITLE}",
            "Census-income, the anchors' split; in each seed's training split a "
            "random subset of the income labels is kept (the rest are NaN), the "
            "marital labels are all kept. The multi-task network (same "
            "configuration as above) trains on every row, income contributing "
            "to the loss only where labelled; the single-task network and "
            "HistGradientBoosting see only the labelled rows. Income ROC AUC on "
            f"the full test split, mean ± std over {len(seeds)} seed(s). Fitting "
            f"all {len(records)} models took "
            f"{sum(r['fit_s'] for r in records) / 60:.0f} min.",
            table,
            "![Income AUC vs fraction of labelled rows]"
            "(../docs/_static/missing_labels.png)",
            finding,
        ]
    )
