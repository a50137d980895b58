"""sk_mtl.load on crafted files: each attack is a clear ValueError, allocated nothing.

Each test edits a real saved file the way an attacker would (recomputing the
checksums, which an attacker can do) and checks that load refuses it with a
ValueError naming the part, without the memory the attack aimed at.
"""

import hashlib
import json
import resource
import zipfile

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sk_mtl
from sk_mtl import MultiTaskClassifier

pytest.importorskip("safetensors")
MB = 2**20


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3))
    y = np.where(X[:, 0] > 0, "up", "down")
    clf = MultiTaskClassifier((4,), max_epochs=1, random_state=0).fit(X, y)
    path = tmp_path_factory.mktemp("saved") / "model.skmtl"
    sk_mtl.save(clf, path)
    return path


def _members(path):
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def _write(path, members, fix=True, compress=()):
    """Write ``members``; ``fix`` recomputes the manifest's checksums."""
    if fix:
        manifest = json.loads(members["sk_mtl.json"])
        manifest["sha256"] = {
            k: hashlib.sha256(v).hexdigest()
            for k, v in members.items()
            if k != "sk_mtl.json"
        }
        members = {**members, "sk_mtl.json": json.dumps(manifest).encode()}
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            kind = zipfile.ZIP_DEFLATED if name in compress else zipfile.ZIP_STORED
            zf.writestr(name, data, compress_type=kind)
    return path


def _edit_content(saved, tmp_path, edit):
    members = _members(saved)
    content = json.loads(members["content.json"])
    edit(content)
    members["content.json"] = json.dumps(content).encode()
    return _write(tmp_path / "edited", members)


def _nodes(node):
    if isinstance(node, dict):
        yield node
        yield from (n for v in node.values() for n in _nodes(v))
    elif isinstance(node, list):
        yield from (n for v in node for n in _nodes(v))


def _find(content, key):
    return next(n for n in _nodes(content) if key in n)


def _peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _refused(path, match, **kwargs):
    before = _peak_mb()
    with pytest.raises(ValueError, match=match):
        sk_mtl.load(path, **kwargs)
    assert _peak_mb() - before < 200, "the attack allocated memory"


# ------------------------------------------------------------ archive and sizes
def test_extra_member_is_refused_unread(saved, tmp_path):
    members = {**_members(saved), "padding.bin": bytes(64 * MB)}
    path = _write(tmp_path / "bomb", members, compress=("padding.bin",))
    assert path.stat().st_size < MB  # 64 MB deflated to a small file
    _refused(path, "'padding.bin' is not one sk_mtl.save writes")


def test_padded_weights_are_refused_by_declared_size(saved, tmp_path):
    members = _members(saved)
    members["weights.safetensors"] += bytes(64 * MB)
    path = _write(tmp_path / "bomb", members, compress=("weights.safetensors",))
    _refused(path, "weights.safetensors declares .* over its bound")


def test_padded_content_is_refused_by_declared_size(saved, tmp_path):
    members = _members(saved)
    members["content.json"] += b" " * (32 * MB)
    path = _write(tmp_path / "bomb", members, compress=("content.json",))
    _refused(path, "content.json declares .* over its bound")


def test_weights_larger_than_their_tensors_are_refused(saved, tmp_path):
    members = _members(saved)
    members["weights.safetensors"] += bytes(1000)  # stored: within the ratio
    _refused(_write(tmp_path / "pad", members), "its tensors take")


def test_checksums_are_mandatory(saved, tmp_path):
    members = _members(saved)
    manifest = json.loads(members["sk_mtl.json"])
    del manifest["sha256"]
    members["sk_mtl.json"] = json.dumps(manifest).encode()
    members["content.json"] = members["content.json"].replace(b"0.1", b"0.2")
    path = _write(tmp_path / "nosum", members, fix=False)
    _refused(path, "no valid sha256 checksums")


def test_member_without_checksum_is_refused(saved, tmp_path):
    members = _members(saved)
    manifest = json.loads(members["sk_mtl.json"])
    del manifest["sha256"]["weights.safetensors"]
    members["sk_mtl.json"] = json.dumps(manifest).encode()
    path = _write(tmp_path / "partial", members, fix=False)
    _refused(path, "weights.safetensors has no checksum")


# ------------------------------------------------- a few bytes asking for GBs
def test_huge_string_dtype_is_refused(saved, tmp_path):
    def edit(content):
        _find(content, "values")["__ndarray__"] = "<U500000000"

    _refused(_edit_content(saved, tmp_path, edit), "dtype '<U500000000'")


def test_unlisted_dtype_is_refused(saved, tmp_path):
    def edit(content):
        _find(content, "values")["__ndarray__"] = "|V8"

    _refused(_edit_content(saved, tmp_path, edit), "dtype '|V8' are not stored")


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("hidden_units", [30000, 30000], "weights do not fit the saved architecture"),
        ("n_classes", [80_000_000], r"80000000 is not in \[0, 1048576\]"),
        ("n_classes", [900_000], "heads layout does not give n_classes"),
        ("hidden_units", [-3], r"-3 is not in \[0"),
        ("dropout", 7.0, "not a dropout"),
    ],
)
def test_architecture_is_checked_before_it_is_built(saved, tmp_path, key, value, match):
    def edit(content):
        network = _find(content, "__module__")["__module__"]
        _find(network, key)[key] = value

    _refused(_edit_content(saved, tmp_path, edit), match)


def test_absurd_array_shape_is_refused(saved, tmp_path):
    def edit(content):
        _find(content, "values")["shape"] = [2**40, 2**40]

    _refused(_edit_content(saved, tmp_path, edit), "wrong number of values")


def test_huge_scalar_is_a_value_error(saved, tmp_path):
    def edit(content):
        state = _find(content, "__estimator__")["state"]
        state["n_iter_"] = {"__scalar__": "<i8", "v": 10**30}

    _refused(_edit_content(saved, tmp_path, edit), "does not fit dtype <i8")


def test_deep_nesting_is_a_value_error(saved, tmp_path):
    members = _members(saved)
    members["content.json"] = b"[" * 200_000 + b"]" * 200_000
    _refused(_write(tmp_path / "deep", members), "content.json")

    def edit(content):
        _find(content, "__estimator__")["state"]["deep"] = json.loads(
            "[" * 500 + "]" * 500
        )

    _refused(_edit_content(saved, tmp_path, edit), "nests deeper than 64")


@pytest.mark.parametrize("value", [0, -1, "many"])
def test_invalid_parameters_fail_at_load(saved, tmp_path, value):
    def edit(content):
        _find(content, "__estimator__")["params"]["predict_batch_size"] = value

    _refused(_edit_content(saved, tmp_path, edit), "predict_batch_size")


def test_extra_tensor_is_refused(saved, tmp_path):
    import torch
    from safetensors.torch import load, save

    members = _members(saved)
    tensors = load(members["weights.safetensors"])
    tensors["stowaway"] = torch.zeros(3)
    members["weights.safetensors"] = save(tensors)
    _refused(_write(tmp_path / "extra", members), "'stowaway'.* belong to no")


# ------------------------------------------------------ reaching the file system
def test_pipeline_memory_needs_trust(tmp_path):
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(30, 3)), np.arange(30) % 2
    pipe = make_pipeline(StandardScaler(), MultiTaskClassifier((4,), max_epochs=1))
    sk_mtl.save(pipe.fit(X, y), tmp_path / "pipe")

    def edit(content):
        content["params"]["memory"] = str(tmp_path / "cache")

    path = _edit_content(tmp_path / "pipe", tmp_path, edit)
    _refused(path, r"Pipeline.memory=.*trusted=\['Pipeline.memory'\]")
    loaded = sk_mtl.load(path, trusted=["Pipeline.memory"])
    assert loaded.memory == str(tmp_path / "cache")


def test_text_encoder_folder_needs_trust(tmp_path):
    from sk_mtl._persistence._load_checks import check_reach

    for name, param in [
        ("SentenceEncoder", "model_name"),
        ("TransferClassifier", "pretrained"),
        ("TextInput", "encoder"),
        ("TextEncoder", "encoder"),
    ]:
        with pytest.raises(ValueError, match=f"trusted=\\['{name}.{param}'\\]"):
            check_reach(name, param, str(tmp_path), None)
        check_reach(name, param, str(tmp_path), [f"{name}.{param}"])
        check_reach(name, param, "all-MiniLM-L6-v2", None)  # bundled: no trust
