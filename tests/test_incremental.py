"""partial_fit and warm_start of the neural estimators."""

import pickle

import numpy as np
import pytest
import torch

from sk_mtl import FineTuner, MultiTaskClassifier, TransferClassifier

CLASSES = [np.array([0.0, 1.0]), np.array([0.0, 1.0])]


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(1600, 8)).astype(np.float32)
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0.3]).astype(float)
    Y[:300, 1] = np.nan  # task 1 unlabelled for the first rows
    return X[:1200], Y[:1200], X[1200:], Y[1200:]


def _chunks(X, Y, size=240):
    for start in range(0, len(X), size):
        yield X[start : start + size], Y[start : start + size]


def _params(model):
    return [p.detach().clone() for p in model.module_.parameters()]


def test_partial_fit_over_chunks_matches_one_fit(data):
    X, Y, X_test, Y_test = data
    epochs = 8
    whole = MultiTaskClassifier((32,), max_epochs=epochs, lr=1e-2, random_state=0).fit(
        X, Y
    )
    chunked = MultiTaskClassifier((32,), lr=1e-2, random_state=0)
    for _ in range(epochs):
        for Xc, Yc in _chunks(X, Y):
            chunked.partial_fit(Xc, Yc, classes=CLASSES)
    # Tolerance: 8 passes over 5 chunks vs 8 epochs over the whole data differ
    # only in shuffling (within a chunk vs across the data): within 0.03.
    assert abs(chunked.score(X_test, Y_test) - whole.score(X_test, Y_test)) <= 0.03
    assert chunked.score(X_test, Y_test) > 0.9
    assert chunked.n_iter_ == epochs * 5


def test_partial_fit_keeps_the_optimizer_state(data):
    X, Y, _, _ = data
    model = MultiTaskClassifier((16,), batch_size=100, random_state=0)
    model.partial_fit(X[:400], Y[:400], classes=CLASSES)
    optimizer = model.net_.optimizer_
    model.partial_fit(X[400:800], Y[400:800])
    assert model.net_.optimizer_ is optimizer
    first = next(model.module_.parameters())
    assert int(optimizer.state[first]["step"]) == 8  # 4 batches per call


def test_partial_fit_continues_identically_after_pickling(data):
    X, Y, _, _ = data
    model = MultiTaskClassifier((16,), random_state=0)
    model.partial_fit(X[:400], Y[:400], classes=CLASSES)
    copy = pickle.loads(pickle.dumps(model))
    model.partial_fit(X[400:800], Y[400:800])
    copy.partial_fit(X[400:800], Y[400:800])
    for a, b in zip(_params(model), _params(copy)):
        assert torch.equal(a, b)


def test_partial_fit_is_reproducible_and_leaves_global_rng(data):
    X, Y, _, _ = data
    state = torch.get_rng_state()
    runs = []
    for _ in range(2):
        model = MultiTaskClassifier((16,), dropout=0.5, random_state=3)
        for Xc, Yc in _chunks(X, Y, 400):
            model.partial_fit(Xc, Yc, classes=CLASSES)
        runs.append(_params(model))
    assert all(torch.equal(a, b) for a, b in zip(*runs))
    assert torch.equal(torch.get_rng_state(), state)


def test_partial_fit_chunk_without_a_class(data):
    X, Y, _, _ = data
    y = Y[:, 0]
    model = MultiTaskClassifier((8,), random_state=0)
    model.partial_fit(X[y == 0][:100], y[y == 0][:100], classes=[0.0, 1.0])
    assert model.predict_proba(X[:5]).shape == (5, 2)
    np.testing.assert_array_equal(model.classes_, [0.0, 1.0])


def test_partial_fit_classes_conventions(data):
    X, Y, _, _ = data
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MultiTaskClassifier().partial_fit(X, Y)
    with pytest.raises(ValueError, match="list of 2 arrays"):
        MultiTaskClassifier().partial_fit(X, Y, classes=[0.0, 1.0])
    with pytest.raises(ValueError, match="at least 2 distinct labels"):
        MultiTaskClassifier().partial_fit(X, Y, classes=[[0.0, 1.0], [1.0]])
    model = MultiTaskClassifier((8,)).partial_fit(X[:100], Y[:100], classes=CLASSES)
    with pytest.raises(ValueError, match="not the same as on the first call"):
        model.partial_fit(X[:100], Y[:100], classes=[[0, 1], [0, 2]])
    Y_bad = Y[:100].copy()
    Y_bad[0, 1] = 2.0
    with pytest.raises(ValueError, match="label .*2.*task 'task_1'"):
        model.partial_fit(X[:100], Y_bad)
    with pytest.raises(ValueError, match="1 task"):
        model.partial_fit(X[:100], Y[:100, 0])
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:100, :5], Y[:100])


def test_fine_tuner_and_transfer_partial_fit(data, small):
    X_small, y_small, source = small
    ft = FineTuner(source, lr=1e-2, random_state=0)
    for _ in range(15):
        for start in range(120, 240, 40):
            rows = slice(start, start + 40)
            ft.partial_fit(X_small[rows], y_small[rows], classes=[0, 1])
    whole = FineTuner(source, lr=1e-2, max_epochs=15, random_state=0)
    whole.fit(X_small[120:], y_small[120:])
    # 15 passes over 3 chunks (3 optimizer steps a pass, one per chunk, vs 1 per
    # epoch for fit: batch_size=128 > 120 rows) land where fit does (measured:
    # 0.942 vs 0.958, two of 120 rows).
    partial = ft.score(X_small[:120], y_small[:120])
    assert partial > 0.9
    assert partial >= whole.score(X_small[:120], y_small[:120]) - 0.025
    assert ft.reused_heads_ == [True]
    tc = TransferClassifier(source, random_state=0).fit(X_small[120:], y_small[120:])
    base = [p.clone() for p in tc.module_.trunk.base.parameters()]
    tc.partial_fit(X_small[:120], y_small[:120])
    assert tc.n_iter_ == 21
    assert all(
        torch.equal(a, b) for a, b in zip(base, tc.module_.trunk.base.parameters())
    )
    with pytest.raises(ValueError, match="unfreeze='all' is only applied by fit"):
        TransferClassifier(source, unfreeze="all").partial_fit(
            X_small, y_small, classes=[0, 1]
        )


def test_warm_start_continues_from_previous_weights(data):
    X, Y, _, _ = data
    model = MultiTaskClassifier((16,), max_epochs=3, warm_start=True, random_state=0)
    first = model.fit(X, Y).history_[:, "train_loss"]
    second = model.fit(X, Y).history_[:, "train_loss"]
    assert second[0] < first[0] and abs(second[0] - first[-1]) < 0.1 * first[0]
    cold = MultiTaskClassifier((16,), max_epochs=3, random_state=0)
    assert cold.fit(X, Y).fit(X, Y).history_[:, "train_loss"] == first
    Y_other = Y.copy()
    Y_other[Y_other == 1.0] = 2.0
    before = model.predict_proba(X[:5])
    state = dict(vars(model))
    weights = _params(model)
    with pytest.raises(ValueError, match="task 'task_0' has classes"):
        model.fit(X, Y_other)
    with pytest.raises(ValueError, match="X has 5 features, but .* expecting 8"):
        model.fit(X[:, :5], Y)
    model.set_params(hidden_units=(8,))
    with pytest.raises(
        ValueError, match="network of this fit differs.*'trunk.0.weight'"
    ):
        model.fit(X, Y)
    # A failed warm-start fit leaves the previous model as it was: the same
    # attributes, holding the same objects, and the same weights.
    assert vars(model).keys() - {"hidden_units"} == state.keys() - {"hidden_units"}
    assert all(vars(model)[k] is v for k, v in state.items() if k != "hidden_units")
    assert all(torch.equal(a, b) for a, b in zip(_params(model), weights))
    assert model.n_features_in_ == 8
    np.testing.assert_array_equal(model.classes_[0], [0.0, 1.0])
    for a, b in zip(model.predict_proba(X[:5]), before):
        np.testing.assert_array_equal(a, b)


def test_warm_start_needs_the_same_feature_names(data):
    pd = pytest.importorskip("pandas")
    X, Y, _, _ = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(8)])
    model = MultiTaskClassifier((8,), max_epochs=1, warm_start=True, random_state=0)
    model.fit(frame, Y)
    names = model.feature_names_in_
    with pytest.raises(ValueError, match="X has no column names and the previous"):
        model.fit(X, Y + 1)  # no names, other classes: both fail, X first
    with pytest.raises(ValueError, match="feature names should match"):
        model.fit(frame.rename(columns={"f0": "g0"}), Y)
    assert model.feature_names_in_ is names
    model.fit(frame, Y)  # the same columns continue
    assert model.n_iter_ == 1


def test_warm_start_fine_tuner_continues_without_head_warmup(small):
    X, y, source = small
    y_new = np.where(y[120:] == 0, "no", "yes")
    ft = FineTuner(source, max_epochs=10, warm_start=True, random_state=0)
    first = ft.fit(X[120:], y_new).history_[:, "phase"]
    again = ft.fit(X[120:], y_new).history_[:, "phase"]
    # New classes: new head, trained alone first; the second fit continues.
    assert first == ["head"] + ["fine_tune"] * 9 and ft.reused_heads_ == [False]
    assert again == ["fine_tune"] * 10
    with pytest.raises(ValueError, match="X has 3 features"):
        ft.fit(X[120:, :3], y_new)
    assert ft.history_[:, "phase"] == again


def test_partial_fit_from_dask_chunks(data):
    da = pytest.importorskip("dask.array")
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, Y, X_test, Y_test = data
    X_dask = da.from_array(X, chunks=(300, -1))
    Y_dask = da.from_array(Y, chunks=(300, -1))
    model = MultiTaskClassifier((32,), lr=1e-2, random_state=0)
    for _ in range(6):
        for X_block, Y_block in zip(
            X_dask.to_delayed()[:, 0], Y_dask.to_delayed()[:, 0]
        ):
            model.partial_fit(X_block.compute(), Y_block.compute(), classes=CLASSES)
    assert model.score(X_test, Y_test) > 0.9
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(8)])
    frame[["a", "b"]] = Y
    ddf = dd.from_pandas(frame, npartitions=4)
    by_frame = MultiTaskClassifier((32,), lr=1e-2, random_state=0)
    for i in range(ddf.npartitions):
        part = ddf.partitions[i].compute()
        by_frame.partial_fit(part.iloc[:, :8], part[["a", "b"]], classes=CLASSES)
    assert by_frame.task_names_ == ["a", "b"]
    assert list(by_frame.feature_names_in_) == [f"f{i}" for i in range(8)]


def test_dask_ml_incremental_single_task(data):
    pytest.importorskip("dask_ml")
    import dask.array as da
    from dask_ml.wrappers import Incremental

    X, Y, X_test, Y_test = data
    y = Y[:, 0].astype(int)
    X_dask = da.from_array(X, chunks=(300, -1))
    y_dask = da.from_array(y, chunks=300)
    wrapper = Incremental(
        MultiTaskClassifier((32,), lr=1e-2, random_state=0), random_state=0
    )
    for _ in range(6):
        wrapper.partial_fit(X_dask, y_dask, classes=[0, 1])
    assert wrapper.estimator_.n_iter_ == 6 * 4
    assert wrapper.score(da.from_array(X_test), Y_test[:, 0].astype(int)) > 0.9
