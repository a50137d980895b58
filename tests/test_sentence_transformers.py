"""Any sentence-transformers model as the encoder of SentenceEncoder and
TransferClassifier: a local model folder or a SentenceTransformer object."""

import pickle

import numpy as np
import pytest
import torch
from _tiny_sentence_transformer import build_tiny_sentence_transformer
from sklearn.base import clone

from sk_mtl import TransferClassifier
from sk_mtl.text import SentenceEncoder, embed_texts, load_text_encoder

TEXTS = [
    "a short one",
    "a somewhat longer sentence, with a clause or two in it",
    "x",
    "Ünïcödé café",
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_sentence_transformer(tmp_path_factory.mktemp("tiny"))


def _states(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def test_folder_and_object_run_the_models_own_modules(tiny):
    model, path = tiny
    reference = model.encode(TEXTS)  # CLS pooling, then the dense layer
    assert reference.shape == (4, 16)
    for source in (path, str(path), model):
        encoder = load_text_encoder(source, normalize=False)
        assert encoder.embedding_dim == 16 and encoder.max_seq_length == 64
        np.testing.assert_allclose(embed_texts(TEXTS, encoder), reference, atol=1e-5)
    normalized = embed_texts(TEXTS, load_text_encoder(path))
    np.testing.assert_allclose(
        normalized,
        reference / np.linalg.norm(reference, axis=1, keepdims=True),
        atol=1e-5,
    )


def test_layer_groups_cover_every_parameter(tiny):
    encoder = load_text_encoder(tiny[0])
    groups = encoder.layer_groups()
    # embeddings, 2 transformer layers, then the dense layer on top
    assert len(groups) == 4
    assert groups[0] is encoder.transformer.embeddings
    ids = [id(p) for g in groups for p in g.parameters()]
    assert sorted(ids) == sorted(id(p) for p in encoder.parameters())
    assert len(set(ids)) == len(ids)
    # BERT's pooler (unused by sentence embeddings) is dropped.
    assert encoder.transformer.pooler is None


def test_unknown_name_or_missing_folder(tmp_path):
    with pytest.raises(ValueError, match="local sentence-transformers model folder"):
        load_text_encoder(str(tmp_path / "absent"))
    with pytest.raises(ValueError, match="Could not load"):
        load_text_encoder(tmp_path)  # an empty folder


def test_sentence_encoder_with_object_and_folder(tiny):
    model, path = tiny
    before = _states(model)
    flags = [p.requires_grad for p in model.parameters()]
    for source in (model, str(path)):
        est = SentenceEncoder(model_name=source).fit(TEXTS)
        assert est.embedding_dim_ == 16
        Xt = est.transform(TEXTS)
        np.testing.assert_allclose(np.linalg.norm(Xt, axis=1), 1.0, atol=1e-5)
        restored = pickle.loads(pickle.dumps(est))
        assert "_encoder" not in vars(restored)
        np.testing.assert_allclose(restored.transform(TEXTS), Xt, atol=1e-6)
        assert clone(est).get_params()["model_name"] is not None
    # The user's model is copied, never frozen or changed.
    assert [p.requires_grad for p in model.parameters()] == flags
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_transfer_classifier_fine_tunes_a_copy_of_the_object(tiny):
    model, path = tiny
    before = _states(model)
    y = np.array([0, 1, 0, 1] * 3)
    texts = TEXTS * 3
    tc = TransferClassifier(
        model,
        unfreeze="all",
        unfreeze_after=1,
        max_epochs=2,
        batch_size=6,
        reused_lr=1e-3,
        random_state=0,
    ).fit(texts, y)
    assert tc.__sklearn_tags__().input_tags.string
    assert tc.history_[:, "unfrozen_layers"] == [0, 4]
    tuned = tc.module_.trunk.base.encoder.state_dict()
    assert not torch.equal(tuned["pooling.1.linear.weight"], before["2.linear.weight"])
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert clone(tc).pretrained is model  # shared through clone, never modified
    # A folder path works the same; predictions are in the classes seen.
    tf = TransferClassifier(path, max_epochs=1, random_state=0).fit(texts, y)
    assert set(tf.predict(TEXTS)) <= {0, 1}
    assert tf.module_.trunk.base.out_features == 16
