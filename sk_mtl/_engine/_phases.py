"""What an estimator hands the training loop: the network and its phases.

``_build_network`` returns a :class:`Network`; ``_training_phases`` a list of
:class:`TrainingPhase` (one by default; transfer learning trains a head on frozen
features first, then fine-tunes). Each phase is trained by its own
:class:`~sk_mtl._engine._net.MultiTaskNet`. A phase's rows need not be the
training rows: TransferClassifier's contrastive phase trains on pairs of them
(:mod:`sk_mtl.transfer._contrastive`). Plain data, no behaviour.
"""

from dataclasses import dataclass, field

import torch

__all__ = ["Network", "TrainingPhase"]


@dataclass
class Network:
    """What ``_build_network`` returns: the module and how to optimise it.

    ``param_groups`` are skorch's ``(pattern, options)`` pairs (e.g. a smaller lr
    for reused layers); ``optimizer_options`` extra optimizer keyword arguments.
    """

    module: torch.nn.Module
    param_groups: list = field(default_factory=list)
    optimizer_options: dict = field(default_factory=dict)


@dataclass
class TrainingPhase:
    """One stage of training: a module trained for some epochs on some input.

    ``model_input(rows)`` makes the module's input for those rows of the phase's
    data (training rows, or pairs of them); ``callbacks`` are the phase's own
    skorch callbacks, added to the engine's (divergence guard, user callbacks,
    progress output).
    """

    name: str
    module: torch.nn.Module
    model_input: object
    max_epochs: int
    param_groups: list = field(default_factory=list)
    callbacks: list = field(default_factory=list)
