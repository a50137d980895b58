"""Checks of a model file's object tree, made before anything is built from it.

:func:`check_tree` compares the object tree (``content.json``) with the header
of the weights; :func:`check_reach` refuses parameters that would make the
loaded model read this machine's files unless the caller trusts them.
"""

import math

import numpy as np
import torch

__all__ = [
    "MAX_NESTING",
    "MAX_STRING_BYTES",
    "NUMERIC_DTYPES",
    "array_dtype",
    "array_shape",
    "check_reach",
    "check_tree",
]

MAX_NESTING = 64  # levels of the object tree in content.json
MAX_STRING_BYTES = 2**26  # memory of one array of str
NUMERIC_DTYPES = {
    np.dtype(t).str
    for t in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16")
    + ("uint32", "uint64", "float16", "float32", "float64")
}


def _bundled(name):
    from ..text._loading import _is_bundled

    return _is_bundled(name)


# Parameters through which a loaded model would read files of this machine (or
# unpickle them: joblib's cache of a Pipeline's memory), refused unless
# ``trusted`` names them. Key: (class, parameter); value: "is this value safe".
_REACHING = {
    ("Pipeline", "memory"): lambda v: v is None,
    ("SentenceEncoder", "model_name"): _bundled,
    ("TransferClassifier", "pretrained"): lambda v: (
        not isinstance(v, str) or _bundled(v)
    ),
    ("TextInput", "encoder"): _bundled,
    ("TextEncoder", "encoder"): _bundled,
}


def check_reach(name, param, value, trusted):
    """ValueError if ``name.param = value`` reads files and is not ``trusted``."""
    safe = _REACHING.get((name, param))
    if safe is None or safe(value) or f"{name}.{param}" in (trusted or ()):
        return
    raise ValueError(
        f"{name}.{param}={value!r} would make the loaded model read that "
        "location of this machine (a folder, a cache joblib unpickles from). "
        f"If you trust this file, load it with trusted=['{name}.{param}']."
    )


def _tensor_dtype(dtype):
    return torch.from_numpy(np.empty(0, dtype=dtype)).dtype


def check_tree(root, header, trusted):
    """Check the object tree against the weights' header, before any tensor is read.

    Every array must name a tensor of its dtype and size, every network must be
    described within bounds and size exactly the tensors under its prefix, and
    every tensor must belong to one of them.
    """
    from ._architecture import check_description, weights_size

    claimed = set()
    for node in _nodes(root):
        if "__ndarray__" in node and "key" in node:
            key = node["key"]
            entry = header.get(key) if isinstance(key, str) else None
            dtype = array_dtype(node)
            if entry is None or entry[0] != _tensor_dtype(dtype):
                raise ValueError(f"array {key!r} has no {dtype} tensor in the weights")
            if math.prod(entry[1]) != math.prod(array_shape(node)):
                raise ValueError(f"array {key!r}: its tensor has another size")
            claimed.add(key)
        elif "__module__" in node:
            description, prefix = node["__module__"], node.get("prefix")
            check_description(description)
            for d in _descriptions(description):
                if d.get("type") == "TextEncoder":
                    check_reach("TextEncoder", "encoder", d.get("encoder"), trusted)
            if not isinstance(prefix, str) or not prefix.endswith("."):
                raise ValueError(f"network prefix {prefix!r} is invalid")
            keys = {k for k in header if k.startswith(prefix)}
            stored = sum(math.prod(header[k][1]) for k in keys)
            expected = weights_size(description)
            if stored != expected:
                raise ValueError(
                    f"the weights do not fit the saved architecture: network "
                    f"{prefix[:-1]} holds {stored} values, its architecture "
                    f"{description.get('type')!r} has {expected}"
                )
            claimed |= keys
    if set(header) - claimed:
        raise ValueError(
            f"tensors {sorted(set(header) - claimed)[:5]} belong to no saved part"
        )


def _nodes(node, depth=0):
    """Every dict of the tree, depth first (the tree is at most MAX_NESTING deep)."""
    if depth > MAX_NESTING:
        raise ValueError(f"the object tree nests deeper than {MAX_NESTING} levels")
    if isinstance(node, dict):
        yield node
        children = node.values() if "__module__" not in node else ()
    elif isinstance(node, list):
        children = node
    else:
        return
    for child in children:
        yield from _nodes(child, depth + 1)


def _descriptions(description):
    yield description
    for value in description.values():
        if isinstance(value, dict) and "type" in value:
            yield from _descriptions(value)


def array_dtype(node):
    name = node["__ndarray__"]
    if not isinstance(name, str):
        raise ValueError(f"array dtype {name!r} is not a dtype name")
    if name in NUMERIC_DTYPES or name == "|O":
        return np.dtype(name)
    width = name[2:]
    if name[:2] in ("<U", ">U") and width.isdigit() and 0 < int(width) <= 2**20:
        return np.dtype(name)
    raise ValueError(f"arrays of dtype {name!r} are not stored by sk_mtl")


def array_shape(node):
    shape = node["shape"]
    if (
        not isinstance(shape, list)
        or len(shape) > 32
        or not all(isinstance(n, int) and 0 <= n < 2**62 for n in shape)
    ):
        raise ValueError(f"array shape {shape!r} is invalid")
    return tuple(shape)
