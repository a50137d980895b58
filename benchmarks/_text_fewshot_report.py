"""The "more labels" table of ``text_fewshot``, from per-seed runs.

Reads ``results/text_fewshot_runs.jsonl`` (one JSON line per fit: set, labelled
sentences per class, seed, model, accuracy, CPU minutes; written by
``text_fewshot --runs``; this stop's lines were taken from the runs' printed
per-seed lines, so accuracies have 3 decimals) and the fine-tuned and frozen
runs of ``results/transfer_text_runs.jsonl`` (same splits and seeds), and prints
the table, the CPU minutes and the differences to the fine-tuned model paired by
seed. Run: ``python -m benchmarks._text_fewshot_report``.
"""

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from ._common import md_table, mean_std

RESULTS = Path(__file__).parent / "results"
FINE_TUNED = "TransferClassifier, fine-tuned encoder (ours)"
FROZEN = "frozen MiniLM + LogisticRegression (C=1)"
CONTRASTIVE = "TransferClassifier, contrastive=True (ours)"
THEN_FINE_TUNED = "TransferClassifier, contrastive=True, then fine-tuned"
COLUMNS = (("cr", 8), ("cr", 64), ("cr", None), ("mr", 64), ("mr", None))
# Cells of the tables above it in results/text_fewshot.md (printed as means only).
QUOTED = {
    ("cr", 8, CONTRASTIVE): ("0.767 ± 0.022 *", "0.6 *"),
    ("cr", 64, CONTRASTIVE): ("0.838 ± 0.007 *", "6.3 *"),
}
ROWS = (
    ("frozen MiniLM + LogisticRegression *", FROZEN),
    (
        "TransferClassifier, fine-tuned (`unfreeze='all'`, transfer_text's recipe) *",
        FINE_TUNED,
    ),
    ("TransferClassifier, `contrastive=True`", CONTRASTIVE),
    ("TransferClassifier, `contrastive=True`, then fine-tuned (new)", THEN_FINE_TUNED),
)


def load_runs(*paths):
    """{(set, n_per_class, model): {seed: record}} of runs with an accuracy."""
    runs = defaultdict(dict)
    for path in paths:
        for line in Path(path).read_text().splitlines():
            r = json.loads(line)
            if "accuracy" in r:
                runs[(r["set"], r["n_per_class"], r["model"])][r["seed"]] = r
    return runs


def _accuracy(records):
    seeds = "" if len(records) == 5 else f" ({len(records)} seeds)"
    return mean_std([r["accuracy"] for r in records], 3) + seeds


def _cpu_minutes(records):
    return f"{np.mean([r['cpu_min'] for r in records]):.1f}"


def _cells(runs, model, quoted_part, measured):
    """One row's cells: quoted, else ``measured(records)``, else a dash."""
    cells = []
    for s, n in COLUMNS:
        quoted = QUOTED.get((s, n, model))
        by_seed = runs.get((s, n, model))
        if quoted:
            cells.append(quoted[quoted_part])
        else:
            cells.append(measured(list(by_seed.values())) if by_seed else "—")
    return cells


def _paired_lines(runs):
    lines = []
    for s, n in COLUMNS:
        for model, short in (
            (CONTRASTIVE, "contrastive"),
            (THEN_FINE_TUNED, "contrastive then fine-tuned"),
        ):
            ours, base = runs.get((s, n, model)), runs.get((s, n, FINE_TUNED))
            if not ours or not base:
                continue
            seeds = sorted(set(ours) & set(base))
            diff = [ours[k]["accuracy"] - base[k]["accuracy"] for k in seeds]
            per_seed = " ".join(f"{d:+.3f}" for d in diff)
            lines.append(
                f"- {s.upper()} {n or 'all'}, {short} minus fine-tuned, paired by seed "
                f"({len(seeds)} seeds): {np.mean(diff):+.3f}, higher in "
                f"{sum(d > 0 for d in diff)} (per seed {per_seed})"
            )
    return lines


def tables(runs):
    """Markdown lines: accuracy table, CPU minutes, paired differences."""
    names = [f"{s.upper()} {n or 'all'}" for s, n in COLUMNS]
    accuracy = md_table(
        ["model", *names],
        [[label, *_cells(runs, model, 0, _accuracy)] for label, model in ROWS],
    )
    cpu = md_table(
        ["CPU minutes per fit + predict (mean over the seeds)", *names],
        [
            [label.split(", ", 1)[1].removesuffix(" (new)")]
            + _cells(runs, model, 1, _cpu_minutes)
            for label, model in ROWS[2:]
        ],
    )
    return [accuracy, "", cpu, "", *_paired_lines(runs)]


def main():
    runs = load_runs(
        RESULTS / "transfer_text_runs.jsonl", RESULTS / "text_fewshot_runs.jsonl"
    )
    print("\n".join(tables(runs)))


if __name__ == "__main__":
    main()
