"""Census-income, full training split: today's defaults against HistGB, per seed.

The income target of the tabular defaults: ``MultiTaskClassifier()`` on the raw
DataFrame (income and marital status in one network; every parameter at its
default but ``n_threads=1`` and the seed) against
``HistGradientBoostingClassifier`` with native categoricals and early stopping,
one per task, as in :mod:`benchmarks.census_tabular` (whose other rows, older
defaults and tuned options, are not rerun here). The anchors' splits
(``benchmarks/PROTOCOL.md``; 59,856 training rows), test ROC AUC, differences
paired per seed, CPU seconds of ``fit`` (process time, one thread each).
A third row merges the two fitted models (``merge_models([defaults,
MultiOutputClassifier(histgb)])``, equal weights, nothing fitted on the scored
rows): boosting beside the network, whose CPU is the sum of both fits.

``--validation`` scores options of the defaults (:data:`OPTIONS`: cross-fitted
bagging, a piecewise-linear numeric embedding, a patience of 10) on the
validation part of the split instead (test rows unused), to see whether one
documented option could reach boosting before any test run.

Run (from the repository root)::

    PYTHONPATH=$PWD python -m benchmarks.census_defaults [--data DIR] [--seeds ...]
    PYTHONPATH=$PWD python -m benchmarks.census_defaults --validation --seeds 0

writes ``benchmarks/results/census_defaults.md`` (``census_defaults_validation.md``).
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.multioutput import MultiOutputClassifier
from threadpoolctl import threadpool_limits

from sk_mtl import MultiTaskClassifier, merge_models

from . import _census
from ._common import md_table, mean_std

TASKS = ("income", "marital")
OUT = Path(__file__).parent / "results" / "census_defaults.md"
VALIDATION_OUT = OUT.with_name("census_defaults_validation.md")
# The defaults and HistGB merged (MergedClassifier, equal weights): boosting
# beside the network, the documented way past boosting alone.
MERGED = "defaults + histgb merged"
OPTIONS = {
    "defaults": {},
    "n_bags=3": {"n_bags": 3},
    "n_bags=5": {"n_bags": 5},
    "numeric_embedding='piecewise_linear'": {"numeric_embedding": "piecewise_linear"},
    "n_iter_no_change=10": {"n_iter_no_change": 10},
}


def _cpu_fit(model, X, y):
    start = time.process_time()
    model.fit(X, y)
    return model, time.process_time() - start


def fit_seed(data_home, seed, options=None):
    """``{model: (income AUC, marital AUC, CPU s, epochs)}`` for one seed:
    the defaults (or each of ``options``, scored on the validation rows) and
    HistGB."""
    X, Y, _, _ = _census.load(data_home, TASKS)
    train, val, test = _census.split(data_home, seed)
    scored = test if options is None else val
    Xtr, Ytr, Xte, Yte = X.iloc[train], Y.iloc[train], X.iloc[scored], Y.iloc[scored]
    out, nets = {}, {}
    for name, params in (options or {"defaults": {}}).items():
        net = MultiTaskClassifier(n_threads=1, random_state=seed, **params)
        nets[name], cpu = _cpu_fit(net, Xtr, Ytr)
        out[name] = (*_census.task_aucs(nets[name], Xte, Yte), cpu, _epochs(net))
    hgb = HistGradientBoostingClassifier(
        early_stopping=True, categorical_features="from_dtype", random_state=seed
    )
    # One HistGB per task (the estimator cloned for each column).
    trees, hgb_cpu = _cpu_fit(MultiOutputClassifier(hgb), Xtr, Ytr)
    out["histgb"] = (*_census.task_aucs(trees, Xte, Yte), hgb_cpu, None)
    merged = merge_models([nets["defaults"], trees])  # equal weights
    cpu = out["defaults"][2] + hgb_cpu
    out[MERGED] = (*_census.task_aucs(merged, Xte, Yte), cpu, None)
    return out


def _epochs(net):
    """Epochs trained: one network's, or each bagged member's joined by ``+``."""
    members = getattr(net, "estimators_", None)
    if members is None:
        return str(net.n_iter_)
    return "+".join(str(member.n_iter_) for member in members)


def report(results, loads, validation=False):
    """The markdown of ``{seed: fit_seed(...)}``."""
    seeds = sorted(results)
    models = list(results[seeds[0]])
    rows, lines = [], []
    for model in models:
        cols = np.array([results[s][model][:3] for s in seeds])
        epochs = [results[s][model][3] for s in seeds]
        rows.append(
            (
                model,
                len(seeds),
                mean_std(cols[:, 0]),
                mean_std(cols[:, 1]),
                f"{cols[:, 2].mean():.0f}",
                "/".join(epochs) if epochs[0] is not None else "—",
            )
        )
        for t, task in enumerate(TASKS if model != "histgb" else ()):
            diff = cols[:, t] - np.array([results[s]["histgb"][t] for s in seeds])
            lines.append(
                f"- {model} minus HistGB, **{task}**: {diff.mean():+.4f} (level or "
                f"above on {int((diff >= 0).sum())}/{len(diff)} seeds; per seed "
                + " ".join(f"{d:+.4f}" for d in diff)
                + ")"
            )
    table = md_table(
        ["model", "seeds", "income AUC", "marital AUC", "fit CPU s", "epochs"], rows
    )
    flag, part = ("--validation ", "validation") if validation else ("", "test")
    return f"""# Census-income, full training split: defaults vs HistGB ({part} rows)

Produced by `PYTHONPATH=$PWD python -m benchmarks.census_defaults {flag}--seeds
{" ".join(map(str, seeds))}` (59,856 training rows, the anchors' splits; scored on
the {part} rows). One thread per model;
1-minute load average {min(loads):.1f} to {max(loads):.1f} on
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
    parser.add_argument("--validation", action="store_true")
    args = parser.parse_args(argv)
    options = OPTIONS if args.validation else None
    results, loads = {}, []
    with threadpool_limits(1):
        for seed in args.seeds:
            results[seed] = fit_seed(args.data, seed, options)
            loads.append(os.getloadavg()[0])
            print(seed, results[seed], flush=True)
    out = VALIDATION_OUT if args.validation else OUT
    out.write_text(report(results, loads, args.validation))
    print(out.read_text())


if __name__ == "__main__":
    main()
