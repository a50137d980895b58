"""Helpers for running sk_mtl on a dask.distributed cluster (``sk_mtl[distributed]``).

A grid search through ``joblib.parallel_backend("dask")`` pickles every task's
estimator. joblib scatters large top-level arguments (X, y) once, but a fitted
source inside a :class:`~sk_mtl.FineTuner` or :class:`~sk_mtl.TransferClassifier`
is nested in the estimator, so it travels with every task: once per candidate and
fold. :func:`ship_to_workers` sends it once per worker instead.

:func:`training_worker_config` is the dask configuration we advise for workers
that run CPU-bound fits.

See the :ref:`Scaling out <scaling>` user guide.
"""

import copyreg
import pickle
import uuid
from contextlib import contextmanager

try:  # the optional dependency: sk_mtl[distributed]
    from distributed.diagnostics.plugin import WorkerPlugin as _WorkerPlugin
except ImportError:  # pragma: no cover - without distributed nothing is shipped
    _WorkerPlugin = object

__all__ = ["ship_to_workers", "training_worker_config"]

# token -> object, in this process (the client, or a worker via the plugin).
_SHIPPED = {}
# id(object) -> token, for the pickling hook.
_TOKENS = {}
# type -> number of shipped objects of that type (their pickling hook is on).
_HOOKED = {}


def _shipped(token):
    """Unpickle a shipped object: this process's copy."""
    try:
        return _SHIPPED[token]
    except KeyError:
        raise RuntimeError(
            f"Object {token} was shipped with sk_mtl.scaling.ship_to_workers but is "
            "not on this process: unpickle it inside the ship_to_workers block, on "
            "a worker of the client it was shipped with."
        ) from None


def _reduce(obj):
    token = _TOKENS.get(id(obj))
    if token is not None:
        return _shipped, (token,)
    return obj.__reduce_ex__(pickle.DEFAULT_PROTOCOL)


def _register(token, obj):
    _SHIPPED[token] = obj
    _TOKENS[id(obj)] = token
    cls = type(obj)
    if _HOOKED.get(cls, 0) == 0:
        copyreg.pickle(cls, _reduce)
    _HOOKED[cls] = _HOOKED.get(cls, 0) + 1


def _unregister(token):
    obj = _SHIPPED.pop(token, None)
    if obj is None:
        return
    _TOKENS.pop(id(obj), None)
    cls = type(obj)
    _HOOKED[cls] -= 1
    if _HOOKED[cls] == 0:
        del _HOOKED[cls]
        copyreg.dispatch_table.pop(cls, None)


class _ShipPlugin(_WorkerPlugin):
    """Worker plugin that puts the shipped objects on every worker, also on
    those that join later (dask runs ``setup`` on each)."""

    def __init__(self, name, payload):
        self.name = name
        self.payload = payload  # pickled before the hook is on: the real bytes

    def setup(self, worker):
        for token, obj in pickle.loads(self.payload).items():
            if token not in _SHIPPED:
                _register(token, obj)

    def teardown(self, worker):
        for token in pickle.loads(self.payload):
            _unregister(token)


@contextmanager
def ship_to_workers(*objects, client=None):
    """Send objects once to every dask worker; tasks then refer to them by name.

    Inside the block, pickling one of ``objects`` (on the client or a worker)
    writes a short token instead of its bytes, and unpickling the token gives the
    process's own copy: the worker's, sent once by a dask worker plugin (so
    workers that join later get it too), or the original object on the client.
    Use it for a fitted source that every candidate of a search reads, e.g.
    ``FineTuner(source)``: the source then crosses the network once per worker
    instead of once per task. The objects must not be modified inside the
    block (sk_mtl only reads a source).

    Parameters
    ----------
    *objects : objects with a ``__dict__``
        What to ship, e.g. fitted sk_mtl estimators or torch modules.
    client : distributed.Client, default=None
        The cluster's client; None uses the current one
        (``distributed.get_client()``).

    Yields
    ------
    objects : tuple
        The same objects.

    Examples
    --------
    >>> import joblib
    >>> from sk_mtl.scaling import ship_to_workers
    >>> with ship_to_workers(source):  # doctest: +SKIP
    ...     with joblib.parallel_backend("dask"):
    ...         GridSearchCV(FineTuner(source), grid).fit(X, y)
    """
    import distributed

    for obj in objects:
        if not hasattr(obj, "__dict__"):
            raise TypeError(
                f"ship_to_workers ships objects with attributes (fitted estimators, "
                f"torch modules); got {type(obj).__name__}. joblib's dask backend "
                "already sends large arrays once."
            )
    client = distributed.get_client() if client is None else client
    shipped = {f"sk_mtl-{uuid.uuid4().hex}": obj for obj in objects}
    name = f"sk_mtl-ship-{uuid.uuid4().hex}"
    payload = pickle.dumps(shipped, protocol=pickle.HIGHEST_PROTOCOL)
    for token, obj in shipped.items():
        _register(token, obj)
    try:
        client.register_plugin(_ShipPlugin(name, payload), name=name)
        yield objects
    finally:
        for token in shipped:
            _unregister(token)
        client.unregister_worker_plugin(name)


def training_worker_config():
    """dask settings for workers whose tasks are CPU-bound fits.

    When every core runs a fit, each wake-up of a worker's helper threads takes
    a core and the GIL from one. These settings turn off dask's statistical
    profiler (it samples the running task's stack every 10 ms; the dashboard's
    profile page stays empty) and run the event-loop watchdog every second
    instead of every 20 ms. On 2 cores they took a 2-worker grid search from
    1.85x to 1.96x the serial speed (``benchmarks/results/scale_out.md``).

    Returns
    -------
    dict
        Keys and values for :func:`dask.config.set`, to enter before the cluster
        or the workers start (``dask worker`` reads them from the environment:
        ``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False``,
        ``DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL=1s``).

    Examples
    --------
    >>> from sk_mtl.scaling import training_worker_config
    >>> for key, value in training_worker_config().items():
    ...     print(key, value)
    distributed.worker.profile.enabled False
    distributed.admin.tick.interval 1s

    With a local cluster::

        import dask
        from distributed import LocalCluster

        with dask.config.set(training_worker_config()):
            cluster = LocalCluster(n_workers=2, threads_per_worker=1)
    """
    return {
        "distributed.worker.profile.enabled": False,
        "distributed.admin.tick.interval": "1s",
    }
