"""Census-income, full training split: today's defaults against HistGB, per seed.

The income target of the tabular defaults: ``MultiTaskClassifier()`` on the raw
DataFrame (income and marital status in one network; every parameter at its
default but ``n_threads=1`` and the seed) against
``HistGradientBoostingClassifier`` with native categoricals and early stopping,
one per task, as in :mod:`benchmarks.census_tabular` (whose other rows, older
defaults and tuned options, are not rerun here). The anchors' splits
(``benchmarks/PROTOCOL.md``; 59,856 training rows), test ROC AUC, differences
paired per seed, CPU seconds of ``fit`` (process time, one thread each).

Run (from the repository root)::

    PYTHONPATH=$PWD python -m benchmarks.census_defaults [--data DIR] [--seeds ...]

writes ``benchmarks/results/census_defaults.md``.
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from sk_mtl import MultiTaskClassifier

from . import _census
from ._common import md_table, mean_std

TASKS = ("income", "marital")
OUT = Path(__file__).parent / "results" / "census_defaults.md"


def _cpu_fit(model, X, y):
    start = time.process_time()
    model.fit(X, y)
    return model, time.process_time() - start


def fit_seed(data_home, seed):
    """``{model: (income AUC, marital AUC, CPU s, epochs)}`` for one seed."""
    X, Y, _, _ = _census.load(data_home, TASKS)
    train, _, test = _census.split(data_home, seed)
    Xtr, Ytr, Xte, Yte = X.iloc[train], Y.iloc[train], X.iloc[test], Y.iloc[test]
    net, cpu = _cpu_fit(MultiTaskClassifier(n_threads=1, random_state=seed), Xtr, Ytr)
    out = {"defaults": (*_census.task_aucs(net, Xte, Yte), cpu, net.n_iter_)}
    aucs, cpu = [], 0.0
    for task in TASKS:
        hgb = HistGradientBoostingClassifier(
            early_stopping=True, categorical_features="from_dtype", random_state=seed
        )
        hgb, secs = _cpu_fit(hgb, Xtr, Ytr[task])
        aucs += _census.task_aucs(hgb, Xte, Yte[[task]])
        cpu += secs
    out["histgb"] = (*aucs, cpu, None)
    return out


def report(results, loads):
    """The markdown of ``{seed: fit_seed(...)}``."""
    seeds = sorted(results)
    rows = []
    for model in ("defaults", "histgb"):
        cols = np.array([results[s][model][:3] for s in seeds])
        epochs = [results[s][model][3] for s in seeds]
        rows.append(
            (
                model,
                len(seeds),
                mean_std(cols[:, 0]),
                mean_std(cols[:, 1]),
                f"{cols[:, 2].mean():.0f}",
                "/".join(map(str, epochs)) if epochs[0] is not None else "—",
            )
        )
    lines = []
    for t, task in enumerate(TASKS):
        diff = np.array(
            [results[s]["defaults"][t] - results[s]["histgb"][t] for s in seeds]
        )
        lines.append(
            f"- defaults minus HistGB, **{task}**: {diff.mean():+.4f} (level or "
            f"above on {int((diff >= 0).sum())}/{len(diff)} seeds; per seed "
            + " ".join(f"{d:+.4f}" for d in diff)
            + ")"
        )
    table = md_table(
        ["model", "seeds", "income AUC", "marital AUC", "fit CPU s", "epochs"], rows
    )
    return f"""## Census-income, full training split: today's defaults vs HistGB

Produced by `PYTHONPATH=$PWD python -m benchmarks.census_defaults` (seeds
{", ".join(map(str, seeds))}; 59,856 training rows, the anchors' splits). One thread
per model; 1-minute load average {min(loads):.1f} to {max(loads):.1f} on
{os.cpu_count()} shared cores.

{table}

{chr(10).join(lines)}
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default=str(Path(__file__).parents[1] / ".." / "shared" / "data")
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args(argv)
    results, loads = {}, []
    with threadpool_limits(1):
        for seed in args.seeds:
            results[seed] = fit_seed(args.data, seed)
            loads.append(os.getloadavg()[0])
            print(seed, results[seed], flush=True)
    OUT.write_text(report(results, loads))
    print(OUT.read_text())


if __name__ == "__main__":
    main()
