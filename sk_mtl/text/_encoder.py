"""The sentence encoder as a plain torch module.

Loaded by :mod:`._loading`; the public names are re-exported by :mod:`sk_mtl.text`.
"""

import numbers

import torch
from torch import nn
from torch.nn import functional as F

from ._batching import pad_batch

INSTALL_HINT = 'pip install "sk_mtl[text]"'


class SentenceEncoderModule(nn.Module):
    """Transformer encoder followed by pooling and optional L2 normalisation.

    A sentence-transformers pipeline as one plain :class:`torch.nn.Module`: for the
    bundled ``all-MiniLM-L6-v2``, a BERT encoder, the mean of the token embeddings
    over the attention mask and L2 normalisation; for any other sentence-transformers
    model, its transformer followed by its own modules (pooling, dense, ...). Build
    it with :func:`load_text_encoder`.

    The module is fine-tunable: its parameters are ordinary trainable parameters
    (freeze them with :meth:`set_trainable_layers`), and :meth:`layer_groups` lists the
    transformer's blocks from the bottom (embeddings) to the top layer for gradual
    unfreezing or per-layer learning rates.

    Parameters
    ----------
    transformer : torch.nn.Module
        A BERT-like ``transformers`` model with ``embeddings`` and ``encoder.layer``
        attributes, returning the token embeddings first.
    tokenizer : transformers tokenizer
        The tokenizer matching ``transformer``.
    normalize : bool, default=True
        Whether :meth:`forward` L2-normalises the pooled embeddings.
    max_seq_length : int, default=256
        Default truncation length of :meth:`tokenize`, in tokens.
    name : str or None, default=None
        Name of the encoder, for display.
    pooling : torch.nn.Module or None, default=None
        Maps sentence-transformers features (a dict with ``token_embeddings`` and
        ``attention_mask``) to a dict with ``sentence_embedding``, e.g. a model's
        pooling and dense modules; None: mean pooling.
    lowercase : bool, default=False
        Whether :meth:`tokenize` lowercases the texts first (a model's
        ``do_lower_case``).

    Attributes
    ----------
    embedding_dim : int
        Size of the sentence embeddings (384 for ``all-MiniLM-L6-v2``).

    Examples
    --------
    >>> from sk_mtl.text import load_text_encoder
    >>> encoder = load_text_encoder()  # doctest: +SKIP
    >>> batch = encoder.tokenize(["A sentence.", "Another one."])  # doctest: +SKIP
    >>> encoder(**batch).shape  # doctest: +SKIP
    torch.Size([2, 384])
    """

    def __init__(
        self,
        transformer,
        tokenizer,
        *,
        normalize=True,
        max_seq_length=256,
        name=None,
        pooling=None,
        lowercase=False,
    ):
        super().__init__()
        self.transformer = transformer
        self.tokenizer = tokenizer
        self.normalize = normalize
        self.max_seq_length = max_seq_length
        self.name = name
        self.pooling = pooling
        self.lowercase = lowercase
        self._dim = None

    @property
    def embedding_dim(self):
        if self.pooling is None:
            return self.transformer.config.hidden_size
        if self._dim is None:  # a dense module may change the width: probe once
            with torch.no_grad():
                self._dim = int(self(**self.tokenize(["a"])).shape[1])
        return self._dim

    @property
    def max_position_embeddings(self):
        limit = getattr(self.transformer.config, "max_position_embeddings", None)
        return int(limit or self.max_seq_length)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        """Embed a batch of tokenized sentences.

        Parameters
        ----------
        input_ids : torch.LongTensor of shape (n_sentences, n_tokens)
            Token ids, padded on the right.
        attention_mask : torch.Tensor of shape (n_sentences, n_tokens)
            1 for real tokens, 0 for padding.
        token_type_ids : torch.LongTensor of shape (n_sentences, n_tokens), \
default=None
            Segment ids; ``None`` means all zeros (single sentences).

        Returns
        -------
        embeddings : torch.Tensor of shape (n_sentences, embedding_dim)
            Mean-pooled sentence embeddings, L2-normalised if ``normalize``.
        """
        tokens = self.transformer(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
        )[0]
        if self.pooling is not None:
            features = {
                "input_ids": input_ids,
                "attention_mask": attention_mask,
                "token_embeddings": tokens,
            }
            embeddings = self.pooling(features)["sentence_embedding"]
        else:
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            summed = (tokens * mask).sum(dim=1)
            counts = mask.sum(dim=1).clamp(min=1e-9)
            embeddings = summed / counts
        if self.normalize:
            embeddings = F.normalize(embeddings, p=2, dim=1)
        return embeddings

    def layer_groups(self):
        """Blocks of the transformer from the bottom to the top.

        Returns
        -------
        groups : list of torch.nn.Module
            The embedding block followed by each transformer layer in order
            (``[embeddings, layer 0, ..., layer 5]`` for ``all-MiniLM-L6-v2``),
            then any module holding the other parameters (e.g. a dense layer
            after pooling). Mean pooling and normalisation have no parameters.
        """
        return _layer_groups(self)

    def set_trainable_layers(self, n_top=None):
        """Make only the top ``n_top`` layer groups trainable.

        Parameters
        ----------
        n_top : int or None, default=None
            Number of groups of :meth:`layer_groups`, counted from the top, whose
            parameters get ``requires_grad=True``; the others are frozen. ``0``
            freezes the whole encoder, ``None`` unfreezes all of it.

        Returns
        -------
        self : SentenceEncoderModule
        """
        groups = self.layer_groups()
        if n_top is None:
            n_top = len(groups)
        if (
            not isinstance(n_top, numbers.Integral)
            or isinstance(n_top, bool)
            or not 0 <= n_top <= len(groups)
        ):
            raise ValueError(
                f"n_top must be an int in [0, {len(groups)}] or None, got {n_top!r}."
            )
        self.requires_grad_(False)
        for group in groups[len(groups) - n_top :]:
            group.requires_grad_(True)
        return self

    def tokenize(self, texts, *, max_length=None):
        """Tokenize sentences into padded tensors for :meth:`forward`.

        Parameters
        ----------
        texts : list of str
            The sentences.
        max_length : int or None, default=None
            Truncation length in tokens; ``None`` uses ``max_seq_length``.

        Returns
        -------
        batch : dict of str to torch.Tensor
            ``input_ids`` and ``attention_mask`` of shape (n_sentences, n_tokens),
            on the CPU, padded to the longest sentence; call ``module(**batch)``.
        """
        return pad_batch(self._token_ids(texts, max_length), self._pad_id)

    @property
    def _pad_id(self):
        pad_id = self.tokenizer.pad_token_id
        return 0 if pad_id is None else pad_id

    def _token_ids(self, texts, max_length):
        """Unpadded token ids of each text (lists of int), special tokens included."""
        max_length = self.max_seq_length if max_length is None else max_length
        if not 2 <= max_length <= self.max_position_embeddings:
            raise ValueError(
                f"max_length must be in [2, {self.max_position_embeddings}] for this "
                f"encoder, got {max_length!r}."
            )
        texts = [t.lower() for t in texts] if self.lowercase else list(texts)
        encoded = self.tokenizer(
            texts,
            truncation=True,
            max_length=max_length,
            padding=False,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        return encoded["input_ids"]


def _layer_groups(encoder):
    """Embeddings, each transformer layer, then the modules of other parameters."""
    transformer = encoder.transformer
    layers = max(
        (m for m in transformer.modules() if isinstance(m, nn.ModuleList)),
        key=len,
        default=[],
    )
    embeddings = getattr(transformer, "embeddings", None)
    groups = [g for g in (embeddings, *layers) if g is not None]
    covered = {id(p) for g in groups for p in g.parameters()}
    rest = [
        m
        for m in encoder.modules()
        if any(id(p) not in covered for p in m.parameters(recurse=False))
    ]
    if rest:  # e.g. a final layer norm or a dense layer after pooling: on top
        groups.append(nn.ModuleList(rest))
    return groups


def drop_pooler(transformer):
    """Drop BERT's pooler, which sentence embeddings do not use: it would hold
    trainable parameters that never get a gradient."""
    if getattr(transformer, "pooler", None) is not None:
        transformer.pooler = None


def _resolve_device(device):
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"Invalid device {device!r}: {exc}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={str(device)!r} was requested but CUDA is not available; use "
            "device='cpu'."
        )
    return device
