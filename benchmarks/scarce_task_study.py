"""The large-fit recipe when one task is scarce: a validation study.

Above 16,000 training rows the defaults switch to the large-fit recipe:
batches of 512 rows at ``lr=2e-3``, no dropout and a patience of 5 epochs
(``large_table_study``, ``batch_study``, ``capacity_study``). Those studies
chose it on tables where every task is labelled on every row; the gate counts
the rows of X. In ``missing_labels`` the multi-task model sees 59,856 rows
while its income task has 5,986 labels (10 %) or 1,197 (2 %), so income is
learned with the recipe of large fits from a few thousand labels, and on the
test splits the multi-task model there is only level with the single-task one
fitted on the labelled rows (-0.0009 at 10 %). The value view already counts
the labels of the task with the fewest (a gate on all rows cost it 0.007 AUC
at 2 %). This study asks whether the recipe should count them too.

Contenders, fixed before the run, each ``MultiTaskClassifier`` on the
DataFrame (income NaN outside the kept labels, marital labelled on every row):

- ``defaults``: the shipped defaults (the large-fit recipe: X has 59,856
  rows);
- ``label_gate``: the recipe of fits below the gate (batches of 128 rows at
  ``lr=1e-3``, dropout 0.1, a patience of 10), which a gate on the labels of
  the scarcest task would give here;
- ``single_task``: the defaults on the labelled rows alone (income only), the
  reference that "multi-task pays" is measured against.

Census-income, the anchors' split (60/20/20); the income labels kept are
``missing_labels``'s (:func:`benchmarks.missing_labels.labelled_rows`) at 10 %
and 2 %; seeds 0-2; ROC AUC on the validation rows (test rows never used).

Rule (against ``defaults``, over the 6 fraction-seed pairs): ``label_gate``
becomes the default for fits whose scarcest task is below the gate if (a) its
mean income AUC is higher, (b) higher on at least 4 of the 6 pairs and (c) its
mean marital AUC is at most 0.0005 lower. Its CPU time is reported beside.

Run (from the repository root): ``PYTHONPATH=$PWD python -m
benchmarks.scarce_task_study --data ../shared/data --seeds 0 1 2``; appends to
``benchmarks/results/scarce_task_study.jsonl`` and prints the summary
(``--report``: the summary of the rows already there).
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from sk_mtl import MultiTaskClassifier
from sk_mtl.multitask._shared_network import AUTO_DROPOUT, AUTO_LR, AUTO_PATIENCE

from . import _census
from .missing_labels import labelled_rows
from .tabular_suite import _epochs

RESULTS = Path(__file__).parent / "results" / "scarce_task_study.jsonl"
FRACTIONS = (0.1, 0.02)
SMALL_FIT_RECIPE = {
    "batch_size": 128,
    "lr": AUTO_LR,
    "dropout": AUTO_DROPOUT,
    "n_iter_no_change": AUTO_PATIENCE,
}
CONTENDERS = ("defaults", "label_gate", "single_task")


def fit_contender(name, X, Y, rows, val, keep, seed):
    """``(income AUC, marital AUC or None, CPU s, epochs)`` of one contender."""
    params = SMALL_FIT_RECIPE if name == "label_gate" else {}
    model = MultiTaskClassifier(random_state=seed, n_threads=1, **params)
    Xfit, Yfit = X.iloc[rows], Y.iloc[rows]
    income = Yfit["income"].to_numpy(dtype=float)
    start = time.process_time()
    if name == "single_task":
        model.fit(Xfit.iloc[keep], income[keep])
    else:
        scarce = np.full(len(rows), np.nan)
        scarce[keep] = income[keep]
        model.fit(Xfit, Yfit.assign(income=scarce))
    cpu = time.process_time() - start
    proba = model.predict_proba(X.iloc[val])
    proba = proba if isinstance(proba, list) else [proba]
    aucs = [
        roc_auc_score(Y[task].to_numpy()[val], p[:, 1])
        for task, p in zip(("income", "marital"), proba)
    ]
    marital = aucs[1] if len(aucs) > 1 else None
    return aucs[0], marital, cpu, _epochs(model)


def run(data, seeds, out):
    X, Y, _, _ = _census.load(data)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in seeds:
            rows, val, _ = _census.split(data, seed)
            for fraction in FRACTIONS:
                keep = labelled_rows(len(rows), fraction, seed)
                for name in CONTENDERS:
                    income, marital, cpu, epochs = fit_contender(
                        name, X, Y, rows, val, keep, seed
                    )
                    row = {
                        "seed": seed,
                        "fraction": fraction,
                        "labels": len(keep),
                        "model": name,
                        "income": round(float(income), 5),
                        "marital": None if marital is None else round(marital, 5),
                        "cpu_s": round(cpu, 2),
                        "epochs": epochs,
                    }
                    with open(out, "a") as f:
                        f.write(json.dumps(row) + "\n")
                    print(json.dumps(row), flush=True)


HEADER = (
    "| fraction | labels | defaults | label_gate | single_task | marital: defaults "
    "| label_gate | CPU s: defaults | label_gate | single_task |"
)


def _means(rows, fraction):
    """The table's row of one fraction: labels, income, marital and CPU means."""
    at = [r for r in rows if r["fraction"] == fraction]

    def mean(model, key):
        return np.mean([r[key] for r in at if r["model"] == model])

    cells = [f"{fraction}", f"{at[0]['labels']:,}"]
    cells += [f"{mean(m, 'income'):.4f}" for m in CONTENDERS]
    cells += [f"{mean(m, 'marital'):.4f}" for m in CONTENDERS[:2]]
    cells += [f"{mean(m, 'cpu_s'):.1f}" for m in CONTENDERS]
    return "| " + " | ".join(cells) + " |"


def summary(rows):
    """The per-fraction means, the paired differences and the rule's verdict."""
    by = {(r["seed"], r["fraction"], r["model"]): r for r in rows}
    pairs = sorted({(r["seed"], r["fraction"]) for r in rows})

    def diff(a, b, key="income"):
        return [by[(*p, a)][key] - by[(*p, b)][key] for p in pairs]

    fractions = sorted({f for _, f in pairs}, reverse=True)
    lines = [HEADER, "|---" * 10 + "|", *(_means(rows, f) for f in fractions)]
    gain = diff("label_gate", "defaults")
    marital = diff("label_gate", "defaults", "marital")
    better = sum(g > 0 for g in gain)
    passes = np.mean(gain) > 0 and better >= 4 and np.mean(marital) >= -0.0005
    lines += [
        "",
        f"label_gate - defaults: income {np.mean(gain):+.4f} (higher on {better} of "
        f"{len(gain)} pairs), marital {np.mean(marital):+.4f}: "
        + ("pass" if passes else "fail"),
    ]
    for model in ("defaults", "label_gate"):
        d = diff(model, "single_task")
        lines.append(
            f"{model} - single_task: income {np.mean(d):+.4f} "
            f"(higher on {sum(x > 0 for x in d)} of {len(d)} pairs)"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args(argv)
    if not args.report:
        run(args.data, args.seeds, args.out)
    rows = [json.loads(line) for line in args.out.read_text().splitlines()]
    print(summary(rows))


if __name__ == "__main__":
    main()
