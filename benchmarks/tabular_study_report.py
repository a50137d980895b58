"""Markdown sections of the tabular defaults study (``benchmarks/tabular_study.py``)."""

import numpy as np
from scipy.stats import rankdata

from ._common import md_table, mean_std

# benchmarks/PROTOCOL.md, section 3, noise rate 0: (mean AP, mean BA).
ANCHORS = {"HistGradientBoosting": (0.611, 0.732), "LogisticRegression": (0.433, 0.636)}


def adult_section(adult):
    results, corr, (n_train, n_test) = adult
    rows = []
    for label, recs in results.items():
        auc = np.array([r["auc"] for r in recs])
        acc = np.array([r["acc"] for r in recs])
        rows.append(
            [
                label,
                len(recs),
                mean_std(auc[:, 0]),
                mean_std(acc[:, 0]),
                mean_std(auc[:, 1]),
                mean_std(acc[:, 1]),
                f"{np.mean([r['fit_s'] for r in recs]):.0f}",
            ]
        )
    return "\n\n".join(
        [
            "### Adult: income and never-married in one model",
            f"Official files: {n_train:,} training rows, {n_test:,} test rows. "
            "Tasks: income >50K and marital-status == Never-married (Pearson "
            f"correlation of the training labels {corr:.2f}); marital-status is "
            "dropped from the inputs, relationship is kept (as the census "
            "benchmarks keep the household status). The test split is fixed; the "
            "seed changes the networks' initialisation, shuffling and 10 % "
            "early-stopping hold-out, and HistGradientBoosting's hold-out. "
            "HistGradientBoosting and LogisticRegression fit one model per task; "
            "their fit seconds are the sum over both tasks.",
            md_table(
                [
                    "model",
                    "seeds",
                    "income AUC",
                    "income accuracy",
                    "never-married AUC",
                    "never-married accuracy",
                    "fit s",
                ],
                rows,
            ),
        ]
    )


def imbalanced_section(results, names):
    labels = list(dict.fromkeys(label for _, label in results))
    rows = []
    for label in labels:
        ap = [np.mean([r["ap"] for r in results[n, label]]) for n in names]
        ba = [np.mean([r["ba"] for r in results[n, label]]) for n in names]
        cells = [mean_std([r["ap"] for r in results[n, label]], 3) for n in names]
        secs = np.mean([r["fit_s"] for n in names for r in results[n, label]])
        rows.append(
            [label, *cells, f"{np.mean(ap):.3f}", f"{np.mean(ba):.3f}", f"{secs:.1f}"]
        )
    seeds = len(results[names[0], labels[0]])
    anchors = "; ".join(
        f"{k} mean AP {ap:.3f}, mean BA {ba:.3f}" for k, (ap, ba) in ANCHORS.items()
    )
    return "\n\n".join(
        [
            "### Imbalanced sets (noise rate 0)",
            f"The anchors' protocol: 70/30 stratified split per seed ({seeds} "
            "seeds), minority = 1, StandardScaler in front of every model. Cells: "
            "test average precision (AP); mean AP and mean BA (balanced accuracy of "
            "`predict`) are means over the sets of the seed means. Below 10,000 "
            "training rows `early_stopping='auto'` is off, so the new and old "
            "default are the same model there (fitted once); they differ on "
            f"letter_img only. Reference (anchors, same splits): {anchors}.",
            md_table(
                ["model", *names, "mean AP", "mean BA", "fit s"],
                rows,
            ),
        ]
    )


def _grid_table(grid, candidates):
    sets = list(grid)
    means = {
        key: {c: np.mean([r["score"] for r in grid[key][c]]) for c in candidates}
        for key in sets
    }
    ranks = {
        key: dict(zip(candidates, rankdata([-means[key][c] for c in candidates])))
        for key in sets
    }
    rows, summary = [], {}
    for c in candidates:
        delta = np.mean([means[k][c] - means[k]["defaults"] for k in sets])
        better = sum(means[k][c] > means[k]["defaults"] for k in sets)
        worse = sum(means[k][c] < means[k]["defaults"] for k in sets)
        mean_rank = float(np.mean([ranks[k][c] for k in sets]))
        secs = np.mean([r["fit_s"] for k in sets for r in grid[k][c]])
        summary[c] = (better, worse, mean_rank)
        rows.append(
            [
                c,
                *(f"{means[k][c]:.4f}" for k in sets),
                f"{mean_rank:.1f}",
                "—" if c == "defaults" else f"{better} / {worse}",
                "—" if c == "defaults" else f"{delta:+.4f}",
                f"{secs:.1f}",
            ]
        )
    header = [
        "candidate",
        *(f"{name} ({metric})" for name, metric in sets),
        "mean rank",
        "sets better / worse than defaults",
        "mean difference to defaults",
        "fit s",
    ]
    return md_table(header, rows), summary, len(sets)


def grid_section(grid, candidates):
    table, summary, n_sets = _grid_table(grid, candidates)
    seeds = ", ".join(
        f"{name} {len(by_c['defaults'])}" for (name, _), by_c in grid.items()
    )
    default_rank = summary["defaults"][2]
    winners = [
        c
        for c, (better, _, rank) in summary.items()
        if c != "defaults" and better > n_sets / 2 and rank < default_rank
    ]
    verdict = (
        "Candidates better than the defaults on most sets and with a better mean "
        f"rank: {', '.join(winners)} (see the mean difference and the per-set "
        "scores before changing a default)."
        if winners
        else "No candidate is better than the defaults on most sets with a better "
        "mean rank: the study confirms the defaults."
    )
    return "\n\n".join(
        [
            "### Candidate defaults, scored on validation data only",
            "Each candidate changes one default of `MultiTaskClassifier()`. It is "
            "fitted on 80 % of each seed's training split and scored on the other "
            "20 % (stratified); no test split is used. Adult: mean ROC AUC of the "
            "two tasks; imbalanced sets: average precision; scikit-learn's sets: "
            "accuracy (digits: mean over digit and parity). Arrays get a "
            "StandardScaler in front, Adult is read as a DataFrame. Cells: mean "
            f"over the seeds of each set ({seeds}); mean rank over the {n_sets} sets "
            f"(1 = best of {len(candidates)}). Rule fixed before "
            "the run: a candidate replaces a default only if it beats the defaults "
            "on more than half of the sets and has a better mean rank. The mean "
            "difference of the scores (not part of the rule) shows the sizes.",
            table,
            verdict,
        ]
    )
