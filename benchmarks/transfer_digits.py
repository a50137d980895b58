"""When does reusing a network help? Positive and negative transfer on digits.

Half A of sklearn's digits (stratified 50/50 split, random_state=0) trains two
sources: 10-class digit identity, and identity of the digits 0-4 only. Each new
task has 60 labelled images drawn from half B (``np.random.default_rng(seed)``,
seeds 0-4) and is scored on the rest of half B:

- parity (even/odd) of all digits, from the 10-class source: transfer should help;
- identity of the digits 5-9, from the 0-4 source: its features never saw these
  digits (negative transfer).

Contenders at the same number of epochs (Adam, lr 1e-2): FineTuner hot start,
FineTuner cold start (same architecture, random weights), FineTuner with the trunk
frozen, TransferClassifier (frozen trunk, new (32,) head), a uniform weight-space
soup of three hot starts that differ only in learning rate (3e-3, 1e-2, 2e-2),
and LogisticRegression on the raw pixels.

Run: ``python benchmarks/transfer_digits.py [--quick]``; writes
``benchmarks/results/transfer_digits.md``.
"""

import argparse
import platform
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

N_LABELLED = 60
LR = 1e-2
SOUP_LRS = (3e-3, 2e-2)


def setups():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    half_a, half_b = train_test_split(
        np.arange(len(y)), test_size=0.5, stratify=y, random_state=0
    )
    full = MultiTaskClassifier((64,), max_epochs=40, lr=3e-3, random_state=0)
    full.fit(X[half_a], y[half_a])
    low_rows = half_a[y[half_a] < 5]
    low = MultiTaskClassifier((64,), max_epochs=80, lr=3e-3, random_state=0)
    low.fit(X[low_rows], y[low_rows])
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


def run_one(X, y, pool, source, epochs, seed):
    labelled = np.random.default_rng(seed).choice(pool, N_LABELLED, replace=False)
    test = np.setdiff1d(pool, labelled)
    Xl, yl, Xt, yt = X[labelled], y[labelled], X[test], y[test]
    out = {}
    hot = FineTuner(source, max_epochs=epochs, lr=LR, random_state=seed).fit(Xl, yl)
    out["FineTuner hot"] = hot.score(Xt, yt)
    out["FineTuner cold"] = (
        FineTuner(source, start="cold", max_epochs=epochs, lr=LR, random_state=seed)
        .fit(Xl, yl)
        .score(Xt, yt)
    )
    out["FineTuner hot, trunk frozen"] = (
        FineTuner(source, freeze="trunk", max_epochs=epochs, lr=LR, random_state=seed)
        .fit(Xl, yl)
        .score(Xt, yt)
    )
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, 2 budgets")
    parser.add_argument(
        "--out",
        default=str(Path(__file__).parent / "results" / "transfer_digits.md"),
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    seeds = range(2) if args.quick else range(5)
    budgets = (10, 20) if args.quick else (5, 10, 20, 50)
    start = time.time()
    lines = [
        "# Transfer on digits: hot vs cold start, frozen features, soups",
        "",
        "Produced by `benchmarks/transfer_digits.py`; see its docstring for the "
        "protocol. Accuracy on the unlabelled rest of half B, mean ± std over "
        f"seeds {list(seeds)}, {N_LABELLED} labelled images per new task.",
        "",
    ]
    for title, X, y, pool, source in setups():
        lines += [f"## {title}", ""]
        results = {}
        for epochs in budgets:
            for seed in seeds:
                for name, acc in run_one(X, y, pool, source, epochs, seed).items():
                    results.setdefault(name, {}).setdefault(epochs, []).append(acc)
        header = "| model | " + " | ".join(f"{e} epochs" for e in budgets) + " |"
        lines += [header, "|---" * (len(budgets) + 1) + "|"]
        for name, by_epochs in results.items():
            cells = [
                f"{np.mean(by_epochs[e]):.3f} ± {np.std(by_epochs[e]):.3f}"
                for e in budgets
            ]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    command = script_command("transfer_digits.py", argv)
    lines += [
        f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
        f"torch {torch.__version__}, 1 thread. Command: `{command}`. "
        f"Wall time: {time.time() - start:.0f} s.",
        "",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
