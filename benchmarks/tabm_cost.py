"""What TabM-mini costs on Adult, and what each halving of its cost gives up.

Contenders, all fitted on the same training rows and scored on the same
validation rows per seed:

- ``HistGradientBoostingClassifier`` per task (native categoricals, its
  defaults): the anchor of the cost ratios;
- ``MultiTaskClassifier()`` as shipped (shared-bottom MLP);
- ``MultiTaskClassifier(architecture="tabm", early_stopping=True)`` at a ladder
  of costs: ``n_members`` 16, 8, 4, 2 at the default ``hidden_units``, 16
  members on narrower trunks (the widths halved once and twice), and 4 and 2
  members on the trunk halved once.

Data: Adult's official training file (``benchmarks/tabular_sets.py``; tasks
``income`` and ``never_married``), subsampled to ``--rows`` rows (the machine is
two shared cores), then split per seed into 80 % fit / 20 % validation
(stratified on ``income``). The official test file is never read for scoring:
these numbers may choose a default.

Measured per fit: CPU seconds (``time.process_time`` of ``fit``, every model on
one thread: torch ``n_threads=1``, BLAS/OpenMP limited to 1), wall seconds,
epochs run, validation ROC AUC per task and their mean, and the 1-minute load
average when the fit started. The table gives medians over seeds with the
range, the CPU ratio to HistGradientBoosting of the same seed and the AUC
difference to ``n_members=16`` of the same seed (paired).

Run from the repository root::

    python -m benchmarks.tabm_cost --data ../shared/data [--quick]

Full runs write ``benchmarks/results/tabm_cost.md``; quick runs (2,000 rows, one
seed) write ``benchmarks/_cache/quick/tabm_cost.md``. Each fit is stored as it
ends in ``benchmarks/_cache/tabm_cost.jsonl``; ``--resume`` reuses those of the
same rows, so an interrupted run continues where it stopped.
"""

import argparse
import os
import shlex
import subprocess
import sys
import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from . import tabular_sets as sets
from ._common import CACHE_DIR, RESULTS_DIR, Records, md_table

TITLE = "TabM-mini's cost on Adult, and what each halving gives up"
DEFAULT = False  # about half an hour on a loaded 2-core machine

ROWS, QUICK_ROWS = 16_000, 2_000
SEEDS, QUICK_SEEDS = (0, 1, 2), (0,)
WIDTH = (128, 64)  # MultiTaskClassifier's default hidden_units
REFERENCE = "tabm, 16 members"

HGB = "HistGradientBoosting per task"
MTL = "MultiTaskClassifier() (shared_bottom)"


def _tabm(n_members, hidden_units=WIDTH):
    return {
        "architecture": "tabm",
        "n_members": n_members,
        "hidden_units": hidden_units,
        "early_stopping": True,
    }


# label -> MultiTaskClassifier parameters (None: the HistGradientBoosting anchor)
CONFIGS = {
    HGB: None,
    MTL: {},
    REFERENCE: _tabm(16),
    "tabm, 8 members": _tabm(8),
    "tabm, 4 members": _tabm(4),
    "tabm, 2 members": _tabm(2),
    "tabm, 16 members, (64, 32)": _tabm(16, (64, 32)),
    "tabm, 16 members, (32, 16)": _tabm(16, (32, 16)),
    "tabm, 4 members, (64, 32)": _tabm(4, (64, 32)),
    "tabm, 2 members, (64, 32)": _tabm(2, (64, 32)),
}


def _fit(params, seed, X, Y):
    """The fitted model(s) and the epochs run (None for HistGradientBoosting)."""
    if params is None:
        models = [
            HistGradientBoostingClassifier(
                categorical_features="from_dtype", random_state=seed
            ).fit(X, Y[task])
            for task in Y.columns
        ]
        return models, None
    from sk_mtl import MultiTaskClassifier

    model = MultiTaskClassifier(n_threads=1, random_state=seed, **params).fit(X, Y)
    return model, len(model.history_)


def _probas(model, X):
    if isinstance(model, list):
        return [m.predict_proba(X)[:, 1] for m in model]
    return [p[:, 1] for p in model.predict_proba(X)]


def measure(params, seed, split):
    """One fit and its validation scores, as a JSON-able record."""
    X_fit, Y_fit, X_val, Y_val = split
    load = os.getloadavg()[0]
    cpu, wall = time.process_time(), time.perf_counter()
    model, epochs = _fit(params, seed, X_fit, Y_fit)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    aucs = [
        roc_auc_score(Y_val[task], p)
        for task, p in zip(Y_val.columns, _probas(model, X_val))
    ]
    return {
        "cpu_s": cpu,
        "wall_s": wall,
        "epochs": epochs,
        "auc": aucs,
        "mean_auc": float(np.mean(aucs)),
        "load": load,
    }


def _splits(data_home, rows, seeds):
    X, Y, _, _ = sets.load_adult(data_home, n_train=rows)
    for seed in seeds:
        fit, val = sets.validation_split(Y.to_numpy(), seed)
        yield seed, (X.iloc[fit], Y.iloc[fit], X.iloc[val], Y.iloc[val])


def collect(data_home, rows, seeds, cache):
    """``{label: {seed: record}}``, fitting what the cache does not hold."""
    out = {label: {} for label in CONFIGS}
    for seed, split in _splits(data_home, rows, seeds):
        for label, params in CONFIGS.items():
            key = {"seed": seed, "model": label, "params": repr(params)}
            rec = cache.get(**key)
            if rec is None:
                rec = cache.add(measure(params, seed, split), **key)
                print(
                    f"seed {seed} {label}: {rec['cpu_s']:.1f} CPU s, "
                    f"{rec['epochs']} epochs, AUC {rec['mean_auc']:.4f}, "
                    f"load {rec['load']:.1f}",
                    flush=True,
                )
            out[label][seed] = rec
    return out


def _median_range(values, fmt):
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return fmt.format(values[0])
    lo, mid, hi = np.min(values), np.median(values), np.max(values)
    return f"{fmt.format(mid)} [{fmt.format(lo)}, {fmt.format(hi)}]"


def _row(label, recs, results):
    seeds = sorted(recs)

    def cell(value, fmt):
        return _median_range([value(recs[s], s) for s in seeds], fmt)

    hgb = {s: results[HGB][s]["cpu_s"] for s in seeds}
    ref = {s: results[REFERENCE][s]["mean_auc"] for s in seeds}
    neural = recs[seeds[0]]["epochs"] is not None
    return [
        label,
        cell(lambda r, s: r["cpu_s"], "{:.1f}"),
        cell(lambda r, s: r["cpu_s"] / hgb[s], "{:.1f}"),
        cell(lambda r, s: r["wall_s"], "{:.1f}"),
        cell(lambda r, s: r["epochs"], "{:.0f}") if neural else "—",
        cell(lambda r, s: r["cpu_s"] / r["epochs"], "{:.2f}") if neural else "—",
        cell(lambda r, s: r["mean_auc"], "{:.4f}"),
        cell(lambda r, s: r["mean_auc"] - ref[s], "{:+.4f}"),
        *(
            cell(lambda r, s, t=t: r["auc"][t], "{:.4f}")
            for t in range(len(sets.ADULT_TASKS))
        ),
    ]


def report(results, rows, seeds, uptimes):
    """The markdown section of ``results``."""
    header = [
        "model",
        "fit CPU s",
        "× HistGB CPU",
        "fit wall s",
        "epochs",
        "CPU s / epoch",
        "mean val AUC",
        f"Δ AUC vs {REFERENCE}",
        *(f"{t} AUC" for t in sets.ADULT_TASKS),
    ]
    table = md_table(header, [_row(k, v, results) for k, v in results.items()])
    loads = [r["load"] for recs in results.values() for r in recs.values()]
    n_fit = rows - round(0.2 * rows)
    return "\n\n".join(
        [
            f"## {TITLE}",
            f"Produced by `{_command()}` from the repository root.",
            f"Adult training file subsampled to {rows:,} rows; per seed "
            f"({', '.join(map(str, seeds))}) {n_fit:,} rows fit and "
            f"{rows - n_fit:,} validation rows (the official test file is not "
            "used). Models on one thread. Cells: median over seeds "
            "[min, max]; ratios and Δ AUC are paired per seed. TabM rows use "
            "`early_stopping=True`; its default width is `hidden_units=(128, 64)`.",
            table,
            f"1-minute load when each fit started: median {np.median(loads):.1f} "
            f"[{min(loads):.1f}, {max(loads):.1f}] on "
            f"{os.cpu_count()} cores. `uptime` when this run started: `{uptimes[0]}`; "
            f"when it ended: `{uptimes[1]}`.",
        ]
    )


def _command():
    return " ".join(["python -m benchmarks.tabm_cost", *map(shlex.quote, sys.argv[1:])])


def _uptime():
    try:
        return subprocess.run(
            ["uptime"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def run(data_home, quick, out_dir=None, seeds=None):
    rows, default_seeds = (QUICK_ROWS, QUICK_SEEDS) if quick else (ROWS, SEEDS)
    seeds = tuple(seeds or default_seeds)
    cache = Records("tabm_cost", quick, fingerprint={"rows": rows})
    start = _uptime()
    results = collect(data_home, rows, seeds, cache)
    return report(results, rows, seeds, (start, _uptime()))


def main(argv=None):
    from ._common import limit_threads
    from .datasets import get_data_home

    parser = argparse.ArgumentParser(prog="python -m benchmarks.tabm_cost")
    parser.add_argument("--data", default=None, help="data folder (../shared/data)")
    parser.add_argument("--quick", action="store_true", help="2,000 rows, 1 seed")
    parser.add_argument("--seeds", type=int, nargs="+", help="default: 0 1 2")
    parser.add_argument(
        "--resume", action="store_true", help="reuse the fits stored by a run"
    )
    args = parser.parse_args(argv)
    limit_threads(1)
    if args.resume:
        os.environ["SK_MTL_BENCH_RESUME"] = "1"
    section = run(str(get_data_home(args.data)), args.quick, seeds=args.seeds)
    out_dir = CACHE_DIR / "quick" if args.quick else RESULTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "tabm_cost.md").write_text(section + "\n")
    print(section)


if __name__ == "__main__":
    main()
