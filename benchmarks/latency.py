"""Serving latency: rows/s, median and p99 latency of predict_proba at batch 1-256.

Contenders, each fitted once on 2,000 synthetic rows (30 features, 3 binary
tasks) and then called on batches of held-out rows:

- sk_mtl ``MultiTaskClassifier`` with its defaults (shared-bottom MLP), the
  same with ``linear_blend=False`` (the network alone: on these linear
  synthetic tasks the default blend picks the linear model for every task,
  and a call then skips the network), the defaults with every task's blend
  weight set to 0.5 after the fit (``blend mixing``: the cost of a blend that
  mixes network and linear probabilities, as held-out rows choosing
  ``0 < w < 1`` give), the defaults fitted on the first 500 rows only
  (``fitted on 500 rows``: below 1,000 training rows ``n_bags="auto"`` fits 3
  cross-fitted members, so a call runs 3 networks, in one numpy pass up to 32
  rows; as fitted, with the networks alone, and with every member's blend
  mixing), and the networks alone of
  ``architecture="mmoe"`` and ``architecture="tabm"`` (when ``tabm`` is
  installed), all with ``n_threads="auto"`` (the default);
- the MLP's fitted torch module called by hand (``torch.inference_mode``, a
  float32 tensor of the rows as the model's input made them, prepared
  beforehand, in; logits out; torch's default threads);
- scikit-learn ``MLPClassifier`` with the same hidden layers on the same three
  tasks (multi-label) and ``HistGradientBoostingClassifier`` (first task only:
  it predicts one task);
- ``MultiTaskRegressor`` with its defaults fitted on 500 rows whose targets
  are the tasks' linear values before thresholding (3 cross-fitted members,
  as the classifier's), and scikit-learn ``MLPRegressor`` with the same hidden
  layers on all training rows: their ``predict`` (the only contenders not
  timed on ``predict_proba``);
- the sk_mtl defaults and HistGB (native categoricals) on the same rows as a
  DataFrame with two categorical columns beside the 30 numbers (the quintile
  of the first, the sign of the second times the third), called on such
  frames;
- a text ``TransferClassifier("all-MiniLM-L6-v2")`` (the encoder bundled with
  the package, no download) fitted on 300 synthetic one-line reviews of three
  classes (good / bad / average) and called on such lines. Its calls cost
  milliseconds, so it is timed on a quarter of the calls of the others.

Every contender lives in a worker process that fits it once and then answers
"time n calls at batch b" requests; the parent sends the requests in a rotating
order, so contenders (and, with ``--baseline DIR``, the same sk_mtl contenders
imported from another checkout, e.g. ``git worktree add "$BASE" <commit>``)
alternate within one run. A last table gives, per checkout, the time to first
prediction of a model saved with ``sk_mtl.save`` and loaded with ``sk_mtl.load``
in a fresh process (import, load, first one-row call, then the median of 50
more).

Run alone: ``python -m benchmarks.latency [--quick] [--baseline DIR]``;
writes ``benchmarks/results/latency.md``. CPU only: CUDA is untested here.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BATCHES = (1, 16, 256)
N_FEATURES, N_TASKS, N_TRAIN = 30, 3, 2000
HIDDEN = (128, 64)
TEXT = "sk_mtl text (MiniLM)"
NETWORK_ALONE = "sk_mtl MLP, network alone"
BLEND_MIXING = "sk_mtl MLP, blend mixing"
FRAME = "sk_mtl MLP, DataFrame"
SMALL_FIT = "sk_mtl MLP, fitted on 500 rows"
SMALL_NETWORKS = "sk_mtl MLP, fitted on 500 rows, network alone"
SMALL_MIXING = "sk_mtl MLP, fitted on 500 rows, blend mixing"
SMALL_FITS = {SMALL_FIT: {}, SMALL_NETWORKS: {"linear_blend": False}, SMALL_MIXING: {}}
SMALL_REGRESSOR = "sk_mtl MLP regressor, fitted on 500 rows"
HGB_FRAME = "HistGB (1 task), DataFrame"
SK_MTL = (
    "sk_mtl MLP",
    NETWORK_ALONE,
    BLEND_MIXING,
    *SMALL_FITS,
    SMALL_REGRESSOR,
    FRAME,
    "sk_mtl MMoE",
    "sk_mtl TabM",
    TEXT,
)
# Contenders timed on fewer calls per request (milliseconds per call).
SLOW = {TEXT: 4}
SUBJECTS = ("The battery", "This phone", "The screen", "The service", "The camera")
PHRASES = (
    ("is excellent", "works great", "is superb", "was fast"),
    ("is terrible", "broke quickly", "is awful", "was slow"),
    ("is okay", "is average", "was fine", "is acceptable"),
)
OTHERS = (
    "torch module by hand",
    "MLPClassifier",
    "MLPRegressor",
    "HistGB (1 task)",
    HGB_FRAME,
)


def make_data(n, seed, regression=False):
    """``n`` rows of X and of the tasks' targets: linear, binary (or the
    linear values themselves, ``regression``)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
    W = rng.normal(size=(N_FEATURES, N_TASKS))
    values = X @ W + 0.5 * rng.normal(size=(n, N_TASKS))
    return X, (values if regression else (values > 0).astype(int))


def as_frame(X):
    """X as a DataFrame, with two categorical columns beside its numbers: the
    quintile of the first column and the sign of the second times the third."""
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    bins = np.searchsorted(np.quantile(X[:, 0], [0.2, 0.4, 0.6, 0.8]), X[:, 0])
    frame["quintile"] = pd.Categorical(np.array(list("abcde"))[bins])
    frame["sign"] = pd.Categorical(np.where(X[:, 1] * X[:, 2] > 0, "pos", "neg"))
    return frame


def make_texts(n, seed):
    """``n`` one-line reviews and their class (0 good, 1 bad, 2 average)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(PHRASES), n)
    texts = [f"{rng.choice(SUBJECTS)} {rng.choice(PHRASES[c])}." for c in y]
    return texts, y


# ------------------------------------------------------------------ worker side
def _fit_mlp(epochs, params, needs_blend_option, X, Y):
    """A fitted ``MultiTaskClassifier``; a checkout without ``linear_blend``
    (which has no blend: its network always predicts alone) fits without it,
    except for the contender that exists to switch the blend off."""
    from sk_mtl import MultiTaskClassifier

    try:
        return MultiTaskClassifier(
            HIDDEN, max_epochs=epochs, random_state=0, **params
        ).fit(X, Y)
    except TypeError:
        if needs_blend_option or "linear_blend" not in params:
            raise
        params = {k: v for k, v in params.items() if k != "linear_blend"}
        return MultiTaskClassifier(
            HIDDEN, max_epochs=epochs, random_state=0, **params
        ).fit(X, Y)


def _fit_contenders(names, inputs):
    """name -> callable(X) for every contender this worker can run; ``inputs``
    gains the rows a contender reads instead of the raw rows (the by-hand
    module reads what the fitted model's input makes of them)."""
    import torch

    X, Y = make_data(N_TRAIN, 0)
    calls = {}
    kinds = {
        "sk_mtl MLP": {},
        NETWORK_ALONE: {"linear_blend": False},
        BLEND_MIXING: {},
        # the architectures' own cost: their networks alone
        "sk_mtl MMoE": {"architecture": "mmoe", "linear_blend": False},
        "sk_mtl TabM": {"architecture": "tabm", "linear_blend": False},
    }
    for name, params in kinds.items():
        if name not in names:
            continue
        try:
            # Latency does not depend on how well the model fits: few epochs
            # (TabM's epoch costs its members' passes).
            epochs = 1 if name == "sk_mtl TabM" else 3
            model = _fit_mlp(epochs, params, name == NETWORK_ALONE, X, Y)
        except (ImportError, ValueError, TypeError) as exc:
            # tabm missing; a baseline checkout without linear_blend
            print(f"skip {name}: {exc}", file=sys.stderr)
            continue
        if name == BLEND_MIXING:
            if "linear_coef_" not in vars(model):  # a checkout without the blend
                continue
            _mix_blends(model)
        calls[name] = model.predict_proba
        if name == "sk_mtl MLP":
            mlp = model
    for name in set(SMALL_FITS) & set(names):
        # the defaults below 1,000 training rows: 3 cross-fitted members
        # (n_bags="auto"; one network in a checkout from before it), as fitted,
        # networks alone, or with every member's blend mixing
        params = SMALL_FITS[name]
        model = _fit_mlp(3, params, name == SMALL_NETWORKS, X[:500], Y[:500])
        if name == SMALL_MIXING:
            _mix_blends(model)
        calls[name] = model.predict_proba
    calls.update(_regressors(names))
    if FRAME in names:
        model = _fit_mlp(3, {}, False, as_frame(X), Y)
        calls[FRAME], inputs[FRAME] = model.predict_proba, as_frame(inputs["raw"])
    if TEXT in names:
        try:
            from sk_mtl import TransferClassifier

            texts, y = make_texts(300, 0)
            text_model = TransferClassifier("all-MiniLM-L6-v2", random_state=0)
            calls[TEXT] = text_model.fit(texts, y).predict_proba
        except ImportError as exc:  # the text extra missing
            print(f"skip {TEXT}: {exc}", file=sys.stderr)
    if "torch module by hand" in names:
        module = mlp.module_

        def by_hand(Xb):
            with torch.inference_mode():
                return module(torch.from_numpy(Xb))

        calls["torch module by hand"] = by_hand
        inputs["torch module by hand"] = mlp.input_.transform(inputs["raw"], mlp)
    if "MLPClassifier" in names:
        import warnings

        from sklearn.neural_network import MLPClassifier

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk = MLPClassifier(HIDDEN, max_iter=3, random_state=0).fit(X, Y)
        calls["MLPClassifier"] = sk.predict_proba
    if "HistGB (1 task)" in names:
        from sklearn.ensemble import HistGradientBoostingClassifier

        hgb = HistGradientBoostingClassifier(random_state=0).fit(X, Y[:, 0])
        calls["HistGB (1 task)"] = hgb.predict_proba
    if HGB_FRAME in names:
        from sklearn.ensemble import HistGradientBoostingClassifier

        hgb = HistGradientBoostingClassifier(
            categorical_features="from_dtype", random_state=0
        ).fit(as_frame(X), Y[:, 0])
        calls[HGB_FRAME], inputs[HGB_FRAME] = hgb.predict_proba, as_frame(inputs["raw"])
    if "save" in names:
        import sk_mtl

        path = Path(names["save"])
        sk_mtl.save(mlp, path)
    return calls


def _mix_blends(model):
    """Every task of ``model`` (of each member of a bagged one) mixes network
    and linear probabilities half and half: what data whose held-out rows
    choose ``0 < w < 1`` gives."""
    for member in vars(model).get("estimators_", [model]):
        weights = member.linear_blend_weights_
        member.linear_blend_weights_ = weights * 0 + 0.5


def _regressors(names):
    """The defaults of ``MultiTaskRegressor`` fitted on 500 rows (3 members)
    and ``MLPRegressor``: their ``predict``."""
    import warnings

    from sklearn.neural_network import MLPRegressor

    from sk_mtl import MultiTaskRegressor

    X, Y = make_data(N_TRAIN, 0, regression=True)
    calls = {}
    if SMALL_REGRESSOR in names:
        model = MultiTaskRegressor(HIDDEN, max_epochs=3, random_state=0)
        calls[SMALL_REGRESSOR] = model.fit(X[:500], Y[:500]).predict
    if "MLPRegressor" in names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk = MLPRegressor(hidden_layer_sizes=HIDDEN, max_iter=3, random_state=0)
            sk.fit(X, Y)
        calls["MLPRegressor"] = sk.predict
    return calls


def worker(root, names):
    """Fit, then answer ``name batch n_calls`` lines with per-call seconds."""
    sys.path.insert(0, root)
    X, _ = make_data(4096, 1)
    inputs = {TEXT: make_texts(4096, 1)[0], "raw": X}
    calls = _fit_contenders(names, inputs)
    print(json.dumps({"ready": sorted(calls)}), flush=True)
    for line in sys.stdin:
        name, batch, n = line.split("\t")
        batch, n = int(batch), int(n)
        f, rows = calls[name], inputs.get(name, X)
        times = []
        for i in range(n):
            start = (i * batch) % (len(rows) - batch)
            Xb = rows[start : start + batch]
            t = time.perf_counter()
            f(Xb)
            times.append(time.perf_counter() - t)
        print(json.dumps(times), flush=True)


def first_prediction(root, path):
    """Import, load and first call of a saved model in a fresh process."""
    code = f"""
import sys, time, json
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
import numpy as np, sk_mtl
t1 = time.perf_counter()
model = sk_mtl.load({str(path)!r})
t2 = time.perf_counter()
x = np.random.default_rng(2).normal(size=(1, {N_FEATURES})).astype(np.float32)
model.predict_proba(x)
t3 = time.perf_counter()
times = []
for _ in range(50):
    s = time.perf_counter()
    model.predict_proba(x)
    times.append(time.perf_counter() - s)
import statistics
print(json.dumps([t1 - t0, t2 - t1, t3 - t2, statistics.median(times)]))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ parent side
class Worker:
    def __init__(self, label, root, names):
        self.label = label
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", root, json.dumps(names)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.names = json.loads(self.proc.stdout.readline())["ready"]

    def time(self, name, batch, n):
        self.proc.stdin.write(f"{name}\t{batch}\t{n}\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def measure(workers, rounds, n_calls):
    jobs = [
        (w, name, b) for w in workers for name in w.names for b in BATCHES
    ]  # every (checkout, contender, batch)
    times = {(w.label, name, b): [] for w, name, b in jobs}
    loads = []
    for r in range(rounds):
        shift = r % len(jobs)
        for w, name, b in jobs[shift:] + jobs[:shift]:
            loads.append(os.getloadavg()[0])
            n = max(5, n_calls // SLOW.get(name, 1))
            times[(w.label, name, b)] += w.time(name, b, n)[2:]  # 2 warm-up
    return times, loads


def latency_table(times):
    rows = []
    for (label, name, b), ts in times.items():
        med = statistics.median(ts)
        p99 = sorted(ts)[min(len(ts) - 1, int(0.99 * len(ts)))]
        rows.append(
            [
                f"{name} ({label})" if label != "this" else name,
                b,
                f"{med * 1e6:,.0f}",
                f"{p99 * 1e6:,.0f}",
                f"{b * len(ts) / sum(ts):,.0f}",
            ]
        )
    return rows


def ratio_lines(times):
    """The sk_mtl MLPs' medians over MLPClassifier's (on a DataFrame, over
    HistGB's on it) and over the baseline's."""
    med = {k: statistics.median(v) for k, v in times.items()}
    lines = []
    mlps = ("sk_mtl MLP", NETWORK_ALONE, BLEND_MIXING, *SMALL_FITS)
    pairs = [(n, "MLPClassifier") for n in mlps]
    pairs.append((SMALL_REGRESSOR, "MLPRegressor"))
    for b in BATCHES:
        for name, other in [*pairs, (FRAME, HGB_FRAME)]:
            ref = med.get(("this", other, b))
            base = med.get(("baseline", name, b))
            ours = med.get(("this", name, b))
            if ours and ref:
                text = f"- batch {b}: {name} / {other} = {ours / ref:.2f}x"
                if base:
                    text += f"; baseline / this = {base / ours:.1f}x"
                lines.append(text)
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about a minute")
    parser.add_argument("--baseline", help="another checkout's root, compared")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker[0], json.loads(args.worker[1]))
    rounds, n_calls = (3, 34) if args.quick else (10, 102)
    tmp = Path(tempfile.mkdtemp())
    checkouts = [("this", str(ROOT))]
    if args.baseline:
        checkouts.append(("baseline", str(Path(args.baseline).resolve())))
    start = time.perf_counter()
    workers = []
    for label, root in checkouts:
        names = {n: 1 for n in SK_MTL + (OTHERS if label == "this" else ())}
        names["save"] = str(tmp / f"{label}.skmtl")
        workers.append(Worker(label, root, names))
    try:
        times, loads = measure(workers, rounds, n_calls)
    finally:
        for w in workers:
            w.close()
    first = {
        label: first_prediction(root, tmp / f"{label}.skmtl")
        for label, root in checkouts
    }
    report(args, times, loads, first, time.perf_counter() - start)


def report(args, times, loads, first, wall):
    sys.path.insert(0, str(ROOT))
    from benchmarks._common import RESULTS_DIR, md_table

    command = "python -m benchmarks.latency" + (" --quick" if args.quick else "")
    if args.baseline:
        command += " --baseline <checkout of the base commit>"
    n = len(times[("this", "MLPClassifier", 1)])
    n_text = len(times.get(("this", TEXT, 1), ()))
    lines = [
        "# Serving latency of predict_proba",
        "",
        f"Produced by `{command}` in {wall / 60:.1f} min, "
        f"{time.strftime('%Y-%m-%d')}, CPU only ({os.cpu_count()} cores; CUDA "
        f"untested). {n} calls per contender and batch ({n_text} for the text "
        "model), contenders alternating; "
        f"1-minute load average {min(loads):.1f}–{max(loads):.1f} during the "
        "measurements. Latency in microseconds; rows/s = rows / total time.",
        "",
        md_table(
            ["contender", "batch", "median (us)", "p99 (us)", "rows/s"],
            latency_table(times),
        ),
        "",
        *ratio_lines(times),
        "",
        "## A saved model in a fresh process",
        "",
        md_table(
            [
                "checkout",
                "import (s)",
                "sk_mtl.load (s)",
                "first call (ms)",
                "next calls, median (us)",
            ],
            [
                [label, f"{a:.2f}", f"{b:.3f}", f"{c * 1e3:.1f}", f"{d * 1e6:.0f}"]
                for label, (a, b, c, d) in first.items()
            ],
        ),
        "",
    ]
    path = RESULTS_DIR / "latency.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"Wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
