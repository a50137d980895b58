"""The MMoE paper's synthetic experiment: task relatedness vs shared-bottom and MMoE.

Ma et al. (KDD 2018), section 3.2, generate two regression tasks whose relatedness
is set by one number ``p``:

1. two orthogonal unit vectors ``u1, u2`` in R^d;
2. weights ``w1 = c u1``, ``w2 = c (p u1 + sqrt(1 - p^2) u2)``;
3. inputs ``x ~ N(0, I_d)``;
4. labels ``y_k = w_k.x + sum_i sin(alpha_i w_k.x + beta_i) + eps_k``,
   ``eps_k ~ N(0, 0.01)``.

With ``p = 1`` both tasks are the same function; the lower ``p``, the less
related they are (the sines make the label correlation a non-linear function of
``p``; we report the measured one). We train a shared-bottom network, an MMoE and
two single-task networks (one per task) on each data set and compare the test
mean squared error.
"""

import csv
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

import sk_mtl  # noqa: E402
from sk_mtl import MultiTaskRegressor  # noqa: E402

from ._common import SEEDS, Records, figure_path, md_table, mean_std, timer  # noqa: E402

NAME = "mmoe_synthetic"
TITLE = "When does multi-task learning help? The MMoE paper's synthetic tasks"

CORRELATIONS = (1.0, 0.9, 0.5, 0.0)
QUICK_CORRELATIONS = (1.0, 0.5)
N_FEATURES, N_SINES, SCALE = 100, 10, 1.0
N_TRAIN, N_TEST = 10000, 4000
EPOCHS = 20

# Sizes of the paper: a shared bottom of 113 units vs 8 experts of 16 units
# (about the same number of weights); our heads are linear (no towers).
COMMON = dict(dropout=0.0, lr=1e-3, batch_size=128, max_epochs=EPOCHS)
MODELS = {
    "shared_bottom": "shared bottom (113 units), one network",
    "mmoe": "MMoE (8 experts x 16 units, a gate per task), one network",
    "single_task": "single-task networks (113 units), one per task",
}


def make_tasks(p, seed, n):
    """``(X, Y)``: n rows of the paper's two tasks at correlation setting p."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.normal(size=(N_FEATURES, 2)))  # orthonormal u1, u2
    w1 = SCALE * u[:, 0]
    w2 = SCALE * (p * u[:, 0] + np.sqrt(1 - p**2) * u[:, 1])
    alpha, beta = rng.normal(size=N_SINES), rng.normal(size=N_SINES)
    X = rng.normal(size=(n, N_FEATURES))
    columns = []
    for w in (w1, w2):
        z = X @ w
        sines = np.sin(np.outer(z, alpha) + beta).sum(axis=1)
        columns.append(z + sines + rng.normal(scale=0.1, size=n))
    return X.astype(np.float32), np.column_stack(columns)


def _model(key, seed):
    if key == "mmoe":
        return MultiTaskRegressor(
            (16,), architecture="mmoe", n_experts=8, random_state=seed, **COMMON
        )
    return MultiTaskRegressor((113,), random_state=seed, **COMMON)


def _fit_one(key, p, seed):
    X, Y = make_tasks(p, seed, N_TRAIN + N_TEST)
    tr, te = slice(0, N_TRAIN), slice(N_TRAIN, None)
    cpu = time.process_time()
    with timer() as secs:
        if key == "single_task":
            models = [_model(key, seed).fit(X[tr], Y[tr, t]) for t in range(2)]
            pred = np.column_stack([m.predict(X[te]) for m in models])
            # per-epoch training loss summed over the two tasks, as the others
            curve = np.sum([m.history_[:, "train_loss"] for m in models], axis=0)
        else:
            model = _model(key, seed).fit(X[tr], Y[tr])
            pred = model.predict(X[te])
            curve = np.asarray(model.history_[:, "train_loss"])
    mse = ((pred - Y[te]) ** 2).mean(axis=0)
    return {
        "model": key,
        "label_corr": float(np.corrcoef(Y[tr].T)[0, 1]),
        "mse_0": float(mse[0]),
        "mse_1": float(mse[1]),
        "mse": float(mse.mean()),
        "train_loss_curve": [float(v) for v in curve],
        "seconds": secs(),
        "cpu_seconds": time.process_time() - cpu,
    }


def run(data_home, quick, out_dir):
    seeds = SEEDS[:2] if quick else SEEDS
    corrs = QUICK_CORRELATIONS if quick else CORRELATIONS
    cache = Records(NAME, quick, (N_TRAIN, EPOCHS, COMMON, sk_mtl.__version__))
    load_before = os.getloadavg()
    bar = tqdm(total=len(seeds) * len(corrs) * len(MODELS), desc=NAME, unit="fit")
    records = []
    for p in corrs:
        for seed in seeds:
            for key in MODELS:
                rec = cache.get(p=p, seed=seed, model=key) or cache.add(
                    _fit_one(key, p, seed), p=p, seed=seed, model=key
                )
                records.append({"p": p, "seed": seed, **rec})
                bar.update()
    bar.close()
    load = (load_before, os.getloadavg())
    with open(out_dir / f"{NAME}.csv", "w", newline="") as f:
        fields = [k for k in records[0] if k != "train_loss_curve"]
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(records)
    png = figure_path(f"{NAME}.png", quick, out_dir)
    _figure(records, corrs, png)
    return _report(records, corrs, seeds, load, png, quick)


def _select(records, p, key, field="mse"):
    return np.array([r[field] for r in records if r["p"] == p and r["model"] == key])


def _figure(records, corrs, png):
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for key, marker in zip(MODELS, "osd"):
        means = [_select(records, p, key).mean() for p in corrs]
        stds = [_select(records, p, key).std() for p in corrs]
        left.errorbar(corrs, means, yerr=stds, marker=marker, capsize=3, label=key)
    left.set_xlabel("correlation setting p")
    left.set_ylabel("test MSE (mean of the 2 tasks)")
    left.invert_xaxis()
    left.set_title("Final test error (mean ± std over seeds)")
    left.legend()
    styles = dict(zip(corrs, ["-", "--", ":", "-."]))
    for key, color in (("shared_bottom", "C0"), ("mmoe", "C1")):
        for p in corrs:
            curves = np.array(
                [
                    r["train_loss_curve"]
                    for r in records
                    if r["p"] == p and r["model"] == key
                ]
            )
            right.plot(
                np.arange(1, curves.shape[1] + 1),
                curves.mean(axis=0),
                styles[p],
                color=color,
                label=f"{key}, p={p}",
            )
    right.set_yscale("log")
    right.set_xlabel("epoch")
    right.set_ylabel("training loss (standardised, sum of tasks)")
    right.set_title("Training loss, mean over seeds (as the paper plots it)")
    right.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def _report(records, corrs, seeds, load, png, quick):
    header = ["p", "label corr.", *MODELS, "shared − single", "MMoE − single"]
    rows = []
    for p in corrs:
        single = _select(records, p, "single_task")
        rows.append(
            [
                p,
                f"{_select(records, p, 'mmoe', 'label_corr').mean():.2f}",
                *[mean_std(_select(records, p, k), 3) for k in MODELS],
                f"{(_select(records, p, 'shared_bottom') - single).mean():+.3f}",
                f"{(_select(records, p, 'mmoe') - single).mean():+.3f}",
            ]
        )
    cpu = sum(r["cpu_seconds"] for r in records)
    wall = sum(r["seconds"] for r in records)
    models = "; ".join(f"`{k}`: {v}" for k, v in MODELS.items())
    link = f"../docs/_static/{png.name}" if not quick else png.name
    return f"""## {TITLE}

Two regression tasks generated as in Ma et al. (KDD 2018), section 3.2: inputs
in R^{N_FEATURES}, labels `y_k = w_k.x + sum_i sin(alpha_i w_k.x + beta_i) + eps`
with {N_SINES} sines, `c = {SCALE}`, `eps ~ N(0, 0.01)`, where the correlation
setting `p` mixes the two tasks' weight vectors (`p = 1`: the same task). Our
choices where the paper leaves them open or we scale down: `alpha_i, beta_i ~ N(0,
1)` (drawn per data set, shared by both tasks); {N_TRAIN} training and {N_TEST}
test rows per data set; {EPOCHS} epochs of Adam (lr 1e-3, batch 128, no dropout);
{len(seeds)} seeds (a new data set and initialisation each). Models: {models}. The
paper trains with larger data sets and repeats each setting 200 times, reports
training loss curves and has no single-task baseline; its heads are small towers
(ours: linear heads). Metric: test mean squared error in the labels' units, mean
of the two tasks (lower is better); "label corr." is the measured Pearson
correlation of the two training labels.

{md_table(header, rows)}

![MMoE synthetic experiment]({link})

Training took {cpu / 60:.1f} CPU-min on 1 thread ({wall / 60:.1f} min wall); load
average {load[0][0]:.1f} at the start, {load[1][0]:.1f} at the end (2 cores shared
with other jobs). Raw results: `benchmarks/results/{NAME}.csv`.
"""
