"""Saving and loading models without pickle: ``sk_mtl.save`` / ``sk_mtl.load``.

A saved model is a zip file holding

- ``sk_mtl.json``: the manifest (format name and version, the sk_mtl, torch and
  scikit-learn versions that wrote it, a SHA-256 of every other member);
- ``content.json``: the object tree: each estimator's class (from a fixed
  registry of savable classes), parameters and fitted attributes, each network's
  architecture (:mod:`sk_mtl._persistence._architecture`), inputs and tasks;
- ``weights.safetensors``: every tensor and numeric array (network weights,
  ``sample_weight_``, ...), in the safetensors format;
- ``skops/<n>.skops``: plain scikit-learn estimators (inside
  HardExampleMiningClassifier or a Pipeline), in skops' safe format.

Loading reads JSON, safetensors and skops only: nothing is unpickled, and only
classes of the registry (and what skops trusts) are instantiated.
"""

import hashlib
import json
import zipfile

import sklearn
import torch
from sklearn.pipeline import Pipeline

from .._version import __version__
from ._archive import FORMAT, FORMAT_VERSION, read_model
from ._codec import Reader, Writer

__all__ = ["save", "load", "register_savable"]


_SAVABLE = {}  # class name -> class
_PARTS = {}  # ("input" | "task", kind) -> class with to_config / from_config
_DEFAULTS = []  # filled on first use: the registry imports the estimators


def register_savable(cls):
    """Allow a class in files written by :func:`save` and read by :func:`load`.

    Parameters
    ----------
    cls : type
        An estimator class, whose parameters and fitted attributes are numbers,
        strings, arrays, sk_mtl inputs, tasks, networks or other savable
        estimators; or a task or input class (a ``kind`` attribute, and
        ``to_config()`` / ``from_config(config)`` methods).

    Returns
    -------
    cls : type
        The class, unchanged (so this works as a class decorator).
    """
    if hasattr(cls, "kind") and callable(getattr(cls, "from_config", None)):
        category = "task" if hasattr(cls, "n_outputs") else "input"
        _PARTS[category, cls.kind] = cls
    else:
        _SAVABLE[cls.__name__] = cls
    return cls


def _registry():
    if not _DEFAULTS:
        from .._data._inputs import NumericInput
        from .._data._tabular import TabularInput
        from .._data._tasks import ClassificationTask, RegressionTask
        from ..mining import _hard_example_mining
        from ..multitask import _classifier as _multitask
        from ..multitask._mixed import MixedTaskEstimator
        from ..multitask._regressor import MultiTaskRegressor
        from ..text._input import TextInput
        from ..text._sentence_encoder import SentenceEncoder
        from ..transfer import _fine_tuning, _merge, _transfer
        from ..transfer._fine_tuning_regressor import FineTunerRegressor

        _DEFAULTS.append(True)
        for cls in (
            _multitask.MultiTaskClassifier,
            MultiTaskRegressor,
            MixedTaskEstimator,
            _fine_tuning.FineTuner,
            FineTunerRegressor,
            _transfer.TransferClassifier,
            _merge.MergedClassifier,
            _hard_example_mining.HardExampleMiningClassifier,
            SentenceEncoder,
            Pipeline,
            TabularInput,
            NumericInput,
            TextInput,
            ClassificationTask,
            RegressionTask,
        ):
            register_savable(cls)
    return _SAVABLE


# --------------------------------------------------------------------- save
def save(estimator, path):
    """Save a model without pickle: weights in safetensors, the rest in JSON.

    Parameters
    ----------
    estimator : estimator
        An sk_mtl estimator (fitted or not), a HardExampleMiningClassifier or a
        Pipeline of them and scikit-learn steps (the scikit-learn parts are
        stored with skops).
    path : str or path-like
        Where to write the file (a zip archive).

    See Also
    --------
    load : Load a saved model.

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> import sk_mtl
    >>> X = np.random.RandomState(0).normal(size=(60, 3))
    >>> clf = sk_mtl.MultiTaskClassifier((8,), max_epochs=3, random_state=0)
    >>> clf = clf.fit(X, X[:, 0] > 0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skmtl")
    >>> sk_mtl.save(clf, path)
    >>> loaded = sk_mtl.load(path)
    >>> bool((loaded.predict_proba(X) == clf.predict_proba(X)).all())
    True
    """
    from safetensors.torch import save as save_tensors

    writer = Writer(_registry(), _PARTS)
    root = writer.encode(estimator, type(estimator).__name__)
    members = {
        "content.json": json.dumps(root).encode(),
        "weights.safetensors": save_tensors(writer.tensors),
        **writer.blobs,
    }
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sk_mtl_version": __version__,
        "torch_version": torch.__version__,
        "sklearn_version": sklearn.__version__,
        "sha256": {k: hashlib.sha256(v).hexdigest() for k, v in members.items()},
    }
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("sk_mtl.json", json.dumps(manifest, indent=1))
        for name, data in members.items():
            compress = zipfile.ZIP_DEFLATED if name.endswith(".json") else None
            zf.writestr(name, data, compress_type=compress or zipfile.ZIP_STORED)


# --------------------------------------------------------------------- load
def load(path, *, device=None, trusted=None):
    """Load a model saved by :func:`save`, treating the file as untrusted.

    Nothing is unpickled; the file is checked before anything it describes is
    allocated or built (see "What load promises" in the persistence guide).

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.
    device : str, default=None
        Override the ``device`` of the loaded networks (e.g. ``"cpu"`` for a
        model trained on a GPU). None keeps the saved one.
    trusted : list of str, default=None
        What you trust this file with, beyond what loading always allows: type
        names skops may load for scikit-learn parts (see
        :func:`skops.io.loads`), and ``"<Class>.<parameter>"`` entries for
        parameters that make the model read this machine's files
        (``"Pipeline.memory"``, ``"SentenceEncoder.model_name"``,
        ``"TransferClassifier.pretrained"``, ``"TextInput.encoder"``,
        ``"TextEncoder.encoder"`` for a text encoder that is a folder rather
        than a bundled one). The error refusing a file names the entry it needs.

    Returns
    -------
    estimator : estimator
        The model, predicting exactly as when it was saved.

    Raises
    ------
    ValueError
        If the file is not an sk_mtl model, is truncated, was modified after it
        was saved, was written by a newer format version, exceeds a size bound,
        or names something not trusted; the message names the part.
    """

    tensors, root, blobs = read_model(path, trusted)
    reader = Reader(_registry(), _PARTS, tensors, blobs, trusted, device)
    try:
        return reader.decode(root)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(
            f"{path}: invalid model content ({type(exc).__name__}: {exc})."
        ) from None
