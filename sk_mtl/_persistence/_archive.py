"""Reading a saved model's zip archive as hostile input, within fixed bounds.

Order of the checks (nothing is read whole before its bound is known):

1. the member list: only the names ``save`` writes, at most ``MAX_MEMBERS``;
2. the manifest (``sk_mtl.json``, at most ``MAX_MANIFEST`` bytes): format,
   version, and a SHA-256 for exactly the other members (mandatory);
3. every member's declared size: JSON at most ``MAX_JSON`` bytes, binary
   members at most ``MAX_RATIO`` times their compressed size (``save`` stores
   them uncompressed) plus 1 MiB;
4. ``content.json``, streamed up to its bound, hashed and parsed;
5. the safetensors header of ``weights.safetensors`` (at most ``MAX_JSON``
   bytes): dtypes from a fixed list, offsets that tile the data exactly, and
   :func:`._load_checks.check_tree`: every array and network of the object tree
   matches the tensors, and every network's architecture (bounded, sized on the
   "meta" device) holds exactly the values stored under it;
6. then only the tensors and skops members are read, streamed up to the
   declared size, and hashed.

Every failure is a ``ValueError`` naming the file and the member.
"""

import hashlib
import json
import math
import re
import struct
import zipfile

__all__ = ["read_model"]

# What a save file says it is, and the newest layout this version reads.
FORMAT = "sk_mtl-model"
FORMAT_VERSION = 1

MAX_MEMBERS = 1024
MAX_MANIFEST = 2**20
MAX_JSON = 2**24
MAX_RATIO = 16
_NAMES = re.compile(r"content\.json|weights\.safetensors|skops/[0-9]{1,4}\.skops")
_CHUNK = 2**20
# safetensors dtype -> (bytes per value, torch dtype name)
_SAFETENSORS_DTYPES = {
    "BOOL": (1, "bool"),
    "U8": (1, "uint8"),
    "I8": (1, "int8"),
    "I16": (2, "int16"),
    "U16": (2, "uint16"),
    "F16": (2, "float16"),
    "BF16": (2, "bfloat16"),
    "I32": (4, "int32"),
    "U32": (4, "uint32"),
    "F32": (4, "float32"),
    "I64": (8, "int64"),
    "U64": (8, "uint64"),
    "F64": (8, "float64"),
}


class _Refused(ValueError):
    pass


def read_model(path, trusted):
    """``(tensors, object tree, skops blobs)`` of a checked model file."""
    try:
        with zipfile.ZipFile(path) as zf:
            return _read(zf, trusted)
    except zipfile.BadZipFile as exc:
        raise ValueError(
            f"{path} is not an sk_mtl model file, or it is truncated or corrupted "
            f"({exc}). sk_mtl.load reads only files written by sk_mtl.save; it "
            "never unpickles."
        ) from None
    except _Refused as exc:
        raise ValueError(f"{path}: {exc}") from None


def _read(zf, trusted):
    from safetensors import SafetensorError
    from safetensors.torch import load as load_tensors

    from ._load_checks import check_tree

    infos = _members(zf)
    digests = _manifest(zf, infos)
    for name, info in infos.items():
        _check_declared_size(name, info)
    root = _json(_stream(zf, infos["content.json"], digests), "content.json")
    with zf.open(infos["weights.safetensors"]) as stream:
        head, header = _safetensors_header(stream, infos["weights.safetensors"])
        try:
            check_tree(root, header, trusted)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise _Refused(f"content.json: {exc}.") from None
        rest = _read_capped(stream, infos["weights.safetensors"].file_size - len(head))
    weights = head + rest
    _check_digest("weights.safetensors", weights, digests)
    try:
        tensors = load_tensors(weights)
    except SafetensorError as exc:
        raise _Refused(f"weights.safetensors is unreadable ({exc}).") from None
    blobs = {
        name: _stream(zf, info, digests)
        for name, info in infos.items()
        if name.startswith("skops/")
    }
    return tensors, root, blobs


def _members(zf):
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise _Refused(f"{len(infos)} members exceed the bound of {MAX_MEMBERS}.")
    by_name = {}
    for info in infos:
        name = info.filename
        if name in by_name:
            raise _Refused(f"member {name!r} appears twice.")
        by_name[name] = info
    if "sk_mtl.json" not in by_name:
        raise _Refused("not an sk_mtl model file (no valid sk_mtl.json manifest).")
    return by_name


def _manifest(zf, infos):
    info = infos["sk_mtl.json"]
    try:
        if info.file_size > MAX_MANIFEST:
            raise ValueError
        with zf.open(info) as stream:
            manifest = json.loads(_read_capped(stream, info.file_size))
        if manifest["format"] != FORMAT:
            raise ValueError
        version = manifest["format_version"]
        if not isinstance(version, int) or isinstance(version, bool):
            raise ValueError
    except (KeyError, ValueError, TypeError, RecursionError, _Refused):
        raise _Refused(
            "not an sk_mtl model file (no valid sk_mtl.json manifest)."
        ) from None
    if version > FORMAT_VERSION:
        raise _Refused(
            f"written in format version {version} by sk_mtl "
            f"{manifest.get('sk_mtl_version')}; this sk_mtl reads versions up to "
            f"{FORMAT_VERSION}. Upgrade sk_mtl to load it."
        )
    digests = manifest.get("sha256")
    if not isinstance(digests, dict) or not all(
        isinstance(d, str) and re.fullmatch("[0-9a-f]{64}", d) for d in digests.values()
    ):
        raise _Refused("sk_mtl.json has no valid sha256 checksums (mandatory).")
    names = set(infos) - {"sk_mtl.json"}
    for name in sorted(names ^ set(digests)):
        what = "has no checksum" if name in names else "is missing"
        raise _Refused(
            f"{name} {what}: the file was modified or damaged after it was saved."
        )
    for name in sorted(names):
        if not _NAMES.fullmatch(name):
            raise _Refused(f"member {name!r} is not one sk_mtl.save writes.")
    for name in ("content.json", "weights.safetensors"):
        if name not in names:
            raise _Refused(f"{name} is missing.")
    return digests


def _check_declared_size(name, info):
    if name.endswith(".json"):
        bound = MAX_MANIFEST if name == "sk_mtl.json" else MAX_JSON
    else:
        bound = MAX_RATIO * info.compress_size + 2**20
    if info.file_size > bound:
        raise _Refused(
            f"{name} declares {info.file_size} bytes, over its bound of {bound} "
            "(a compressed member that would expand in memory)."
        )


def _read_capped(stream, size):
    """Exactly ``size`` bytes from ``stream``, read in chunks; never more."""
    parts, left = [], size
    while left > 0:
        chunk = stream.read(min(_CHUNK, left))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    if left or stream.read(1):
        raise _Refused("a member's size differs from the size it declares.")
    return b"".join(parts)


def _stream(zf, info, digests):
    with zf.open(info) as stream:
        data = _read_capped(stream, info.file_size)
    _check_digest(info.filename, data, digests)
    return data


def _check_digest(name, data, digests):
    if hashlib.sha256(data).hexdigest() != digests[name]:
        raise _Refused(
            f"{name} does not match its checksum: the file was modified or "
            "damaged after it was saved."
        )


def _json(data, name):
    try:
        return json.loads(data)
    except RecursionError:
        raise _Refused(f"{name} nests too deeply.") from None
    except ValueError as exc:
        raise _Refused(f"{name} is not valid JSON ({exc}).") from None


def _safetensors_header(stream, info):
    """The raw header bytes and ``{name: (torch dtype, shape)}``, checked."""
    import torch

    start = stream.read(8)
    if len(start) != 8:
        raise _Refused("weights.safetensors is truncated.")
    (n,) = struct.unpack("<Q", start)
    if n > min(MAX_JSON, info.file_size - 8):
        raise _Refused(f"weights.safetensors declares a header of {n} bytes.")
    raw = start + _read_exactly(stream, n)
    header = _json(raw[8:], "weights.safetensors header")
    if not isinstance(header, dict):
        raise _Refused("weights.safetensors has an invalid header.")
    header.pop("__metadata__", None)
    entries, spans = {}, []
    for name, entry in header.items():
        try:
            size, dtype = _SAFETENSORS_DTYPES[entry["dtype"]]
            shape = [int(d) for d in entry["shape"]]
            begin, end = (int(o) for o in entry["data_offsets"])
            if any(d < 0 for d in shape) or end - begin != size * math.prod(shape):
                raise ValueError
        except (KeyError, TypeError, ValueError):
            raise _Refused(
                f"weights.safetensors: tensor {name!r} is invalid."
            ) from None
        entries[name] = (getattr(torch, dtype), shape)
        spans.append((begin, end))
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            raise _Refused("weights.safetensors: tensor data overlap or leave gaps.")
        position = end
    if 8 + n + position != info.file_size:
        raise _Refused(
            f"weights.safetensors declares {info.file_size} bytes; its tensors "
            f"take {8 + n + position}."
        )
    return raw, entries


def _read_exactly(stream, n):
    data = stream.read(n)
    if len(data) != n:
        raise _Refused("weights.safetensors is truncated.")
    return data
