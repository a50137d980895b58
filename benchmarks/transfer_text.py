"""What transfer buys on real text: sentence polarity of CR and MR.

Contenders, each at 8 and 64 labelled sentences per class and on the whole
training part:

- TF-IDF (1-2 grams) + LogisticRegression: C=1 few-shot, C by 5-fold CV on the
  whole training part (as in the reference baselines);
- frozen all-MiniLM-L6-v2 embeddings (``sk_mtl.text.SentenceEncoder``) +
  LogisticRegression, C=1: the reference "frozen encoder" baseline, re-measured;
- ``TransferClassifier("all-MiniLM-L6-v2")``: frozen encoder, new linear head
  (defaults: 20 epochs, Adam, lr 1e-2);
- ``TransferClassifier("all-MiniLM-L6-v2", unfreeze="all", ...)``: the head is
  trained first on the frozen (cached) embeddings, then the whole encoder is
  fine-tuned with a small learning rate;
- cold start: ``FineTuner(<the fitted transfer model>, start="cold")``, the same
  network (MiniLM architecture + head) from random weights, trained as long as the
  fine-tuned one.

Protocol (``benchmarks/PROTOCOL.md``): CR = custrev.pos then custrev.neg,
MR = rt-polarity.pos then .neg (latin-1, blank lines dropped); test split
``train_test_split(arange(n), test_size=0.3, stratify=y, random_state=0)``;
few-shot sample of seed s: ``rng = np.random.default_rng(s)``, then
``rng.choice(train_idx[y[train_idx] == c], N, replace=False)`` for c = 0 then 1
(``benchmarks.datasets.few_shot_split``). The models are seeded with ``random_state=s``
too. Accuracy on the test split, mean ± std over the seeds.

Run: ``python benchmarks/transfer_text.py [--data DIR] [--quick]``, or through the
runner, ``python -m benchmarks.run --only transfer_text`` (RESULTS.md section); the
data folder is ``--data``, else ``$SK_MTL_DATA``, else ``../shared/data``. Writes
``benchmarks/results/transfer_text_report.md``. Fine-tuning on the whole training
part is slow on a CPU; ``--full-seeds`` and ``--skip-full`` limit it, and the table
says what was not run. Every single run is appended to
``benchmarks/results/transfer_text_runs.jsonl`` as it finishes and reused by the next
invocation, so an interrupted run resumes; ``--fresh`` re-measures everything.
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import script_command
from benchmarks.datasets import few_shot_split, load_sentence_polarity
from sk_mtl import FineTuner, TransferClassifier

ENCODER = "all-MiniLM-L6-v2"

# Fine-tuning recipe (the same for every set and size): head-only epochs on the
# cached embeddings, then the whole encoder at a small learning rate.
FINE_TUNE = {
    "unfreeze": "all",
    "unfreeze_after": 10,
    "reused_lr": 5e-5,
    "lr": 1e-2,
    "batch_size": 16,
}
# Total epochs of the fine-tuned model (and of the cold start) by training size.
FINE_TUNE_EPOCHS = {8: 20, 64: 16, None: 12}

REFERENCES = {
    "cr": {
        "TF-IDF + LogisticRegression": (0.575, 0.669, 0.804),
        "frozen MiniLM + LogisticRegression": (0.698, 0.766, 0.818),
        "published SetFit with MiniLM (other split)": (0.716, None, None),
    },
    "mr": {
        "TF-IDF + LogisticRegression": (0.518, 0.581, 0.772),
        "frozen MiniLM + LogisticRegression": (0.607, 0.698, 0.767),
    },
}

TITLE = "Transfer on text: CR and MR sentence polarity"
RUNS_LOG = "transfer_text_runs.jsonl"
# MR's whole training part is 7,463 sentences: one encoder fine-tune (or cold
# start) takes about 13 minutes on one CPU thread, so `make bench` trains the
# encoder there on seeds 0-2 only (the report says so); the other contenders run
# all five seeds.
FULL_SEEDS = ["mr=3"]

CONTENDERS = (
    "TF-IDF (1-2 grams) + LogisticRegression",
    "frozen MiniLM + LogisticRegression (C=1)",
    "TransferClassifier, frozen encoder (ours)",
    "TransferClassifier, fine-tuned encoder (ours)",
    "cold start: same network, random weights",
)


def tfidf(n_per_class):
    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=2000)
    )
    if n_per_class is None:
        model = GridSearchCV(model, {"logisticregression__C": [0.1, 1, 10, 100]}, cv=5)
    return model


def make_model(name, n_per_class, seed, frozen):
    """A fresh, unfitted contender (``frozen``: a fitted transfer model, or None)."""
    epochs = FINE_TUNE_EPOCHS[n_per_class]
    if name == CONTENDERS[0]:
        return tfidf(n_per_class)
    if name == CONTENDERS[1]:
        return LogisticRegression(max_iter=2000)
    if name == CONTENDERS[2]:
        return TransferClassifier(ENCODER, random_state=seed)
    if name == CONTENDERS[3]:
        return TransferClassifier(
            ENCODER, max_epochs=epochs, random_state=seed, **FINE_TUNE
        )
    return FineTuner(
        frozen,
        start="cold",
        max_epochs=epochs - FINE_TUNE["unfreeze_after"],
        lr=1e-4,
        batch_size=FINE_TUNE["batch_size"],
        random_state=seed,
    )


class RunLog:
    """Results of single runs, appended to a JSON-lines file as they finish.

    A later invocation reuses the runs found there (same set, size, seed and
    contender) and only runs what is missing, so a long benchmark that was
    interrupted resumes where it stopped. ``--fresh`` starts over.
    """

    def __init__(self, path, fresh):
        self.path = Path(path)
        self.runs = {}
        if self.path.is_file() and not fresh:
            for line in self.path.read_text().splitlines():
                if line.strip():
                    run = json.loads(line)
                    self.runs[self.key(**run)] = run
        elif fresh and self.path.is_file():
            self.path.unlink()

    @staticmethod
    def key(set, n_per_class, seed, model, **_):  # noqa: A002
        return (set, n_per_class, seed, model)

    def get(self, *key):
        return self.runs.get(self.key(*key))

    def put(self, set_name, n_per_class, seed, model, **values):
        run = {
            "set": set_name,
            "n_per_class": n_per_class,
            "seed": seed,
            "model": model,
            **values,
        }
        self.runs[self.key(**run)] = run
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps(run) + "\n")


def run_size(
    log, set_name, texts, y, embeddings, n_per_class, seeds, contenders, run_seeds=None
):
    """{contender: ([accuracy per seed], [seconds per seed])} for one size.

    Runs missing from ``log`` are measured, for the seeds in ``run_seeds`` only
    (None = all), so that parallel invocations can split the seeds.
    """
    results = {name: ([], []) for name in contenders}
    for seed in seeds:
        train, test = few_shot_split(y, n_per_class, seed)
        X_train, X_test = [texts[i] for i in train], [texts[i] for i in test]
        frozen = None
        for name in contenders:
            done = log.get(set_name, n_per_class, seed, name)
            if done is None and run_seeds is not None and seed not in run_seeds:
                continue
            if done is None:
                if name == CONTENDERS[4] and frozen is None:
                    # Any fitted transfer model gives the cold start its
                    # architecture.
                    frozen = TransferClassifier(ENCODER, max_epochs=1).fit(
                        X_train, y[train]
                    )
                model = make_model(name, n_per_class, seed, frozen)
                Xa, Xb = (
                    (embeddings()[train], embeddings()[test])
                    if name == CONTENDERS[1]
                    else (X_train, X_test)
                )
                start = time.time()
                acc = model.fit(Xa, y[train]).score(Xb, y[test])
                done = {"accuracy": acc, "seconds": time.time() - start}
                log.put(set_name, n_per_class, seed, name, **done)
                if name == CONTENDERS[2]:
                    frozen = model
            results[name][0].append(done["accuracy"])
            results[name][1].append(done["seconds"])
            print(
                f"  {set_name} N={n_per_class} seed={seed} {name}: "
                f"{done['accuracy']:.3f} ({done['seconds']:.0f} s)",
                flush=True,
            )
    return results


def cell(values, n_seeds):
    if not values:
        return "not run"
    text = f"{np.mean(values):.3f} ± {np.std(values):.3f}"
    if len(values) < n_seeds:
        text += f" ({len(values)} seed{'s' if len(values) > 1 else ''})"
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="folder with sentence_polarity/")
    parser.add_argument("--sets", nargs="+", default=["cr", "mr"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--full-seeds",
        nargs="*",
        default=[],
        metavar="SET=N",
        help="seeds of the encoder-training contenders on the whole training part, "
        "per set (e.g. mr=1); default: all seeds",
    )
    parser.add_argument(
        "--skip-full",
        nargs="*",
        default=[],
        metavar="SET",
        help="sets whose whole-training-part runs train no encoder (too slow)",
    )
    parser.add_argument("--quick", action="store_true", help="CR, 2 seeds, N=8 only")
    parser.add_argument(
        "--runs",
        default=None,
        help="JSON-lines log of single runs, reused on restart (default: "
        "benchmarks/results/transfer_text_runs.jsonl)",
    )
    parser.add_argument("--fresh", action="store_true", help="ignore the runs log")
    parser.add_argument(
        "--run-seeds",
        nargs="*",
        type=int,
        default=None,
        help="measure missing runs of these seeds only (to split the work between "
        "parallel invocations sharing one --runs log); default: all",
    )
    parser.add_argument(
        "--out",
        default=str(Path(__file__).parent / "results" / "transfer_text_report.md"),
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # the shared 2-core machine: more threads only contend
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    data = args.data or os.environ.get("SK_MTL_DATA") or "../shared/data"
    sets = ["cr"] if args.quick else args.sets
    n_seeds = 2 if args.quick else args.seeds
    sizes = [8] if args.quick else [8, 64, None]
    full_seeds = {k: int(v) for k, v in (item.split("=") for item in args.full_seeds)}
    started = time.time()
    runs = args.runs or str(Path(__file__).parent / "results" / RUNS_LOG)
    log = RunLog(runs, args.fresh)
    run_seeds = args.run_seeds
    reused = len(log.runs)

    from sk_mtl.text import SentenceEncoder

    sections = []
    for name in sets:
        bunch = load_sentence_polarity(name, data)
        texts, y = list(bunch.data), bunch.target
        cache = {}

        def embeddings(texts=texts, name=name, cache=cache):
            """Frozen embeddings of every sentence, computed once when needed."""
            if "X" not in cache:
                t0 = time.time()
                cache["X"] = SentenceEncoder(ENCODER).fit_transform(texts)
                log.put(name, "embed", 0, "SentenceEncoder", seconds=time.time() - t0)
            return cache["X"]

        table = {c: {} for c in CONTENDERS}
        for n in sizes:
            seeds = list(range(n_seeds))
            contenders = list(CONTENDERS)
            results = run_size(
                log, name, texts, y, embeddings, n, seeds, contenders[:3], run_seeds
            )
            trains = contenders[3:]
            if n is None and name in args.skip_full:
                trains = []
            if trains:
                more_seeds = (
                    seeds[: full_seeds.get(name, n_seeds)] if n is None else seeds
                )
                results.update(
                    run_size(
                        log, name, texts, y, None, n, more_seeds, trains, run_seeds
                    )
                )
            for c in CONTENDERS:
                table[c][n] = results.get(c, ([], []))
        embedded = log.get(name, "embed", 0, "SentenceEncoder")
        embed_seconds = embedded["seconds"] if embedded else float("nan")
        sections.append((name, len(texts), embed_seconds, table))

    lines = [
        "# Transfer on text: CR and MR sentence polarity",
        "",
        "Produced by `benchmarks/transfer_text.py` (protocol in its docstring). "
        "Accuracy on the 30 % test split, mean ± std over seeds "
        f"0-{n_seeds - 1} (fewer where noted); N = labelled sentences per class, "
        "'all' = the whole 70 % training part. Fine-tuning recipe: "
        f"{FINE_TUNE}, epochs {FINE_TUNE_EPOCHS} (None = all). Cold start: same "
        "network from random weights, Adam lr 1e-4, as many encoder-training "
        "epochs.",
        "",
    ]
    head = ["8", "64", "all"][: len(sizes)]
    for name, n_texts, embed_seconds, table in sections:
        lines += [
            f"## {name.upper()} ({n_texts} sentences)",
            "",
            "| model | " + " | ".join(f"N={h}" for h in head) + " |",
            "|---" * (len(head) + 1) + "|",
        ]
        for c in CONTENDERS:
            cells = [cell(table[c][n][0], n_seeds) for n in sizes]
            lines.append(f"| {c} | " + " | ".join(cells) + " |")
        for ref, values in REFERENCES.get(name, {}).items():
            cells = ["—" if v is None else f"{v:.3f}" for v in values[: len(sizes)]]
            lines.append(f"| reference: {ref} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "Mean wall time per fit + test prediction, seconds:",
            "",
            "| model | " + " | ".join(f"N={h}" for h in head) + " |",
            "|---" * (len(head) + 1) + "|",
        ]
        for c in CONTENDERS:
            cells = [
                f"{np.mean(table[c][n][1]):.0f}" if table[c][n][1] else "—"
                for n in sizes
            ]
            lines.append(f"| {c} | " + " | ".join(cells) + " |")
        lines += [
            "",
            f"Embedding all {n_texts} sentences once (frozen baseline): "
            f"{embed_seconds:.0f} s.",
            "",
        ]
    command = script_command("transfer_text.py", argv)
    run_minutes = sum(r.get("seconds", 0) for r in log.runs.values()) / 60
    recovered = sum(bool(r.get("resumed_from_log")) for r in log.runs.values())
    lines += [
        f"Single runs: `{Path(runs).name}` ({len(log.runs)} runs; {reused} were reused "
        "from earlier invocations of this script"
        + (
            f", {recovered} of them recovered from the printed log of an invocation "
            "that the machine interrupted: accuracies exact, seconds rounded"
            if recovered
            else ""
        )
        + ").",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared), torch "
        f"{torch.__version__}, 1 thread. Command: `{command}`. Wall time of this "
        f"invocation: {(time.time() - started) / 60:.1f} min; the single runs "
        f"(embedding included) took {run_minutes:.0f} min in all.",
        "",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


def run(data_home, quick, out_dir):
    """Registry entry for ``benchmarks/run.py``: the report as a RESULTS.md section."""
    report = Path(out_dir) / "transfer_text_report.md"
    main(
        ["--data", str(data_home), "--out", str(report)]
        + ["--runs", str(Path(out_dir) / RUNS_LOG), "--full-seeds", *FULL_SEEDS]
        + (["--quick"] if quick else [])
    )
    body = report.read_text().split("\n", 1)[1].replace("\n## ", "\n### ")
    return f"## {TITLE}\n{body}"


if __name__ == "__main__":
    main()
