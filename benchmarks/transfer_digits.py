"""When does reusing a network help? Positive and negative transfer on digits.

Half A of sklearn's digits (stratified 50/50 split, random_state=0) trains two
sources: 10-class digit identity, and identity of the digits 0-4 only. Each new
task has 60 labelled images drawn from half B (``np.random.default_rng(seed)``,
seeds 0-4) and is scored on the rest of half B:

- parity (even/odd) of all digits, from the 10-class source: transfer should help;
- identity of the digits 5-9, from the 0-4 source: its features never saw these
  digits (negative transfer).

Contenders at the same number of epochs (Adam, lr 1e-2): FineTuner hot start and
cold start (same architecture, random weights) with the current defaults
(``batch_size="auto"``, ``head_warmup="auto"``) and with the previous ones
(``batch_size=128``, no head warm-up), FineTuner with the trunk frozen,
TransferClassifier (frozen trunk, new (32,) head), a uniform weight-space soup of
three hot starts that differ only in learning rate (3e-3, 1e-2, 2e-2), a hot
start with shrink-and-perturb (``shrink=0.3``, chosen without the test rows by
``benchmarks/transfer_digits_selection.py``), and LogisticRegression on the raw
pixels. A second table compares hot and cold starts under other batch sizes,
warm-up lengths, trunk learning rates and shrink-and-perturb settings.

Run: ``python -m benchmarks.run --only transfer_digits`` (no data needed), or
``python benchmarks/transfer_digits.py [--quick] [--out FILE]``.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import script_command
from sk_mtl import FineTuner, MultiTaskClassifier, TransferClassifier, merge_models

TITLE = "Transfer on digits: hot vs cold start, frozen features, soups"
N_LABELLED = 60
LR = 1e-2
SOUP_LRS = (3e-3, 2e-2)
PREVIOUS = {"batch_size": 128, "head_warmup": 0}  # FineTuner defaults before 0.1
# Shrink-and-perturb chosen by benchmarks/transfer_digits_selection.py
# (cross-validation inside the labelled images only).
SHRINK_PERTURB = {"shrink": 0.3}
SHRINK_LABEL = "shrink 0.3"
# Hot vs cold under other settings: (label, FineTuner parameters); a cold start
# ignores head_warmup and reused_lr, so it only depends on the batch size.
VARIANTS = (
    ("batch 128, no warm-up (previous defaults)", PREVIOUS),
    ("batch 128, warm-up auto", {"batch_size": 128}),
    ("batch auto, no warm-up", {"head_warmup": 0}),
    ("batch auto, warm-up 2 epochs", {"head_warmup": 2}),
    ("batch auto, warm-up auto (defaults)", {}),
    ("batch auto, warm-up half of the epochs", {"head_warmup": "half"}),
    ("batch 16, no warm-up", {"batch_size": 16, "head_warmup": 0}),
    ("batch 16, warm-up 2 epochs", {"batch_size": 16, "head_warmup": 2}),
    ("batch auto, no warm-up, trunk lr 2e-2", {"head_warmup": 0, "reused_lr": 2e-2}),
    ("defaults, shrink 0.3 (selected)", SHRINK_PERTURB),
    ("defaults, shrink 0.5", {"shrink": 0.5}),
    ("defaults, shrink 0.5, perturb 0.1", {"shrink": 0.5, "perturb": 0.1}),
)
VARIANT_BUDGETS = (10, 20, 50)


def halves():
    """Digits scaled to [0, 1], and the row indices of halves A and B."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    half_a, half_b = train_test_split(
        np.arange(len(y)), test_size=0.5, stratify=y, random_state=0
    )
    return X, y, half_a, half_b


def fit_source(X, y, rows, epochs, **params):
    """A source network fitted on ``rows`` (one hidden layer of 64 units; one
    network, as the results were measured before ``n_bags="auto"``)."""
    source = MultiTaskClassifier(
        (64,), max_epochs=epochs, lr=3e-3, n_bags=1, random_state=0, **params
    )
    return source.fit(X[rows], y[rows])


def setups():
    X, y, half_a, half_b = halves()
    full = fit_source(X, y, half_a, 40)
    low = fit_source(X, y, half_a[y[half_a] < 5], 80)
    return [
        ("parity of 0-9, source: identity of 0-9", X, y % 2, half_b, full),
        (
            "identity of 5-9, source: identity of 0-4",
            X,
            y,
            half_b[y[half_b] >= 5],
            low,
        ),
    ]


def draw(pool, seed):
    labelled = np.random.default_rng(seed).choice(pool, N_LABELLED, replace=False)
    return labelled, np.setdiff1d(pool, labelled)


def fine_tune(source, X, y, labelled, test, epochs, seed, **params):
    if params.get("head_warmup") == "half":
        params = {**params, "head_warmup": epochs // 2}
    ft = FineTuner(source, max_epochs=epochs, lr=LR, random_state=seed, **params)
    ft.fit(X[labelled], y[labelled])
    return ft, ft.score(X[test], y[test])


def run_one(X, y, pool, source, epochs, seed):
    labelled, test = draw(pool, seed)
    Xl, yl, Xt, yt = X[labelled], y[labelled], X[test], y[test]
    args = (source, X, y, labelled, test, epochs, seed)
    out = {}
    hot, out["FineTuner hot"] = fine_tune(*args)
    out["FineTuner cold"] = fine_tune(*args, start="cold")[1]
    out["FineTuner hot, previous defaults"] = fine_tune(*args, **PREVIOUS)[1]
    out["FineTuner cold, previous defaults"] = fine_tune(
        *args, start="cold", **PREVIOUS
    )[1]
    out[f"FineTuner hot, {SHRINK_LABEL}"] = fine_tune(*args, **SHRINK_PERTURB)[1]
    out["FineTuner hot, trunk frozen"] = fine_tune(*args, freeze="trunk")[1]
    out["TransferClassifier (frozen, (32,) head)"] = (
        TransferClassifier(
            source, hidden_units=(32,), max_epochs=epochs, lr=LR, random_state=seed
        )
        .fit(Xl, yl)
        .score(Xt, yt)
    )
    # Soup ingredients share the new head's initialisation (same random_state)
    # and differ in learning rate, as in Wortsman et al.
    ingredients = [hot] + [
        FineTuner(source, max_epochs=epochs, lr=lr, random_state=seed).fit(Xl, yl)
        for lr in SOUP_LRS
    ]
    out["mean of the 3 soup ingredients"] = np.mean(
        [m.score(Xt, yt) for m in ingredients]
    )
    out["soup of the 3 (weight space, uniform)"] = merge_models(
        ingredients, space="weights"
    ).score(Xt, yt)
    out["LogisticRegression on pixels"] = (
        LogisticRegression(max_iter=2000).fit(Xl, yl).score(Xt, yt)
    )
    return out


def _wins(hot, cold):
    return sum(h >= c for h, c in zip(hot, cold))


def main_table(title, X, y, pool, source, budgets, seeds):
    results = {}
    for epochs in budgets:
        for seed in seeds:
            for name, acc in run_one(X, y, pool, source, epochs, seed).items():
                results.setdefault(name, {}).setdefault(epochs, []).append(acc)
    header = "| model | " + " | ".join(f"{e} epochs" for e in budgets) + " |"
    lines = [f"### {title}", "", header, "|---" * (len(budgets) + 1) + "|"]
    for name, by_epochs in results.items():
        cells = [
            f"{np.mean(by_epochs[e]):.3f} ± {np.std(by_epochs[e]):.3f}" for e in budgets
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    pairs = (("", ""), (", previous defaults",) * 2, (f", {SHRINK_LABEL}", ""))
    for suffix, cold_suffix in pairs:
        hot, cold = (
            results[f"FineTuner hot{suffix}"],
            results[f"FineTuner cold{cold_suffix}"],
        )
        wins = [f"{_wins(hot[e], cold[e])} of {len(seeds)}" for e in budgets]
        lines.append(f"| seeds with hot ≥ cold{suffix} | " + " | ".join(wins) + " |")
        diffs = [
            " ".join(f"{h - c:+.3f}" for h, c in zip(hot[e], cold[e])) for e in budgets
        ]
        lines.append(f"| hot − cold per seed{suffix} | " + " | ".join(diffs) + " |")
    return lines + [""]


def variant_table(cases, seeds):
    cold_cache = {}
    header = ["| hot − cold (seeds with hot ≥ cold) |"]
    for title, *_ in cases:
        header += [f" {title.split(',')[0]}, {e} ep |" for e in VARIANT_BUDGETS]
    lines = ["".join(header), "|---" * (1 + len(cases) * len(VARIANT_BUDGETS)) + "|"]
    for label, params in VARIANTS:
        cells = []
        for title, X, y, pool, source in cases:
            for epochs in VARIANT_BUDGETS:
                hot, cold = [], []
                for seed in seeds:
                    labelled, test = draw(pool, seed)
                    args = (source, X, y, labelled, test, epochs, seed)
                    hot.append(fine_tune(*args, **params)[1])
                    key = (title, epochs, seed, params.get("batch_size", "auto"))
                    if key not in cold_cache:
                        batch = {"batch_size": key[-1]}
                        cold_cache[key] = fine_tune(*args, start="cold", **batch)[1]
                    cold.append(cold_cache[key])
                diff = np.mean(hot) - np.mean(cold)
                cells.append(f"{diff:+.3f} ({_wins(hot, cold)})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines + [""]


def report(quick=False):
    torch.set_num_threads(1)
    seeds = range(2) if quick else range(5)
    budgets = (10, 20) if quick else (5, 10, 20, 50)
    start = time.time()
    load_before = os.getloadavg()[0]
    cases = setups()
    lines = [
        f"## {TITLE}",
        "",
        "Produced by `benchmarks/transfer_digits.py`; see its docstring for the "
        "protocol. Accuracy on the unlabelled rest of half B, mean ± std over "
        f"seeds {list(seeds)}, {N_LABELLED} labelled images per new task. "
        'Defaults: `batch_size="auto"` (8 rows per step on 60 rows), '
        '`head_warmup="auto"`; previous defaults: `batch_size=128` (one step per '
        "epoch), no head warm-up.",
        "",
    ]
    for case in cases:
        lines += main_table(*case, budgets, seeds)
    lines += [
        "### Hot vs cold under other settings",
        "",
        "Mean accuracy of the hot start minus that of the cold start (same batch "
        "size, same epochs), and in brackets the number of seeds where the hot "
        f"start scored at least as well, over seeds {list(seeds)}. Warm-up epochs "
        "count in the epoch budget.",
        "",
    ]
    lines += variant_table(cases, seeds)
    return "\n".join(lines + run_footer(start, load_before))


def run_footer(start, load_before):
    """Last lines of a report: threads, load average and wall time."""
    return [
        f"1 torch thread per model; load average {load_before:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end (2 cores shared with other jobs). "
        f"Wall time: {time.time() - start:.0f} s.",
        "",
    ]


def run(data_home, quick, out_dir):
    """Registry entry for ``benchmarks/run.py`` (no data needed)."""
    return report(quick)


def main(argv=None):
    script_main(argv, __doc__, "transfer_digits", report, "2 seeds, 2 budgets")


def script_main(argv, doc, name, make_report, quick_help):
    """Command line of ``benchmarks/<name>.py``: write ``make_report``'s text."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / f"{name}.md")
    )
    args = parser.parse_args(argv)
    text = make_report(args.quick)
    text += f"\nCommand: `{script_command(f'{name}.py', argv)}`.\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
