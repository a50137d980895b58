"""Torch intra-op threads: 1 vs 2 vs "auto", on a quiet and on a loaded machine.

The study behind ``n_threads="auto"``. Each workload is fitted with
``sk_mtl.MultiTaskClassifier(n_threads=<contender>)`` (``fit``, then
``predict_proba`` on the training rows, median of 3 calls, and on their first
128 rows, median of 21 calls) at 1 thread, 2 threads and "auto", which
the estimator resolves itself at each call
(:func:`sk_mtl._runtime._threads.resolve_n_threads`, with the load of other
processes measured between calls); the threads each call really used are
recorded (a callback in fit, a forward hook in predict).

Workloads: (a) the digits demo-like fit (1,797 x 64, 3 tasks, hidden (128, 64),
30 epochs); (b) 50,000 x 100 synthetic rows, 2 tasks, hidden (256, 256), batch
128 and 1024; (c) a grid of widths x batch sizes to locate where 2 threads start
to beat 1. Everything runs twice: on the machine as it is ("quiet") and with one
CPU-burning process started by this script ("loaded"). Contenders alternate
within each repeat (rotating order); tables give medians, auto's ratio to the
best fixed count (quiet) or to 1 thread (loaded), and the 1-minute load average
at the time of the measurements.

Run alone: ``python -m benchmarks.threads [--quick]`` (about 10 / 2-3 minutes on
an otherwise idle 2-core machine, longer when other jobs load it); writes
``benchmarks/results/threads.md`` (quick: ``benchmarks/_cache/threads_quick.md``).
CPU only: CUDA is untested here.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from skorch.callbacks import Callback  # noqa: E402

from benchmarks._common import (  # noqa: E402
    CACHE_DIR,
    RESULTS_DIR,
    md_table,
    script_command,
)
from sk_mtl import MultiTaskClassifier  # noqa: E402
from sk_mtl._runtime._threads import (  # noqa: E402
    IDLE_BELOW,
    MIN_WORK_PER_THREAD,
    MIN_WORK_PER_THREAD_SHARED,
    available_cores,
)

CONTENDERS = (1, 2, "auto")
HEADINGS = {
    "quiet": "## Quiet: no burner (other jobs' load as the load column shows)",
    "loaded": "## Loaded: plus one CPU-burning process",
}


def n_parameters(n_in, hidden, n_outputs):
    """Weights and biases of the shared-bottom MLP with all heads' outputs."""
    sizes = [n_in, *hidden, n_outputs]
    return sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))


def digits_workload(quick):
    X, digit = load_digits(return_X_y=True)
    Y = pd.DataFrame(
        {"digit": digit, "parity": digit % 2, "ge5": (digit >= 5).astype(int)}
    )
    epochs = 10 if quick else 30
    return dict(
        name=f"(a) digits 1797x64, (128, 64), batch 128, {epochs} ep",
        X=(X / 16).astype(np.float32),
        Y=Y,
        hidden=(128, 64),
        batch_size=128,
        max_epochs=epochs,
        n_outputs=10 + 2 + 2,
    )


def synthetic_data(n_rows, n_features=100, n_tasks=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features)).astype(np.float32)
    W = rng.normal(size=(n_features, n_tasks))
    return X, (X @ W + 0.5 * rng.normal(size=(n_rows, n_tasks)) > 0).astype(int)


def synthetic_workloads(quick):
    n_rows, epochs = (10_000, 1) if quick else (50_000, 2)
    X, Y = synthetic_data(n_rows)
    return [
        dict(
            name=f"(b) synthetic {n_rows}x100, (256, 256), batch {bs}, {epochs} ep",
            X=X,
            Y=Y,
            hidden=(256, 256),
            batch_size=bs,
            max_epochs=epochs,
            n_outputs=4,
        )
        for bs in (128, 1024)
    ]


def grid_workloads(quick):
    widths = (32, 128, 512) if quick else (32, 64, 128, 256, 512)
    batches = (64, 1024) if quick else (64, 256, 1024)
    n_batches = 16 if quick else 24  # rows per fit = n_batches * batch_size
    return [
        dict(
            name=f"(c) width {w}x2, batch {bs}",
            X=(data := synthetic_data(n_batches * bs))[0],
            Y=data[1],
            hidden=(w, w),
            batch_size=bs,
            max_epochs=2,
            n_outputs=4,
        )
        for w in widths
        for bs in batches
    ]


def work_per_batch(w):
    return w["batch_size"] * n_parameters(w["X"].shape[1], w["hidden"], w["n_outputs"])


class _ThreadRecorder(Callback):
    """Records torch's thread count inside each training epoch."""

    def on_epoch_end(self, net, **kwargs):
        net.history.record("torch_threads", torch.get_num_threads())


def time_once(w, contender):
    """Seconds of fit and of predict_proba, and the threads each one used.

    The contender is the estimator's own ``n_threads``: the estimator resolves
    and applies it (for "auto", at each call).
    """
    model = MultiTaskClassifier(
        w["hidden"],
        batch_size=w["batch_size"],
        max_epochs=w["max_epochs"],
        # The network's threads are measured: no linear blend (on these linear
        # tasks it could take every task's predictions from the linear model).
        linear_blend=False,
        n_threads=contender,
        callbacks=[_ThreadRecorder()],
        random_state=0,
    )
    start = time.perf_counter()
    model.fit(w["X"], w["Y"])
    fit = time.perf_counter() - start
    seen = []
    model.module_.register_forward_hook(lambda *_: seen.append(torch.get_num_threads()))
    predict = _median_seconds(model.predict_proba, w["X"], 3)
    predict_threads, seen[:] = max(seen), []
    predict_128 = _median_seconds(model.predict_proba, w["X"][:128], 21)
    fit_threads = int(model.history_[-1, "torch_threads"])
    return fit, predict, fit_threads, predict_threads, predict_128, max(seen)


def _median_seconds(f, X, n):
    """Median seconds of ``n`` calls ``f(X)``."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        f(X)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(w, repeats, give_up_s):
    """Medians per contender; contenders alternate in a rotating order.

    A contender whose single fit takes longer than ``give_up_s`` is not repeated
    (its median then rests on fewer runs; flagged in the table).
    """
    runs = {c: [] for c in CONTENDERS}
    loads = []
    for r in range(repeats):
        order = CONTENDERS[r % 3 :] + CONTENDERS[: r % 3]
        for c in order:
            if runs[c] and runs[c][-1][0] > give_up_s:
                continue
            loads.append(os.getloadavg()[0])
            runs[c].append(time_once(w, c))
    out = {"work": work_per_batch(w), "load": (min(loads), max(loads))}
    for c, rs in runs.items():
        out[c] = {
            "fit": statistics.median(x[0] for x in rs),
            "predict": statistics.median(x[1] for x in rs),
            "predict_128": statistics.median(x[4] for x in rs),
            "n": len(rs),
            "picks": sorted({(x[2], x[3]) for x in rs}),
            "threads": {
                "fit": [x[2] for x in rs],
                "predict": [x[3] for x in rs],
                "predict_128": [x[5] for x in rs],
            },
        }
    return out


def start_burner():
    """One CPU-burning process (killed by :func:`stop_burner`)."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(2.0)
    return proc


def stop_burner(proc):
    proc.kill()
    proc.wait()


def fmt_picks(picks):
    return ", ".join(f"{f}/{p}" for f, p in picks)


def results_table(results, phase):
    """Medians per contender; auto / best fixed count (quiet) or / 1 thread."""
    ref = "best" if phase == "quiet" else "1 thr"
    header = [
        "workload",
        "work/batch",
        "fit 1 thr (s)",
        "fit 2 thr (s)",
        "fit auto (s)",
        f"fit auto / {ref}",
        "pred 1 / 2 / auto (s)",
        f"pred auto / {ref}",
        "pred 128 rows 1 / 2 / auto (ms)",
        f"pred 128 auto / {ref}",
        "auto threads fit/pred",
        "load 1-min",
    ]
    rows = []
    for name, r in results:
        flag = {c: "†" if r[c]["n"] < 3 else "" for c in CONTENDERS}
        ratios = []
        for step in ("fit", "predict", "predict_128"):
            best = r[1][step] if phase != "quiet" else min(r[1][step], r[2][step])
            ratios.append(f"{r['auto'][step] / best:.2f}")
        rows.append(
            [
                name,
                f"{r['work'] / 1e6:.1f}M",
                *(f"{r[c]['fit']:.2f}{flag[c]}" for c in CONTENDERS),
                ratios[0],
                " / ".join(f"{r[c]['predict']:.3f}" for c in CONTENDERS),
                ratios[1],
                " / ".join(f"{r[c]['predict_128'] * 1e3:.2f}" for c in CONTENDERS),
                ratios[2],
                fmt_picks(r["auto"]["picks"]),
                f"{r['load'][0]:.1f}–{r['load'][1]:.1f}",
            ]
        )
    return md_table(header, rows)


def crossover(grid_results):
    """``(work per batch, fit speed-up of 2 threads over 1, name)`` per grid cell."""
    return sorted(
        (r["work"], r[1]["fit"] / r[2]["fit"], name) for name, r in grid_results
    )


def crossover_table(phases):
    quiet = {name: (work, s) for work, s, name in crossover(phases["quiet"]["grid"])}
    loaded = {name: s for _, s, name in crossover(phases["loaded"]["grid"])}
    rows = [
        [
            name,
            f"{work / 1e6:.2f}M",
            f"{s:.2f}",
            f"{loaded[name]:.2f}",
            " / ".join(
                "2" if work >= 2 * least else "1"
                for least in (MIN_WORK_PER_THREAD, MIN_WORK_PER_THREAD_SHARED)
            ),
        ]
        for name, (work, s) in sorted(quiet.items(), key=lambda kv: kv[1][0])
    ]
    return md_table(
        [
            "grid cell",
            "work/batch",
            "speed-up of 2 thr, quiet",
            "speed-up of 2 thr, loaded",
            "work rule picks, idle / others busy",
        ],
        rows,
    )


def run_phase(workloads, repeats, give_up_s, log):
    out = {"main": [], "grid": []}
    for kind, ws in workloads.items():
        for w in ws:
            r = measure(w, repeats, give_up_s)
            out[kind].append((w["name"], r))
            log(
                f"  {w['name']}: "
                + "  ".join(f"{c}={r[c]['fit']:.2f}s" for c in CONTENDERS)
                + f"  auto={fmt_picks(r['auto']['picks'])}  load={r['load']}"
            )
    return out


def report(phases, args, wall):
    lines = [
        "# Torch intra-op threads: 1 vs 2 vs auto",
        "",
        f"Produced by `{script_command('threads.py')}` in {wall / 60:.1f} min, "
        f"{time.strftime('%Y-%m-%d')}; torch {torch.__version__}, "
        f"{available_cores()} available cores (shared with other jobs), "
        f"{args.repeats} repeats (median), contenders alternating. "
        f"`MIN_WORK_PER_THREAD` = {MIN_WORK_PER_THREAD:,} multiply-adds per thread "
        f"and batch when other processes keep under {IDLE_BELOW} of a core busy, "
        f"`MIN_WORK_PER_THREAD_SHARED` = {MIN_WORK_PER_THREAD_SHARED:,} otherwise; "
        "a fit resolves 'auto' again at every epoch. Loaded = one "
        "`python -c 'while True: pass'` process started by the script for that "
        "phase. Load = 1-minute load average (min–max over the measurements). "
        "† = fewer than 3 runs (a run took over "
        f"{args.give_up_s:.0f} s). 'auto threads fit/pred' = the torch threads "
        "that fit / predict_proba of the `n_threads='auto'` estimator ran with. "
        "CPU only: CUDA is untested for these figures.",
        "",
    ]
    for phase in ("quiet", "loaded"):
        res = phases[phase]
        lines += [
            HEADINGS[phase],
            "",
            results_table(res["main"] + res["grid"], phase),
            "",
        ]
    lines += [
        "## Where 2 threads start to beat 1 (grid, fit)",
        "",
        "Speed-up = fit seconds at 1 thread / at 2 threads (> 1: 2 threads "
        "faster). 'work rule picks' = threads from the work rule alone "
        "(`work_per_batch // MIN_WORK_PER_THREAD` on an idle machine, "
        "`// MIN_WORK_PER_THREAD_SHARED` when other processes keep a core partly "
        "busy; capped at 2), before the load rule.",
        "",
        crossover_table(phases),
        "",
        "## The auto rule",
        "",
        decision(phases),
        "",
        "## Against the goals",
        "",
        goals_table(phases),
        "",
        "'chose the faster count' = every run of auto used the thread count whose "
        "fixed contender had the lower median, or the two fixed counts were within "
        "5 % of each other (then either choice is right). The ratios compare "
        "medians of separate runs, so they also hold the run-to-run noise of "
        "fits of 0.2-2 s and predictions of 1-2 ms on a shared machine.",
        "",
    ]
    return "\n".join(lines)


STEPS = {
    "fit": "fit",
    "predict": "predict, all rows",
    "predict_128": "predict, 128 rows",
}


def goals_table(phases):
    """Per phase and step: workloads within the goal, median ratio, right picks."""
    rows = []
    for phase, bound in (("quiet", 1.05), ("loaded", 1.10)):
        results = phases[phase]["main"] + phases[phase]["grid"]
        for step, label in STEPS.items():
            ratios, right = [], 0
            for _, r in results:
                one, two = r[1][step], r[2][step]
                best = min(one, two) if phase == "quiet" else one
                ratios.append(r["auto"][step] / best)
                faster = 1 if one <= two else 2
                used = set(r["auto"].get("threads", {}).get(step, []))
                right += used == {faster} or max(one, two) / min(one, two) <= 1.05
            within = sum(q <= bound for q in ratios)
            rows.append(
                [
                    phase,
                    label,
                    f"auto / {'best fixed' if phase == 'quiet' else '1 thread'} "
                    f"<= {bound:.2f}",
                    f"{within} / {len(ratios)}",
                    f"{statistics.median(ratios):.2f}",
                    f"{max(ratios):.2f}",
                    f"{right} / {len(ratios)}",
                ]
            )
    return md_table(
        [
            "phase",
            "step",
            "goal",
            "workloads within",
            "median ratio",
            "worst ratio",
            "chose the faster count",
        ],
        rows,
    )


def decision(phases):
    """The measured crossover and loss figures behind the work thresholds."""
    quiet = crossover(phases["quiet"]["grid"])
    # Smallest work from which every larger grid cell gains >= 10% with 2 threads.
    wins = [
        w for i, (w, _, _) in enumerate(quiet) if all(s >= 1.1 for _, s, _ in quiet[i:])
    ]
    loaded = [s for _, s, _ in crossover(phases["loaded"]["grid"])]
    main = {
        phase: [(name, r[1]["fit"] / r[2]["fit"]) for name, r in phases[phase]["main"]]
        for phase in phases
    }
    crossover_text = (
        f"{wins[0] / 1e6:.1f}M multiply-adds per batch" if wins else "not reached"
    )
    return (
        f"`n_threads='auto'` = min(available cores, worker limit, "
        f"work_per_batch // {MIN_WORK_PER_THREAD:,} (// "
        f"{MIN_WORK_PER_THREAD_SHARED:,} when other processes keep {IDLE_BELOW} "
        "of a core or more busy), available cores − cores busy with other "
        "processes now), at least 1. Quiet grid: 2 threads beat "
        f"1 by >= 10% in every cell from {crossover_text} up. Loaded grid: the "
        "2-thread speed-up ranged "
        f"{min(loaded):.2f}–{max(loaded):.2f} (< 1: slower). Workloads (a)/(b), "
        "2-thread speed-up quiet: "
        + ", ".join(f"{s:.2f}" for _, s in main["quiet"])
        + "; loaded: "
        + ", ".join(f"{s:.2f}" for _, s in main["loaded"])
        + ". The work rule gives 2 threads from "
        f"{2 * MIN_WORK_PER_THREAD / 1e6:.0f}M on an idle machine and from "
        f"{2 * MIN_WORK_PER_THREAD_SHARED / 1e6:.0f}M otherwise; the load rule "
        "gives 1 whenever another process holds a core."
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="~1.5-minute version")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--give-up-s", type=float, default=None)
    args = parser.parse_args(argv)
    if args.give_up_s is None:
        args.give_up_s = 8.0 if args.quick else 20.0
    workloads = {
        "main": [digits_workload(args.quick), *synthetic_workloads(args.quick)],
        "grid": grid_workloads(args.quick),
    }
    start = time.perf_counter()
    phases = {}
    print("quiet:", flush=True)
    phases["quiet"] = run_phase(
        workloads, args.repeats, args.give_up_s, lambda s: print(s, flush=True)
    )
    print("loaded (one CPU-burning process):", flush=True)
    burner = start_burner()
    try:
        phases["loaded"] = run_phase(
            workloads, args.repeats, args.give_up_s, lambda s: print(s, flush=True)
        )
    finally:
        stop_burner(burner)
    wall = time.perf_counter() - start
    raw = CACHE_DIR / f"threads{'_quick' if args.quick else ''}.json"
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps({"phases": phases, "wall": wall}, default=str))
    text = report(phases, args, wall)
    path = (
        (CACHE_DIR / "threads_quick.md") if args.quick else (RESULTS_DIR / "threads.md")
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    print(f"\nWrote {path.relative_to(Path(__file__).resolve().parents[1])}")
    print(f"Reproduce: {script_command('threads.py')}")


if __name__ == "__main__":
    main()
