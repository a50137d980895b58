"""A 12-candidate grid search on census-income: serial vs dask.distributed vs loky.

One run, same grid, same data, same random_state, timed four ways: serially;
through ``joblib.parallel_backend("dask")`` on a ``LocalCluster`` of 2 worker
processes x 1 thread; with ``n_jobs=2`` on joblib's loky backend; and on a
``LocalCluster`` of 4 workers x 1 thread (on this 2-core machine it shows the
scheduling overhead per task, from which the speed-up on N machines is projected).
Each figure comes with the machine's load average, since the machine is shared.

Run alone (from the repository root)::

    python -m benchmarks.run --only scale_out [--quick] [--data DIR]
"""

import os
import pickle
import resource
import time

import joblib
import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from ._census import load, preprocessor, split
from ._common import md_table

TITLE = "Scaling out: a grid search on dask.distributed vs loky vs serial"

GRID = {
    "lr": [1e-3, 3e-3, 1e-2],
    "hidden_units": [(64,), (128, 64)],
    "dropout": [0.0, 0.1],
}


def _data(data_home, n_rows):
    X, Y, cat, num = load(data_home)
    train = split(data_home, 0)[0][:n_rows]
    pre = preprocessor(cat, num)
    Xt = pre.fit_transform(X.iloc[train]).astype(np.float32)
    return Xt, Y.iloc[train].to_numpy().astype(float)


def _peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pid_peak():
    return os.getpid(), _peak_rss_mb()


def _warm_up():
    """Import torch and sk_mtl and run one tiny fit: start-up, not per-task cost."""
    from sk_mtl import MultiTaskClassifier

    rng = np.random.RandomState(0)
    X = rng.normal(size=(64, 4)).astype(np.float32)
    MultiTaskClassifier((4,), max_epochs=1).fit(X, X[:, 0] > 0)
    return os.getpid()


def _search(model, cv, n_jobs=None):
    from sklearn.metrics import roc_auc_score

    from sk_mtl.metrics import make_task_scorer

    scoring = make_task_scorer(roc_auc_score, response_method="predict_proba")
    return GridSearchCV(model, GRID, cv=cv, scoring=scoring, n_jobs=n_jobs)


def _timed(fn):
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    search = fn()
    wall = time.perf_counter() - start
    return search, wall, max(load_before, os.getloadavg()[0])


def _on_cluster(n_workers, model, cv, X, Y):
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            timeout=180,
        ) as cluster,
        Client(cluster) as client,
    ):
        client.wait_for_workers(n_workers, timeout=180)
        client.run(_warm_up)
        with joblib.parallel_backend("dask"):
            result = _timed(lambda: _search(model, cv).fit(X, Y))
        peaks = list(client.run(_peak_rss_mb).values())
    return (*result, max(peaks))


def _on_loky(model, cv, X, Y):
    joblib.Parallel(n_jobs=2)(joblib.delayed(_warm_up)() for _ in range(4))
    result = _timed(lambda: _search(model, cv, n_jobs=2).fit(X, Y))
    peaks = dict(
        joblib.Parallel(n_jobs=2)(joblib.delayed(_pid_peak)() for _ in range(8))
    )
    return (*result, max(peaks.values()))


def _task_bytes(model, cv, X, Y):
    """Pickled bytes of one task's payload (estimator clone, fold indices, params);
    X and Y are sent once per worker by joblib's dask backend (auto-scatter)."""
    train, test = next(cv.split(X, Y))
    params = {k: v[0] for k, v in GRID.items()}
    return len(pickle.dumps((clone(model), train, test, params))), X.nbytes + Y.nbytes


def run(data_home, quick, out_dir):
    from sk_mtl import MultiTaskClassifier
    from sk_mtl.model_selection import TaskStratifiedKFold

    n_rows, epochs = (4000, 4) if quick else (8000, 6)
    X, Y = _data(data_home, n_rows)
    model = MultiTaskClassifier(max_epochs=epochs, batch_size=256, random_state=0)
    cv = TaskStratifiedKFold(2, shuffle=True, random_state=0)
    n_fits = 12 * cv.get_n_splits()

    rows, scores = [], {}
    serial, wall_serial, load_serial = _timed(lambda: _search(model, cv).fit(X, Y))
    scores["serial"] = serial.cv_results_["mean_test_score"]
    rows.append(("serial (1 process)", wall_serial, 1.0, load_serial, _peak_rss_mb()))
    runs = [
        (
            "dask LocalCluster 2 workers x 1 thread",
            lambda: _on_cluster(2, model, cv, X, Y),
        ),
        ("loky n_jobs=2", lambda: _on_loky(model, cv, X, Y)),
        (
            "dask LocalCluster 4 workers x 1 thread",
            lambda: _on_cluster(4, model, cv, X, Y),
        ),
    ]
    walls = {}
    for name, fn in runs:
        search, wall, load_avg, peak = fn()
        scores[name] = search.cv_results_["mean_test_score"]
        walls[name] = wall
        rows.append((name, wall, wall_serial / wall, load_avg, peak))

    task_bytes, data_bytes = _task_bytes(model, cv, X, Y)
    identical = all(np.array_equal(s, scores["serial"]) for s in scores.values())
    per_fit = wall_serial / n_fits
    table = md_table(
        ["run", "wall (s)", "speed-up", "load avg (1 min)", "peak RSS / worker (MB)"],
        [
            (n, f"{w:.1f}", f"{s:.2f}x", f"{la:.1f}", f"{p:.0f}")
            for n, w, s, la, p in rows
        ],
    )
    overhead = {
        name: (workers * walls[name] - wall_serial) / n_fits
        for name, workers in (
            ("dask LocalCluster 2 workers x 1 thread", 2),
            ("dask LocalCluster 4 workers x 1 thread", 4),
        )
    }
    o2 = max(overhead["dask LocalCluster 2 workers x 1 thread"], 0.0)
    projection = md_table(
        [
            "machines (1 worker x 1 thread each)",
            "projected speed-up, 24 fits",
            "projected speed-up, 1000 fits",
        ],
        [
            (
                n,
                f"{wall_serial / (np.ceil(n_fits / n) * (per_fit + o2)):.1f}x",
                f"{1000 * per_fit / (np.ceil(1000 / n) * (per_fit + o2)):.1f}x",
            )
            for n in (2, 4, 8, 16, 32)
        ],
    )
    max_load = max(r[3] for r in rows)
    warning = (
        f"\n\n**The load average reached {max_load:.1f} on 2 cores during this run**: "
        "other jobs shared the cores, so the speed-ups understate what a quiet "
        "machine gives; re-measure on a quiet machine."
        if max_load > 2.5
        else ""
    )
    return f"""## {TITLE}

A 12-candidate grid (lr x hidden_units x dropout) of `MultiTaskClassifier`
(income and marital status, {epochs} epochs, batch 256) with
`TaskStratifiedKFold(2)`: {n_fits} fits on {n_rows} training rows of the seed-0
split ({X.shape[1]} features after one-hot), scored by mean per-task ROC AUC.
Every fit uses `n_threads="auto"`, which gives one torch thread per task slot in
each setting. The workers are started and warmed up (torch and sk_mtl imported,
one tiny fit) before the clock starts: the times are the search itself. Same
random_state everywhere: the cv scores of the parallel runs
are {"identical to" if identical else "NOT identical to"} the serial run's.{warning}

{table}

Bytes shipped per task: {task_bytes / 1024:.1f} KB (pickled estimator clone, fold
indices and parameters); X and Y ({data_bytes / 1e6:.1f} MB) are scattered once
per worker by joblib's dask backend, not sent with each task. Serial cost per fit:
{per_fit:.2f} s. Per-task overhead measured on the cluster, (workers x wall -
serial wall) / fits: {overhead["dask LocalCluster 2 workers x 1 thread"]:.2f} s
with 2 workers and {overhead["dask LocalCluster 4 workers x 1 thread"]:.2f} s with
4 workers on 2 cores (there it also counts 4 processes sharing 2 cores, an upper
bound on scheduling overhead).

Projection for N machines of 1 worker x 1 thread, from the serial cost per fit
and the 2-worker per-task overhead (network transfers of a real cluster add
about the bytes above per task):

{projection}
"""
