"""The text input: raw strings in, token ids and attention masks out.

The text counterpart of :class:`sk_mtl._data._inputs.NumericInput` (same methods:
``fit``, ``transform``, ``tensors``, ``to_config`` / ``from_config``).
"""

from ._batching import TOKENIZER_LOCK
from ._loading import cached_text_encoder
from ._sentence_encoder import _check_texts

__all__ = ["TextInput"]


class TextInput:
    """Raw strings, tokenized for a sentence encoder.

    Parameters
    ----------
    tokenizer : transformers tokenizer
        The encoder's tokenizer.
    max_length : int
        Truncation length in tokens.
    encoder : str, default=None
        Name of the bundled encoder (or path of the model folder) the tokenizer
        belongs to (what saving stores: the tokenizer is reloaded from there);
        None for a ``SentenceTransformer`` object, which cannot be saved so.
    lowercase : bool, default=False
        Lowercase the texts before tokenizing (the encoder's ``lowercase``).
    """

    kind = "text"

    def __init__(self, tokenizer, max_length, encoder=None, lowercase=False):
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.encoder = encoder
        self.lowercase = lowercase

    def to_config(self):
        """The encoder's name and the truncation length (for saving)."""
        if self.encoder is None:
            raise TypeError(
                "This text input has no encoder name: its tokenizer cannot be "
                "reloaded, so the model cannot be saved without pickle."
            )
        return {
            "kind": self.kind,
            "encoder": self.encoder,
            "max_length": int(self.max_length),
        }

    @classmethod
    def from_config(cls, config):
        """The input of :meth:`to_config`, its tokenizer from the installed package."""
        encoder = cached_text_encoder(config["encoder"])
        return cls(
            encoder.tokenizer,
            int(config["max_length"]),
            config["encoder"],
            lowercase=encoder.lowercase,
        )

    def fit(self, X, owner, reader=None):
        """Validate training texts for ``owner``."""
        return self.transform(X, owner)

    def transform(self, X, owner, *, reset=False, reader=None):
        """Validate texts for ``owner``: a list of str."""
        return _check_texts(X, caller=type(owner).__name__)

    width = None

    def tensors(self, texts, rows=None):
        """Padded token ids and attention masks (a dict of tensors)."""
        texts = texts if rows is None else [texts[i] for i in rows]
        if getattr(self, "lowercase", False):  # absent from older pickles
            texts = [text.lower() for text in texts]
        with TOKENIZER_LOCK:
            tokens = self.tokenizer(
                texts,
                truncation=True,
                max_length=self.max_length,
                padding=True,
                return_tensors="pt",
                return_attention_mask=True,
                return_token_type_ids=False,
            )
        return {
            "input_ids": tokens["input_ids"],
            "attention_mask": tokens["attention_mask"],
        }
