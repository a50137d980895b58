"""Hard example mining on imbalanced sets with label noise.

Protocol of ``benchmarks/PROTOCOL.md`` (sections 2 and 3, imbalanced sets):
datasets mammography, letter_img, satimage, abalone_19 and ozone_level
(``<data>/imbalanced/<name>.csv.gz``; label = last column, minority class -> 1,
abalone_19's ``Sex`` one-hot); for seed s in 0..4,
``train_test_split(arange(n), test_size=0.3, stratify=y, random_state=s)``; the
first ``round(r * n_train)`` rows of ``np.random.default_rng(s).permutation(n_train)``
get their training label flipped, r in {0, 0.1, 0.2} (test labels stay clean);
every method is ``make_pipeline(StandardScaler(), clf)``; average precision
from ``predict_proba[:, 1]``, balanced accuracy from ``predict``.

Writes a markdown report (``--out``) with every table, the machine, the command
and the wall time, a plot of mean AP against the noise rate next to it
(same name, ``.png``), and the hardness histogram used by the user guide
(``--hardness-plot``, default ``docs/_static/hem_hardness.png``).

Run alone from the repository root::

    python benchmarks/hard_example_mining.py [--data ../shared/data] [--quick]

More methods: add a factory to ``METHODS`` (see ``register_method``). The
MultiTaskClassifier-based arms (HEM(MTC), focal loss, OHEM) go in
``_register_neural_methods`` once ``sk_mtl.MultiTaskClassifier`` is available.
"""

import os

# One thread per process, set before numpy is imported: HistGradientBoosting
# and BLAS oversubscribe the shared machine otherwise.
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import (
    AdaBoostClassifier,
    HistGradientBoostingClassifier,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, balanced_accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import script_command
from benchmarks.datasets import imbalanced_split, load_imbalanced
from sk_mtl import HardExampleMiningClassifier

try:
    from tqdm.auto import tqdm
except ImportError:  # pragma: no cover - tqdm is optional

    def tqdm(iterable, **kwargs):
        return iterable


DATASETS = ["mammography", "letter_img", "satimage", "abalone_19", "ozone_level"]
SEEDS = [0, 1, 2, 3, 4]
RATES = [0.0, 0.1, 0.2]

# Anchors (benchmarks/PROTOCOL.md, section 3): mean AP over the datasets.
ANCHOR_MEAN_AP = {
    "LR": (0.433, 0.349, 0.319),
    "LR balanced": (0.403, 0.329, 0.310),
    "AdaBoost": (0.488, 0.394, 0.343),
    "HistGB": (0.611, 0.533, 0.468),
}


# --------------------------------------------------------------------- methods
# name -> factory(seed) returning the classifier put after StandardScaler.
METHODS = {}


def register_method(name, factory):
    """Add a benchmark arm: ``factory(seed)`` returns an unfitted classifier."""
    METHODS[name] = factory


register_method("LR", lambda seed: LogisticRegression())
register_method("LR balanced", lambda seed: LogisticRegression(class_weight="balanced"))
register_method("AdaBoost", lambda seed: AdaBoostClassifier(random_state=seed))
register_method(
    "HistGB", lambda seed: HistGradientBoostingClassifier(random_state=seed)
)
register_method(
    "HEM(LR)",
    lambda seed: HardExampleMiningClassifier(LogisticRegression(), random_state=seed),
)
register_method(
    "HEM(HistGB)",
    lambda seed: HardExampleMiningClassifier(
        HistGradientBoostingClassifier(random_state=seed), random_state=seed
    ),
)


def _register_neural_methods():
    """The MultiTaskClassifier-based arms, run only when named in ``--methods``.

    "MTC" is the network alone (cross-entropy), "MTC focal" and "MTC OHEM" mine
    inside the training loop, "HEM(MTC)" mines out of fold around the plain
    network (one mining round, 3 folds, to keep the run short on 2 cores).
    """
    from sk_mtl import MultiTaskClassifier

    def net(seed, **kw):
        return MultiTaskClassifier(
            (64, 32),
            dropout=0.1,
            max_epochs=40,
            batch_size=256,
            early_stopping=True,
            n_iter_no_change=5,
            random_state=seed,
            **kw,
        )

    register_method("MTC", lambda seed: net(seed))
    register_method("MTC focal", lambda seed: net(seed, loss="focal"))
    register_method("MTC OHEM", lambda seed: net(seed, loss="ohem"))
    register_method(
        "HEM(MTC)",
        lambda seed: HardExampleMiningClassifier(
            net(seed), n_rounds=1, cv=3, random_state=seed
        ),
    )
    return ["MTC", "MTC focal", "MTC OHEM", "HEM(MTC)"]


DEFAULT_METHODS = list(METHODS)
NEURAL_METHODS = ["MTC", "MTC focal", "MTC OHEM", "HEM(MTC)"]
NEURAL_SEEDS = [0, 1, 2, 3, 4]  # about 20 minutes on one CPU thread
NEURAL_NOTE = (
    "MTC = `MultiTaskClassifier((64, 32), dropout=0.1, max_epochs=40, "
    "batch_size=256, early_stopping=True, n_iter_no_change=5)`; HEM(MTC) wraps it "
    "with `n_rounds=1, cv=3` (not the defaults: each round fits cv + 1 networks)."
)
TITLE = "Hard example mining on imbalanced sets with label noise"


def section(classic_md, neural_md=None):
    """One RESULTS.md section from the reports of the classic and neural runs."""

    def body(md):
        text = md.split("\n", 1)[1]  # drop the report's own '# ' title
        return text.replace("\n## ", "\n#### ")

    parts = [f"## {TITLE}", "", "### Classic estimators (5 seeds)", body(classic_md)]
    if neural_md is not None:
        parts += [
            "### MultiTaskClassifier arms: plain, focal, OHEM, HEM around it",
            body(neural_md),
        ]
    return "\n".join(parts)


def run(data_home, quick, out_dir):
    """Registry entry for ``benchmarks/run.py``: classic grid, then neural arms."""
    out_dir = Path(out_dir)
    common = ["--data", str(data_home)] + (["--quick"] if quick else [])
    classic = out_dir / "hard_example_mining_report.md"
    neural = out_dir / "hard_example_mining_neural.md"
    main([*common, "--out", str(classic)])
    main(
        [*common, "--out", str(neural), "--hardness-plot", "", "--methods"]
        + NEURAL_METHODS
        + ([] if quick else ["--seeds", *map(str, NEURAL_SEEDS)])
    )
    return section(classic.read_text(), neural.read_text())


# ------------------------------------------------------------------------ data
def load_set(name, data_home):
    """X (float), y (0/1, minority = 1) of one imbalanced set."""
    bunch = load_imbalanced(name, data_home)
    return bunch.data, bunch.target


def noisy_split(y, seed, rate):
    """Train/test indices, the noisy training labels and which of them flipped."""
    train, test, y_train = imbalanced_split(y, seed, noise_rate=rate)
    return train, test, y_train, y_train != y[train]


# --------------------------------------------------------------------- running
def run_grid(datasets, methods, seeds, rates, data_home):
    rows = []
    jobs = [(d, s, r) for d in datasets for s in seeds for r in rates]
    cache = {}
    for dataset, seed, rate in tqdm(jobs, desc="splits"):
        if dataset not in cache:
            cache = {dataset: load_set(dataset, data_home)}
        X, y = cache[dataset]
        train, test, y_train, is_flipped = noisy_split(y, seed, rate)
        for method in methods:
            model = make_pipeline(StandardScaler(), METHODS[method](seed))
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X[train], y_train)
            fit_time = time.perf_counter() - start
            row = {
                "dataset": dataset,
                "seed": seed,
                "rate": rate,
                "method": method,
                "ap": average_precision_score(
                    y[test], model.predict_proba(X[test])[:, 1]
                ),
                "ba": balanced_accuracy_score(y[test], model.predict(X[test])),
                "fit_time": fit_time,
            }
            clf = model[-1]
            if isinstance(clf, HardExampleMiningClassifier):
                flagged = clf.noise_mask_
                row["n_flagged"] = int(flagged.sum())
                row["precision"] = (
                    (flagged & is_flipped).sum() / flagged.sum() if flagged.any() else 0
                )
                row["recall"] = (
                    (flagged & is_flipped).sum() / is_flipped.sum()
                    if is_flipped.any()
                    else np.nan
                )
            rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------- reports
def _mean_std(values):
    return (
        f"{np.mean(values):.3f}±{np.std(values, ddof=1) if len(values) > 1 else 0:.3f}"
    )


def _per_dataset_means(results, metric):
    return results.groupby(["method", "rate", "dataset"])[metric].mean()


def report(results, methods, datasets, rates, header):
    lines = [header, ""]
    ap_means = _per_dataset_means(results, "ap")
    ba_means = _per_dataset_means(results, "ba")

    def mean_over_datasets(means, method, rate):
        return np.mean([means[(method, rate, d)] for d in datasets])

    for rate in rates:
        lines += [
            f"## Noise rate r = {rate:g}",
            "",
            "Average precision on the clean test set, mean±std over seeds.",
            "",
            "| method | " + " | ".join(datasets) + " | mean AP | mean BA |",
            "|---" * (len(datasets) + 3) + "|",
        ]
        for method in methods:
            cells = []
            for dataset in datasets:
                sel = results[
                    (results.method == method)
                    & (results.rate == rate)
                    & (results.dataset == dataset)
                ]
                cells.append(_mean_std(sel.ap.to_numpy()))
            lines.append(
                f"| {method} | "
                + " | ".join(cells)
                + f" | {mean_over_datasets(ap_means, method, rate):.3f}"
                + f" | {mean_over_datasets(ba_means, method, rate):.3f} |"
            )
        lines.append("")

    lines += [
        "## Degradation with noise (mean over datasets of per-dataset seed means)",
        "",
        "| method | "
        + " | ".join(f"AP r={r:g}" for r in rates)
        + " | "
        + " | ".join(f"BA r={r:g}" for r in rates)
        + f" | ΔAP {rates[0]:g}→{rates[-1]:g} (rel.)"
        + f" | ΔBA {rates[0]:g}→{rates[-1]:g} |",
        "|---" * (2 * len(rates) + 3) + "|",
    ]
    for method in methods:
        ap = [mean_over_datasets(ap_means, method, r) for r in rates]
        ba = [mean_over_datasets(ba_means, method, r) for r in rates]
        lines.append(
            f"| {method} | "
            + " | ".join(f"{v:.3f}" for v in ap)
            + " | "
            + " | ".join(f"{v:.3f}" for v in ba)
            + f" | {ap[-1] - ap[0]:+.3f} ({(ap[-1] - ap[0]) / ap[0]:+.0%})"
            + f" | {ba[-1] - ba[0]:+.3f} |"
        )
    lines.append("")

    anchored = [m for m in methods if m in ANCHOR_MEAN_AP]
    if anchored and list(rates) == RATES and list(datasets) == DATASETS:
        lines += [
            "## Re-measured baselines vs the anchors (mean AP)",
            "",
            "| method | " + " | ".join(f"r={r:g} here / anchor" for r in rates) + " |",
            "|---" * (len(rates) + 1) + "|",
        ]
        for method in anchored:
            cells = [
                f"{mean_over_datasets(ap_means, method, r):.3f} / "
                f"{ANCHOR_MEAN_AP[method][i]:.3f}"
                for i, r in enumerate(rates)
            ]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines.append("")

    mined = [m for m in methods if "n_flagged" in results and m.startswith("HEM")]
    if mined:
        lines += [
            "## Label-issue detection (`noise_mask_` vs the flipped training rows)",
            "",
            "Mean over datasets and seeds; at r=0 every flagged row is a false alarm.",
            "",
            "| method | "
            + " | ".join(f"flagged r={r:g}" for r in rates)
            + " | "
            + " | ".join(f"precision r={r:g}" for r in rates if r > 0)
            + " | "
            + " | ".join(f"recall r={r:g}" for r in rates if r > 0)
            + " |",
            "|---" * (1 + len(rates) + 2 * sum(r > 0 for r in rates)) + "|",
        ]
        for method in mined:
            sel = results[results.method == method]
            flagged = [sel[sel.rate == r].n_flagged.mean() for r in rates]
            prec = [sel[sel.rate == r].precision.mean() for r in rates if r > 0]
            rec = [sel[sel.rate == r].recall.mean() for r in rates if r > 0]
            lines.append(
                f"| {method} | "
                + " | ".join(f"{v:.0f}" for v in flagged)
                + " | "
                + " | ".join(f"{v:.2f}" for v in prec)
                + " | "
                + " | ".join(f"{v:.2f}" for v in rec)
                + " |"
            )
        lines.append("")

    lines += [
        "## Mean fit time per fit (s)",
        "",
        "| method | " + " | ".join(datasets) + " |",
        "|---" * (len(datasets) + 1) + "|",
    ]
    times = results.groupby(["method", "dataset"]).fit_time.mean()
    for method in methods:
        lines.append(
            f"| {method} | "
            + " | ".join(f"{times[(method, d)]:.2f}" for d in datasets)
            + " |"
        )
    lines.append("")
    return "\n".join(lines)


def plot_ap(results, methods, datasets, rates, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    means = _per_dataset_means(results, "ap")
    fig, ax = plt.subplots(figsize=(6, 4))
    for method in methods:
        ax.plot(
            rates,
            [np.mean([means[(method, r, d)] for d in datasets]) for r in rates],
            marker="o",
            linestyle="--" if method.startswith("HEM") else "-",
            label=method,
        )
    ax.set_xlabel("fraction of training labels flipped")
    ax.set_ylabel(f"mean average precision ({len(datasets)} datasets)")
    ax.set_xticks(rates)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_hardness(data_home, path, dataset="mammography", seed=0, rate=0.1):
    """Histogram of HEM(LR)'s ``hardness_`` for clean and flipped training rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y = load_set(dataset, data_home)
    train, _, y_train, is_flipped = noisy_split(y, seed, rate)
    model = make_pipeline(
        StandardScaler(), HardExampleMiningClassifier(random_state=seed)
    ).fit(X[train], y_train)
    hem = model[-1]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bins = np.linspace(0, np.nanmax(hem.hardness_), 40)
    for mask, label in [
        (~is_flipped, "clean label"),
        (is_flipped & ~hem.noise_mask_, "flipped, not flagged"),
        (is_flipped & hem.noise_mask_, "flipped, flagged (noise_mask_)"),
    ]:
        ax.hist(hem.hardness_[mask], bins=bins, alpha=0.6, label=label, log=True)
    ax.set_xlabel("out-of-fold hardness (log-loss of the given label)")
    ax.set_ylabel("training examples")
    ax.set_title(f"{dataset}, {rate:.0%} flipped labels, HEM(LR), seed {seed}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        default=os.environ.get("SK_MTL_DATA", "../shared/data"),
        help="folder holding imbalanced/ (default: $SK_MTL_DATA or ../shared/data)",
    )
    parser.add_argument(
        "--out",
        default="benchmarks/results/hard_example_mining.md",
        help="markdown report; the AP plot goes next to it as .png",
    )
    parser.add_argument(
        "--hardness-plot",
        default="docs/_static/hem_hardness.png",
        help="hardness histogram for the user guide ('' to skip)",
    )
    parser.add_argument("--methods", nargs="+", default=DEFAULT_METHODS)
    parser.add_argument("--datasets", nargs="+", default=DATASETS)
    parser.add_argument("--seeds", nargs="+", type=int, default=SEEDS)
    parser.add_argument("--rates", nargs="+", type=float, default=RATES)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: one seed, two small datasets",
    )
    args = parser.parse_args(argv)
    if set(args.methods) & set(NEURAL_METHODS):
        _register_neural_methods()
    unknown = sorted(set(args.methods) - set(METHODS))
    if unknown:
        parser.error(f"unknown methods {unknown}; known: {sorted(METHODS)}")
    if args.quick:
        args.seeds, args.datasets = [0], ["abalone_19", "ozone_level"]

    start = time.perf_counter()
    results = run_grid(args.datasets, args.methods, args.seeds, args.rates, args.data)
    wall = time.perf_counter() - start

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    plot_path = out.with_suffix(".png")
    plot_ap(results, args.methods, args.datasets, args.rates, plot_path)
    if args.hardness_plot:
        Path(args.hardness_plot).parent.mkdir(parents=True, exist_ok=True)
        plot_hardness(args.data, args.hardness_plot)
    results.to_csv(out.with_suffix(".csv"), index=False)

    command = script_command("hard_example_mining.py", argv)
    header = "\n".join(
        [
            "# Hard example mining on imbalanced sets with label noise",
            "",
            "Generated by `benchmarks/hard_example_mining.py`; protocol in its "
            "docstring (= benchmarks/PROTOCOL.md). Cells: average precision "
            "(minority = positive) on the clean test set, mean±std over seeds; "
            "`mean AP` / `mean BA` = mean over the datasets of the per-dataset "
            "seed means (BA = balanced accuracy of `predict`). HEM = "
            "`HardExampleMiningClassifier` with its default parameters "
            f"({_defaults()}).",
            "",
            *([NEURAL_NOTE, ""] if set(args.methods) & set(NEURAL_METHODS) else []),
            f"- command: `{command}`",
            f"- machine: {platform.platform()}, {platform.processor() or '?'}, "
            f"{os.cpu_count()} CPUs (shared), threads per process = 1",
            f"- python {platform.python_version()}, scikit-learn "
            f"{sklearn.__version__}, numpy {np.__version__}",
            f"- seeds {args.seeds}, noise rates {args.rates}",
            f"- wall time: {wall:.0f} s",
            f"- figures: `{plot_path.name}` (mean AP vs noise rate)"
            + (f", `{args.hardness_plot}`" if args.hardness_plot else ""),
        ]
    )
    text = report(results, args.methods, args.datasets, args.rates, header)
    out.write_text(text + "\n")
    print(text)


def _defaults():
    params = HardExampleMiningClassifier().get_params()
    keys = ["n_rounds", "cv", "hardness", "max_weight", "hard_fraction"]
    keys.append("noise_handling")
    return ", ".join(f"{k}={params[k]!r}" for k in keys)


if __name__ == "__main__":
    main()
