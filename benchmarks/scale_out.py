"""A 12-candidate grid search on census-income: serial vs dask.distributed vs loky.

One run, same grid, same data, same random_state, timed seven ways: serially with
one torch thread per fit (the baseline of parallel efficiency: the same work per
process as each worker does) and with ``n_threads="auto"`` (all cores, what a
user without a cluster gets); through ``joblib.parallel_backend("dask")`` on a
``LocalCluster`` of 2 worker processes x 1 thread, with sk_mtl's allocator tuning
and without it (``MALLOC_MMAP_THRESHOLD_`` set in the workers, as before it
existed; see ``sk_mtl/_malloc.py``), and with the scaling guide's worker
configuration for CPU-bound fits (``sk_mtl.scaling.training_worker_config``);
with ``n_jobs=2`` on joblib's loky backend; and on a ``LocalCluster`` of 4 workers
x 1 thread (on this 2-core machine it shows the scheduling overhead per task, from
which the speed-up on N machines is projected). ``refit=False``: the searches are
timed, not the final refit, which is one serial fit in every setting. Each figure
comes with the machine's load average, since the machine is shared.

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

from sk_mtl.scaling import training_worker_config

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
    """This process's peak resident memory (MB).

    ``VmHWM`` of ``/proc/self/status`` where Linux has it: ``ru_maxrss`` carries
    the parent's peak over into a spawned worker (it survives fork and exec), so
    every worker would report the benchmark process's own peak.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
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
    return GridSearchCV(model, GRID, cv=cv, scoring=scoring, n_jobs=n_jobs, refit=False)


def _timed(fn):
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    search = fn()
    wall = time.perf_counter() - start
    return search, wall, max(load_before, os.getloadavg()[0])


def _on_cluster(n_workers, model, cv, X, Y, env=None, config=None):
    import dask
    from distributed import Client, LocalCluster

    with (
        dask.config.set(config or {}),
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            timeout=180,
            env=env,
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


# Before sk_mtl/_malloc.py: the nanny's MALLOC_TRIM_THRESHOLD_ froze glibc's mmap
# threshold at 128 KiB. Setting that threshold explicitly keeps it there and
# turns sk_mtl's tuning off (a user's own setting is respected).
_TUNING_OFF = {"MALLOC_MMAP_THRESHOLD_": "131072"}
_DASK_2 = "dask LocalCluster 2 workers x 1 thread"
# The scaling guide's advice for workers that run CPU-bound fits.
CPU_BOUND_CONFIG = training_worker_config()
_DASK_2_CPU = _DASK_2 + ", profiler off, tick 1 s"
# These settings run this many times, in turn; tables give the median wall.
ROUNDS = 3
REPEATED = ("serial, 1 thread per fit", _DASK_2, _DASK_2_CPU, "loky n_jobs=2")
_DASK_4 = "dask LocalCluster 4 workers x 1 thread"


def _runs(model, cv, X, Y):
    """(name, workers, run) for every setting, serial first."""
    one = clone(model).set_params(n_threads=1)
    return [
        ("serial, 1 thread per fit", 1, lambda: _serial(one, cv, X, Y)),
        ('serial, n_threads="auto" (all cores)', 1, lambda: _serial(model, cv, X, Y)),
        (_DASK_2, 2, lambda: _on_cluster(2, model, cv, X, Y)),
        (
            _DASK_2_CPU,
            2,
            lambda: _on_cluster(2, model, cv, X, Y, config=CPU_BOUND_CONFIG),
        ),
        (
            _DASK_2 + ", allocator tuning off",
            2,
            lambda: _on_cluster(2, model, cv, X, Y, env=_TUNING_OFF),
        ),
        ("loky n_jobs=2", 2, lambda: _on_loky(model, cv, X, Y)),
        (_DASK_4, 4, lambda: _on_cluster(4, model, cv, X, Y)),
    ]


def _serial(model, cv, X, Y):
    return (*_timed(lambda: _search(model, cv).fit(X, Y)), _peak_rss_mb())


def _projection(n_fits, per_fit, overhead):
    def speed_up(fits, n):
        return f"{fits * per_fit / (np.ceil(fits / n) * (per_fit + overhead)):.1f}x"

    rows = [(n, speed_up(n_fits, n), speed_up(1000, n)) for n in (2, 4, 8, 16, 32)]
    return md_table(
        [
            "machines (1 worker x 1 thread each)",
            f"projected speed-up, {n_fits} fits",
            "projected speed-up, 1000 fits",
        ],
        rows,
    )


def run(data_home, quick, out_dir):
    from sk_mtl import MultiTaskClassifier
    from sk_mtl.model_selection import TaskStratifiedKFold

    n_rows, epochs = (4000, 4) if quick else (40000, 6)
    X, Y = _data(data_home, n_rows)
    model = MultiTaskClassifier(max_epochs=epochs, batch_size=256, random_state=0)
    cv = TaskStratifiedKFold(2, shuffle=True, random_state=0)
    n_fits = 12 * cv.get_n_splits()

    # Rounds of every setting in turn (the machine's load drifts): the median
    # wall of the rounds, the highest load and peak memory seen.
    walls, results = {}, {}
    for round_ in range(1 if quick else ROUNDS):
        for name, workers, fn in _runs(model, cv, X, Y):
            if round_ and name not in REPEATED:
                continue
            search, wall, load_avg, peak = fn()
            walls.setdefault(name, []).append(wall)
            _, _, load_before, peak_before, _ = results.get(name, (0, 0, 0, 0, 0))
            results[name] = (
                workers,
                float(np.median(walls[name])),
                max(load_avg, load_before),
                max(peak, peak_before),
                search,
            )
    rounds_text = "; ".join(
        f"{name}: {', '.join(f'{w:.1f}' for w in walls[name])} s" for name in REPEATED
    )
    base = results["serial, 1 thread per fit"][1]
    auto = results['serial, n_threads="auto" (all cores)'][1]
    scores = [r[4].cv_results_["mean_test_score"] for r in results.values()]
    identical = all(np.array_equal(s, scores[0]) for s in scores)
    table = md_table(
        [
            "run",
            "wall (s)",
            "speed-up vs serial 1 thread",
            "parallel efficiency",
            'speed-up vs serial "auto"',
            "load avg (1 min)",
            "peak RSS / worker (MB)",
        ],
        [
            (
                name,
                f"{wall:.1f}",
                f"{base / wall:.2f}x",
                f"{base / wall / workers:.0%}",
                f"{auto / wall:.2f}x",
                f"{load_avg:.1f}",
                f"{peak:.0f}",
            )
            for name, (workers, wall, load_avg, peak, _) in results.items()
        ],
    )
    task_bytes, data_bytes = _task_bytes(model, cv, X, Y)
    per_fit = base / n_fits
    overhead = {
        name: (results[name][0] * results[name][1] - base) / n_fits
        for name in (_DASK_2, _DASK_2_CPU, _DASK_4)
    }
    # The 4-worker run loads the 2 cores with its own 4 processes: not other jobs.
    max_load = max(r[2] for name, r in results.items() if name != _DASK_4)
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
split ({X.shape[1]} features after one-hot), scored by mean per-task ROC AUC,
`refit=False` (the final refit is one serial fit in every setting). The workers
are started and warmed up (torch and sk_mtl imported, one tiny fit) before the
clock starts: the times are the search itself; the serial 1-thread, the two
2-worker dask searches with the allocator tuning and the loky search are the
median of {len(walls[_DASK_2])} rounds run in turn ({rounds_text}), the others
one run. Inside the workers
`n_threads="auto"` gives each fit one torch thread (2 workers x 1 thread on 2
cores). Parallel efficiency = speed-up over the serial 1-thread run (the same
work per process) / worker processes; the "auto" column compares with a serial
search that uses both cores for every fit. Same random_state everywhere: the cv
scores of all runs are {"identical" if identical else "NOT identical"}.{warning}

{table}

**Allocator tuning.** dask's nanny starts its workers with
`MALLOC_TRIM_THRESHOLD_=65536`, which also freezes glibc's mmap threshold at
128 KiB: every batch tensor above it is a fresh `mmap`, zero-filled and unmapped
on free, and torch ran about 40 % slower in such a worker. sk_mtl raises the
threshold for the duration of a fit or predict (`sk_mtl/_malloc.py`; trimming
still happens); the row "allocator tuning off" is the same cluster as before that
fix.

**Worker configuration for CPU-bound fits.** With both cores busy, every wake-up
of a worker's helper threads takes a core and the GIL from a fit: dask's
statistical profiler samples the task thread every 10 ms and the event-loop
watchdog ticks every 20 ms. The row "profiler off, tick 1 s" runs the same
cluster under `dask.config.set({CPU_BOUND_CONFIG!r})`, the scaling guide's advice
for training workers; the other dask rows use dask's defaults.

Bytes shipped per task: {task_bytes / 1024:.1f} KB (pickled estimator clone, fold
indices and parameters); X and Y ({data_bytes / 1e6:.1f} MB) are scattered once
per worker by joblib's dask backend, not sent with each task. Serial cost per fit
at 1 thread: {per_fit:.2f} s. Per-task overhead on the cluster, (workers x wall -
serial 1-thread wall) / fits: {overhead[_DASK_2]:.2f} s with 2 workers
({overhead[_DASK_2_CPU]:.2f} s with the CPU-bound configuration) and
{overhead[_DASK_4]:.2f} s with 4 workers on 2 cores (there it also counts 4
processes sharing 2 cores, an upper bound on scheduling overhead).

Projection for N machines of 1 worker x 1 thread, from the serial 1-thread cost per
fit and the 2-worker per-task overhead (network transfers of a real cluster add
about the bytes above per task):

{_projection(n_fits, per_fit, max(overhead[_DASK_2], 0.0))}
"""
