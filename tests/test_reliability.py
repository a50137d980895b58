"""Divergence, devices, dtype, score validation, error naming, Ctrl-C, sparse X."""

import os
import signal

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.model_selection import cross_validate
from skorch.callbacks import Callback

from sk_mtl import (
    FineTuner,
    HardExampleMiningClassifier,
    MultiTaskClassifier,
    TransferClassifier,
    merge_models,
)
from sk_mtl._data._inputs import NumericInput, RowBatches
from sk_mtl._engine._callbacks import DivergenceError, DivergenceWarning
from sk_mtl._runtime._device import FitInterruptedWarning
from sk_mtl.multitask import _shared_network

FAST = dict(hidden_units=(8,), max_epochs=3, random_state=0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] > 0).astype(int)
    return X, y, MultiTaskClassifier(**FAST).fit(X, y)


# ---------------------------------------------------------------- divergence
@pytest.mark.parametrize("make", [MultiTaskClassifier, "fine_tuner"])
def test_divergence_stops_fit_naming_the_epoch(data, make):
    X, y, source = data
    kwargs = dict(optimizer="sgd", lr=1e3, max_epochs=10, random_state=0)
    est = FineTuner(source, **kwargs) if make == "fine_tuner" else make(**kwargs)
    name = type(est).__name__
    with pytest.raises(
        DivergenceError, match=rf"{name}: training diverged in epoch \d"
    ):
        est.fit(X * 1e10, y)
    with pytest.raises(ValueError, match="Lower lr"):
        est.fit(X * 1e10, y)


class _PoisonTask(Callback):
    """Makes the recorded loss of task 1 non-finite at epoch 2."""

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 2:
            dict(net.callbacks_)["task_losses"].epoch_means_["train"][1] = np.inf


def test_divergence_names_the_culprit_task(data):
    X, y, _ = data
    Y = np.column_stack([y, 1 - y])
    clf = MultiTaskClassifier(**{**FAST, "max_epochs": 5}, callbacks=[_PoisonTask()])
    with pytest.raises(
        DivergenceError, match=r"epoch 2: the loss of task\(s\) \['task_1'\]"
    ):
        clf.fit(X, Y)


class _PoisonLoss(Callback):
    """Keeps the weights of epoch 2, then records a NaN training loss at epoch 3."""

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 2:
            self.kept = {k: v.clone() for k, v in net.module_.state_dict().items()}
        if len(net.history) == 3:
            net.history.record("train_loss", float("nan"))


def test_restore_keeps_last_finite_weights(data):
    X, y, _ = data
    poison = _PoisonLoss()
    clf = MultiTaskClassifier(
        **{**FAST, "max_epochs": 10},
        callbacks=[("poison", poison)],
        on_divergence="restore",
    )
    with pytest.warns(DivergenceWarning, match="epoch 3: the training loss"):
        clf.fit(X, y)
    assert clf.n_iter_ == 3
    kept = dict(clf.net_.callbacks_)["poison"].kept
    for k, v in clf.module_.state_dict().items():
        torch.testing.assert_close(v, kept[k], rtol=0, atol=0)
    assert np.isfinite(clf.predict_proba(X)).all()


def test_real_divergence_is_caught_with_restore_too(data):
    X, y, _ = data
    clf = MultiTaskClassifier(
        (8,), optimizer="sgd", lr=1e3, max_epochs=10, on_divergence="restore"
    )
    with pytest.warns(DivergenceWarning, match="diverged"):
        clf.fit(X * 1e10, y)
    assert all(torch.isfinite(p).all() for p in clf.module_.parameters())
    try:  # finite weights: probabilities, or a clear error, never NaN
        assert np.isfinite(clf.predict_proba(X * 1e10)).all()
    except ValueError as exc:
        assert "overflows float32" in str(exc)


def test_non_finite_weights_never_give_nan_probabilities(data):
    X, y, _ = data
    clf = MultiTaskClassifier(**FAST).fit(X, y)
    with torch.no_grad():
        next(clf.module_.parameters()).fill_(float("nan"))
    with pytest.raises(ValueError, match="weights are not finite"):
        clf.predict_proba(X)
    with pytest.raises(ValueError, match="non-finite outputs"):
        clf.predict(X)


# -------------------------------------------------------------------- inputs
def test_values_beyond_float32_name_the_column(data):
    pd = pytest.importorskip("pandas")
    X, y, source = data
    bad = pd.DataFrame(X, columns=list("abcd"))
    bad.loc[3, "c"] = 1e39
    with pytest.raises(ValueError, match="float32 range .* column 'c'"):
        MultiTaskClassifier(**FAST).fit(bad, y)
    with pytest.raises(ValueError, match="float32 range .* column 2"):
        source.predict(np.where(np.arange(4) == 2, -1e308, X))


def test_numeric_strings_are_rejected_like_sklearn(data):
    X, y, source = data
    with pytest.raises(ValueError, match="X holds strings"):
        MultiTaskClassifier(**FAST).fit(X.astype(str), y)
    with pytest.raises(ValueError, match="X holds strings"):
        source.predict(X.astype(str))


def test_sparse_x_is_batched_not_densified(data, monkeypatch):
    X, y, _ = data
    X = np.where(np.abs(X) > 0.5, X, 0.0)
    sparse = MultiTaskClassifier(**FAST).fit(sp.csr_matrix(X), y)
    assert sparse.input_.scaling_ is None  # sparse X is read as given
    # The same numbers, dense and read as given, make the same model.
    monkeypatch.setattr(
        _shared_network, "make_input", lambda X, *a, **k: NumericInput()
    )
    dense = MultiTaskClassifier(**FAST).fit(X, y)
    assert dense.input_.scaling_ is None
    Xs = sparse.input_.transform(sp.csr_matrix(X), sparse)
    assert sp.issparse(Xs) and Xs.dtype == np.float32
    assert isinstance(sparse.input_.tensors(Xs), RowBatches)
    np.testing.assert_array_equal(
        dense.predict_proba(X), sparse.predict_proba(sp.csc_matrix(X))
    )


def test_early_stopping_split_reads_rows_without_copying(data):
    X, y, _ = data
    clf = MultiTaskClassifier(**FAST, early_stopping=True, n_bags=1)
    Xv = clf.fit(X, y).input_.transform(X, clf)
    view = clf.input_.tensors(Xv, np.arange(10, 30))
    assert isinstance(view, RowBatches) and len(view) == 20
    torch.testing.assert_close(
        view[torch.tensor([0, 5])], torch.from_numpy(Xv[[10, 15]])
    )


# ------------------------------------------------------------ devices, dtype
@pytest.mark.parametrize(
    "device, message",
    [
        ("meta", "holds no data"),
        ("foo", "invalid device 'foo'"),
        ("cuda:7", "not available|does not exist"),
        pytest.param(
            "mps",
            "MPS is not available",
            marks=pytest.mark.skipif(
                torch.backends.mps.is_available(), reason="MPS present"
            ),
        ),
    ],
)
def test_unusable_device_is_a_clear_error(data, device, message):
    X, y, _ = data
    with pytest.raises(ValueError, match=f"MultiTaskClassifier: .*{message}"):
        MultiTaskClassifier(**FAST, device=device).fit(X, y)


def test_cpu_with_index_is_cpu(data):
    X, y, source = data
    clf = MultiTaskClassifier(**FAST, device="cpu:0").fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), source.predict_proba(X))


@pytest.fixture
def float64_default():
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


def test_float64_default_dtype_does_not_break_fit(data, float64_default):
    X, y, source = data
    models = [
        MultiTaskClassifier(**FAST),
        TransferClassifier(source, max_epochs=2),
        HardExampleMiningClassifier(MultiTaskClassifier(**FAST), n_rounds=1, cv=2),
    ]
    for model in models:
        proba = model.fit(X, y).predict_proba(X)
        assert proba.shape == (80, 2) and np.isfinite(proba).all()
        assert torch.get_default_dtype() == torch.float64  # restored after fit
    # The same model as under the float32 default, bit for bit.
    np.testing.assert_array_equal(models[0].predict_proba(X), source.predict_proba(X))


# --------------------------------------------------------------------- score
def test_score_validates_y_and_sample_weight_like_sklearn(data):
    X, y, clf = data
    with pytest.raises(ValueError, match="holds strings .* fitted on numbers"):
        clf.score(X, np.array(["a", "b"])[y])
    with pytest.raises(ValueError, match="no label in any task"):
        clf.score(X, np.full(len(y), np.nan))
    with pytest.raises(ValueError, match="NaN"):
        clf.score(X, y, sample_weight=np.full(len(y), np.nan))
    with pytest.raises(ValueError, match="sample_weight.shape"):
        clf.score(X, y, sample_weight=np.ones(5))
    with pytest.raises(ValueError, match="non-zero"):
        clf.score(X, y, sample_weight=np.zeros(len(y)))
    half = np.where(np.arange(len(y)) < 40, np.nan, y)  # labels only where w = 0
    with pytest.raises(ValueError, match="no label with a positive weight"):
        clf.score(X, half, sample_weight=(np.arange(len(y)) < 40).astype(float))
    with pytest.raises(ValueError, match="X has 80 rows but y has 79"):
        clf.score(X, y[1:])
    assert clf.score(X, y, sample_weight=np.ones(len(y))) == clf.score(X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -1.0])
def test_merged_fit_weights_validate_sample_weight(data, bad):
    X, y, source = data
    sw = np.ones(len(y))
    sw[3] = bad
    with pytest.raises(ValueError, match="sample_weight|NaN|infinity"):
        merge_models([source, source], weights="fit", X=X, y=y, sample_weight=sw)
    with pytest.raises(ValueError, match="no label"):
        merge_models([source, source], weights="fit", X=X, y=np.full(len(y), None))


# ------------------------------------------------------------- error naming
def test_errors_name_the_estimator_the_user_called(data):
    X, y, source = data
    ft = FineTuner(source, max_epochs=1).fit(X, y)
    tc = TransferClassifier(source, max_epochs=1).fit(X, y)
    merged = merge_models([ft, ft], space="weights")
    bad_inputs = [X[:0], np.full_like(X, np.nan), X[:, :3]]
    for est in (ft, tc, merged):
        for bad in bad_inputs:
            with pytest.raises(ValueError) as info:
                est.predict(bad)
            assert "MultiTaskClassifier" not in str(info.value)
    with pytest.raises(ValueError, match="required by FineTuner"):
        FineTuner(source).fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="MergedClassifier"):
        merged.predict(X[:0])


# ------------------------------------------------------------------- Ctrl-C
class _CtrlC(Callback):
    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 2:
            os.kill(os.getpid(), signal.SIGINT)


@pytest.fixture
def sigint_raises():
    """Python's own SIGINT handler for the test: a process started in the
    background by a non-interactive shell (nohup, ``&``) inherits SIGINT ignored,
    and Python then never raises KeyboardInterrupt."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_warns_and_keeps_the_partly_trained_model(data, sigint_raises):
    X, y, _ = data
    clf = MultiTaskClassifier(**{**FAST, "max_epochs": 10}, callbacks=[_CtrlC()])
    with pytest.warns(FitInterruptedWarning, match="after 2 of 10 epochs"):
        clf.fit(X, y)
    assert clf.n_iter_ == 2
    assert clf.predict(X).shape == (80,)


def test_ctrl_c_inside_a_search_stops_the_search(data, sigint_raises):
    X, y, _ = data
    clf = MultiTaskClassifier(**{**FAST, "max_epochs": 10}, callbacks=[_CtrlC()])
    with pytest.raises(KeyboardInterrupt, match="search is stopped"):
        cross_validate(clf, X, y, cv=3, error_score="raise")


def test_ctrl_c_stops_a_partial_fit_loop(data, sigint_raises):
    X, y, _ = data
    clf = MultiTaskClassifier(**FAST, callbacks=[_CtrlC()])
    calls = 0
    with pytest.raises(KeyboardInterrupt, match="partial_fit interrupted"):
        for _ in range(5):
            calls += 1
            clf.partial_fit(X, y, classes=[0, 1])
    assert calls == 2 and clf.n_iter_ == 2
    assert not clf.module_.training
    clf.partial_fit(X, y)  # the model trains on when called again
    assert clf.n_iter_ == 3 and clf.predict(X).shape == (80,)


def test_early_stopping_is_not_an_interrupt(data, recwarn):
    X, y, _ = data
    clf = MultiTaskClassifier(
        (8,), max_epochs=50, early_stopping=True, n_iter_no_change=2, tol=10.0, n_bags=1
    ).fit(X, y)
    assert clf.n_iter_ < 50
    assert not [w for w in recwarn if issubclass(w.category, FitInterruptedWarning)]


def test_merged_fit_errors_name_merged_classifier(data):
    X, y, source = data
    with pytest.raises(ValueError, match="MergedClassifier"):
        merge_models([source, source], weights="fit", X=X[:0], y=y[:0])
    with pytest.raises(ValueError, match="NaN.*MergedClassifier|MergedClassifier.*NaN"):
        merge_models([source, source], weights="fit", X=np.full_like(X, np.nan), y=y)


# ------------------------------------------------- pickling after early stopping
def _early_stopping_inputs():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    X = rng.normal(size=(2000, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    frame["colour"] = pd.Categorical(rng.choice(["red", "green", "blue"], 2000))
    frame.loc[::7, "x2"] = np.nan
    return {"numpy": (X, y), "frame": (frame, y)}


@pytest.mark.parametrize("kind", ["numpy", "frame"])
def test_early_stopped_model_pickles_without_its_validation_set(kind, tmp_path):
    import pickle

    import joblib

    X, y = _early_stopping_inputs()[kind]
    params = dict(hidden_units=(16,), max_epochs=4, random_state=0)
    stopped = MultiTaskClassifier(early_stopping=True, **params).fit(X, y)
    plain = MultiTaskClassifier(early_stopping=False, **params).fit(X, y)
    blob = pickle.dumps(stopped)
    # Not the 400 validation rows (and no copy of the best weights): about the
    # size of a model fitted without early stopping.
    assert len(blob) < 1.1 * len(pickle.dumps(plain)) + 2000
    joblib.dump(stopped, tmp_path / "model.joblib")
    expected = stopped.predict_proba(X)
    for loaded in (pickle.loads(blob), joblib.load(tmp_path / "model.joblib")):
        np.testing.assert_array_equal(loaded.predict_proba(X), expected)
        loaded.partial_fit(X, y)
        assert loaded.n_iter_ == stopped.n_iter_ + 1
    warm = pickle.loads(blob).set_params(warm_start=True, max_epochs=1).fit(X, y)
    assert warm.n_iter_ == 1 and warm.predict(X).shape == (2000,)
