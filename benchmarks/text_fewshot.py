"""Few-shot text: SetFit-style contrastive tuning vs fine-tuning vs frozen features.

CR and MR sentence polarity at N labelled sentences per class (default 8),
protocol of ``benchmarks/PROTOCOL.md`` (test split ``random_state=0``, few-shot
draw of seed s with ``benchmarks.datasets.few_shot_split``, models seeded with s,
seeds 0-4); accuracy on the test split (CR 1,132 sentences, MR 3,199), mean ± std
over the seeds, and the CPU minutes of one fit + predict (all threads of this
process, so a loaded machine inflates them less than wall time). Contenders:

- TF-IDF (1-2 grams) + LogisticRegression (C=1), the anchors' baseline;
- frozen all-MiniLM-L6-v2 + LogisticRegression (C=1): ``SentenceEncoder`` pipeline;
- fine-tune: ``TransferClassifier(unfreeze="all")``, head on cached embeddings for
  10 epochs, then the whole encoder for 10 (``benchmarks/transfer_text.py``'s recipe);
- contrastive: ``TransferClassifier(contrastive=True)``: the encoder tuned on 40
  pairs per sentence (SetFit's 20 iterations), batch 16, AdamW 2e-5 (SetFit's
  defaults), then a linear head on the tuned, frozen embeddings (20 epochs);
- contrastive+fine-tune (``--models``, not in the default run): the contrastive
  step at 5e-5, then the fine-tune recipe (head for 10 epochs, the whole encoder
  for 10 at 5e-5; for 2 on the whole training part, ``--sizes all``).

``--pairs N`` caps the contrastive pairs per fit (``contrastive_pairs``); at
``--sizes all`` the default 40 per sentence would be 105,000 pairs on CR.

``--sweep`` instead scores contrastive settings on CR without the test split: for
each seed a validation set of 500 sentences is drawn from CR's training part
(outside the few-shot sample), every setting is scored on it, and only the best
setting (highest mean validation accuracy) and the default are then scored on
the test split.

Run: ``PYTHONPATH=$PWD python -m benchmarks.text_fewshot [--sets cr mr] [--seeds 5]
[--sizes 8 64 all] [--models contrastive ...] [--pairs N] [--sweep]``,
or ``python -m benchmarks.run --only text_fewshot``.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from benchmarks.datasets import few_shot_split, get_data_home, load_sentence_polarity
from sk_mtl import TransferClassifier
from sk_mtl.text import SentenceEncoder

TITLE = "Few-shot text: contrastive tuning (SetFit-style) on CR and MR"
ENCODER = "all-MiniLM-L6-v2"
N_VALIDATION = 500
REFERENCES = (
    ("CR: TF-IDF + LogisticRegression (anchors, 5 seeds)", "0.575", "0.669"),
    ("CR: frozen MiniLM + LogisticRegression (anchors, 5 seeds)", "0.698", "0.766"),
    ("CR: published SetFit with MiniLM (other split, 10 seeds)", "0.716 ± 0.037", "—"),
    ("CR: fine-tuned TransferClassifier (issue 15, 5 seeds)", "0.742", "0.839"),
    ("CR: goal of issue 15", "≥ 0.78", "≥ 0.86"),
    ("MR: TF-IDF + LogisticRegression (anchors, 5 seeds)", "0.518", "0.581"),
    ("MR: frozen MiniLM + LogisticRegression (anchors, 5 seeds)", "0.607", "0.698"),
)


def contrastive(seed, **params):
    """``TransferClassifier(contrastive=True)`` with the benchmark's defaults."""
    params = {"reused_lr": 2e-5, "batch_size": 16, **params}
    return TransferClassifier(ENCODER, contrastive=True, random_state=seed, **params)


# Short names for ``--models``, in the order of ``contenders``; the default run
# leaves out the last (contrastive tuning, then the fine-tune recipe).
MODEL_KEYS = ("tfidf", "frozen", "fine-tune", "contrastive", "contrastive+fine-tune")
DEFAULT_MODELS = MODEL_KEYS[:4]


def contenders(seed, pairs=None, n_per_class=8):
    # contrastive+fine-tune on the whole training part: 2 encoder epochs, as in
    # transfer_text's recipe for "all" (10 would cost 19 CPU min per fit on CR).
    epochs = 12 if n_per_class is None else 20
    return {
        "TF-IDF (1-2 grams) + LogisticRegression": lambda: make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=2000)
        ),
        "frozen MiniLM + LogisticRegression": lambda: make_pipeline(
            SentenceEncoder(), LogisticRegression(max_iter=2000)
        ),
        "TransferClassifier, fine-tuned (unfreeze='all')": lambda: TransferClassifier(
            ENCODER,
            unfreeze="all",
            unfreeze_after=10,
            max_epochs=20,
            reused_lr=5e-5,
            batch_size=16,
            random_state=seed,
        ),
        "TransferClassifier, contrastive=True (ours)": lambda: contrastive(
            seed, contrastive_pairs=pairs
        ),
        "TransferClassifier, contrastive=True, then fine-tuned": lambda: contrastive(
            seed,
            contrastive_pairs=pairs,
            unfreeze="all",
            unfreeze_after=10,
            max_epochs=epochs,
            reused_lr=5e-5,  # the fine-tune recipe's; the sweep's best contrastive
        ),
    }


def selected(seed, models=DEFAULT_MODELS, pairs=None, n_per_class=8):
    """The contenders named by their ``MODEL_KEYS`` in ``models``."""
    named = dict(zip(MODEL_KEYS, contenders(seed, pairs, n_per_class).items()))
    return dict(named[key] for key in models)


def _timed(fn, *args):
    """``fn(*args)`` and the CPU minutes it took."""
    cpu = time.process_time()
    out = fn(*args)
    return out, (time.process_time() - cpu) / 60


def _fit_score(model, X_train, y_train, X_test, y_test):
    return model.fit(X_train, y_train).score(X_test, y_test)


def _log(tag, name, acc, minutes):
    print(
        f"  {tag} {name}: {acc:.3f} ({minutes:.1f} CPU min, "
        f"load {os.getloadavg()[0]:.1f})",
        flush=True,
    )


def measure(
    texts, y, n_per_class, seeds, tag="", models=DEFAULT_MODELS, pairs=None, runs=None
):
    """{contender: [(accuracy, CPU minutes) per seed]}; ``n_per_class=None``: all.

    With ``runs`` (a path), each fit is also appended to that JSON-lines file,
    which ``benchmarks._text_fewshot_report`` reads.
    """
    results = {}
    for seed in seeds:
        train, test = few_shot_split(y, n_per_class, seed)
        X_train, X_test = [texts[i] for i in train], [texts[i] for i in test]
        for name, make in selected(seed, models, pairs, n_per_class).items():
            acc, minutes = _timed(
                _fit_score, make(), X_train, y[train], X_test, y[test]
            )
            results.setdefault(name, []).append((acc, minutes))
            _log(f"{tag} N={n_per_class} seed={seed}", name, acc, minutes)
            if runs:
                _save_run(runs, tag, n_per_class, seed, name, acc, minutes)
    return results


def _save_run(path, tag, n_per_class, seed, name, acc, minutes):
    record = {"set": tag.lower(), "n_per_class": n_per_class, "seed": seed}
    record |= {"model": name, "accuracy": acc, "cpu_min": minutes}
    with open(path, "a") as f:
        f.write(json.dumps({**record, "load": os.getloadavg()[0]}) + "\n")


def _table(results):
    """Markdown rows ``| model | N=..: accuracy | CPU min | ...`` of ``{n: {..}}``."""
    sizes = sorted(results, key=lambda n: math.inf if n is None else n)
    head = " | ".join(f"N={n or 'all'}: accuracy | CPU min" for n in sizes)
    lines = [f"| model | {head} |", "|---|" + "---:|---:|" * len(sizes)]
    for name in results[sizes[0]]:
        cells = []
        for n in sizes:
            acc, minutes = np.array(results[n][name]).T
            cells += [f"{acc.mean():.3f} ± {acc.std():.3f}", f"{minutes.mean():.1f}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def report(all_results, seeds, loads):
    lines = [
        f"## {TITLE}",
        "",
        f"Seeds {list(seeds)}, accuracy mean ± std on the test split; CPU minutes "
        "per fit + predict (mean over the seeds). Load average (1 min) from "
        f"{min(loads):.1f} to {max(loads):.1f} on the shared 2-core machine.",
    ]
    for name, results in all_results.items():
        lines += ["", f"### {name.upper()}", "", *_table(results)]
    lines += [
        "",
        "References (not re-measured here): N=8 | N=64",
        "",
        "| reference | N=8 | N=64 |",
        "|---|---:|---:|",
        *[f"| {name} | {a} | {b} |" for name, a, b in REFERENCES],
    ]
    return "\n".join(lines) + "\n"


def _load(name, data_home):
    data = load_sentence_polarity(name, data_home)
    return data.data, np.asarray(data.target)


def run(
    data_home,
    quick,
    out_dir,
    sizes=(8,),
    n_seeds=5,
    sets=("cr", "mr"),
    models=DEFAULT_MODELS,
    pairs=None,
    first_seed=0,
    runs=None,
):
    seeds = range(first_seed, first_seed + (1 if quick else n_seeds))
    loads, results = [os.getloadavg()[0]], {}
    for name in sets:
        texts, y = _load(name, data_home)
        results[name] = {
            n: measure(texts, y, n, seeds, name.upper(), models, pairs, runs)
            for n in sizes
        }
        loads.append(os.getloadavg()[0])
    return report(results, seeds, loads)


# --- contrastive settings scored on a validation split (never the test split) ---

# name -> (TransferClassifier parameters, head): head "linear" is the estimator's
# own head; "logreg" fits LogisticRegression(C) on the tuned encoder's embeddings
# (SetFit's head), optionally L2-normalised.
SWEEP = {
    "default (2e-5, 40 pairs/sentence)": ({}, "linear"),
    "default body + LogisticRegression head": ({}, "logreg"),
    "reused_lr=5e-5": ({"reused_lr": 5e-5}, "linear"),
    "reused_lr=5e-5 + LogisticRegression head": ({"reused_lr": 5e-5}, "logreg"),
    "reused_lr=1e-4": ({"reused_lr": 1e-4}, "linear"),
    "reused_lr=1e-4 + LogisticRegression head": ({"reused_lr": 1e-4}, "logreg"),
    "contrastive_epochs=2": ({"contrastive_epochs": 2}, "linear"),
    "contrastive_epochs=2 + LogisticRegression head": (
        {"contrastive_epochs": 2},
        "logreg",
    ),
    "reused_lr=5e-5, contrastive_epochs=2": (
        {"reused_lr": 5e-5, "contrastive_epochs": 2},
        "linear",
    ),
    "reused_lr=5e-5, contrastive_epochs=2 + LogisticRegression head": (
        {"reused_lr": 5e-5, "contrastive_epochs": 2},
        "logreg",
    ),
}


def _embed(model, texts):
    """The tuned encoder's embeddings of ``texts`` (the head's input)."""
    source, base = model._source, model.module_.trunk.base
    return source.features(base, model.input_, texts, model._batch_rows())


def _scores(model, X_train, y_train, evaluations, head_kinds):
    """{head kind: [accuracy per evaluation set]} for one fitted model."""
    out = {}
    if "linear" in head_kinds:
        out["linear"] = [model.score(X, y) for X, y in evaluations]
    if "logreg" in head_kinds:
        head = LogisticRegression(max_iter=2000).fit(_embed(model, X_train), y_train)
        out["logreg"] = [head.score(_embed(model, X), y) for X, y in evaluations]
    return out


def _validation(y, train, test, seed):
    """N_VALIDATION rows of CR's training part outside the few-shot sample."""
    pool = np.setdiff1d(np.setdiff1d(np.arange(len(y)), test), train)
    return np.random.default_rng(1000 + seed).choice(pool, N_VALIDATION, replace=False)


def sweep(data_home, n_per_class=8, seeds=range(5), settings=SWEEP):
    """Validation accuracy of ``settings`` on CR, then test for the best one."""
    texts, y = _load("cr", data_home)
    bodies = {}
    for name, (params, head) in settings.items():
        bodies.setdefault(tuple(sorted(params.items())), []).append((name, head))
    val, minutes = {}, {}
    for seed in seeds:
        train, test = few_shot_split(y, n_per_class, seed)
        rows = _validation(y, train, test, seed)
        X_train, X_val = [texts[i] for i in train], [texts[i] for i in rows]
        for params, names in bodies.items():
            model, cpu = _timed(
                contrastive(seed, **dict(params)).fit, X_train, y[train]
            )
            scores = _scores(
                model, X_train, y[train], [(X_val, y[rows])], {h for _, h in names}
            )
            for name, head in names:
                val.setdefault(name, []).append(scores[head][0])
                minutes.setdefault(name, []).append(cpu)
                _log(f"CR sweep val seed={seed}", name, scores[head][0], cpu)
    return val, minutes


def sweep_test(data_home, names, n_per_class=8, seeds=range(5), settings=SWEEP):
    """Test accuracy of the settings ``names`` (the chosen one and the default)."""
    texts, y = _load("cr", data_home)
    out = {}
    for seed in seeds:
        train, test = few_shot_split(y, n_per_class, seed)
        X_train, X_test = [texts[i] for i in train], [texts[i] for i in test]
        for name in names:
            params, head = settings[name]
            model, cpu = _timed(contrastive(seed, **params).fit, X_train, y[train])
            acc = _scores(model, X_train, y[train], [(X_test, y[test])], {head})
            out.setdefault(name, []).append(acc[head][0])
            _log(f"CR sweep test seed={seed}", name, acc[head][0], cpu)
    return out


def _size(text):
    """``--sizes`` values: a count per class, or ``all`` (None)."""
    return None if text == "all" else int(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--seeds", type=int, default=5, help="how many seeds")
    parser.add_argument(
        "--first-seed",
        type=int,
        default=0,
        help="seeds first-seed, first-seed + 1, ...",
    )
    parser.add_argument(
        "--sizes", type=_size, nargs="+", default=[8], help="per class, or 'all'"
    )
    parser.add_argument(
        "--models", nargs="+", default=list(DEFAULT_MODELS), choices=MODEL_KEYS
    )
    parser.add_argument(
        "--pairs", type=int, default=None, help="contrastive_pairs (None: 40/row)"
    )
    parser.add_argument(
        "--runs", default=None, help="append each fit to this JSON-lines file"
    )
    parser.add_argument("--sets", nargs="+", default=["cr", "mr"], choices=["cr", "mr"])
    parser.add_argument(
        "--sweep", nargs="*", default=None, help="sweep these settings (none: all)"
    )
    parser.add_argument(
        "--test", nargs="+", default=None, help="sweep settings to test"
    )
    args = parser.parse_args(argv)
    from benchmarks._common import limit_threads

    limit_threads()
    data_home = str(get_data_home(args.data))
    cmd = "PYTHONPATH=$PWD python -m benchmarks.text_fewshot " + " ".join(sys.argv[1:])
    if args.test:
        test = sweep_test(data_home, args.test, args.sizes[0], range(args.seeds))
        for name, acc in test.items():
            print(f"| {name} | {np.mean(acc):.3f} ± {np.std(acc):.3f} |")
        return
    if args.sweep is not None:
        names = args.sweep or list(SWEEP)
        settings = {name: SWEEP[name] for name in names}
        val, minutes = sweep(data_home, args.sizes[0], range(args.seeds), settings)
        for name in val:
            v = np.array(val[name])
            print(
                f"| {name} | {v.mean():.3f} ± {v.std():.3f} | "
                f"{np.mean(minutes[name]):.1f} |"
            )
        return
    text = run(
        data_home,
        False,
        None,
        args.sizes,
        args.seeds,
        args.sets,
        args.models,
        args.pairs,
        args.first_seed,
        args.runs,
    )
    print(text + f"\n*Produced by `{cmd}`.*")


if __name__ == "__main__":
    main()
