"""TREC with the text encoder fine-tuned: coarse + fine jointly, per label, frozen.

``TransferClassifier("all-MiniLM-L6-v2", unfreeze="all")`` fine-tunes the bundled
encoder on the 5,452 TREC training questions; accuracy on the 500 test questions:

1. ``joint``: one model, the encoder fine-tuned on both labels (``y`` with two
   columns, one head per label);
2. ``per_label``: one fine-tuned model per label (two encoders);
3. ``frozen``: the frozen encoder (``TransferClassifier`` defaults), both labels.

Recipe: ``benchmarks/transfer_text.py``'s fine-tuning recipe (head-only epochs on
the cached embeddings at lr 1e-2, then the whole encoder at ``reused_lr``, batch
16). The encoder's learning rate (``REUSED_LRS``) and its number of epochs (up to
``MAX_TUNE_EPOCHS``) are chosen on a held-out 15 % of the training questions (seed
0, joint model, never the test set): one run per learning rate, scored on the
held-out questions after each fine-tuning epoch. Without a learning-rate schedule
the first k epochs of a longer run are exactly the k-epoch run, so each run gives
every epoch count up to its own. Near-ties (``TIE``) go to the fewest epochs.

Every fitted model's result is appended to ``benchmarks/_cache/trec_finetune.jsonl``
as it finishes: ``--resume`` reuses them (an interrupted run continues), and
``--report-only`` writes the report from them without training.

Run from the repository root::

    python -m benchmarks.trec_finetune --data ../shared/data [--quick]
        [--seeds 0 1 2] [--rows joint per_label frozen] [--resume] [--report-only]

or through the runner, ``python -m benchmarks.run --only trec_finetune``.
"""

import argparse
import copy
import json
import os
import shlex
import sys
import time
from contextlib import contextmanager

import numpy as np
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from skorch.callbacks import Callback

from sk_mtl import TransferClassifier
from sk_mtl.modules import MultiHeadNetwork

from ._common import RESULTS_DIR, SEEDS, Records, limit_threads
from ._trec_finetune_report import TITLE, report
from .datasets import get_data_home, load_trec
from .transfer_text import ENCODER, FINE_TUNE
from .trec_mtl import TASKS, _consistency

NAME = "trec_finetune"
DEFAULT = False  # about an hour on one CPU thread; run it with --only

ROWS = ("joint", "per_label", "frozen")
HOLD_OUT = 0.15
# The encoder's learning rates tried, each for up to MAX_TUNE_EPOCHS epochs.
REUSED_LRS = (5e-5,)
MAX_TUNE_EPOCHS = 2
HEAD_EPOCHS = FINE_TUNE["unfreeze_after"]
# Near-ties on the held-out questions (0.005: about 4 of 818) go to the fewest
# epochs: each fine-tuning epoch costs minutes per model on a CPU.
TIE = 0.005
QUICK = {"n_train": 300, "n_test": 100, "head_epochs": 2, "lrs": (5e-5,), "epochs": 1}


@contextmanager
def _clock():
    """Wall and CPU seconds of the block (``spent["wall_s"]``, ``spent["cpu_s"]``)."""
    wall, cpu, load = time.perf_counter(), time.process_time(), os.getloadavg()[0]
    spent = {}
    yield spent
    spent["wall_s"] = time.perf_counter() - wall
    spent["cpu_s"] = time.process_time() - cpu
    spent["load"] = [load, os.getloadavg()[0]]


def _fine_tuned(seed, reused_lr, tune_epochs, head_epochs, callbacks=None):
    options = {**FINE_TUNE, "unfreeze_after": head_epochs, "reused_lr": reused_lr}
    return TransferClassifier(
        ENCODER,
        max_epochs=head_epochs + tune_epochs,
        callbacks=callbacks,
        random_state=seed,
        **options,
    )


class _HeldOutCurve(Callback):
    """Held-out accuracy of every task after each fine-tuning epoch.

    The estimator deep-copies its callbacks; this one is shared instead, so that
    it can score with the estimator being fitted (``owner``).
    """

    def __init__(self, X, Y):
        self.X, self.Y, self.owner, self.scores = X, Y, None, []

    def __deepcopy__(self, memo):
        return self

    def on_epoch_end(self, net, **kwargs):
        if not isinstance(net.module_, MultiHeadNetwork):
            return  # the head phase: the encoder is still frozen
        self.owner.module_ = net.module_  # the network as it is now
        pred = self.owner.predict(self.X)
        self.scores.append(
            [accuracy_score(self.Y[t], pred[:, j]) for j, t in enumerate(TASKS)]
        )


def _select(texts, Y, settings, log):
    """{reused_lr: [[coarse, fine] held-out accuracy after each epoch]} on seed 0."""
    fit_idx, hold_idx = train_test_split(
        np.arange(len(texts)), test_size=HOLD_OUT, random_state=0, stratify=Y["coarse"]
    )
    held = [texts[i] for i in hold_idx]
    curves = {}
    for lr in settings["lrs"]:
        done = log.get(stage="select", reused_lr=lr)
        if done is None:
            curve = _HeldOutCurve(held, Y.iloc[hold_idx].reset_index(drop=True))
            model = _fine_tuned(
                0, lr, settings["epochs"], settings["head_epochs"], [curve]
            )
            curve.owner = model
            with _clock() as spent:
                model.fit([texts[i] for i in fit_idx], Y.iloc[fit_idx])
            done = log.add(
                {"scores": curve.scores, "n_fit": len(fit_idx), **spent},
                stage="select",
                reused_lr=lr,
            )
            print(f"  select reused_lr={lr}: {done['scores']}", flush=True)
        curves[lr] = done
    return curves


def _best(curves):
    """The (reused_lr, epochs) to use: the fewest epochs whose mean held-out
    accuracy is within ``TIE`` of the best (the cheaper of near-ties)."""
    candidates = [
        (float(np.mean(scores)), epoch, lr)
        for lr, done in curves.items()
        for epoch, scores in enumerate(done["scores"], start=1)
    ]
    best = max(score for score, _, _ in candidates)
    near = [
        (epoch, -score, lr) for score, epoch, lr in candidates if score >= best - TIE
    ]
    epochs, _, lr = min(near)
    return lr, epochs


def _fit_predict(models, texts_train, Y_train, texts_test):
    """Fit each ``(task or None, model)`` and predict the test set: (pred, spent)."""
    preds = {}
    with _clock() as spent:
        for task, model in models:
            if task is None:
                pred = model.fit(texts_train, Y_train).predict(texts_test)
                preds.update({t: pred[:, j] for j, t in enumerate(TASKS)})
            else:
                model.fit(texts_train, Y_train[task])
                preds[task] = model.predict(texts_test)
    return preds, spent


def _models(row, seed, recipe):
    if row == "frozen":
        return [(None, TransferClassifier(ENCODER, random_state=seed))]
    args = (seed, recipe["reused_lr"], recipe["epochs"], recipe["head_epochs"])
    if row == "joint":
        return [(None, _fine_tuned(*args))]
    return [(task, _fine_tuned(*args)) for task in TASKS]


def _evaluate(trec, rows, seeds, recipe, log):
    """Fit and score every (seed, row) missing from ``log``; seed-major order."""
    for seed in seeds:
        for row in rows:
            if log.get(stage="test", row=row, seed=seed) is not None:
                continue
            preds, spent = _fit_predict(
                _models(row, seed, recipe),
                trec.data_train,
                trec.target_train,
                trec.data_test,
            )
            Y = trec.target_test
            record = {t: accuracy_score(Y[t], preds[t]) for t in TASKS}
            record["agree"] = _consistency(preds["coarse"], preds["fine"])
            log.add(
                {**record, **spent, "recipe": recipe}, stage="test", row=row, seed=seed
            )
            print(
                f"  seed {seed} {row}: coarse {record['coarse']:.3f}, fine "
                f"{record['fine']:.3f}, {spent['wall_s'] / 60:.1f} min",
                flush=True,
            )


def _subset(trec, settings, seed=0):
    """The quick path's few hundred questions (random, seeded)."""
    rng = np.random.default_rng(seed)
    out = copy.copy(trec)
    for part, n in (("train", settings["n_train"]), ("test", settings["n_test"])):
        idx = np.sort(rng.choice(len(trec[f"data_{part}"]), n, replace=False))
        out[f"data_{part}"] = [trec[f"data_{part}"][i] for i in idx]
        out[f"target_{part}"] = trec[f"target_{part}"].iloc[idx].reset_index(drop=True)
    return out


def _settings(quick):
    if quick:
        return dict(QUICK)
    return {
        "n_train": None,
        "n_test": None,
        "head_epochs": HEAD_EPOCHS,
        "lrs": REUSED_LRS,
        "epochs": MAX_TUNE_EPOCHS,
    }


def _logged(log, stage):
    """``[(key, record)]`` of one stage of the log (key: dict without the stage)."""
    out = []
    for key, record in log.done.items():
        key = json.loads(key)
        if key.pop("stage") == stage:
            out.append((key, record))
    return out


def benchmark(data_home, quick, out_dir, seeds=SEEDS, rows=ROWS, train=True):
    """Train what the log lacks (unless ``train`` is False); the markdown section."""
    settings = _settings(quick)
    trec = load_trec(data_home)
    if quick:
        trec, seeds = _subset(trec, settings), seeds[:1]
    log = Records(NAME, quick, settings)
    load_start = os.getloadavg()
    if train:
        curves = _select(trec.data_train, trec.target_train, settings, log)
    else:
        curves = {key["reused_lr"]: rec for key, rec in _logged(log, "select")}
    recipe = None
    if curves:
        lr, epochs = _best(curves)
        recipe = {**settings, "reused_lr": lr, "epochs": epochs, "tie": TIE}
        recipe.update(n_train=len(trec.data_train), n_test=len(trec.data_test))
        if train:
            _evaluate(trec, rows, seeds, recipe, log)
    return report(
        [{**key, **rec} for key, rec in _logged(log, "test")],
        curves,
        recipe,
        {"start": load_start, "end": os.getloadavg()},
        out_dir,
    )


def run(data_home, quick, out_dir):
    """Registry entry for ``benchmarks/run.py``: the markdown section."""
    return benchmark(data_home, quick, out_dir)


def _write(section, argv, quick, wall, report_only):
    """Write the section as ``benchmarks/run.py`` does (quick: under _cache)."""
    from .run import QUICK_DIR, timestamp, write_section

    out_dir = QUICK_DIR / "results" if quick else RESULTS_DIR
    stamp = timestamp()
    command = "python -m benchmarks.trec_finetune" + "".join(
        " " + shlex.quote(a) for a in argv
    )
    how = f"Produced by `{command}` in {wall / 60:.1f} min on {stamp}"
    if report_only:
        how = (
            f"Written on {stamp} by `{command}` from the per-model results that "
            "earlier invocations of `python -m benchmarks.trec_finetune` logged "
            "in `benchmarks/_cache/trec_finetune.jsonl` (per seed in "
            "`trec_finetune.csv`)"
        )
    print(f"wrote {write_section(out_dir, NAME, section, how)}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.trec_finetune", description=TITLE
    )
    parser.add_argument("--data", default=None, help="data folder (../shared/data)")
    parser.add_argument(
        "--quick", action="store_true", help="300 + 100 questions, seed 0"
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--rows", nargs="+", choices=ROWS, default=list(ROWS))
    parser.add_argument(
        "--resume", action="store_true", help="reuse the results logged earlier"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="train nothing: write the report from the logged results",
    )
    args = parser.parse_args(argv)
    limit_threads(1)
    if args.resume or args.report_only:
        os.environ["SK_MTL_BENCH_RESUME"] = "1"
    from .run import QUICK_DIR

    out_dir = QUICK_DIR / "results" if args.quick else RESULTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    section = benchmark(
        get_data_home(args.data),
        args.quick,
        out_dir,
        tuple(args.seeds),
        args.rows,
        train=not args.report_only,
    )
    _write(section, argv, args.quick, time.perf_counter() - start, args.report_only)


if __name__ == "__main__":
    main()
