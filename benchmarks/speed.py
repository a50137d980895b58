"""Training and prediction speed: sk_mtl vs a hand-written PyTorch loop.

Same network (input -> 256 -> 256 -> one linear head per task, ReLU), same data
(50,000 x 100 synthetic rows), same optimizer (Adam, lr 1e-3) and the same loss
(sum of the per-task cross-entropies), at batch 128 and 1024, for 1 and 3 tasks,
with 1 and 2 torch threads. Columns: the hand-written loop over pre-made tensors
(the reference; it predicts in batches of 4096 rows), sk_mtl's
MultiTaskClassifier (whole ``fit`` / ``predict_proba`` calls, input validation
included, default ``predict_batch_size="auto"``), plain skorch's
NeuralNetClassifier (single task; its default per-row data path) and sklearn's
MLPClassifier (those two at 1 thread only). A second table gives fit and predict
throughput of sk_mtl's architectures (plain MLP, TabM, with and without numeric
embeddings) next to HistGradientBoosting (one model per task), at 1 thread.

The machine is shared and noisy, so the contenders run alternately inside one
process and the table reports the median over repeats of each throughput and of
the per-repeat ratio to the reference.

Run alone: ``python benchmarks/speed.py [--quick] [--threads 1,2]``.
"""

import argparse
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.multioutput import MultiOutputClassifier
from sklearn.neural_network import MLPClassifier
from torch import nn

from sk_mtl import MultiTaskClassifier
from sk_mtl.modules import MLP, MultiHeadNetwork

TITLE = "Speed: sk_mtl vs a hand-written PyTorch loop"
HIDDEN = (256, 256)
N_FEATURES = 100
# The hand-written loop predicts in batches of this many rows, whatever the
# training batch: what a user who tuned inference would write.
HAND_PREDICT_ROWS = 4096
# predict_proba calls per contender and repeat (alternating; median taken).
PREDICT_CALLS = 5
THREADS = (1, 2)
# Rows of the architecture table: name, MultiTaskClassifier parameters.
ARCHITECTURES = (
    ("MLP (shared bottom)", {}),
    ("MLP + piecewise-linear embeddings", {"numeric_embedding": "piecewise_linear"}),
    ("TabM, k=16", {"architecture": "tabm"}),
    (
        "TabM, k=16 + piecewise-linear embeddings",
        {"architecture": "tabm", "numeric_embedding": "piecewise_linear"},
    ),
)


def make_data(n_samples, n_tasks, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, N_FEATURES)).astype(np.float32)
    W = rng.normal(size=(N_FEATURES, n_tasks))
    Y = (X @ W + 0.5 * rng.normal(size=(n_samples, n_tasks)) > 0).astype(np.int64)
    return X, Y


def hand_written_fit(X, Y, batch_size, epochs, seed=0):
    """The reference: a plain PyTorch loop over pre-made tensors."""
    torch.manual_seed(seed)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    model = MultiHeadNetwork(MLP(X.shape[1], HIDDEN), [2] * Y.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(Xt), generator=gen)
        for start in range(0, len(Xt), batch_size):
            idx = perm[start : start + batch_size]
            xb, yb = Xt[idx], Yt[idx]
            out = model(xb)
            loss = sum(loss_fn(o, yb[:, t]) for t, o in enumerate(out))
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


def hand_written_predict(model, X, batch_size=HAND_PREDICT_ROWS):
    model.eval()
    Xt = torch.from_numpy(X)
    outs = []
    with torch.no_grad():
        for start in range(0, len(Xt), batch_size):
            outs.append(
                [torch.softmax(o, 1) for o in model(Xt[start : start + batch_size])]
            )
    return [torch.cat(o).numpy() for o in zip(*outs)]


def sk_mtl_model(batch_size, epochs):
    # The threads of the row being measured, as the hand-written loop gets.
    return MultiTaskClassifier(
        HIDDEN,
        dropout=0.0,
        batch_size=batch_size,
        max_epochs=epochs,
        n_threads=torch.get_num_threads(),
        random_state=0,
    )


def skorch_model(batch_size, epochs):
    from skorch import NeuralNetClassifier

    class Single(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = MultiHeadNetwork(MLP(N_FEATURES, HIDDEN), [2])

        def forward(self, X):
            return self.net(X)[0]

    torch.manual_seed(0)
    return NeuralNetClassifier(
        Single,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        batch_size=batch_size,
        max_epochs=epochs,
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
    )


def sklearn_model(batch_size, epochs):
    return MLPClassifier(
        HIDDEN, batch_size=batch_size, max_iter=epochs, random_state=0, tol=0.0
    )


def timed(fn, *args):
    """Wall seconds and CPU seconds of this process for ``fn(*args)``."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def timed_alternately(calls, n):
    """Median wall and CPU seconds of each named call, run alternately n times.

    A predict call lasts a fraction of a second: one hiccup of a shared machine
    would decide a single timing.
    """
    times = {name: [] for name, _, _ in calls}
    for _ in range(n):
        for name, fn, args in calls:
            times[name].append(timed(fn, *args))
    return {
        name: tuple(statistics.median(t[i] for t in ts) for i in (0, 1))
        for name, ts in times.items()
    }


def measure(n_samples, n_tasks, batch_size, epochs, repeats, with_others):
    """Samples/s of every contender, median over repeats, plus ratios.

    The hand-written loop and sk_mtl swap places on every repeat, so a load change
    on the shared machine does not always hit the same one.
    """
    X, Y = make_data(n_samples, n_tasks)
    y_single = Y[:, 0] if n_tasks == 1 else Y
    work = n_samples * epochs
    rates = {k: [] for k in ("hand", "sk_mtl", "skorch", "sklearn")}
    pred = {k: [] for k in ("hand", "sk_mtl", "skorch", "sklearn")}
    ratios = {"fit": [], "fit_cpu": [], "predict": [], "predict_cpu": []}
    hand_written_fit(X[:2048], Y[:2048], batch_size, 1)  # warm-up
    for repeat in range(repeats):
        ours = sk_mtl_model(batch_size, epochs)
        model = hand_written_fit(X, Y, batch_size, 1)
        runs = [
            ("hand", hand_written_fit, (X, Y, batch_size, epochs)),
            ("sk_mtl", ours.fit, (X, y_single)),
        ]
        preds = [
            ("hand", hand_written_predict, (model, X)),
            ("sk_mtl", ours.predict_proba, (X,)),
        ]
        order = 1 if repeat % 2 else -1
        fit_t = {name: timed(fn, *args) for name, fn, args in runs[::order]}
        pred_t = timed_alternately(preds[::order], PREDICT_CALLS)
        rates["hand"].append(work / fit_t["hand"][0])
        rates["sk_mtl"].append(work / fit_t["sk_mtl"][0])
        pred["hand"].append(n_samples / pred_t["hand"][0])
        pred["sk_mtl"].append(n_samples / pred_t["sk_mtl"][0])
        ratios["fit"].append(fit_t["hand"][0] / fit_t["sk_mtl"][0])
        ratios["fit_cpu"].append(fit_t["hand"][1] / fit_t["sk_mtl"][1])
        ratios["predict"].append(pred_t["hand"][0] / pred_t["sk_mtl"][0])
        ratios["predict_cpu"].append(pred_t["hand"][1] / pred_t["sk_mtl"][1])

        if with_others:
            sk = skorch_model(batch_size, epochs)
            rates["skorch"].append(work / timed(sk.fit, X, Y[:, 0])[0])
            pred["skorch"].append(n_samples / timed(sk.predict_proba, X)[0])
            mlp = sklearn_model(batch_size, epochs)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                rates["sklearn"].append(work / timed(mlp.fit, X, Y[:, 0])[0])
            pred["sklearn"].append(n_samples / timed(mlp.predict_proba, X)[0])
    med = {k: statistics.median(v) if v else None for k, v in rates.items()}
    med_pred = {k: statistics.median(v) if v else None for k, v in pred.items()}
    return {
        "fit": med,
        "predict": med_pred,
        **{f"{k}_ratio": statistics.median(v) for k, v in ratios.items()},
    }


def joint_vs_separate(n_samples, n_tasks, batch_size, epochs, repeats):
    """Wall time of one n-task model vs n single-task models (sk_mtl both)."""
    X, Y = make_data(n_samples, n_tasks)
    ratios = []
    for _ in range(repeats):
        t_joint = timed(sk_mtl_model(batch_size, epochs).fit, X, Y)[0]
        t_sep = sum(
            timed(sk_mtl_model(batch_size, epochs).fit, X, Y[:, t])[0]
            for t in range(n_tasks)
        )
        ratios.append(t_sep / t_joint)
    return statistics.median(ratios)


def architecture_rows(n_samples, n_tasks, epochs, repeats):
    """Fit and predict samples/s of each architecture and of HistGB (1 thread).

    sk_mtl: fixed epochs (no early stopping), samples x epochs / fit seconds;
    HistGradientBoosting: its defaults (early stopping above 10,000 rows), one
    model per task, rows / fit seconds.
    """
    X, Y = make_data(n_samples, n_tasks)
    rows = []
    for name, params in ARCHITECTURES:
        fit, pred = [], []
        for _ in range(repeats):
            model = MultiTaskClassifier(
                HIDDEN,
                dropout=0.0,
                max_epochs=epochs,
                early_stopping=False,
                n_threads=1,
                random_state=0,
                **params,
            )
            fit.append(n_samples * epochs / timed(model.fit, X, Y)[0])
            pred.append(n_samples / timed(model.predict_proba, X)[0])
        rows.append((name, statistics.median(fit), statistics.median(pred)))
    fit, pred = [], []
    for _ in range(repeats):
        hgb = MultiOutputClassifier(HistGradientBoostingClassifier(random_state=0))
        fit.append(n_samples / timed(hgb.fit, X, Y)[0])
        pred.append(n_samples / timed(hgb.predict_proba, X)[0])
    name = "HistGradientBoosting (one per task, its defaults)"
    rows.append((name, statistics.median(fit), statistics.median(pred)))
    return rows


def _architecture_lines(rows, n_samples, n_tasks, epochs, repeats):
    lines = [
        "",
        f"### Architectures ({n_samples:,} rows, {n_tasks} tasks, 1 thread)",
        "",
        f"`MultiTaskClassifier`, hidden units {'-'.join(map(str, HIDDEN))}, batch "
        f"128, {epochs} epochs (no early stopping): fit samples/s = rows x epochs / "
        "fit seconds. HistGradientBoosting: rows / fit seconds (its defaults, early "
        f"stopping included). Predict: rows / predict_proba seconds. Median of "
        f"{repeats} fits.",
        "",
        "| model | fit samples/s | predict samples/s |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {_fmt(f)} | {_fmt(p)} |" for name, f, p in rows]
    return lines


def _load(avg):
    return "/".join(f"{v:.1f}" for v in avg)


def _fmt(v):
    return "—" if v is None else f"{v:,.0f}"


def run(data_home=None, quick=False, out_dir=None, threads=THREADS):
    """Run the speed benchmark and return its markdown section."""
    n_samples = 20_000 if quick else 50_000
    epochs = 2 if quick else 3
    repeats = 3 if quick else 5
    started = time.perf_counter()
    load_before = os.getloadavg()
    rows = []
    default_threads = torch.get_num_threads()
    try:
        for n_threads in threads:
            torch.set_num_threads(n_threads)
            for n_tasks in (1, 3):
                for batch_size in (128, 1024):
                    others = n_tasks == 1 and n_threads == 1
                    r = measure(n_samples, n_tasks, batch_size, epochs, repeats, others)
                    rows.append((n_threads, n_tasks, batch_size, r))
        torch.set_num_threads(1)
        joint = joint_vs_separate(n_samples, 3, 1024, epochs, repeats)
        arch_n = 10_000 if quick else 50_000
        arch = architecture_rows(arch_n, 3, epochs, repeats)
    finally:
        torch.set_num_threads(default_threads)
    load_after = os.getloadavg()
    lines = [
        f"## {TITLE}",
        "",
        f"{n_samples:,} x {N_FEATURES} synthetic rows, network {N_FEATURES}-"
        f"{'-'.join(map(str, HIDDEN))}-heads, Adam, {epochs} epochs per fit; "
        f"median of {repeats} repeats in which the hand-written loop and sk_mtl "
        f"swap order; torch threads {', '.join(map(str, threads))} (column "
        f"*thr*). The hand-written loop predicts in batches of {HAND_PREDICT_ROWS:,} "
        'rows, sk_mtl with its default `predict_batch_size="auto"`. Throughput in '
        "samples/s (fit: samples x epochs / wall time of the whole fit call, input "
        f"validation included; predict: rows / wall time of predict_proba, median of "
        f"{PREDICT_CALLS} alternating calls per repeat). Ratios "
        "are medians of the per-repeat ratios of wall time, and in brackets of the "
        "process's CPU time, which a busy shared machine disturbs less.",
        "",
        "| thr | tasks | batch | fit: hand-written | fit: sk_mtl | **sk_mtl / hand** "
        "(CPU time) | fit: skorch | fit: sklearn MLP | predict: hand-written "
        "| predict: sk_mtl | **sk_mtl / hand** (CPU time) | predict: skorch "
        "| predict: sklearn MLP |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n_threads, n_tasks, bs, r in rows:
        f, p = r["fit"], r["predict"]
        cells = [
            n_threads,
            n_tasks,
            bs,
            _fmt(f["hand"]),
            _fmt(f["sk_mtl"]),
            f"**{r['fit_ratio']:.2f}x** ({r['fit_cpu_ratio']:.2f}x)",
            _fmt(f["skorch"]),
            _fmt(f["sklearn"]),
            _fmt(p["hand"]),
            _fmt(p["sk_mtl"]),
            f"**{r['predict_ratio']:.2f}x** ({r['predict_cpu_ratio']:.2f}x)",
            _fmt(p["skorch"]),
            _fmt(p["sklearn"]),
        ]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    ok = [r for r in rows if r[3]["predict_ratio"] >= 0.9]
    low = min(rows, key=lambda r: r[3]["predict_ratio"])
    lines += [
        "",
        f"Predict >= 0.9x the hand-written loop in {len(ok)} of {len(rows)} rows; "
        f"lowest {low[3]['predict_ratio']:.2f}x ({low[0]} thread(s), {low[1]} "
        f"task(s), batch {low[2]}).",
        "",
        f"One 3-task model vs three single-task models (sk_mtl, batch 1024, 1 "
        "thread): the "
        f"joint model trains **{joint:.2f}x** faster.",
        *_architecture_lines(arch, arch_n, 3, epochs, repeats),
        "",
        f"Targets (issue): fit >= 0.95x and predict >= 0.9x the hand-written loop. "
        f"Wall time of this section: {time.perf_counter() - started:.0f} s on "
        f"{platform.machine()} / {platform.processor() or 'cpu'}, Python "
        f"{platform.python_version()}, torch {torch.__version__}. Machine load "
        f"(1/5/15-min load average of {os.cpu_count()} cores, shared with other "
        f"jobs): {_load(load_before)} at the start, {_load(load_after)} at the "
        "end.",
        "",
    ]
    section = "\n".join(lines)
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        (Path(out_dir) / "speed.md").write_text(section)
    return section


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller, faster run")
    parser.add_argument("--out", default=None, help="folder for speed.md")
    parser.add_argument(
        "--threads", default="1,2", help="torch thread counts, comma-separated"
    )
    args = parser.parse_args(argv)
    threads = tuple(int(t) for t in args.threads.split(","))
    section = run(quick=args.quick, threads=threads)
    if args.out is not None:
        # The provenance line benchmarks/run.py writes, for a standalone run.
        argv = sys.argv[1:] if argv is None else argv
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        title, body = section.split("\n", 1)
        how = " (quick subset: 20,000 rows, 2 epochs, 3 repeats)" * args.quick
        command = " ".join(["python -m benchmarks.speed", *argv])
        meta = f"*Produced by `{command}`{how} on {stamp}.*"
        section = f"{title}\n\n{meta}\n{body}"
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "speed.md").write_text(section)
    print(section)


if __name__ == "__main__":
    sys.exit(main())
