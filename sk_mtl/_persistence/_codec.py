"""The object tree of a saved model: values to JSON and tensors, and back.

:class:`Writer` turns an estimator into JSON-able nodes, collecting tensors (for
safetensors) and skops blobs on the way; :class:`Reader` turns the nodes back
into objects, building only registered classes (:mod:`sk_mtl._persistence`).
Objects met twice (a source shared by several FineTuners, a network that is both
``merged_.module_`` and ``module_``) are stored once and referenced.
"""

import inspect
import math

import numpy as np
import torch
from sklearn.base import BaseEstimator
from skorch.history import History
from torch import nn

from ._architecture import build, describe
from ._load_checks import (
    MAX_NESTING,
    MAX_STRING_BYTES,
    NUMERIC_DTYPES,
    array_dtype,
    array_shape,
    check_reach,
)

__all__ = ["Writer", "Reader"]

# Rebuilt after loading rather than stored (a SentenceEncoder's encoder is
# reloaded from its package on first use).
_SKIPPED = {
    "net_",
    "_source",
    "_metadata_request",
    "_encoder",
    "_device",
    "_fast_scaling",
}


def _params(obj):
    """The constructor parameters of an estimator or a plain registered class."""
    if isinstance(obj, BaseEstimator):
        return obj.get_params(deep=False)
    names = inspect.signature(type(obj)).parameters
    return {name: getattr(obj, name) for name in names}


class Writer:
    """Encodes objects; ``tensors`` and ``blobs`` collect the binary parts."""

    def __init__(self, registry, parts):
        self.registry = registry
        self.parts = parts
        self.tensors = {}
        self.blobs = {}
        self.memo = {}  # id(obj) -> reference number

    def encode(self, value, where):
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, np.generic):
            return {"__scalar__": value.dtype.str, "v": value.item()}
        if isinstance(value, np.ndarray | torch.Tensor):
            return self._array(value, where)
        if isinstance(value, History):
            return {"__history__": self.encode(list(value), where)}
        if isinstance(value, torch.device):
            return {"__device__": str(value)}
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v, where) for v in value]}
        if isinstance(value, list):
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise TypeError(f"{where}: dict keys must be str to be saved.")
            return {
                "__dict__": {
                    k: self.encode(v, f"{where}.{k}") for k, v in value.items()
                }
            }
        if id(value) in self.memo:
            return {"__ref__": self.memo[id(value)]}
        node = self._object(value, where)
        self.memo[id(value)] = len(self.memo)
        node["__id__"] = self.memo[id(value)]
        return node

    def _array(self, value, where):
        array = (
            value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value
        )
        dtype = array.dtype
        node = {"__ndarray__": dtype.str, "shape": list(array.shape)}
        if isinstance(value, torch.Tensor):
            node["torch"] = True
        if dtype.kind in "biuf":
            key = f"a{len(self.tensors)}"
            self.tensors[key] = torch.from_numpy(np.ascontiguousarray(array).copy())
            node["key"] = key
        elif dtype.kind in "UO":
            node["values"] = [self.encode(v, where) for v in array.ravel().tolist()]
        else:
            raise TypeError(f"{where}: arrays of dtype {dtype} cannot be saved.")
        return node

    def _object(self, value, where):
        if isinstance(value, nn.Module):
            return self._module(value)
        config = getattr(value, "to_config", None)
        if callable(config) and hasattr(value, "kind"):
            category = "task" if hasattr(value, "n_outputs") else "input"
            return {"__part__": category, "config": self.encode(config(), where)}
        if self.registry.get(type(value).__name__) is type(value):
            return self._estimator(value, where)
        if isinstance(value, BaseEstimator) or type(value).__module__.startswith(
            "sklearn."
        ):
            return self._skops(value, where)
        raise TypeError(
            f"sk_mtl.save cannot store {where} ({type(value).__name__}): only "
            "numbers, strings, arrays, sk_mtl networks, inputs, tasks and estimators "
            "(scikit-learn ones through skops) can be saved without pickle."
        )

    def _module(self, module):
        prefix = f"m{len(self.memo)}."
        for name, tensor in module.state_dict().items():
            self.tensors[prefix + name] = tensor.detach().cpu().contiguous().clone()
        return {
            "__module__": describe(module),
            "prefix": prefix,
            "training": module.training,
            "frozen": [n for n, p in module.named_parameters() if not p.requires_grad],
        }

    def _estimator(self, est, where):
        name = type(est).__name__
        params = _params(est)
        if params.get("callbacks"):
            raise TypeError(
                f"{where} ({name}) has callbacks={params['callbacks']!r}: skorch "
                "callbacks are code and cannot be saved without pickle. Set "
                "callbacks=None (set_params) before saving."
            )
        state = {
            k: v for k, v in vars(est).items() if k not in params and k not in _SKIPPED
        }
        return {
            "__estimator__": name,
            "params": {k: self.encode(v, f"{where}.{k}") for k, v in params.items()},
            "state": {k: self.encode(v, f"{where}.{k}") for k, v in state.items()},
        }

    def _skops(self, value, where):
        try:
            import skops.io as sio
        except ImportError:
            raise ImportError(
                f"Saving {where} ({type(value).__name__}, a scikit-learn object) "
                "needs skops: pip install sk_mtl[save]."
            ) from None
        name = f"skops/{len(self.blobs)}.skops"
        self.blobs[name] = sio.dumps(value)
        return {"__skops__": name}


class Reader:
    """Decodes nodes, building only the classes of ``registry`` and ``parts``.

    The tree was checked against the weights first (:func:`check_tree`); here
    each value is checked as it is built: dtypes from a fixed list, shapes
    against the data, estimator parameters with the estimator's own rules.
    """

    def __init__(self, registry, parts, tensors, blobs, trusted, device):
        self.registry = registry
        self.parts = parts
        self.tensors = tensors
        self.blobs = blobs
        self.trusted = trusted
        self.device = device
        self.objects = {}
        self.depth = 0

    def decode(self, node):
        if node is None or isinstance(node, bool | int | float | str):
            return node
        self.depth += 1
        try:
            if self.depth > MAX_NESTING:
                raise ValueError(f"the object tree nests deeper than {MAX_NESTING}")
            if isinstance(node, list):
                return [self.decode(v) for v in node]
            return self._node(node)
        finally:
            self.depth -= 1

    def _node(self, node):
        if not isinstance(node, dict):
            raise ValueError(f"unexpected value {node!r}")
        if "__ref__" in node:
            return self.objects[node["__ref__"]]
        for key, method in self._KINDS.items():
            if key in node:
                value = method(self, node)
                if "__id__" in node:
                    self.objects[node["__id__"]] = value
                return value
        raise ValueError(f"unknown entry {sorted(node)[:5]}")

    def _scalar(self, node):
        name, value = node["__scalar__"], node["v"]
        if name not in NUMERIC_DTYPES or not isinstance(value, bool | int | float):
            raise ValueError(f"scalar {value!r} of dtype {name!r} is invalid")
        try:
            with np.errstate(over="raise"):
                return np.dtype(name).type(value)
        except (OverflowError, FloatingPointError):
            raise ValueError(f"scalar {value!r} does not fit dtype {name}") from None

    def _tuple(self, node):
        return tuple(self.decode(v) for v in node["__tuple__"])

    def _dict(self, node):
        return {str(k): self.decode(v) for k, v in node["__dict__"].items()}

    def _history(self, node):
        return History(self.decode(node["__history__"]))

    def _device(self, node):
        try:
            return torch.device(str(node["__device__"]))
        except RuntimeError:
            raise ValueError(f"invalid device {node['__device__']!r}") from None

    def _ndarray(self, node):
        dtype = array_dtype(node)
        shape = array_shape(node)
        if dtype.kind in "UO":
            values = node["values"]
            if not isinstance(values, list) or len(values) != math.prod(shape):
                raise ValueError(f"array of shape {shape}: wrong number of values")
            if dtype.itemsize * len(values) > MAX_STRING_BYTES:
                raise ValueError(f"array of {dtype} x {len(values)} is too large")
            array = np.empty(len(values), dtype=dtype)
            array[:] = [self.decode(v) for v in values]
        else:
            array = self.tensors[node["key"]].numpy()
            if array.dtype != dtype or array.size != math.prod(shape):
                raise ValueError(f"array {node['key']!r} does not match its tensor")
        array = array.reshape(shape)
        return torch.from_numpy(array) if node.get("torch") else array

    def _part(self, node):
        config = self.decode(node["config"])
        if not isinstance(config, dict):
            raise ValueError("an input or task without its configuration")
        cls = self.parts.get((node["__part__"], config.get("kind")))
        if cls is None:
            raise ValueError(f"unknown {node['__part__']} kind {config.get('kind')!r}")
        if config.get("kind") == "text":
            check_reach("TextInput", "encoder", config.get("encoder"), self.trusted)
        return cls.from_config(config)

    def _module(self, node):
        module = build(node["__module__"])
        prefix = node["prefix"]
        state = {
            k[len(prefix) :]: v for k, v in self.tensors.items() if k.startswith(prefix)
        }
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ValueError(
                f"the weights do not fit the saved architecture: {exc}"
            ) from None
        frozen = set(node["frozen"])
        for name, p in module.named_parameters():
            p.requires_grad_(name not in frozen)
        return module.train(bool(node["training"]))

    def _estimator(self, node):
        name = node["__estimator__"]
        cls = self.registry.get(name)
        if cls is None:
            raise ValueError(
                f"class {name!r} is not one sk_mtl.load rebuilds (known: "
                f"{sorted(self.registry)}); nothing else is ever instantiated"
            )
        params = {str(k): self.decode(v) for k, v in node["params"].items()}
        if self.device is not None and "device" in params:
            params["device"] = self.device
        for key, value in params.items():
            check_reach(name, key, value, self.trusted)
        est = cls(**params)
        if hasattr(cls, "_parameter_constraints"):
            try:
                est._validate_params()
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{name}: {exc}") from None
        for key, value in node["state"].items():
            if not key.isidentifier() or key.startswith("__") or hasattr(cls, key):
                raise ValueError(f"{name} has no fitted attribute {key!r}")
            setattr(est, key, self.decode(value))
        _after_load(est)
        return est

    def _skops(self, node):
        import skops.io as sio

        try:
            return sio.loads(self.blobs[node["__skops__"]], trusted=self.trusted)
        except Exception as exc:  # skops: untrusted types and malformed data
            raise ValueError(
                f"{node['__skops__']}: {type(exc).__name__}: {exc}"
            ) from None

    _KINDS = {
        "__scalar__": _scalar,
        "__tuple__": _tuple,
        "__dict__": _dict,
        "__history__": _history,
        "__device__": _device,
        "__ndarray__": _ndarray,
        "__part__": _part,
        "__module__": _module,
        "__estimator__": _estimator,
        "__skops__": _skops,
    }


def _after_load(est):
    """Rebuild what was not stored: the skorch net, a transfer source."""
    from .._engine._base import BaseNeuralClassifier
    from .._engine._phases import Network, TrainingPhase
    from ..transfer._sources import make_source
    from ..transfer._transfer import TransferClassifier

    if isinstance(est, TransferClassifier):
        est._source = make_source(est.pretrained, type(est).__name__)
    if isinstance(est, BaseNeuralClassifier) and hasattr(est, "module_"):
        device = est._check_device()
        phase = TrainingPhase("loaded", est.module_, None, est.max_epochs)
        net = est._make_net(phase, Network(est.module_), None, seed=0)
        net.initialize()
        net.history = est.history_
        est.module_ = net.module_
        est.net_ = net
        est.module_.to(device)
