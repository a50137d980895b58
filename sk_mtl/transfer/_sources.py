"""Where TransferClassifier's reused layers come from: one small class per kind.

Each source fits the input the reused layers read (``fit_input``), makes a frozen
copy of those layers (``make_base``) and computes their features for validated X
(``features``), the input of the head-training phase.
"""

import copy
import os

import numpy as np
import torch
from torch import nn

from .._data._inputs import NumericInput, as_dense
from .._engine._base import BaseNeuralEstimator
from .._engine._inference import predict_outputs
from ..text._batching import TokenRows, length_buckets
from ..text._input import TextInput
from ..text._sentence_transformers import is_sentence_transformer
from ._reuse import check_source, reuse_input, set_requires_grad

__all__ = [
    "make_source",
    "is_text_source",
    "EstimatorSource",
    "ModuleSource",
    "TextSource",
]


def is_text_source(pretrained):
    """Whether ``pretrained`` is a sentence encoder (name, folder or object)."""
    return isinstance(pretrained, str | os.PathLike) or is_sentence_transformer(
        pretrained
    )


def make_source(pretrained, caller):
    """The source object for TransferClassifier's ``pretrained`` parameter."""
    if isinstance(pretrained, BaseNeuralEstimator):
        return EstimatorSource(pretrained, caller)
    if is_text_source(pretrained):  # before nn.Module: a SentenceTransformer is one
        return TextSource(pretrained)
    if isinstance(pretrained, nn.Module):
        return ModuleSource(pretrained)
    raise TypeError(
        f"{caller}'s pretrained must be a fitted sk_mtl neural estimator, a "
        "torch.nn.Module, a sentence encoder (the bundled 'all-MiniLM-L6-v2', a "
        "local sentence-transformers model folder or a SentenceTransformer), got "
        f"{type(pretrained).__name__}."
    )


def _frozen_features(base, X, batch_size):
    """Output of the frozen ``base`` for model input X, batched."""
    return predict_outputs(base, X, batch_size)[0].float()


class EstimatorSource:
    """The shared layers (trunk, MMoE experts) of a fitted sk_mtl estimator."""

    text = False

    def __init__(self, estimator, caller):
        self.estimator = check_source(
            estimator,
            caller=caller,
            param="pretrained",
            allow=", a torch.nn.Module or a text encoder name",
        )
        self.new_input_layer = False

    def fit_input(self, X, owner, input_mismatch):
        input_, X, self.new_input_layer = reuse_input(
            self.estimator,
            X,
            owner,
            input_mismatch=input_mismatch,
            reader="pretrained estimator",
        )
        return input_, X

    def make_base(self, input_, X):
        net = self.estimator.module_
        if not callable(getattr(net, "feature_module", None)):
            raise TypeError(
                f"The pretrained estimator's network ({type(net).__name__}) has "
                "no feature_module(); TransferClassifier needs a network built "
                "by sk_mtl."
            )
        base = copy.deepcopy(net.feature_module()).cpu()
        set_requires_grad(base.parameters(), False)
        if self.new_input_layer:
            base.replace_input_layer(input_.width)  # a new layer: trainable
        return base, int(net.out_features)

    def features(self, base, input_, X, batch_size, verbose=0):
        # One pass of a small network over numbers: no progress bar.
        return _frozen_features(base, input_.tensors(X), 4 * batch_size)

    def reused_lr(self, lr):
        return lr / 10


class ModuleSource:
    """A torch module mapping a float tensor (n, n_features) to features (n, d)."""

    text = False
    new_input_layer = False

    def __init__(self, module):
        self.module = module

    def fit_input(self, X, owner, input_mismatch):
        input_ = NumericInput()
        return input_, input_.fit(X, owner, reader="the pretrained module")

    def make_base(self, input_, X):
        base = copy.deepcopy(self.module).cpu()
        set_requires_grad(base.parameters(), False)
        return base, self._probe_width(base, input_, X)

    def features(self, base, input_, X, batch_size, verbose=0):
        # One pass of a small network over numbers: no progress bar.
        return _frozen_features(base, input_.tensors(X), 4 * batch_size)

    def reused_lr(self, lr):
        return lr / 10

    @staticmethod
    def _probe_width(base, input_, X):
        width = getattr(base, "out_features", None)
        rows = np.arange(min(2, X.shape[0]))
        was_training = base.training
        base.eval()
        try:
            with torch.no_grad():
                z = base(as_dense(input_.tensors(X, rows)))
        except Exception as exc:  # any failure of user code on this X
            raise ValueError(
                f"The pretrained module ({type(base).__name__}) failed on X with "
                f"{X.shape[1]} features: {type(exc).__name__}: {exc}. It "
                "must map a float tensor (n_samples, n_features) to features "
                "(n_samples, d)."
            ) from None
        finally:
            base.train(was_training)
        if not isinstance(z, torch.Tensor) or z.dim() != 2:
            shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ValueError(
                "The pretrained module must return a 2-D tensor (n_samples, d) of "
                f"features; it returned {shape}."
            )
        if width is not None and int(width) != z.shape[1]:
            raise ValueError(
                f"The pretrained module says out_features={width} but returned "
                f"{z.shape[1]} features."
            )
        return int(z.shape[1])


class TextBase(nn.Module):
    """A sentence encoder reading padded token ids.

    Each batch is split into groups of similar length (:func:`length_buckets`),
    each cut to its longest sentence before the encoder runs: a shuffled training
    batch then costs about its real tokens, not its size times its longest
    sentence, and padding to the longest sentence of the whole data set costs
    nothing. Rows do not interact in the encoder, so the output is the same.
    """

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder
        self.out_features = int(encoder.embedding_dim)

    def forward(self, input_ids, attention_mask):
        lengths = attention_mask.sum(dim=1).tolist()
        order, bounds = length_buckets(lengths)
        if len(bounds) == 2:  # one group: no gather
            n = max(lengths)
            return self.encoder(
                input_ids=input_ids[:, :n], attention_mask=attention_mask[:, :n]
            )
        order = torch.as_tensor(order, device=input_ids.device)
        parts = []
        for start, stop in zip(bounds[:-1], bounds[1:]):
            rows, n = order[start:stop], lengths[int(order[start])]
            parts.append(
                self.encoder(
                    input_ids=input_ids[rows, :n],
                    attention_mask=attention_mask[rows, :n],
                )
            )
        return torch.cat(parts)[torch.argsort(order)]

    def layer_groups(self):
        return list(self.encoder.layer_groups())


class TextSource:
    """A pretrained sentence encoder, reading raw strings.

    The bundled encoder by name (loaded once per process), a local
    sentence-transformers model folder or a ``SentenceTransformer`` object.
    """

    text = True
    new_input_layer = False

    def __init__(self, model):
        self.model = model
        self._loaded = None

    def _encoder(self):
        """The encoder and whether it is shared (the cached bundled one)."""
        from ..text._loading import _is_bundled, cached_text_encoder

        if _is_bundled(self.model):
            return cached_text_encoder(self.model), True
        if self._loaded is None:
            from ..text._loading import load_text_encoder

            self._loaded = load_text_encoder(self.model)  # a private copy
        return self._loaded, False

    def fit_input(self, X, owner, input_mismatch):
        encoder, _ = self._encoder()
        limit = encoder.max_position_embeddings
        max_length = owner.max_length
        if max_length is not None and max_length > limit:
            raise ValueError(
                f"max_length={max_length} exceeds the {encoder.name!r} limit of "
                f"{limit} tokens."
            )
        input_ = TextInput(
            encoder.tokenizer,
            max_length or encoder.max_seq_length,
            # What saving stores to reload the tokenizer: a name or a folder.
            None if is_sentence_transformer(self.model) else encoder.name,
            lowercase=encoder.lowercase,
        )
        return input_, input_.fit(X, owner)

    def make_base(self, input_, X):
        encoder, shared = self._encoder()
        self._loaded = None  # the base owns it now
        base = TextBase(copy.deepcopy(encoder) if shared else encoder).train()
        set_requires_grad(base.parameters(), False)
        return base, base.out_features

    def features(self, base, input_, X, batch_size=None, verbose=0):
        # Through the one inference loop: distinct texts tokenised once, batched
        # from the longest (little padding), 32 per forward pass as embed_texts.
        rows = TokenRows(X, base.encoder, input_.max_length)
        device = next(base.parameters()).device
        z = predict_outputs(
            base.encoder, rows, 32, device, order=rows.by_length(), verbose=verbose
        )[0].float()
        return z if len(rows) == len(X) else z[rows.inverse]

    def reused_lr(self, lr):
        # A pretrained transformer wants a far smaller step than a new head.
        return 5e-5
