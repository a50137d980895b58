import pickle

import numpy as np
import pytest
import torch
from _digits_transfer import (
    EPOCHS,
    LR,
    digits,
    few_shot,
    identity_source,
    low_digits_source,
)
from _initial_state import initial_state
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback

from sk_mtl import FineTuner, MultiTaskClassifier, TransferClassifier, load, save

SEEDS = (0, 1, 2)
# Hot start, cold start, and hot start with shrink-and-perturb's shrink only
# (chosen by benchmarks/transfer_digits_selection.py).
STARTS = {"hot": {}, "cold": {"start": "cold"}, "shrunk": {"shrink": 0.3}}


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _equal_states(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------- digits transfer
def test_hot_start_beats_cold_start_on_digit_parity():
    X, y, _, half_b = digits()
    source = identity_source()
    before_proba = source.predict_proba(X)
    before_state = _state(source.module_)
    parity = y % 2
    scores = {"hot": [], "cold": [], "shrunk": []}
    for seed in SEEDS:
        labelled, test = few_shot(half_b, seed)
        for name, params in STARTS.items():
            ft = FineTuner(source, max_epochs=EPOCHS, lr=LR, random_state=seed)
            ft.set_params(**params).fit(X[labelled], parity[labelled])
            scores[name].append(ft.score(X[test], parity[test]))
    # Measured: hot 0.869, cold 0.855, hot after shrinking the source's weights
    # (shrink=0.3) 0.878 (seeds 0-2): both hot starts keep a gain.
    assert np.mean(scores["hot"]) > np.mean(scores["cold"])
    assert np.mean(scores["shrunk"]) > np.mean(scores["cold"])
    # The source was only read.
    np.testing.assert_array_equal(source.predict_proba(X), before_proba)
    assert _equal_states(_state(source.module_), before_state)


def test_grid_search_fine_tunes_the_source_in_every_candidate():
    X, y, _, half_b = digits()
    source = identity_source()
    before_proba = source.predict_proba(X[:50])
    parity = y % 2
    grid = {"lr": [3e-3, 1e-2], "freeze": [None, "trunk"]}
    scores = {"hot": [], "cold": []}
    for seed in SEEDS[:2]:
        labelled, test = few_shot(half_b, seed)
        for start in scores:
            ft = FineTuner(source, start=start, max_epochs=EPOCHS, random_state=seed)
            search = GridSearchCV(ft, grid, cv=3).fit(X[labelled], parity[labelled])
            assert search.best_estimator_.estimator is source
            scores[start].append(search.score(X[test], parity[test]))
    assert np.mean(scores["hot"]) > np.mean(scores["cold"])
    np.testing.assert_array_equal(source.predict_proba(X[:50]), before_proba)


def test_negative_transfer_source_on_other_digits_loses_to_cold_start():
    # A source that only saw digits 0-4 learned features that fit 5-9 worse than
    # random ones: hot start loses to cold start at the same budget, by little
    # since small batches and the head warm-up (documented in docs/fine_tuning.rst).
    X, y, _, half_b = digits()
    source = low_digits_source()
    pool = half_b[y[half_b] >= 5]
    scores = {"hot": [], "cold": [], "shrunk": []}
    for seed in SEEDS:
        labelled, test = few_shot(pool, seed)
        for name, params in STARTS.items():
            ft = FineTuner(source, max_epochs=EPOCHS, lr=LR, random_state=seed)
            ft.set_params(**params).fit(X[labelled], y[labelled])
            scores[name].append(ft.score(X[test], y[test]))
    # Measured: hot 0.906, cold 0.919.
    assert np.mean(scores["cold"]) > np.mean(scores["hot"])
    assert np.mean(scores["cold"]) - np.mean(scores["hot"]) < 0.015
    # Shrinking the source's weights narrows the gap (measured: 0.914).
    assert np.mean(scores["hot"]) < np.mean(scores["shrunk"]) < np.mean(scores["cold"])


def test_head_is_kept_for_the_source_classes():
    X, y, _, half_b = digits()
    source = identity_source()
    labelled, _ = few_shot(half_b, 0)
    ft = FineTuner(source, max_epochs=1, lr=1e-12, random_state=0)
    ft.fit(X[labelled], y[labelled])
    assert ft.reused_heads_ == [True]
    # A (practically) zero learning rate leaves the source's predictions.
    np.testing.assert_allclose(
        ft.predict_proba(X[:100]), source.predict_proba(X[:100]), atol=1e-5
    )
    parity = FineTuner(source, max_epochs=1, random_state=0)
    parity.fit(X[labelled], y[labelled] % 2)
    assert parity.reused_heads_ == [False]
    assert parity.module_.heads[0].out_features == 2


# ------------------------------------------------------------------- options
def test_clone_keeps_the_fitted_source_and_hot_starts(small):
    X, y, source = small
    ft = FineTuner(source, freeze="trunk", max_epochs=2, random_state=0)
    cloned = clone(ft)
    assert cloned.estimator is source
    assert "estimator__lr" not in cloned.get_params(deep=True)
    cloned.fit(X[120:], y[120:])
    # The frozen trunk is the source's: the clone did start hot.
    assert _equal_states(_state(cloned.module_.trunk), _state(source.module_.trunk))
    lr = source.lr
    with pytest.raises(ValueError, match="never modified"):
        ft.set_params(estimator__lr=0.5)
    assert source.lr == lr != 0.5


def test_freeze_first_layers_and_reused_lr(small):
    X, y, source = small
    ft = FineTuner(source, freeze=1, reused_lr=1e-4, lr=1e-2, random_state=0)
    ft.fit(X[120:], NEW_CLASSES[y[120:]])
    assert ft.frozen_parameters_ == ["trunk.0.weight", "trunk.0.bias"]
    src, new = source.module_.trunk, ft.module_.trunk
    assert torch.equal(src[0].weight, new[0].weight)
    assert not torch.equal(src[3].weight, new[3].weight)
    lrs = sorted(g["lr"] for g in ft.net_.optimizer_.param_groups)
    assert lrs[0] == 1e-4 and lrs[-1] in (1e-4, 1e-2)
    with pytest.raises(ValueError, match="freeze=3 but the source's trunk has 2"):
        FineTuner(source, freeze=3).fit(X[120:], y[120:])


def test_cold_start_same_architecture_random_weights_and_seeded(small):
    X, y, source = small
    a = FineTuner(source, start="cold", max_epochs=3, random_state=1)
    b = clone(a)
    a.fit(X[120:], y[120:])
    b.fit(X[120:], y[120:])
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    shapes = {k: v.shape for k, v in source.module_.state_dict().items()}
    assert {k: v.shape for k, v in a.module_.state_dict().items()} == shapes
    assert not torch.equal(a.module_.trunk[0].weight, source.module_.trunk[0].weight)
    assert a.reused_heads_ == [False] and a.frozen_parameters_ == []


def test_multitask_new_data_with_missing_labels(small):
    X, y, _ = small
    Y = np.column_stack([y, (X[:, 2] > 0).astype(int)]).astype(float)
    Y[::3, 1] = np.nan
    source = MultiTaskClassifier((16,), max_epochs=10, random_state=0)
    source.fit(X[:120], Y[:120])
    Y_new = np.column_stack(
        [Y[120:, 0], np.where(X[120:, 3] > 0, "up", "down").astype(object)]
    )
    Y_new[::4, 0] = None
    ft = FineTuner(source, max_epochs=5, random_state=0).fit(X[120:], Y_new)
    assert ft.reused_heads_ == [True, False]
    assert ft.predict(X[:3]).shape == (3, 2)
    assert set(ft.predict(X)[:, 1]) <= {"up", "down"}


def test_sample_weight_is_used(small):
    X, y, source = small
    noisy = y[120:].copy()
    noisy[:60] = 1 - noisy[:60]
    w = np.r_[np.zeros(60), np.ones(60)]
    ft = FineTuner(source, max_epochs=10, lr=1e-2, random_state=0)
    weighted = ft.fit(X[120:], noisy, sample_weight=w).score(X[120:], y[120:])
    plain = clone(ft).fit(X[120:], noisy).score(X[120:], y[120:])
    assert weighted > plain


def test_early_stopping(small):
    X, y, source = small
    ft = FineTuner(source, early_stopping=True, n_iter_no_change=2, max_epochs=50)
    ft.set_params(random_state=0).fit(X[120:], y[120:])
    assert "valid_loss" in ft.history_[-1]
    assert ft.n_iter_ <= 50


def test_chained_sources_and_mmoe(small):
    X, y, source = small
    tc = TransferClassifier(source, max_epochs=3, random_state=0).fit(X[120:], y[120:])
    ft = FineTuner(tc, max_epochs=3, random_state=0).fit(X[120:], y[120:])
    assert ft.reused_heads_ == [True]
    again = FineTuner(ft, freeze="trunk", max_epochs=2, random_state=0)
    again.fit(X[120:], NEW_CLASSES[y[120:]])
    assert torch.equal(
        again.module_.trunk.base[0].weight, ft.module_.trunk.base[0].weight
    )
    assert not torch.equal(
        ft.module_.trunk.base[0].weight, source.module_.trunk[0].weight
    )
    mmoe = MultiTaskClassifier(
        (8,), architecture="mmoe", n_experts=3, max_epochs=3, random_state=0, n_bags=1
    ).fit(X[:120], y[:120])
    three = np.digitize(X[120:, 0], [-0.5, 0.5])
    ft = FineTuner(mmoe, freeze="trunk", max_epochs=3, random_state=0)
    ft.fit(X[120:], three)
    assert ft.module_.heads[0].out_features == 3
    assert torch.equal(ft.module_.experts[0].weight, mmoe.module_.experts[0].weight)


def test_input_mismatch_reinit_trains_a_new_input_layer(small):
    X, y, source = small
    X_wide = np.column_stack([X, X[:, :2] ** 2])
    with pytest.raises(ValueError, match="X has 8 features, but the source"):
        FineTuner(source).fit(X_wide[120:], y[120:])
    ft = FineTuner(source, input_mismatch="reinit", freeze="trunk", random_state=0)
    ft.set_params(max_epochs=3).fit(X_wide[120:], y[120:])
    assert ft.n_features_in_ == 8
    # The new input reads the 8 features in both views (quantile, robust).
    assert ft.input_ is not source.input_ and ft.input_.width == 16
    assert ft.module_.trunk[0].in_features == 16
    assert "trunk.0.weight" not in ft.frozen_parameters_
    assert torch.equal(ft.module_.trunk[3].weight, source.module_.trunk[3].weight)
    with pytest.raises(ValueError, match="expecting 8 features"):
        ft.predict(X)


def test_pickle_round_trip(small):
    X, y, source = small
    ft = FineTuner(source, max_epochs=2, random_state=0).fit(X[120:], y[120:])
    loaded = pickle.loads(pickle.dumps(ft))
    np.testing.assert_array_equal(loaded.predict_proba(X), ft.predict_proba(X))


# ---------------------------------------------------------------- bad input
def test_bad_sources(small):
    X, y, source = small
    with pytest.raises(TypeError, match="fitted sk_mtl neural estimator.*Logistic"):
        FineTuner(LogisticRegression().fit(X, y)).fit(X, y)
    with pytest.raises(NotFittedError, match="not fitted: fit it on the source"):
        FineTuner(MultiTaskClassifier()).fit(X, y)
    with pytest.raises(TypeError, match="X is a sequence of strings"):
        FineTuner(source).fit(["good", "bad"] * 5, [0, 1] * 5)
    with pytest.raises(ValueError, match="start"):
        FineTuner(source, start="warm").fit(X, y)


def test_feature_names_must_match_the_source(small):
    pd = pytest.importorskip("pandas")
    X, y, _ = small
    cols = [f"f{i}" for i in range(X.shape[1])]
    source = MultiTaskClassifier((8,), max_epochs=2, random_state=0)
    source.fit(pd.DataFrame(X, columns=cols), y)
    renamed = pd.DataFrame(X, columns=cols[::-1])
    with pytest.raises(ValueError, match="feature names of X differ"):
        FineTuner(source, max_epochs=1).fit(renamed, y)
    ft = FineTuner(source, max_epochs=1).fit(pd.DataFrame(X, columns=cols), y)
    np.testing.assert_array_equal(ft.feature_names_in_, cols)


# ------------------------------------------------- batch_size="auto", LP-FT
NEW_CLASSES = np.array(["no", "yes"])  # other classes than the source's: new head


class _TrunkSnapshots(Callback):
    """The trunk's weights at the end of every epoch, across phases (``record``
    is a list's append: the engine deep-copies user callbacks)."""

    def __init__(self, record):
        self.record = record

    def on_epoch_end(self, net, **kwargs):
        self.record(_state(net.module_.trunk))


def test_auto_batch_size_follows_the_data_size(small):
    X, y, source = small
    few = FineTuner(source, max_epochs=2, random_state=0).fit(X[:60], y[:60])
    assert few.batch_size_ == 8
    # At least 8 steps per epoch on 60 rows (128 rows would make 1 step).
    assert few.history_[-1, "train_batch_count"] == 8
    many = FineTuner(source, max_epochs=1, head_warmup=0, random_state=0)
    many.fit(np.tile(X, (5, 1)), np.tile(y, 5))
    assert many.batch_size_ == 128
    given = FineTuner(source, max_epochs=1, batch_size=30, random_state=0)
    assert given.fit(X[:60], y[:60]).history_[-1, "train_batch_count"] == 2
    with pytest.raises(ValueError, match="batch_size"):
        FineTuner(source, batch_size="big").fit(X[:60], y[:60])


def test_head_warmup_trains_new_heads_on_the_frozen_trunk_first(small):
    X, y, source = small
    snapshots = []
    ft = FineTuner(
        source,
        head_warmup=3,
        max_epochs=5,
        lr=1e-2,
        callbacks=[_TrunkSnapshots(snapshots.append)],
        random_state=0,
    ).fit(X[120:], NEW_CLASSES[y[120:]])
    assert ft.reused_heads_ == [False]
    assert ft.history_[:, "phase"] == ["head"] * 3 + ["fine_tune"] * 2
    assert ft.n_iter_ == 5 and len(snapshots) == 5
    source_trunk = _state(source.module_.trunk)
    # Phase 1 leaves the trunk bit-equal to the source's; phase 2 trains it.
    assert all(_equal_states(s, source_trunk) for s in snapshots[:3])
    assert not _equal_states(snapshots[4], source_trunk)
    assert all(p.requires_grad for p in ft.module_.parameters())
    assert ft.frozen_parameters_ == []


def test_head_warmup_is_skipped_when_nothing_new_sits_on_reused_layers(small):
    X, y, source = small
    X_new, new = X[120:], NEW_CLASSES[y[120:]]
    phases = {
        "same classes": FineTuner(source, max_epochs=4).fit(X_new, y[120:]),
        "cold": FineTuner(source, start="cold", max_epochs=4).fit(X_new, new),
        "frozen trunk": FineTuner(source, freeze="trunk", max_epochs=4).fit(X_new, new),
        "none asked": FineTuner(source, head_warmup=0, max_epochs=4).fit(X_new, new),
    }
    for what, ft in phases.items():
        assert ft.history_[:, "phase"] == ["fine_tune"] * 4, what
    auto = FineTuner(source, max_epochs=20).fit(X_new, new)
    assert auto.history_[:, "phase"] == ["head"] * 2 + ["fine_tune"] * 18  # a tenth
    probe = FineTuner(source, head_warmup=9, max_epochs=4).fit(X_new, new)
    assert probe.history_[:, "phase"] == ["head"] * 4  # a linear probe
    assert _equal_states(_state(probe.module_.trunk), _state(source.module_.trunk))


def test_head_warmup_with_missing_labels_sample_weight_and_persistence(small, tmp_path):
    X, y, source = small
    Y = np.column_stack([NEW_CLASSES[y[120:]], X[120:, 2] > 0]).astype(object)
    Y[::4, 0] = None
    w = np.r_[np.zeros(20), np.ones(100)]
    ft = FineTuner(source, head_warmup=3, max_epochs=6, lr=1e-2, random_state=0)
    ft.fit(X[120:], Y, sample_weight=w)
    assert ft.history_[:, "phase"] == ["head"] * 3 + ["fine_tune"] * 3
    Y_test = np.column_stack([NEW_CLASSES[y[:120]], X[:120, 2] > 0]).astype(object)
    assert ft.score(X[:120], Y_test) > 0.6
    again = clone(ft).fit(X[120:], Y, sample_weight=w)
    np.testing.assert_array_equal(again.predict_proba(X)[0], ft.predict_proba(X)[0])
    pickled = pickle.loads(pickle.dumps(ft))
    np.testing.assert_array_equal(pickled.predict(X), ft.predict(X))
    save(ft, tmp_path / "ft.skmtl")
    loaded = load(tmp_path / "ft.skmtl")
    np.testing.assert_allclose(loaded.predict_proba(X)[1], ft.predict_proba(X)[1])
    assert loaded.batch_size_ == ft.batch_size_


# ------------------------------------------------------- shrink and perturb
def _initial_state(source, X, y, **params):
    ft = FineTuner(source, max_epochs=1, head_warmup=0, random_state=3, **params)
    return initial_state(ft, X, y)


def test_shrink_perturb_mixes_the_source_with_the_cold_start_weights(small):
    X, y, source = small
    new = NEW_CLASSES[y[120:]]  # no head is kept: hot and cold draw the same
    src = _state(source.module_)
    cold = _initial_state(source, X[120:], new, start="cold")
    plain = _initial_state(source, X[120:], new)
    mixed = _initial_state(source, X[120:], new, shrink=0.5, perturb=0.1)
    trunk = [k for k in src if k.startswith("trunk.")]
    assert len(trunk) == 4
    for k in trunk:
        assert torch.equal(plain[k], src[k])
        torch.testing.assert_close(mixed[k], 0.5 * src[k] + 0.1 * cold[k])
        assert not torch.allclose(mixed[k], 0.5 * src[k])
    # The new head is new, not shrunk: the plain hot start's.
    heads = [k for k in mixed if k.startswith("heads.")]
    assert heads and all(torch.equal(mixed[k], plain[k]) for k in heads)
    # A cold start has nothing to shrink: the parameters are ignored.
    ignored = _initial_state(source, X[120:], new, start="cold", shrink=0.5, perturb=1)
    assert _equal_states(ignored, cold)


def test_shrink_alone_scales_kept_heads_and_spares_frozen_layers(small):
    X, y, source = small
    src = _state(source.module_)
    state = _initial_state(source, X[120:], y[120:], shrink=0.25, freeze=1)
    for k, w in src.items():
        frozen = k.startswith("trunk.0.")
        # Multiplying by a power of 2 is exact in float32.
        assert torch.equal(state[k], w if frozen else 0.25 * w), k
    assert any(k.startswith("heads.") for k in src)  # the kept head shrank too


def test_shrink_perturb_parameters_clone_pickle_and_bad_values(small):
    X, y, source = small
    ft = FineTuner(source, shrink=0.5, perturb=0.05, max_epochs=3, random_state=0)
    cloned = clone(ft)
    assert cloned.get_params()["shrink"] == 0.5
    assert cloned.get_params()["perturb"] == 0.05
    ft.fit(X[120:], NEW_CLASSES[y[120:]])
    cloned.fit(X[120:], NEW_CLASSES[y[120:]])
    np.testing.assert_array_equal(cloned.predict_proba(X), ft.predict_proba(X))
    loaded = pickle.loads(pickle.dumps(ft))
    np.testing.assert_array_equal(loaded.predict_proba(X), ft.predict_proba(X))
    plain = FineTuner(source, max_epochs=3, random_state=0)
    plain.fit(X[120:], NEW_CLASSES[y[120:]])
    assert not np.allclose(plain.predict_proba(X), ft.predict_proba(X))
    bad = {"shrink": [0, 1.5, -0.5, "half"], "perturb": [-0.1, "some"]}
    for name, values in bad.items():
        for value in values:
            with pytest.raises(ValueError, match=f"'{name}' parameter of FineTuner"):
                FineTuner(source, **{name: value}).fit(X[120:], y[120:])
