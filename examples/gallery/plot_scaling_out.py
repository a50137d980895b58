"""
==================================================
Scaling out: a grid search on a dask cluster
==================================================

A grid search is many independent fits. scikit-learn sends them to a
dask.distributed cluster through joblib's ``"dask"`` backend, and every sk_mtl
estimator works there as it is (``pip install "sk_mtl[distributed]"``).

This example starts a :class:`~distributed.LocalCluster` of 2 worker processes
with 1 thread each on this machine, runs a small
:class:`~sklearn.model_selection.GridSearchCV` of a
:class:`~sk_mtl.MultiTaskClassifier` on it, checks that the scores equal those
of the same search run serially, and shuts the cluster down. On several
machines only the address changes: ``Client("tcp://scheduler:8786")``.
"""

# %%
# Two tasks, one with missing labels
# ----------------------------------
import joblib
import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster
from sklearn.model_selection import GridSearchCV

from sk_mtl import MultiTaskClassifier
from sk_mtl.model_selection import TaskStratifiedKFold

rng = np.random.RandomState(0)
X = rng.normal(size=(600, 8)).astype(np.float32)
Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] * X[:, 3] > 0]).astype(float)
Y[::4, 1] = np.nan  # task 1 unlabelled on a quarter of the rows

search = GridSearchCV(
    MultiTaskClassifier(max_epochs=15, random_state=0),
    {"lr": [1e-3, 1e-2], "hidden_units": [(16,), (64, 32)]},
    # sklearn's cv=3 shortcut rejects a Y with NaN; this splitter keeps the
    # unlabelled rows spread over the folds.
    cv=TaskStratifiedKFold(3, shuffle=True, random_state=0),
)

# %%
# The search on a local cluster
# -----------------------------
# Processes with one thread each: a network fit holds the GIL for part of every
# batch, so fits in threads of one process would not run fully in parallel. Each
# fit runs with one torch thread in a dask worker (no oversubscription). The
# ``with`` blocks close the client and shut the cluster down, even on an error.
#
# The worker processes are *spawned*: each starts a fresh Python that imports
# this script again. The ``if __name__ == "__main__":`` guard (in this cell and
# the next ones) keeps them from running the searches themselves, as for any
# script that starts processes with multiprocessing.

if __name__ == "__main__":
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        print(f"{len(client.scheduler_info()['workers'])} workers")
        with joblib.parallel_backend("dask"):
            distributed_scores = search.fit(X, Y).cv_results_
    print("cluster closed:", cluster.status.name)

# %%
# The same search, serially
# -------------------------
# Same ``random_state``, same folds: the same models and the same scores.

if __name__ == "__main__":
    serial_scores = search.fit(X, Y).cv_results_
    print(
        "identical cv scores:",
        np.array_equal(
            distributed_scores["mean_test_score"], serial_scores["mean_test_score"]
        ),
    )

# %%
# Cross-validated score of each candidate
# ---------------------------------------
# ``score`` of a multi-task model is the mean accuracy over its tasks, on the
# labelled entries only. Dots: the three folds; bars: their mean.


def plot_cv_scores(results, n_folds=3):
    fig, ax = plt.subplots(figsize=(7, 4))
    candidates = range(len(results["params"]))
    for fold in range(n_folds):
        ax.scatter(
            candidates, results[f"split{fold}_test_score"], color="k", s=12, zorder=3
        )
    ax.bar(candidates, results["mean_test_score"], alpha=0.6)
    labels = [f"lr={p['lr']:g}\nhidden={p['hidden_units']}" for p in results["params"]]
    ax.set_xticks(candidates, labels, fontsize=8)
    ax.set_ylim(0.5, 1.0)
    ax.set_ylabel("cv score (mean accuracy over tasks)")
    ax.set_title("GridSearchCV through joblib's dask backend, 2 workers")
    fig.tight_layout()


if __name__ == "__main__":
    plot_cv_scores(distributed_scores)
    plt.show()
